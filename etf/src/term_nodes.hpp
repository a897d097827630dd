// Heap nodes behind edist::etf::term. Private to the etf library.
//
// Every node starts with a reference count and its kind; variable-sized nodes keep their
// payload (digits, characters, elements) in the same allocation, right after the node, so a
// tuple of N elements is one allocation.
//
// Nodes are allocated in one of two ways (told apart by pool_class):
// - one by one (term::tuple(), term::binary(), ...): the node has its own reference count and
//   its memory goes back to the node pool when the count drops to zero;
// - in a region (everything one decode() makes): the nodes lie packed in a few large chunks
//   owned by one region with a single reference count. Such a node's `refs` holds instead the
//   byte offset of the node from the start of its chunk, which leads to the region. Copying any
//   term that refers into the region counts on the region, and the region (all its nodes at
//   once) is freed when the last such term goes: a subterm keeps its whole decoded message
//   alive. Terms stored inside region nodes that refer to nodes of the same region hold no
//   count (the region cannot keep itself alive); anything else they refer to (an atom of the
//   atom cache, the buffer under zero-copy binaries) is kept by the region itself, through its
//   finalizers.
#pragma once

#include <edist/etf/term.hpp>
#include <new>

#include "node_pool.hpp"

namespace edist::etf::detail {

// pool_class of a node that lives in a region.
inline constexpr std::uint8_t region_pool_class = 0xff;

struct node {
  // Own nodes: the reference count. Region nodes: the offset from the start of the chunk.
  mutable std::atomic<std::uint32_t> refs{1};
  kind k;
  std::uint8_t pool_class = 0;  // how the memory goes back (node_pool.hpp)
  explicit node(kind kk) noexcept : k(kk) {}
};

// Allocates a node of type N followed by `trailing` bytes of payload, constructed with args.
template <class N, class... Args>
N* allocate_node(std::size_t trailing, Args&&... args) {
  static_assert(alignof(N) <= 16);
  std::uint8_t size_class;
  void* memory = node_allocate(sizeof(N) + trailing, size_class);
  N* n = new (memory) N(std::forward<Args>(args)...);
  n->pool_class = size_class;
  return n;
}

template <class T, class N>
T* trailing(N* n) noexcept {
  return reinterpret_cast<T*>(reinterpret_cast<unsigned char*>(n) + sizeof(N));
}
template <class T, class N>
const T* trailing(const N* n) noexcept {
  return reinterpret_cast<const T*>(reinterpret_cast<const unsigned char*>(n) + sizeof(N));
}

struct alignas(8) atom_node : node {
  std::uint32_t size;
  // The hash of the text, computed on first use (0: not yet). Atoms are hashed on every
  // atom-cache lookup and registered-name lookup, so each node hashes its text once. Atomic so
  // that threads sharing the atom may fill it in concurrently (they all store the same value).
  mutable std::atomic<std::uint32_t> text_hash{0};
  explicit atom_node(std::uint32_t n) noexcept : node(kind::atom), size(n) {}
  std::string_view text() const noexcept { return {trailing<char>(this), size}; }
};
static_assert(sizeof(atom_node) == 16, "the cached hash fits in the node's padding");

struct alignas(8) big_node : node {
  bool negative;
  std::uint32_t size;  // bytes of magnitude, the last one non-zero
  big_node(bool neg, std::uint32_t n) noexcept : node(kind::big_integer), negative(neg), size(n) {}
  std::span<const std::uint8_t> magnitude() const noexcept {
    return {trailing<std::uint8_t>(this), size};
  }
};

struct alignas(8) tuple_node : node {
  std::uint32_t size;
  explicit tuple_node(std::uint32_t n) noexcept : node(kind::tuple), size(n) {}
  term* elements() noexcept { return trailing<term>(this); }
  const term* elements() const noexcept { return trailing<term>(this); }
};

struct alignas(8) list_node : node {
  std::uint32_t size;  // at least 1
  term tail;
  list_node(std::uint32_t n, term t) noexcept : node(kind::list), size(n), tail(std::move(t)) {}
  // With a nil tail, to be set later (the decoder fills it in place).
  explicit list_node(std::uint32_t n) noexcept : node(kind::list), size(n) {}
  term* elements() noexcept { return trailing<term>(this); }
  const term* elements() const noexcept { return trailing<term>(this); }
};

struct alignas(8) map_node : node {
  std::uint32_t size;
  // True when entries are in operator<=> key order, which allows binary search.
  bool sorted;
  map_node(std::uint32_t n, bool is_sorted) noexcept
      : node(kind::map), size(n), sorted(is_sorted) {}
  term_pair* entries() noexcept { return trailing<term_pair>(this); }
  const term_pair* entries() const noexcept { return trailing<term_pair>(this); }
};

struct alignas(8) binary_node : node {
  const std::uint8_t* data;
  std::size_t size;
  std::uint8_t bits_in_last_byte;  // 1..8
  // Keeps zero-copy bytes alive; null when the bytes follow the node.
  std::shared_ptr<const void> owner;
  binary_node(kind kk, std::size_t n, unsigned bits) noexcept
      : node(kk), data(nullptr), size(n), bits_in_last_byte(static_cast<std::uint8_t>(bits)) {}
};

struct pid_node : node {
  pid_fields fields;
  explicit pid_node(pid_fields f) noexcept : node(kind::pid), fields(std::move(f)) {}
};
struct port_node : node {
  port_fields fields;
  explicit port_node(port_fields f) noexcept : node(kind::port), fields(std::move(f)) {}
};
struct reference_node : node {
  reference_fields fields;
  explicit reference_node(reference_fields f) noexcept
      : node(kind::reference), fields(std::move(f)) {}
};
struct fun_node : node {
  fun_fields fields;
  explicit fun_node(fun_fields f) noexcept : node(kind::fun), fields(std::move(f)) {}
};

void destroy(node* n) noexcept;

// ---- Regions -----------------------------------------------------------------------------------

struct region;

// The header of each chunk of a region; the chunk's nodes follow it.
struct alignas(16) region_chunk {
  region* owner;
  region_chunk* next;  // the region's other chunks, in a list that starts at the region
};

// Work to do when a region dies, before its chunks are freed (the record itself lives in a
// chunk): give back what the region keeps alive outside itself, or destroy a node member that
// owns memory of its own (a fun's vector of free variables).
struct region_finalizer {
  void (*run)(region_finalizer*) noexcept;
  region_finalizer* next;
};

// The region lives at the start of its first chunk.
struct alignas(16) region : region_chunk {
  std::atomic<std::uint64_t> refs{1};
  region_finalizer* finalizers = nullptr;
  std::uint8_t pool_class = 0;  // how the first chunk goes back (node_pool.hpp)
};

inline region* region_of(const node* n) noexcept {
  std::uint32_t offset = n->refs.load(std::memory_order_relaxed);
  return reinterpret_cast<const region_chunk*>(reinterpret_cast<const unsigned char*>(n) - offset)
      ->owner;
}

// Runs the finalizers and frees every chunk.
void destroy_region(region* r) noexcept;

inline void retain_region(region* r) noexcept {
  r->refs.fetch_add(1, std::memory_order_relaxed);
}

// Drops one reference; true when it was the last one (the caller then destroys the region).
inline bool release_region_is_last(region* r) noexcept {
  return r->refs.load(std::memory_order_acquire) == 1 ||
         r->refs.fetch_sub(1, std::memory_order_acq_rel) == 1;
}

inline void release_region(region* r) noexcept {
  if (release_region_is_last(r)) destroy_region(r);
}

}  // namespace edist::etf::detail
