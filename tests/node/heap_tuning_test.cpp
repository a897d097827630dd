#include "edist/node/heap_tuning.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace {

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool malloc_replaced = true;
#else
constexpr bool malloc_replaced = false;
#endif
#elif defined(__SANITIZE_ADDRESS__)
constexpr bool malloc_replaced = true;
#else
constexpr bool malloc_replaced = false;
#endif

TEST(HeapTuning, RefusesThresholdsMallocCannotTake) {
  edist::node::heap_tuning too_big;
  too_big.trim_threshold = std::size_t{1} << 40;
  EXPECT_FALSE(edist::node::tune_heap_for_messaging(too_big));
}

// What the tuning is for: memory freed at the top of the heap stays there for the next burst
// of allocations instead of going back to the kernel at 128 KiB. Each test runs in a process
// of its own (gtest_discover_tests), so the settings do not leak into other tests.
TEST(HeapTuning, FreedBurstStaysInTheHeap) {
#if !defined(__GLIBC__)
  GTEST_SKIP() << "not glibc's malloc";
#else
  if (malloc_replaced) GTEST_SKIP() << "malloc replaced by a sanitizer";
  ASSERT_TRUE(edist::node::tune_heap_for_messaging());
  // A burst like a read's worth of decoded 4 KiB binaries, freed newest first, so that the
  // free space gathers at the top of the heap.
  std::vector<void*> blocks(1024);
  for (auto& b : blocks) {
    b = std::malloc(4096);
    ASSERT_NE(b, nullptr);
    static_cast<char*>(b)[0] = 1;
  }
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) std::free(*it);
  // keepcost: the free top of the main heap that malloc could give back. Untuned, glibc
  // trims it to under 128 KiB as soon as the blocks are freed.
  EXPECT_GE(mallinfo2().keepcost, std::size_t{2} << 20);
#endif
}

}  // namespace
