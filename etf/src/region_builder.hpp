// Building the region that holds the nodes of one decode (private to the etf library; see
// term_nodes.hpp for what a region is).
//
// The builder holds one reference to the region while the decoder fills it. Nodes are carved
// out of chunks with a bump pointer; a node too large for the rest of a chunk starts a new
// chunk, and a large one gets a chunk of its own, so no chunk is mostly empty. The first chunk
// is sized from the input (decoded nodes take a few times the bytes they came from), later
// chunks double, up to a cap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <tuple>
#include <utility>

#include "term_access.hpp"
#include "term_nodes.hpp"

namespace edist::etf::detail {

class region_builder {
 public:
  region_builder() noexcept = default;
  region_builder(const region_builder&) = delete;
  region_builder& operator=(const region_builder&) = delete;
  // Gives back the builder's reference: frees the region unless terms refer into it.
  ~region_builder() {
    if (region_ != nullptr) release_region(region_);
  }

  // The size of the input the nodes come from, to size the first chunk.
  void expect_input(std::size_t bytes) noexcept { input_bytes_ = bytes; }

  // The region, or null while no node was made.
  region* get() const noexcept { return region_; }
  // Hands the builder's reference over to the caller (a term now refers into the region and
  // takes over that reference).
  void hand_over() noexcept { region_ = nullptr; }

  // A node of type N followed by `trailing` bytes, constructed with args. Throws
  // std::bad_alloc.
  template <class N, class... Args>
  N* make(std::size_t trailing, Args&&... args) {
    static_assert(alignof(N) <= 16);
    std::size_t bytes = round_up(sizeof(N) + trailing);
    unsigned char* memory = cursor_;
    unsigned char* chunk = chunk_start_;
    if (static_cast<std::size_t>(limit_ - cursor_) >= bytes) {
      cursor_ += bytes;
    } else {
      std::tie(memory, chunk) = refill(bytes);
    }
    N* n = new (memory) N(std::forward<Args>(args)...);
    n->pool_class = region_pool_class;
    n->refs.store(static_cast<std::uint32_t>(memory - chunk), std::memory_order_relaxed);
    return n;
  }

  // Keeps what `t` refers to (an atom of the atom cache) alive as long as the region.
  void keep(const term& t);
  // Keeps a buffer alive as long as the region (the bytes under zero-copy binaries).
  void keep(const std::shared_ptr<const void>& owner);
  // Destroys a fun's own memory (its vector of free variables) when the region dies. The fun's
  // terms are not released: they are aliases within the region.
  void finalize_fun(fun_node* f);

 private:
  static constexpr std::size_t granule = 16;
  static constexpr std::size_t min_chunk = 256;
  static constexpr std::size_t max_chunk = std::size_t{1} << 20;
  // Decoded nodes take about this many times the bytes of their encoding (a nested list: 48
  // bytes of node for 6 bytes of input; binaries and integers: 1-3 times).
  static constexpr std::size_t expected_growth = 4;
  // The most node bytes one byte of input can become (an ATOM_CACHE_REF of a long atom: two
  // bytes, a 16-byte slot and a 32-byte finalizer that keeps the atom).
  static constexpr std::size_t max_growth = 24;
  // A region whose input is so small that this always holds all it decodes to (a small
  // message's payload) takes a node-sized first chunk instead of the smallest pooled chunk
  // (1 KiB): a quarter of the memory while queued, and a cheaper allocation.
  static constexpr std::size_t tiny_chunk = 256;

  static std::size_t round_up(std::size_t bytes) noexcept {
    return (bytes + granule - 1) & ~(granule - 1);
  }
  // Memory for `bytes` (rounded) and the start of its chunk: from a new chunk that allocation
  // continues in, or from a chunk of its own for a large node. Out of line: rare.
  std::pair<unsigned char*, unsigned char*> refill(std::size_t bytes);
  // Memory for a finalizer record of type F.
  template <class F>
  F* make_finalizer();

  region* region_ = nullptr;
  unsigned char* chunk_start_ = nullptr;
  unsigned char* cursor_ = nullptr;
  unsigned char* limit_ = nullptr;
  std::size_t next_chunk_ = 0;
  std::size_t input_bytes_ = 0;
};

}  // namespace edist::etf::detail
