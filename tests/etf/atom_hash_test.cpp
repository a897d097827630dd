// Atom equality and hashing take shortcuts (inline atoms by their bytes, heap atoms by a hash
// kept in their node): they must still agree with the text, whichever way the atom was made.
#include <gtest/gtest.h>

#include <array>
#include <edist/etf/decode.hpp>
#include <edist/etf/encode.hpp>
#include <edist/etf/term.hpp>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace edist::etf {
namespace {

// The same atom made by term::atom and decoded from bytes (which puts it in a decode region).
std::vector<term> ways_to_make(const std::string& text) {
  const term made = term::atom(text);
  const auto encoded = term_to_binary(term::tuple({made, made}));
  const term decoded = binary_to_term(encoded);
  const auto alone = term_to_binary(made);
  return {made, term::atom(text), decoded[0], decoded[1], binary_to_term(alone)};
}

TEST(AtomHash, EqualAtomsHashAlikeHoweverTheyWereMade) {
  for (const std::string& text : std::vector<std::string>{
           "", "a", "ok", "fourteen_bytes", "fifteen_bytes__", "a_node_name@some.host.example",
           std::string(255, 'x'), std::string("\xc3\xa9t\xc3\xa9_") + std::string(20, 'e')}) {
    const auto all = ways_to_make(text);
    for (const term& a : all) {
      for (const term& b : all) {
        EXPECT_EQ(a, b) << text;
        EXPECT_EQ(a.hash(), b.hash()) << text;
        EXPECT_EQ(a <=> b, std::strong_ordering::equal) << text;
      }
    }
  }
}

TEST(AtomHash, DifferentAtomsAreDifferent) {
  const std::vector<std::string> texts = {"",
                                          "a",
                                          "b",
                                          "ab",
                                          "fourteen_bytes",
                                          "fourteen_bytex",
                                          "fifteen_bytes__",
                                          "fifteen_bytes_x",
                                          "a_node_name@some.host.example",
                                          "a_node_name@some.host.exampld"};
  std::unordered_set<std::size_t> hashes;
  for (const auto& ta : texts) {
    hashes.insert(term::atom(ta).hash());
    for (const auto& tb : texts) {
      for (const term& a : ways_to_make(ta)) {
        for (const term& b : ways_to_make(tb)) {
          EXPECT_EQ(a == b, ta == tb) << ta << " " << tb;
          EXPECT_EQ(a < b, ta < tb) << ta << " " << tb;
        }
      }
    }
  }
  EXPECT_EQ(hashes.size(), texts.size());
  // An atom is never equal to a term of another kind with similar bytes.
  EXPECT_NE(term::atom("a"), term::binary("a"));
  EXPECT_NE(term::atom("fifteen_bytes__"), term::binary("fifteen_bytes__"));
}

TEST(AtomHash, ThreadsHashingOneAtomAgree) {
  // The first hash of a heap atom is stored in its node; threads racing to store it store the
  // same value (under ThreadSanitizer a plain store there would be reported as a race).
  for (int round = 0; round < 50; ++round) {
    const term a = term::atom("shared_atom_name_" + std::to_string(round) + "@host");
    const std::size_t expected = term::atom(std::string(a.atom_name())).hash();
    std::vector<std::size_t> seen(4);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < seen.size(); ++i) {
      threads.emplace_back([&, i] { seen[i] = a.hash(); });
    }
    for (auto& t : threads) t.join();
    for (std::size_t h : seen) EXPECT_EQ(h, expected);
  }
}

TEST(TupleParts, EncodeTupleWritesTheTuplesBytes) {
  const term pid = term::pid(term::atom("a_node_name@some.host"), 1, 2, 3);
  const term parts[] = {term(2), term::atom(""), pid, term::list({term(1)}),
                        term::binary(std::string(5000, 'b'))};
  const term* pointers[] = {&parts[0], &parts[1], &parts[2], &parts[3], &parts[4]};
  for (bool without_version : {false, true}) {
    encode_options o;
    o.without_version = without_version;
    o.reference_binaries_from = 4096;
    encode_buffer direct, whole;
    encode_tuple(pointers, direct, o);
    encode(term::tuple({parts[0], parts[1], parts[2], parts[3], parts[4]}), whole, o);
    EXPECT_EQ(std::vector<std::uint8_t>(direct.bytes().begin(), direct.bytes().end()),
              std::vector<std::uint8_t>(whole.bytes().begin(), whole.bytes().end()));
    ASSERT_EQ(direct.references().size(), 1u);
    EXPECT_EQ(direct.references()[0].at, whole.references()[0].at);
    EXPECT_EQ(direct.total_size(), whole.total_size());
  }
}

TEST(TupleParts, DecodeTupleElementsGivesTheTuplesElements) {
  const term pid = term::pid(term::atom("a_node_name@some.host"), 1, 2, 3);
  const std::uint32_t words[] = {7, 8};
  const term t = term::tuple({term(200), term(-70000), term::atom("x"), pid,
                              term::reference(term::atom("n@h"), 1, words),
                              term::tuple({term::atom("nested"), term::binary("b")}),
                              term::atom("another_long_atom_name")});
  auto bytes = term_to_binary(t);
  bytes.push_back(97);  // bytes after the tuple are left alone
  bytes.push_back(1);
  std::array<term, 7> out;
  std::size_t arity = 0, consumed = 0;
  ASSERT_TRUE(decode_tuple_elements(bytes, {}, out, arity, consumed));
  EXPECT_EQ(arity, 7u);
  EXPECT_EQ(consumed, bytes.size() - 2);
  for (std::size_t i = 0; i < arity; ++i) EXPECT_EQ(out[i], t[i]) << i;
  // Too many elements, not a tuple, truncated: left to decode().
  std::array<term, 6> small;
  EXPECT_FALSE(decode_tuple_elements(bytes, {}, small, arity, consumed));
  const auto not_tuple = term_to_binary(term::list({term(1)}));
  EXPECT_FALSE(decode_tuple_elements(not_tuple, {}, out, arity, consumed));
  EXPECT_FALSE(
      decode_tuple_elements(std::span(bytes).first(bytes.size() - 6), {}, out, arity, consumed));
}

}  // namespace
}  // namespace edist::etf
