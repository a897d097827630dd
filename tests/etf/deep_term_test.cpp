// Terms nested 100,000 deep, far deeper than a call stack could follow one frame per level (the
// AddressSanitizer build, with its larger frames, overflowed at a few thousand): comparison,
// equality, hashing, printing, destruction, encoding and decoding must all iterate.
#include <gtest/gtest.h>

#include <edist/etf/decode.hpp>
#include <edist/etf/encode.hpp>
#include <edist/etf/term.hpp>
#include <edist/etf/text.hpp>
#include <string>

using namespace edist::etf;
using namespace edist::etf::literals;

namespace {

constexpr int depth = 100000;

// [[[...[Leaf]...]]]
term deep_list(const term& leaf) {
  term t = leaf;
  for (int i = 0; i < depth; ++i) t = term::list({t});
  return t;
}

// {{{...{Leaf}...}}}
term deep_tuple(const term& leaf) {
  term t = leaf;
  for (int i = 0; i < depth; ++i) t = term::tuple({t});
  return t;
}

// Each level holds the deeper one first and another node after it, then the shapes change:
// {T, <<"x">>}, [T, 'an atom longer than fourteen bytes' | tail], #{<<"k">> => T, 2 => <<"y">>}.
term deep_mixed(const term& leaf) {
  term t = leaf;
  for (int i = 0; i < depth; ++i) {
    switch (i % 3) {
      case 0:
        t = term::tuple({t, "x"_bin});
        break;
      case 1:
        t = term::list({t, "an atom longer than fourteen bytes"_atom}, "tail"_atom);
        break;
      default:
        t = term::map({{"k"_bin, t}, {term(2), "y"_bin}});
        break;
    }
  }
  return t;
}

decode_options deep_enough() {
  decode_options options;
  options.limits.max_depth = depth + 1;
  return options;
}

}  // namespace

TEST(DeepTerms, CompareAndEqualIterate) {
  for (auto make : {deep_list, deep_tuple, deep_mixed}) {
    // Built apart, so that no shared node lets the comparison stop early.
    term a = make(term(1));
    term b = make(term(1));
    term bigger = make(term(2));
    term as_float = make(term(1.0));
    EXPECT_TRUE(a == b);
    EXPECT_EQ(a <=> b, std::strong_ordering::equal);
    EXPECT_EQ(compare(a, b), std::weak_ordering::equivalent);
    EXPECT_TRUE(equal(a, b));
    EXPECT_TRUE(a < bigger);
    EXPECT_EQ(compare(bigger, a), std::weak_ordering::greater);
    EXPECT_FALSE(a == as_float);      // 1 =/= 1.0 at the bottom
    EXPECT_TRUE(equal(a, as_float));  // but 1 == 1.0
    EXPECT_EQ(compare(a, as_float), std::weak_ordering::equivalent);
  }
}

TEST(DeepTerms, DeepMapKeysCompare) {
  // Map comparison sorts the keys of both maps, comparing deep keys on the way.
  term small_key = deep_tuple(term(1));
  term large_key = deep_tuple(term(2));
  term a = term::map({{small_key, term(1)}, {large_key, term(2)}});
  term b = term::map({{deep_tuple(term(2)), term(2)}, {deep_tuple(term(1)), term(1)}});
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.hash(), b.hash());
  ASSERT_NE(a.find(large_key), nullptr);
  EXPECT_EQ(*a.find(large_key), term(2));
}

TEST(DeepTerms, HashIterates) {
  for (auto make : {deep_list, deep_tuple, deep_mixed}) {
    term a = make(term(1));
    term b = make(term(1));
    EXPECT_EQ(a.hash(), b.hash());
    EXPECT_EQ(std::hash<term>{}(a), a.hash());
    EXPECT_NE(a.hash(), make(term(2)).hash());
  }
}

