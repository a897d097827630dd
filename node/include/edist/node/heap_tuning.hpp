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

namespace edist::node {

struct heap_tuning {
  // Free memory at the top of a heap that malloc keeps instead of returning it to the kernel.
  std::size_t trim_threshold = std::size_t{16} << 20;
  // Blocks at least this large are mapped on their own and unmapped when freed.
  std::size_t mmap_threshold = std::size_t{1} << 20;
};

// Applies `tuning` to the process's malloc. True when it was applied; false where malloc is
// not glibc's (or is replaced, as under AddressSanitizer), which is then left as it is.
bool tune_heap_for_messaging(const heap_tuning& tuning = {});

}  // namespace edist::node
