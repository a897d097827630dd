#include "edist/node/heap_tuning.hpp"

#include <climits>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace edist::node {

bool tune_heap_for_messaging(const heap_tuning& tuning) {
#if defined(__GLIBC__)
  if constexpr (heap_tuning_applies) {
    if (tuning.trim_threshold > INT_MAX || tuning.mmap_threshold > INT_MAX) return false;
    // mallopt returns 1 on success. The mmap threshold has an upper bound (32 MiB on 64-bit
    // systems) and is refused above it; the trim threshold takes any value.
    if (mallopt(M_MMAP_THRESHOLD, static_cast<int>(tuning.mmap_threshold)) != 1) return false;
    return mallopt(M_TRIM_THRESHOLD, static_cast<int>(tuning.trim_threshold)) == 1;
  }
#endif
  (void)tuning;
  return false;
}

}  // namespace edist::node