TEST(DeepTerms, ClosuresWithDeepFreeVariablesCompareAndHash) {
  std::array<std::uint8_t, 16> uniq{};
  term pid = term::pid("n@h"_atom, 1, 0, 1);
  auto closure = [&](const term& leaf) {
    term free[] = {deep_list(leaf)};
    return term::closure(1, uniq, 0, "m"_atom, term(0), term(7), pid, free);
  };
  term a = closure(term(1));
  term b = closure(term(1));
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.hash(), b.hash());
  EXPECT_TRUE(a < closure(term(2)));
}

TEST(DeepTerms, PrintIterates) {
  term list = deep_list(term::tuple({}));
  std::string erlang = to_erlang_string(list);
  EXPECT_EQ(erlang.size(), 2u * depth + 2);
  EXPECT_EQ(erlang.substr(0, 3), "[[[");
  EXPECT_EQ(erlang.substr(depth - 1, 4), "[{}]");
  EXPECT_EQ(to_elixir_string(list), erlang);

  term tuple = deep_tuple(term(7));
  std::string erlang_tuple = to_erlang_string(tuple);
  EXPECT_EQ(erlang_tuple.size(), 2u * depth + 1);
  EXPECT_EQ(erlang_tuple.substr(depth - 1, 3), "{7}");
  EXPECT_EQ(to_elixir_string(tuple), erlang_tuple);

  term mixed = deep_mixed(term(0));
  std::string erlang_mixed = to_erlang_string(mixed);
  std::string elixir_mixed = to_elixir_string(mixed);
  EXPECT_NE(erlang_mixed.find("#{2 => <<\"y\">>,<<\"k\">> => "), std::string::npos);
  EXPECT_NE(elixir_mixed.find("%{2 => \"y\", \"k\" => "), std::string::npos);
  EXPECT_GT(erlang_mixed.size(), static_cast<std::size_t>(depth) * 10);
}

TEST(DeepTerms, DestructionIterates) {
  // Every level of deep_mixed holds another node after the deeper one: freeing it by recursing
  // on all children but the last (the old scheme) would go 100,000 calls deep.
  for (auto make : {deep_list, deep_tuple, deep_mixed}) {
    term t = make("a leaf atom longer than fourteen bytes"_atom);
    t = term();
    EXPECT_TRUE(t.is_nil());
  }
  // A deep term inside another one's fun environment.
  std::array<std::uint8_t, 16> uniq{};
  term free[] = {deep_mixed(term(1)), deep_tuple(term(2))};
  term fun = term::closure(0, uniq, 0, "m"_atom, term(0), term(0), nil, free);
  fun = term();
  EXPECT_TRUE(fun.is_nil());
}

TEST(DeepTerms, EncodeAndDecodeIterate) {
  for (auto make : {deep_list, deep_tuple, deep_mixed}) {
    term original = make("leaf"_bin);
    std::vector<std::uint8_t> bytes = term_to_binary(original);
    EXPECT_EQ(encoded_size(original), bytes.size());

    // The default depth limit refuses it cleanly.
    decode_result refused = decode(bytes);
    EXPECT_EQ(refused.error, make_error_code(errc::depth_exceeded));
    EXPECT_TRUE(refused.value.is_nil());

    decode_result back = decode(bytes, deep_enough());
    ASSERT_FALSE(back.error) << back.error.message();
    EXPECT_EQ(back.consumed, bytes.size());
    EXPECT_EQ(back.value, original);
    EXPECT_EQ(back.value.hash(), original.hash());
    EXPECT_EQ(term_to_binary(back.value), bytes);
  }
}

TEST(DeepTerms, CompressedDeepTermsDecode) {
  term original = deep_mixed(term(3));
  encode_options options;
  options.compression_level = 6;
  std::vector<std::uint8_t> bytes = term_to_binary(original, options);
  decode_result back = decode(bytes, deep_enough());
  ASSERT_FALSE(back.error) << back.error.message();
  EXPECT_EQ(back.value, original);
}
