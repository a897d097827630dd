// The order and equality of pids, ports, references and funs, as observed with lists:sort/1
// and =:= on live OTP 25 and OTP 27 nodes (the interop test TermOrderMatchesListsSort checks the
// same against a node on every run).
#include <gtest/gtest.h>

#include <algorithm>
#include <edist/etf/term.hpp>
#include <vector>

using namespace edist::etf;

namespace {

term pid(const char* node, std::uint32_t id, std::uint32_t serial, std::uint32_t creation) {
  return term::pid(atom(node), id, serial, creation);
}
term port(const char* node, std::uint64_t id, std::uint32_t creation) {
  return term::port(atom(node), id, creation);
}
term ref(const char* node, std::uint32_t creation, std::vector<std::uint32_t> words) {
  return term::reference(atom(node), creation, words);
}

// Every element strictly below the next, in both orders (compare() and operator<=>).
void expect_ascending(const std::vector<term>& ts) {
  for (std::size_t i = 0; i + 1 < ts.size(); ++i) {
    EXPECT_TRUE(compare(ts[i], ts[i + 1]) < 0) << "at " << i;
    EXPECT_TRUE(ts[i] < ts[i + 1]) << "at " << i;
    EXPECT_TRUE(ts[i + 1] > ts[i]) << "at " << i;
  }
}

}  // namespace

TEST(IdentifierOrder, PidsBySerialThenIdThenNodeThenCreation) {
  expect_ascending({pid("z@h", 0, 0, 9), pid("a@h", 1, 0, 1), pid("a@h", 1, 0, 2),
                    pid("b@h", 1, 0, 1), pid("a@h", 2, 0, 1), pid("a@h", 0xffffffff, 0, 1),
                    pid("a@h", 0, 1, 1), pid("a@h", 1, 1, 1)});
}

TEST(IdentifierOrder, PortsByNodeThenCreationThenId) {
  expect_ascending({port("a@h", 1, 1), port("a@h", 2, 1), port("a@h", 1ull << 40, 1),
                    port("a@h", 1, 2), port("b@h", 0, 1)});
}

TEST(IdentifierOrder, ReferencesIgnoreHighZeroWords) {
  expect_ascending({ref("a@h", 1, {1}), ref("a@h", 1, {2}), ref("a@h", 1, {5, 0, 0}),
                    ref("a@h", 1, {1, 1}), ref("a@h", 1, {2, 1}), ref("a@h", 1, {1, 2}),
                    ref("a@h", 1, {1, 1, 1}), ref("a@h", 1, {0, 0, 2}),
                    ref("a@h", 1, {1, 2, 3, 4, 5}), ref("a@h", 2, {1}), ref("b@h", 1, {1})});
  // BEAM: a reference with words [5, 0, 0] is =:= one with [5] (it still encodes 3 words).
  EXPECT_EQ(ref("a@h", 1, {5, 0, 0}), ref("a@h", 1, {5}));
  EXPECT_EQ(ref("a@h", 1, {5, 0, 0}).hash(), ref("a@h", 1, {5}).hash());
  EXPECT_NE(ref("a@h", 1, {0, 5}), ref("a@h", 1, {5}));
}

TEST(IdentifierOrder, FunsIgnoreTheCreatorPid) {
  std::array<std::uint8_t, 16> uniq{};
  uniq.fill(1);
  auto closure = [&](std::int64_t old_index, std::vector<term> env, const term& creator) {
    return term::closure(0, uniq, static_cast<std::uint32_t>(old_index), atom("m"), old_index, 77,
                         creator, env);
  };
  term p1 = pid("a@h", 1, 0, 1), p2 = pid("b@h", 9, 3, 4);
  // BEAM: the same fun made by two processes is =:=.
  EXPECT_EQ(closure(0, {term(1)}, p1), closure(0, {term(1)}, p2));
  EXPECT_EQ(closure(0, {term(1)}, p1).hash(), closure(0, {term(1)}, p2).hash());
  // Old index, then the number of free variables, then the free variables; local funs before
  // export funs, and export funs by module, function, arity.
  expect_ascending({closure(0, {term(2)}, p1), closure(0, {atom("a")}, p1),
                    closure(0, {term(0), term(5)}, p1), closure(1, {}, p1),
                    term::export_fun(atom("aaa"), atom("b"), 1),
                    term::export_fun(atom("lists"), atom("filter"), 2),
                    term::export_fun(atom("lists"), atom("map"), 2),
                    term::export_fun(atom("lists"), atom("map"), 3)});
  EXPECT_TRUE(compare(closure(0, {term(1)}, p1), closure(0, {term(1.0)}, p1)) == 0);
  EXPECT_NE(closure(0, {term(1)}, p1), closure(0, {term(1.0)}, p1));
}
