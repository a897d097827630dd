// Direct access to a term's representation for the codec (private to the etf library).
//
// The decoder writes results straight into slots of freshly allocated heap nodes and the encoder
// reads nodes without the kind checks of the public accessors. Every function here trusts its
// caller about the kind of the term; the set_* functions overwrite `t` without releasing what it
// held, so they may only target a term that holds no node (nil, a number, an inline atom).
#pragma once

#include <bit>
#include <edist/etf/term.hpp>

#include "term_nodes.hpp"

namespace edist::etf {

class term_builder_access {
 public:
  static term adopt(kind k, detail::node* n) noexcept {
    term t;
    t.adopt(k, n);
    return t;
  }

  static void set_node(term& t, kind k, detail::node* n) noexcept { t.adopt(k, n); }
  static void set_int(term& t, std::int64_t v) noexcept { t.init_int(v); }
  static void set_float(term& t, double v) noexcept {
    t.set_kind(kind::float_);
    t.store_word(v);
  }
  static constexpr std::size_t inline_atom_capacity = term::inline_atom_capacity;
  // `size` must be at most inline_atom_capacity and the text valid UTF-8.
  static void set_inline_atom(term& t, const void* text, std::size_t size) noexcept {
    t.set_kind(kind::atom);
    t.bytes_[1] = static_cast<std::uint8_t>(size);
    if (size != 0) std::memcpy(t.bytes_.data() + 2, text, size);
  }
  // As set_inline_atom, for text followed by at least inline_atom_capacity readable bytes: a
  // fixed-size copy, then the bytes past the atom are cleared.
  static void set_inline_atom_unchecked_tail(term& t, const void* text, std::size_t size) noexcept {
    if constexpr (std::endian::native != std::endian::little) {
      set_inline_atom(t, text, size);
      return;
    }
    std::uint8_t b[16];
    b[0] = static_cast<std::uint8_t>(kind::atom);
    b[1] = static_cast<std::uint8_t>(size);
    std::memcpy(b + 2, text, inline_atom_capacity);
    std::uint64_t w[2];
    std::memcpy(w, b, 16);
    // Keep bytes [0, 2 + size) of the 16; size is at most 14.
    std::size_t keep = 2 + size;
    if (keep < 8) {
      w[0] &= (std::uint64_t{1} << (8 * keep)) - 1;
      w[1] = 0;
    } else if (keep < 16) {
      w[1] &= (std::uint64_t{1} << (8 * (keep - 8))) - 1;
    }
    std::memcpy(t.bytes_.data(), w, 16);
  }
  // Takes over an atom_node holding valid UTF-8 text of more than inline_atom_capacity bytes.
  static void set_heap_atom(term& t, detail::atom_node* n) noexcept {
    t.set_kind(kind::atom);
    t.bytes_[1] = term::heap_atom_marker;
    t.store_word(static_cast<detail::node*>(n));
  }

  static std::int64_t int_value(const term& t) noexcept { return t.load_word<std::int64_t>(); }
  static double float_value(const term& t) noexcept { return t.load_word<double>(); }
  static std::string_view atom_text(const term& t) noexcept {
    if (t.bytes_[1] == term::heap_atom_marker) {
      return static_cast<const detail::atom_node*>(t.node_ptr())->text();
    }
    return {reinterpret_cast<const char*>(t.bytes_.data() + 2), t.bytes_[1]};
  }
  // True for an atom whose text lives in an atom_node (longer than inline_atom_capacity; a
  // shorter atom is always inline, so the two forms never hold the same text).
  static bool is_heap_atom(const term& t) noexcept { return t.bytes_[1] == term::heap_atom_marker; }
  // The two 8-byte words of a term (an inline atom's bytes past its text are zero).
  static void words(const term& t, std::uint64_t (&w)[2]) noexcept {
    std::memcpy(w, t.bytes_.data(), 16);
  }

  // True when a and b are the same immediate value or refer to the same node.
  // (Two word compares: std::array's == became a call to memcmp.)
  static bool same_bytes(const term& a, const term& b) noexcept {
    std::uint64_t wa[2], wb[2];
    std::memcpy(wa, a.bytes_.data(), 16);
    std::memcpy(wb, b.bytes_.data(), 16);
    return ((wa[0] ^ wb[0]) | (wa[1] ^ wb[1])) == 0;
  }

  // The node t holds, or null.
  static detail::node* node_or_null(const term& t) noexcept {
    return t.holds_node() ? t.node_ptr() : nullptr;
  }

  // Drops t's reference without touching t, for a term whose memory is given back right after
  // without running its destructor. When that was the last reference to a node of its own, the
  // node is handed back to the caller to destroy (so that destruction can iterate instead of
  // recurse); a region whose last reference this was is destroyed at once (that never recurses
  // into terms: see destroy_region).
  static detail::node* release_deferred_dying(const term& t) noexcept {
    if (!t.holds_node()) return nullptr;
    detail::node* n = t.node_ptr();
    if (n->pool_class == detail::region_pool_class) {
      detail::release_region(detail::region_of(n));
      return nullptr;
    }
    if (n->refs.load(std::memory_order_acquire) == 1 ||
        n->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      return n;
    }
    return nullptr;
  }

  // Makes t nil without giving back what it refers to: for slots that hold no count of their
  // own (terms inside a region, or slots reused for bookkeeping while a node is destroyed).
  static void forget(term& t) noexcept { t.set_kind(kind::nil); }
  // Copies the 16 bytes of `from` into `to` without counting a reference (see forget).
  static void alias(term& to, const term& from) noexcept { to.bytes_ = from.bytes_; }
  // Counts one more reference to what t refers to (for handing over an aliased term).
  static void retain(const term& t) noexcept { t.retain(); }

  // Bookkeeping stored in a slot whose term was already released (destroy() keeps its way back
  // up the tree there): a pointer and an index.
  static void stash(term& t, const void* pointer, std::uint32_t index) noexcept {
    std::memcpy(t.bytes_.data(), &pointer, sizeof pointer);
    std::memcpy(t.bytes_.data() + 8, &index, sizeof index);
  }
  static const void* stashed_pointer(const term& t) noexcept {
    const void* pointer;
    std::memcpy(&pointer, t.bytes_.data(), sizeof pointer);
    return pointer;
  }
  static std::uint32_t stashed_index(const term& t) noexcept {
    std::uint32_t index;
    std::memcpy(&index, t.bytes_.data() + 8, sizeof index);
    return index;
  }

  // The text bytes of an inline atom followed by padding: inline_atom_capacity readable bytes.
  static const std::uint8_t* atom_text_padded(const term& t) noexcept {
    return t.bytes_.data() + 2;
  }

  template <class N>
  static const N& node_of(const term& t) noexcept {
    return *static_cast<const N*>(t.node_ptr());
  }
  template <class N>
  static N& mutable_node_of(term& t) noexcept {
    return *static_cast<N*>(t.node_ptr());
  }
};

}  // namespace edist::etf
