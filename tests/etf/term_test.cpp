#include <gtest/gtest.h>

#include <algorithm>
#include <edist/etf/convert.hpp>
#include <edist/etf/match.hpp>
#include <map>
#include <unordered_set>

using namespace edist::etf;
using namespace edist::etf::literals;

TEST(Term, ImmediateValues) {
  term i = 42;
  EXPECT_EQ(i.type(), kind::integer);
  EXPECT_EQ(i.as_int64(), 42);
  term f = 2.5;
  EXPECT_EQ(f.type(), kind::float_);
  EXPECT_EQ(f.as_double(), 2.5);
  EXPECT_TRUE(term().is_nil());
  EXPECT_TRUE(term(true).is_atom("true"));
  EXPECT_TRUE(term(false).is_atom("false"));
  EXPECT_EQ(sizeof(term), 16u);
}

TEST(Term, AtomsInlineAndOnHeapCompareByText) {
  term small = atom("ok");
  term large = atom("a_rather_long_atom_name_on_the_heap");
  EXPECT_EQ(small.atom_name(), "ok");
  EXPECT_EQ(large.atom_name(), "a_rather_long_atom_name_on_the_heap");
  EXPECT_EQ(atom("exactly14bytes"), atom("exactly14bytes"));
  EXPECT_EQ(atom("fifteen_bytes__"), atom("fifteen_bytes__"));
  EXPECT_LT(atom("abc"), atom("abd"));
  EXPECT_LT(atom("ab"), atom("abc_long_enough_for_heap"));
  EXPECT_EQ(atom(""), atom(""));
  EXPECT_EQ("ok"_atom, atom("ok"));
  EXPECT_TRUE(atom("héllo").is_atom("héllo"));
}

TEST(Term, AtomLimits) {
  EXPECT_NO_THROW(atom(std::string(255, 'a')));
  EXPECT_THROW(atom(std::string(256, 'a')), invalid_term);
  std::string two_byte_chars;
  for (int i = 0; i < 255; ++i) two_byte_chars += "é";
  EXPECT_NO_THROW(atom(two_byte_chars));  // 510 bytes, 255 characters
  EXPECT_THROW(atom("\xff"), invalid_term);
  EXPECT_THROW(atom("\xc0\x80"), invalid_term);  // overlong NUL
}

