// Inputs of a few bytes decode into a node-sized first chunk (region_builder::tiny_chunk): the
// shapes that grow the most per input byte must still decode whole, and outlive the input.
#include <gtest/gtest.h>

#include <edist/etf/decode.hpp>
#include <edist/etf/encode.hpp>
#include <edist/etf/term.hpp>
#include <string>
#include <vector>

namespace edist::etf {
namespace {

TEST(TinyRegion, TheMostGrowingSmallInputsDecodeWhole) {
  // Cache references to long atoms (each kept by a finalizer), a string of small integers,
  // empty tuples, short atoms: up to 24 bytes of nodes per byte of input.
  const std::vector<term> refs = {term::atom(std::string(40, 'a')),
                                  term::atom(std::string(30, 'b')), term::atom("short")};
  decode_options o;
  o.without_version = true;
  o.atom_cache_refs = refs;
  const std::vector<std::vector<std::uint8_t>> inputs = {
      {104, 3, 82, 0, 82, 1, 82, 0},  // {A, B, A}
      {104, 2, 82, 0, 82, 1},
      {108, 0, 0, 0, 2, 82, 0, 82, 1, 106},  // [A, B]
      {107, 0, 5, 1, 2, 3, 4, 5},            // [1,2,3,4,5]
      {104, 3, 104, 0, 104, 0, 104, 0},      // {{}, {}, {}}
      {104, 2, 119, 3, 'm', 's', 'g', 97, 1},
  };
  const std::vector<term> expected = {
      term::tuple({refs[0], refs[1], refs[0]}),
      term::tuple({refs[0], refs[1]}),
      term::list({refs[0], refs[1]}),
      term::list({term(1), term(2), term(3), term(4), term(5)}),
      term::tuple({term::tuple({}), term::tuple({}), term::tuple({})}),
      term::tuple({term::atom("msg"), term(1)}),
  };
  std::vector<term> kept;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::vector<std::uint8_t> copy = inputs[i];
    auto r = decode(copy, o);
    ASSERT_TRUE(r) << i << " " << r.error.message();
    copy.assign(copy.size(), 0);  // the decoded term owns what it needs
    EXPECT_EQ(r.value, expected[i]) << i;
    kept.push_back(std::move(r.value));
  }
  for (std::size_t i = 0; i < kept.size(); ++i) EXPECT_EQ(kept[i], expected[i]) << i;
}

}  // namespace
}  // namespace edist::etf
