#include "edist/node/heap_tuning.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace {

TEST(HeapTuning, RefusesThresholdsMallocCannotTake) {
  edist::node::heap_tuning too_big;
  too_big.trim_threshold = std::size_t{1} << 40;
  EXPECT_FALSE(edist::node::tune_heap_for_messaging(too_big));
}

// What the tuning is for: memory freed at the top of the heap stays there for the next burst
// of allocations instead of going back to the kernel at 128 KiB. The settings stay for the
// rest of the process, which changes nothing for the other tests.
TEST(HeapTuning, FreedBurstStaysInTheHeap) {
#if !defined(__GLIBC__)
  GTEST_SKIP() << "not glibc's malloc";
#else
  if (!edist::node::heap_tuning_applies) GTEST_SKIP() << "malloc replaced by a sanitizer";
  // Earlier tests in this process may have left free holes in the heap: the burst below is
  // larger than all of them, so that it extends the heap, and the threshold larger still.
  const std::size_t free_before = mallinfo2().fordblks;
  edist::node::heap_tuning tuning;
  tuning.trim_threshold = std::max(tuning.trim_threshold, free_before + (std::size_t{64} << 20));
  ASSERT_TRUE(edist::node::tune_heap_for_messaging(tuning));
  // A burst like a few reads' worth of decoded 4 KiB binaries, then freed newest first.
  const std::size_t before = mallinfo2().arena;
  std::vector<void*> blocks((free_before + (std::size_t{8} << 20)) / 4096);
  for (auto& b : blocks) {
    b = std::malloc(4096);
    ASSERT_NE(b, nullptr);
    static_cast<char*>(b)[0] = 1;
  }
  const std::size_t grown = mallinfo2().arena;
  ASSERT_GT(grown, before);
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) std::free(*it);
  // arena: the bytes the main heap holds. Untuned, glibc trims the free top back to under
  // 128 KiB as soon as the blocks are freed.
  EXPECT_EQ(mallinfo2().arena, grown);
#endif
}

}  // namespace
