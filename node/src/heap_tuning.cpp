#include "edist/node/heap_tuning.hpp"

#include <climits>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define EDIST_MALLOC_REPLACED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define EDIST_MALLOC_REPLACED 1
#endif
// The sanitizers bring their own malloc, which takes no such parameters.
#if defined(__GLIBC__) && !defined(EDIST_MALLOC_REPLACED)
#include <malloc.h>
#define EDIST_GLIBC_MALLOC 1
#endif

namespace edist::node {

bool tune_heap_for_messaging(const heap_tuning& tuning) {
#if defined(EDIST_GLIBC_MALLOC)
  if (tuning.trim_threshold > INT_MAX || tuning.mmap_threshold > INT_MAX) return false;
  // mallopt returns 1 on success.
  const bool mapped = mallopt(M_MMAP_THRESHOLD, static_cast<int>(tuning.mmap_threshold)) == 1;
  const bool trimmed = mallopt(M_TRIM_THRESHOLD, static_cast<int>(tuning.trim_threshold)) == 1;
  return mapped && trimmed;
#else
  (void)tuning;
  return false;
#endif
}

}  // namespace edist::node
