// Process-wide malloc settings for a program whose node receives a steady stream of messages.
//
// glibc's malloc gives the free top of its heap back to the kernel as soon as it exceeds a
// threshold (128 KiB by default). A node decodes a read's worth of packets at a time: 64 KiB
// of them make a few hundred KiB of terms, which the receiving processes free a moment
// later. Every read then crosses the threshold, the heap grows, shrinks and grows again, and
// each growth faults its pages in anew: in edist's benchmark that churn took 60-75 % of a
// receiving `edist serve`'s CPU with a stream of 256-byte or 4 KiB binaries, and cut its
// rate by half or more (bench/README.md). Raising the threshold keeps that memory for the next
// read. Setting it also freezes glibc's adaptive threshold for mapping large blocks on their own,
// so that one is set as well.
//
// These settings belong to the program, not to a library: edist changes nothing unless asked.
// The `edist` program calls tune_heap_for_messaging() at startup; call it from yours, before
// it starts threads, unless it uses another allocator or sets malloc's parameters itself.
#pragma once

#include <cstddef>
#include <cstdlib>  // defines __GLIBC__ where the C library is glibc

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define EDIST_HEAP_TUNING_MALLOC_REPLACED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(EDIST_HEAP_TUNING_MALLOC_REPLACED)
#define EDIST_HEAP_TUNING_MALLOC_REPLACED 1
#endif

namespace edist::node {

// Whether tune_heap_for_messaging() can apply anything in this build: glibc's malloc, not
// replaced by a sanitizer's own, which takes no such parameters.
#if defined(__GLIBC__) && !defined(EDIST_HEAP_TUNING_MALLOC_REPLACED)
inline constexpr bool heap_tuning_applies = true;
#else
inline constexpr bool heap_tuning_applies = false;
#endif
#undef EDIST_HEAP_TUNING_MALLOC_REPLACED

struct heap_tuning {
  // Free memory at the top of a heap that malloc keeps instead of returning it to the kernel.
  std::size_t trim_threshold = std::size_t{16} << 20;
  // Blocks at least this large are mapped on their own and unmapped when freed.
  std::size_t mmap_threshold = std::size_t{1} << 20;
};

// Applies `tuning` to the process's malloc. True when it was applied; false where it cannot be
// (heap_tuning_applies is false, or a threshold is out of malloc's range), malloc then being
// left as it is.
bool tune_heap_for_messaging(const heap_tuning& tuning = {});

}  // namespace edist::node