TEST(Term, IntegersNormaliseAndConvert) {
  term max = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(max.type(), kind::integer);
  term beyond = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(beyond.type(), kind::big_integer);
  EXPECT_EQ(beyond.to_uint64(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_FALSE(beyond.to_int64());
  EXPECT_EQ(beyond.integer_to_decimal(), "18446744073709551615");

  std::uint8_t small_mag[] = {5, 0, 0};
  term normalised = term::big_integer(true, small_mag);
  EXPECT_EQ(normalised.type(), kind::integer);
  EXPECT_EQ(normalised.as_int64(), -5);

  std::uint8_t min_mag[] = {0, 0, 0, 0, 0, 0, 0, 0x80};
  EXPECT_EQ(term::big_integer(true, min_mag).as_int64(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(term::big_integer(false, min_mag).type(), kind::big_integer);

  auto huge = term::integer_from_decimal("-123456789012345678901234567890123456789");
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->type(), kind::big_integer);
  EXPECT_TRUE(huge->big_negative());
  EXPECT_EQ(huge->integer_to_decimal(), "-123456789012345678901234567890123456789");
  EXPECT_EQ(term::integer_from_decimal("-9223372036854775808")->as_int64(),
            std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(term::integer_from_decimal("1000000000000000000000")->integer_to_decimal(),
            "1000000000000000000000");
  EXPECT_FALSE(term::integer_from_decimal("12a"));
  EXPECT_FALSE(term::integer_from_decimal("-"));
  EXPECT_EQ(term::integer_from_decimal("0")->as_int64(), 0);
}

TEST(Term, ErlangTermOrderAcrossKinds) {
  term node = atom("n@h");
  std::uint32_t words[] = {1, 2, 3};
  std::vector<term> ordered = {
      1,
      atom("a"),
      term::reference(node, 1, words),
      term::export_fun(atom("m"), atom("f"), 1),
      term::port(node, 1, 1),
      term::pid(node, 1, 0, 1),
      term::tuple({1}),
      map({{1, 2}}),
      term(),
      term::list({1}),
      binary("x"),
  };
  for (std::size_t i = 0; i + 1 < ordered.size(); ++i) {
    EXPECT_LT(ordered[i], ordered[i + 1]) << i;
    EXPECT_EQ(compare(ordered[i], ordered[i + 1]), std::weak_ordering::less) << i;
  }
  auto shuffled = ordered;
  std::reverse(shuffled.begin(), shuffled.end());
  std::sort(shuffled.begin(), shuffled.end());
  EXPECT_EQ(shuffled, ordered);
}

TEST(Term, NumbersCompareByValueButExactEqualityDistinguishesFloats) {
  EXPECT_TRUE(equal(term(1), term(1.0)));
  EXPECT_NE(term(1), term(1.0));
  EXPECT_LT(term(1), term(1.0));  // exact order: integers first
  EXPECT_EQ(compare(term(2), term(1.5)), std::weak_ordering::greater);
  EXPECT_EQ(compare(term(1), term(1.5)), std::weak_ordering::less);
  auto big = *term::integer_from_decimal("100000000000000000000");
  EXPECT_EQ(compare(big, term(1e20)), std::weak_ordering::equivalent);
  EXPECT_EQ(compare(big, term(1e21)), std::weak_ordering::less);
  EXPECT_EQ(compare(big, term(-1e21)), std::weak_ordering::greater);
  EXPECT_EQ(compare(big, term(5.5)), std::weak_ordering::greater);
  auto negative_big = *term::integer_from_decimal("-100000000000000000000");
  EXPECT_EQ(compare(negative_big, term(-1e20)), std::weak_ordering::equivalent);
  EXPECT_LT(negative_big, term(std::numeric_limits<std::int64_t>::min()));
  EXPECT_TRUE(equal(term(0.0), term(-0.0)));
  EXPECT_NE(term(0.0), term(-0.0));
  EXPECT_EQ(compare(term(std::numeric_limits<std::int64_t>::max()), term(9223372036854775808.0)),
            std::weak_ordering::less);
}

TEST(Term, ListsAndImproperTails) {
  term proper = term::list({1, 2, 3});
  EXPECT_TRUE(proper.is_proper_list());
  term improper = term::list({1, 2}, term(3));
  EXPECT_FALSE(improper.is_proper_list());
  EXPECT_EQ(improper.list_tail().as_int64(), 3);
  // [1 | [2, 3]] is the same value as [1, 2, 3].
  EXPECT_EQ(term::list({term(1)}, term::list({2, 3})), proper);
  EXPECT_LT(term::list({1, 2}), proper);
  EXPECT_LT(proper, term::list({1, 3}));
  // [1 | 2] vs [1, 2]: the tail 2 (a number) sorts before the list [2].
  EXPECT_LT(term::list({1}, term(2)), term::list({1, 2}));
  EXPECT_TRUE(term::list(std::span<const term>{}, term(7)).is_integer());
  EXPECT_EQ(charlist("hé"), term::list({104, 233}));
}

TEST(Term, MapsSortDeduplicateAndFind) {
  term m = map({{atom("b"), 2}, {atom("a"), 1}, {atom("b"), 3}});
  ASSERT_EQ(m.map_size(), 2u);
  EXPECT_EQ(m.map_entries()[0].first, atom("a"));
  EXPECT_EQ(*m.find(atom("b")), term(3));
  EXPECT_EQ(m.find(atom("c")), nullptr);
  // 1 and 1.0 are different keys.
  term m2 = map({{1, atom("int")}, {1.0, atom("float")}});
  EXPECT_EQ(m2.map_size(), 2u);
  EXPECT_EQ(*m2.find(1.0), atom("float"));
  // Same entries in another stored order are equal and hash the same.
  auto unordered = term::map_in_order({{atom("b"), 2}, {atom("a"), 1}});
  ASSERT_TRUE(unordered);
  term sorted = map({{atom("a"), 1}, {atom("b"), 2}});
  EXPECT_EQ(*unordered, sorted);
  EXPECT_EQ(unordered->hash(), sorted.hash());
  EXPECT_EQ(*unordered->find(atom("a")), term(1));
  EXPECT_FALSE(term::map_in_order({{atom("a"), 1}, {atom("a"), 2}}));
}

TEST(Term, BinariesAndBitstrings) {
  term b = binary("hello");
  EXPECT_EQ(b.binary_string_view(), "hello");
  EXPECT_EQ(b.bit_size(), 40u);
  std::uint8_t bits[] = {0xff, 0xff};
  term bs = term::bitstring(bits, 3);
  EXPECT_EQ(bs.type(), kind::bitstring);
  EXPECT_EQ(bs.binary_bytes()[1], 0xe0);  // unused bits cleared
  EXPECT_EQ(bs.bit_size(), 11u);
  EXPECT_LT(binary("ab"), binary("abc"));
  EXPECT_LT(binary("abc"), binary("abd"));
  EXPECT_THROW(term::bitstring(bits, 0), invalid_term);
  auto owner = std::make_shared<std::vector<std::uint8_t>>(100, 7);
  term view = term::binary_view(*owner, owner);
  std::weak_ptr<std::vector<std::uint8_t>> weak = owner;
  owner.reset();
  EXPECT_FALSE(weak.expired());
  EXPECT_EQ(view.binary_bytes().size(), 100u);
  view = term();
  EXPECT_TRUE(weak.expired());
}

TEST(Term, CopiesShareAndReleaseNodes) {
  term t = term::tuple({atom("a_long_atom_on_the_heap_xx"), binary("x"), term::list({1})});
  term copy = t;
  EXPECT_EQ(copy, t);
  term moved = std::move(copy);
  EXPECT_TRUE(copy.is_nil());  // NOLINT(bugprone-use-after-move): moved-from is nil
  EXPECT_EQ(moved[2], term::list({1}));
  EXPECT_THROW(moved[3], bad_term_access);
  EXPECT_THROW((void)term(1).atom_name(), bad_term_access);
}

TEST(Term, HashIsConsistentWithEquality) {
  std::unordered_set<term> set;
  set.insert(tuple(atom("ok"), 1));
  set.insert(tuple(atom("ok"), 1));
  set.insert(tuple(atom("ok"), 1.0));
  EXPECT_EQ(set.size(), 2u);
}

TEST(Convert, RoundTripsCommonTypes) {
  term t = tuple(atom("ok"), std::vector<int>{1, 2, 3}, std::string("text"), 2.5, true);
  EXPECT_EQ(t[1].as<std::vector<int>>(), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(t[2].as<std::string>(), "text");
  EXPECT_EQ(t[3].as<double>(), 2.5);
  EXPECT_EQ(t[4].as<bool>(), true);
  EXPECT_FALSE(term::list({1, -1}).to<std::string>());  // -1 is no code point
  EXPECT_FALSE(t[0].to<std::string>());
  EXPECT_FALSE(term(300).to<std::uint8_t>());
  EXPECT_EQ(term(-5).to<std::int8_t>(), std::int8_t{-5});
  EXPECT_FALSE(term(-1).to<unsigned>());
  std::map<std::string, int> m{{"a", 1}, {"b", 2}};
  EXPECT_EQ(make_term(m).as<decltype(m)>(), m);
  auto pair = make_term(std::pair<int, std::string>{1, "x"});
  EXPECT_EQ((pair.as<std::pair<int, std::string>>()), (std::pair<int, std::string>{1, "x"}));
  EXPECT_EQ((make_term(std::tuple<int, bool>{1, false}).as<std::tuple<int, bool>>()),
            (std::tuple<int, bool>{1, false}));
  EXPECT_EQ(make_term(std::optional<int>{}), atom("undefined"));
  EXPECT_EQ(atom("nil").as<std::optional<int>>(), std::nullopt);
  EXPECT_EQ(charlist("héllo").as<std::string>(), "héllo");
  EXPECT_THROW(atom("x").as<int>(), bad_term_access);
}

TEST(Match, OkValueShapes) {
  namespace p = edist::etf::pattern;
  term reply = tuple(atom("ok"), 42);
  std::int64_t value = 0;
  EXPECT_TRUE(match(reply, p::tuple(atom("ok"), p::bind(value))));
  EXPECT_EQ(value, 42);
  term reason;
  EXPECT_FALSE(match(reply, p::tuple(atom("error"), p::bind(reason))));
  EXPECT_TRUE(
      match(tuple(atom("error"), atom("enoent")), p::tuple(atom("error"), p::bind(reason))));
  EXPECT_EQ(reason, atom("enoent"));
  std::string text;
  EXPECT_FALSE(match(reply, p::tuple(atom("ok"), p::bind(text))));
  EXPECT_TRUE(match(term::list({1, 2}), p::list(1, p::any)));
  EXPECT_FALSE(match(term::list({1, 2}), p::list(1)));
  EXPECT_TRUE(match(term::pid(atom("n@h"), 1, 2, 3), p::is(kind::pid)));
  EXPECT_TRUE(match(term(5), p::where([](const term& t) { return t.as_int64() > 3; })));
}
