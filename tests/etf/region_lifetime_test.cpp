// Lifetime of decoded terms: all the nodes of one decode live in one region with one reference
// count (etf/src/term_nodes.hpp). A subterm keeps its whole decoded message alive; copies may
// be made and dropped on any thread; what the region refers to outside itself (atoms of the atom
// cache, the buffer under zero-copy binaries) stays alive as long as the region does. Run under
// AddressSanitizer and LeakSanitizer, these also check that regions are freed, once.
#include <gtest/gtest.h>

#include <atomic>
#include <edist/etf/decode.hpp>
#include <edist/etf/encode.hpp>
#include <edist/etf/term.hpp>
#include <string>
#include <thread>
#include <vector>

using namespace edist::etf;
using namespace edist::etf::literals;

namespace {

term message() {
  std::array<std::uint8_t, 16> uniq{};
  uniq[3] = 9;
  term pid = term::pid("node_name@a_host_name"_atom, 5, 1, 3);
  term free[] = {term::list({1, 2, 3}),
                 "a binary long enough to be a zero-copy slice of the input"_bin};
  return term::tuple(
      {"a_long_atom_kept_on_the_heap"_atom, term::list({1, 2, 3}, "tail"_atom), "short"_bin,
       term::binary(std::string(100, 'b')), pid,
       term::reference("node_name@a_host_name"_atom, 2, std::vector<std::uint32_t>{1, 2, 3}),
       term::closure(1, uniq, 4, "a_module_name_of_some_length"_atom, term(1), term(2), pid, free),
       term::map({{"k"_atom, term::tuple({1.5, term::integer(std::uint64_t{1} << 63)})}})});
}

}  // namespace

TEST(RegionLifetime, SubtermsOutliveTheDecodedMessage) {
  term expected = message();
  std::vector<std::uint8_t> bytes = term_to_binary(expected);
  std::vector<term> parts;
  {
    decode_result r = decode(shared_bytes::copy_of(bytes));
    ASSERT_FALSE(r.error);
    ASSERT_EQ(r.value, expected);
    for (const term& e : r.value.tuple_elements()) parts.push_back(e);
  }  // the decoded root, and the input buffer's last outside owner, are gone
  ASSERT_EQ(parts.size(), expected.tuple_size());
  for (std::size_t i = 0; i < parts.size(); ++i) EXPECT_EQ(parts[i], expected[i]) << i;
  EXPECT_EQ(parts[0].atom_name(), "a_long_atom_kept_on_the_heap");
  EXPECT_EQ(parts[3].binary_string_view(), std::string(100, 'b'));
  EXPECT_EQ(parts[6].as_fun().free_vars[1].binary_string_view(),
            "a binary long enough to be a zero-copy slice of the input");
  // Dropping them one by one frees the region with the last.
  while (!parts.empty()) parts.pop_back();
}

TEST(RegionLifetime, DecodedTermsInsideBuiltTerms) {
  term expected = message();
  std::vector<std::uint8_t> bytes = term_to_binary(expected);
  term built = term::tuple(
      {decode(bytes).value[6], decode(bytes).value, term::list({decode(bytes).value[1]})});
  EXPECT_EQ(built[0], expected[6]);
  EXPECT_EQ(built[1], expected);
  EXPECT_EQ(built[2].list_elements()[0], expected[1]);
  EXPECT_EQ(term_to_binary(built[1]), bytes);
}

TEST(RegionLifetime, CopiesMadeAndDroppedOnManyThreads) {
  term expected = message();
  term decoded = decode(term_to_binary(expected)).value;
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    // Each thread its own copy of the root; they count on the one region at once.
    threads.emplace_back([root = decoded, &expected, &mismatches]() mutable {
      for (int i = 0; i < 20000; ++i) {
        std::size_t k = static_cast<std::size_t>(i) % root.tuple_size();
        term copy = root[k];
        term again = copy;
        if (again != expected[k]) ++mismatches;
      }
      root = term();
    });
  }
  // The last reference may be any thread's.
  decoded = term();
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(RegionLifetime, LastReferenceOnAnotherThread) {
  term expected = message();
  std::vector<std::uint8_t> bytes = term_to_binary(expected);
  for (int round = 0; round < 50; ++round) {
    term decoded = decode(bytes).value;
    term part = decoded[6];
    decoded = term();
    std::thread other([part = std::move(part), &expected]() mutable {
      EXPECT_EQ(part, expected[6]);
      part = term();  // frees the region on this thread
    });
    other.join();
  }
}

TEST(RegionLifetime, AtomCacheAtomsOutliveTheCache) {
  // 131, SMALL_TUPLE_EXT 2, ATOM_CACHE_REF 0, ATOM_CACHE_REF 1
  const std::vector<std::uint8_t> bytes = {131, 104, 2, 82, 0, 82, 1};
  term value;
  {
    std::vector<term> cache = {term::atom("an_atom_from_the_cache_longer_than_14"), "ok"_atom};
    decode_options options;
    options.atom_cache_refs = cache;
    decode_result r = decode(bytes, options);
    ASSERT_FALSE(r.error);
    value = r.value;
  }
  EXPECT_EQ(value[0].atom_name(), "an_atom_from_the_cache_longer_than_14");
  EXPECT_EQ(value[1], "ok"_atom);
  // The root itself an atom of the cache: the result holds it without a region.
  std::vector<term> cache = {term::atom("another_atom_from_the_cache_and_long")};
  decode_options options;
  options.atom_cache_refs = cache;
  options.without_version = true;
  const std::vector<std::uint8_t> just_ref = {82, 0};
  decode_result r = decode(just_ref, options);
  ASSERT_FALSE(r.error);
  cache.clear();
  EXPECT_EQ(r.value.atom_name(), "another_atom_from_the_cache_and_long");
}

TEST(RegionLifetime, AtomCacheAtomsThatAreThemselvesDecoded) {
  // The distribution layer decodes the atoms of its atom cache too: an atom of one region
  // referred to from another.
  term cached_atom = decode(term_to_binary(term::atom("a_cached_atom_from_another_decode"))).value;
  std::vector<term> cache = {cached_atom};
  decode_options options;
  options.atom_cache_refs = cache;
  const std::vector<std::uint8_t> bytes = {131, 104, 2, 82, 0, 82, 0};
  term value = decode(bytes, options).value;
  cache.clear();
  cached_atom = term();
  EXPECT_EQ(value[1].atom_name(), "a_cached_atom_from_another_decode");
}

TEST(RegionLifetime, ErrorsFreeThePartialTree) {
  term expected = message();
  std::vector<std::uint8_t> bytes = term_to_binary(expected);
  // Every truncation fails cleanly (LeakSanitizer checks the partial regions were freed).
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    decode_result r = decode(std::span<const std::uint8_t>(bytes.data(), n));
    EXPECT_TRUE(r.error) << n;
    EXPECT_TRUE(r.value.is_nil()) << n;
  }
}
