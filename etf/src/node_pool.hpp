// Memory for term heap nodes (private to the etf library).
//
// Decoding allocates one node per container, binary, identifier or long atom, and dropping the
// result frees them all again, so malloc and free used to dominate decoding. Nodes of up to
// 256 bytes are therefore recycled through per-thread free lists, one per 16-byte size class.
// A node freed on another thread than the one that made it simply joins that thread's lists.
// Each list is capped, so a thread that only frees returns memory to malloc beyond the cap, and
// a thread's lists are given back to malloc when it exits. Under AddressSanitizer every node
// goes straight to operator new/delete, so use-after-free stays detectable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

namespace edist::etf::detail {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool node_pooling = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool node_pooling = false;
#else
inline constexpr bool node_pooling = true;
#endif
#else
inline constexpr bool node_pooling = true;
#endif

inline constexpr std::size_t node_granule = 16;
inline constexpr std::size_t node_classes = 16;  // blocks of 16, 32, ..., 256 bytes
// The first chunks of decode regions (region_builder.hpp) are recycled the same way, in
// classes of 1 KiB to 16 KiB (each 4 times the one before), after the node classes.
inline constexpr std::size_t chunk_classes = 3;
inline constexpr std::size_t smallest_chunk = 1024;
inline constexpr std::size_t largest_chunk = smallest_chunk << (2 * (chunk_classes - 1));
inline constexpr std::size_t pool_classes = node_classes + chunk_classes;
inline constexpr std::size_t node_list_cap_bytes = std::size_t{256} << 10;

struct free_node_block {
  free_node_block* next;
};

// Trivially destructible, so that it stays usable while thread_local and static objects that
// hold terms are destroyed after the lists were handed back at thread exit.
struct node_free_lists {
  free_node_block* head[pool_classes + 1];
  std::size_t bytes[pool_classes + 1];
  bool armed;   // the thread-exit release is registered
  bool closed;  // the thread is exiting: free straight to operator delete
};
inline thread_local node_free_lists tl_node_free_lists{};

// Registers the release of this thread's lists at thread exit (out of line: rare).
void arm_node_free_lists() noexcept;

// Memory for a node of `bytes` bytes, 16-byte aligned; `size_class` receives what
// node_deallocate needs back (0: not pooled). Throws std::bad_alloc.
inline void* node_allocate(std::size_t bytes, std::uint8_t& size_class) {
  std::size_t c = (bytes + node_granule - 1) / node_granule;
  if (!node_pooling || c > node_classes || c == 0) {
    size_class = 0;
    return ::operator new(bytes);
  }
  size_class = static_cast<std::uint8_t>(c);
  node_free_lists& l = tl_node_free_lists;
  if (free_node_block* b = l.head[c]) {
    l.head[c] = b->next;
    l.bytes[c] -= c * node_granule;
    return b;
  }
  return ::operator new(c* node_granule);
}

inline std::size_t pool_class_bytes(std::size_t size_class) noexcept {
  if (size_class <= node_classes) return size_class * node_granule;
  return smallest_chunk << (2 * (size_class - node_classes - 1));
}

inline void node_deallocate(void* memory, std::uint8_t size_class) noexcept {
  node_free_lists& l = tl_node_free_lists;
  if (size_class == 0 || l.closed || l.bytes[size_class] >= node_list_cap_bytes) {
    ::operator delete(memory);
    return;
  }
  if (!l.armed) arm_node_free_lists();
  auto* b = static_cast<free_node_block*>(memory);
  b->next = l.head[size_class];
  l.head[size_class] = b;
  l.bytes[size_class] += pool_class_bytes(size_class);
}

// A chunk of at least `bytes` bytes (16-byte aligned): `bytes` is rounded up to its class, and
// `size_class` receives what node_deallocate needs back (0: not pooled, larger than
// largest_chunk). Throws std::bad_alloc.
inline void* chunk_allocate(std::size_t& bytes, std::uint8_t& size_class) {
  // A chunk the size of a node comes from the node classes (bytes is then kept as asked, a
  // multiple of node_granule).
  if (bytes <= node_classes * node_granule) return node_allocate(bytes, size_class);
  size_class = 0;
  if (!node_pooling || bytes > largest_chunk) return ::operator new(bytes);
  std::size_t c = node_classes + 1;
  std::size_t size = smallest_chunk;
  while (size < bytes) {
    size <<= 2;
    ++c;
  }
  bytes = size;
  size_class = static_cast<std::uint8_t>(c);
  node_free_lists& l = tl_node_free_lists;
  if (free_node_block* b = l.head[c]) {
    l.head[c] = b->next;
    l.bytes[c] -= size;
    return b;
  }
  return ::operator new(size);
}

}  // namespace edist::etf::detail
