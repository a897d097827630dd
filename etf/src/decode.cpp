// The External Term Format decoder.
//
// One pass over the input, no recursion: a container's heap node is allocated as soon as its
// header is read (after its element count has been checked against the bytes that remain), its
// slots are set to nil, and it is stored in its parent's slot at once. Elements are then decoded
// straight into the slots, with an explicit stack of open containers.
//
// Every node lives in the decode's region (term_nodes.hpp, region_builder.hpp): allocation is a
// bump of a pointer, slots hold uncounted aliases of the region's nodes, and the whole tree is
// freed at once when its last reference goes. A node is allocated before anything is read into
// it, so nothing made so far is ever held outside the region: an error anywhere simply drops
// the region with the partial tree in it.
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <edist/etf/decode.hpp>
#include <new>
#include <vector>

#include "region_builder.hpp"
#include "small_stack.hpp"
#include "tags.hpp"
#include "term_access.hpp"
#include "term_nodes.hpp"
#include "utf8.hpp"

namespace edist::etf {

namespace {

using access = term_builder_access;
using byte = std::uint8_t;

inline std::uint16_t load_u16(const byte* p) noexcept {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline std::uint32_t load_u32(const byte* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap32(v);
  return v;
}
inline std::uint64_t load_u64(const byte* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}

inline bool all_ascii(const byte* p, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w & 0x8080808080808080ull) return false;
  }
  byte acc = 0;
  for (; i < n; ++i) acc |= p[i];
  return acc < 0x80;
}

bool is_known_tag(byte t) noexcept {
  switch (t) {
    case tag::new_float:
    case tag::bit_binary:
    case tag::compressed:
    case tag::atom_cache_ref:
    case tag::new_pid:
    case tag::new_port:
    case tag::newer_reference:
    case tag::small_integer:
    case tag::integer:
    case tag::float_:
    case tag::atom:
    case tag::reference:
    case tag::port:
    case tag::pid:
    case tag::small_tuple:
    case tag::large_tuple:
    case tag::nil:
    case tag::string:
    case tag::list:
    case tag::binary:
    case tag::small_big:
    case tag::large_big:
    case tag::new_fun:
    case tag::export_:
    case tag::new_reference:
    case tag::small_atom:
    case tag::map:
    case tag::atom_utf8:
    case tag::small_atom_utf8:
    case tag::v4_port:
    case tag::local:
      return true;
    default:
      return false;
  }
}

// FLOAT_EXT holds printf("%.20e") text padded with NULs. Accepts what BEAM accepts: an optional
// sign, digits, '.', digits, an optional exponent, then a NUL; the value must be finite.
std::optional<double> parse_old_float(const byte* p) noexcept {
  const char* s = reinterpret_cast<const char*>(p);
  const void* nul = std::memchr(s, 0, 31);
  if (nul == nullptr) return std::nullopt;
  const char* end = static_cast<const char*>(nul);
  const char* c = s;
  auto digits = [&] {
    const char* start = c;
    while (c < end && *c >= '0' && *c <= '9') ++c;
    return c > start;
  };
  if (c < end && (*c == '+' || *c == '-')) ++c;
  if (!digits()) return std::nullopt;
  if (c == end || *c != '.') return std::nullopt;
  ++c;
  if (!digits()) return std::nullopt;
  if (c < end && (*c == 'e' || *c == 'E')) {
    ++c;
    if (c < end && (*c == '+' || *c == '-')) ++c;
    if (!digits()) return std::nullopt;
  }
  if (c != end) return std::nullopt;
  // from_chars rejects a leading '+'.
  const char* first = *s == '+' ? s + 1 : s;
  double value = 0;
  auto [ptr, ec] = std::from_chars(first, end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

// A term that lives entirely inside its 16 bytes: equal exactly when the bytes are equal.
inline bool is_immediate(const term& t) noexcept {
  switch (t.type()) {
    case kind::integer:
    case kind::float_:
    case kind::nil:
      return true;
    case kind::atom:
      return access::atom_text(t).size() <= access::inline_atom_capacity;
    default:
      return false;
  }
}

// operator< with the common cases of map keys (integers, atoms) done inline.
inline bool key_less(const term& a, const term& b) noexcept {
  if (a.type() == kind::integer && b.type() == kind::integer) {
    return access::int_value(a) < access::int_value(b);
  }
  if (a.type() == kind::atom && b.type() == kind::atom) {
    return access::atom_text(a) < access::atom_text(b);
  }
  return a < b;
}

std::uint64_t key_hash(const term& t) noexcept {
  if (!is_immediate(t)) return t.hash();
  std::uint64_t w[2];
  std::memcpy(w, &t, 16);
  std::uint64_t h = (w[0] ^ (w[1] * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;
  return h ^ (h >> 31);
}

// True when two of the n keys are exactly equal (=:=). Small maps compare pairwise; larger
// ones go through an open-addressing table of key hashes.
bool has_duplicate_key(const term_pair* e, std::uint32_t n) {
  if (n <= 8) {
    for (std::uint32_t i = 1; i < n; ++i) {
      for (std::uint32_t j = 0; j < i; ++j) {
        if (e[i].first == e[j].first) return true;
      }
    }
    return false;
  }
  std::size_t size = std::bit_ceil(std::size_t{n} * 2);
  std::vector<std::uint32_t> slots(size, 0);  // index + 1 of the key in the slot, 0 if empty
  std::vector<std::uint64_t> hashes(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    std::uint64_t h = hashes[i] = key_hash(e[i].first);
    for (std::size_t s = h & (size - 1);; s = (s + 1) & (size - 1)) {
      if (slots[s] == 0) {
        slots[s] = i + 1;
        break;
      }
      std::uint32_t j = slots[s] - 1;
      if (hashes[j] == h && e[j].first == e[i].first) return true;
    }
  }
  return false;
}

enum class frame_kind : std::uint8_t { tuple, list, list_tail, map, free_vars };

struct frame {
  void* slots;        // term[count] or term_pair[count / 2]
  term* container;    // the slot holding the container itself
  std::size_t start;  // input offset of the container's tag (for error reports)
  std::uint32_t next;
  std::uint32_t count;
  std::uint32_t depth;  // how many containers enclose the slots, this one included
  frame_kind kind;
};

// Binaries up to this size are taken on the decoder's fast path for common elements.
constexpr std::size_t small_binary = 64;

// Deflate cannot expand data by more than this factor; a declared size above it is a lie that
// must not make us allocate.
constexpr std::uint64_t max_inflate_ratio = 1032;

class decoder {
 public:
  decoder(const decode_options& options, const std::shared_ptr<const void>* owner) noexcept
      : opts_(options), lim_(options.limits), owner_(owner) {}
  decoder(const decoder&) = delete;
  decoder& operator=(const decoder&) = delete;
  ~decoder() = default;

  decode_result run(std::span<const byte> input);

 private:
  // Records the first error; returns nullptr so that helpers can `return fail(...)`.
  const byte* fail(errc e, const byte* at) noexcept {
    if (error_ == errc::ok) {
      error_ = e;
      error_at_ = at;
    }
    return nullptr;
  }

  const byte* decode_term(const byte* p, const byte* end, term& root);
  const byte* decode_atom(byte t, const byte* p, const byte* end, term& out);
  const byte* read_atom(const byte* p, const byte* end, term& out);
  // `end`: how far past `text` the bytes may be read.
  const byte* store_utf8_atom(const byte* text, std::size_t size, const byte* end, term& out);
  const byte* read_pid(const byte* p, const byte* end, term& out);
  const byte* read_small_integer(const byte* p, const byte* end, term& out);
  const byte* decode_big(byte t, const byte* p, const byte* end, term& out);
  const byte* decode_fun(const byte* p, const byte* end, term& out, frame& pending);
  bool reserve_elements(std::uint64_t n, const byte* at) noexcept {
    // elements_ never exceeds the limit (run() checks the root against it).
    if (n > lim_.max_elements - elements_) {
      fail(errc::too_large, at);
      return false;
    }
    elements_ += n;
    return true;
  }
  bool finish_container(frame& f, const byte* p);

  // A binary node in the region with a copy of the bytes; `bits` as in term::bitstring.
  void store_binary_copy(const byte* bytes, std::size_t n, unsigned bits, term& out);

  const decode_options& opts_;
  const decode_limits& lim_;
  const std::shared_ptr<const void>* owner_;  // null: copy every binary
  const byte* base_ = nullptr;                // start of the bytes being decoded
  detail::small_stack<frame, 24> stack_;
  detail::region_builder region_;
  // The atom-cache entries the region keeps alive (one bit per index).
  std::array<std::uint64_t, 4> kept_cache_refs_{};
  // The buffer owner the region keeps alive for zero-copy binaries, if any.
  const std::shared_ptr<const void>* kept_owner_ = nullptr;
  std::size_t elements_ = 1;
  errc error_ = errc::ok;
  const byte* error_at_ = nullptr;
  // Recently made heap atoms (in the region): a list of pids from one node shares one node-name
  // atom.
  std::array<detail::atom_node*, 4> recent_atoms_{};
  unsigned recent_next_ = 0;
};

const byte* decoder::store_utf8_atom(const byte* text, std::size_t size, const byte* end,
                                     term& out) {
  if (size <= access::inline_atom_capacity) {
    if (end - text >= static_cast<std::ptrdiff_t>(access::inline_atom_capacity)) {
      access::set_inline_atom_unchecked_tail(out, text, size);
    } else {
      access::set_inline_atom(out, text, size);
    }
    return text + size;
  }
  std::string_view view(reinterpret_cast<const char*>(text), size);
  for (detail::atom_node* a : recent_atoms_) {
    if (a != nullptr && a->text() == view) {
      access::set_heap_atom(out, a);
      return text + size;
    }
  }
  auto* n = region_.make<detail::atom_node>(size, static_cast<std::uint32_t>(size));
  std::memcpy(detail::trailing<char>(n), text, size);
  access::set_heap_atom(out, n);
  recent_atoms_[recent_next_++ % recent_atoms_.size()] = n;
  return text + size;
}

const byte* decoder::decode_atom(byte t, const byte* p, const byte* end, term& out) {
  const byte* at = p - 1;
  std::size_t len;
  switch (t) {
    case tag::small_atom_utf8:
    case tag::small_atom:
      if (end - p < 1) return fail(errc::truncated, at);
      len = *p++;
      break;
    case tag::atom_utf8:
    case tag::atom:
      if (end - p < 2) return fail(errc::truncated, at);
      len = load_u16(p);
      p += 2;
      break;
    case tag::atom_cache_ref: {
      if (end - p < 1) return fail(errc::truncated, at);
      std::size_t index = *p++;
      if (index >= opts_.atom_cache_refs.size() || !opts_.atom_cache_refs[index].is_atom()) {
        return fail(errc::bad_atom_cache_ref, at);
      }
      const term& cached = opts_.atom_cache_refs[index];
      if (access::node_or_null(cached) != nullptr) {
        std::uint64_t& bits = kept_cache_refs_[index / 64];
        std::uint64_t bit = std::uint64_t{1} << (index % 64);
        if ((bits & bit) == 0) {
          region_.keep(cached);
          bits |= bit;
        }
      }
      access::alias(out, cached);
      return p;
    }
    default:
      return fail(is_known_tag(t) ? errc::invalid_term : errc::unknown_tag, at);
  }
  if (static_cast<std::size_t>(end - p) < len) return fail(errc::truncated, at);
  bool ascii = all_ascii(p, len);
  if (t == tag::small_atom_utf8 || t == tag::atom_utf8 || ascii) {
    if (ascii) {
      if (len > 255) return fail(errc::atom_too_long, at);
    } else {
      auto count = detail::utf8_count({reinterpret_cast<const char*>(p), len});
      if (!count) return fail(errc::invalid_atom_encoding, at);
      if (*count > 255) return fail(errc::atom_too_long, at);
    }
    return store_utf8_atom(p, len, end, out);
  }
  // Latin-1 (ATOM_EXT, SMALL_ATOM_EXT): every byte is one character.
  if (len > 255) return fail(errc::atom_too_long, at);
  byte utf8[510];
  std::size_t n = 0;
  for (std::size_t i = 0; i < len; ++i) {
    byte c = p[i];
    if (c < 0x80) {
      utf8[n++] = c;
    } else {
      utf8[n++] = static_cast<byte>(0xc0 | (c >> 6));
      utf8[n++] = static_cast<byte>(0x80 | (c & 0x3f));
    }
  }
  store_utf8_atom(utf8, n, utf8 + n, out);
  return p + len;
}

const byte* decoder::read_atom(const byte* p, const byte* end, term& out) {
  if (p >= end) return fail(errc::truncated, p);
  byte t = *p;
  return decode_atom(t, p + 1, end, out);
}

const byte* decoder::read_pid(const byte* p, const byte* end, term& out) {
  if (p >= end) return fail(errc::truncated, p);
  const byte* at = p;
  byte t = *p++;
  if (t != tag::new_pid && t != tag::pid) {
    return fail(is_known_tag(t) ? errc::invalid_term : errc::unknown_tag, at);
  }
  auto* n = region_.make<detail::pid_node>(0, pid_fields{});
  access::set_node(out, kind::pid, n);
  pid_fields& f = n->fields;
  p = read_atom(p, end, f.node);
  if (p == nullptr) return nullptr;
  std::size_t need = t == tag::new_pid ? 12 : 9;
  if (static_cast<std::size_t>(end - p) < need) return fail(errc::truncated, at);
  f.id = load_u32(p);
  f.serial = load_u32(p + 4);
  f.creation = t == tag::new_pid ? load_u32(p + 8) : p[8];
  return p + need;
}

const byte* decoder::decode_big(byte t, const byte* p, const byte* end, term& out) {
  const byte* at = p - 1;
  std::size_t n;
  if (t == tag::small_big) {
    if (end - p < 2) return fail(errc::truncated, at);
    n = *p++;
  } else {
    if (end - p < 5) return fail(errc::truncated, at);
    n = load_u32(p);
    p += 4;
  }
  bool negative = *p++ != 0;
  if (static_cast<std::size_t>(end - p) < n) return fail(errc::truncated, at);
  // Small magnitudes are common (64-bit values beyond 32 bits): no allocation for those.
  if (n <= 8) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
    if (!negative && v <= static_cast<std::uint64_t>(INT64_MAX)) {
      access::set_int(out, static_cast<std::int64_t>(v));
      return p + n;
    }
    if (negative && v <= static_cast<std::uint64_t>(INT64_MAX) + 1) {
      access::set_int(out, static_cast<std::int64_t>(0 - v));
      return p + n;
    }
  }
  std::size_t size = n;
  while (size > 0 && p[size - 1] == 0) --size;
  if (size <= 8) {
    // Leading zero bytes hid a small value: normalise as term::big_integer does.
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < size; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
    if (!negative && v <= static_cast<std::uint64_t>(INT64_MAX)) {
      access::set_int(out, static_cast<std::int64_t>(v));
      return p + n;
    }
    if (negative && v <= static_cast<std::uint64_t>(INT64_MAX) + 1) {
      access::set_int(out, static_cast<std::int64_t>(0 - v));
      return p + n;
    }
  }
  auto* node = region_.make<detail::big_node>(size, negative, static_cast<std::uint32_t>(size));
  std::memcpy(detail::trailing<std::uint8_t>(node), p, size);
  access::set_node(out, kind::big_integer, node);
  return p + n;
}

// The integer fields of NEW_FUN_EXT (OldIndex, OldUniq).
const byte* decoder::read_small_integer(const byte* p, const byte* end, term& out) {
  if (p >= end) return fail(errc::truncated, p);
  const byte* at = p;
  byte t = *p++;
  switch (t) {
    case tag::small_integer:
      if (end - p < 1) return fail(errc::truncated, at);
      access::set_int(out, *p);
      return p + 1;
    case tag::integer:
      if (end - p < 4) return fail(errc::truncated, at);
      access::set_int(out, static_cast<std::int32_t>(load_u32(p)));
      return p + 4;
    case tag::small_big:
    case tag::large_big:
      return decode_big(t, p, end, out);
    default:
      return fail(is_known_tag(t) ? errc::invalid_term : errc::unknown_tag, at);
  }
}

// NEW_FUN_EXT up to its free variables; those are decoded through the stack (`pending` gets
// the frame, with count 0 when there are none).
const byte* decoder::decode_fun(const byte* p, const byte* end, term& out, frame& pending) {
  const byte* at = p - 1;
  // Size (ignored, as BEAM does: it is recomputed when encoding), Arity, Uniq, Index, NumFree.
  if (end - p < 29) return fail(errc::truncated, at);
  auto* n = region_.make<detail::fun_node>(0, fun_fields{});
  access::set_node(out, kind::fun, n);
  region_.finalize_fun(n);
  fun_fields& f = n->fields;
  f.is_export = false;
  f.arity = p[4];
  std::memcpy(f.uniq.data(), p + 5, 16);
  f.index = load_u32(p + 21);
  std::uint32_t num_free = load_u32(p + 25);
  p += 29;
  if ((p = read_atom(p, end, f.module)) == nullptr) return nullptr;
  if ((p = read_small_integer(p, end, f.old_index)) == nullptr) return nullptr;
  if ((p = read_small_integer(p, end, f.old_uniq)) == nullptr) return nullptr;
  if ((p = read_pid(p, end, f.pid)) == nullptr) return nullptr;
  if (num_free > static_cast<std::size_t>(end - p)) return fail(errc::count_exceeds_input, at);
  if (!reserve_elements(num_free, at)) return nullptr;
  f.free_vars.resize(num_free);
  pending =
      frame{n->fields.free_vars.data(), &out, static_cast<std::size_t>(at - base_), 0, num_free, 0,
            frame_kind::free_vars};  // depth: set by the caller
  return p;
}

inline void decoder::store_binary_copy(const byte* bytes, std::size_t n, unsigned bits, term& out) {
  kind k = bits == 8 ? kind::binary : kind::bitstring;
  auto* node = region_.make<detail::binary_node>(n, k, n, bits);
  auto* data = detail::trailing<std::uint8_t>(node);
  if (n != 0) std::memcpy(data, bytes, n);
  if (bits != 8 && n != 0) data[n - 1] &= static_cast<std::uint8_t>(0xff << (8 - bits));
  node->data = data;
  access::set_node(out, k, node);
}

bool decoder::finish_container(frame& f, const byte* p) {
  switch (f.kind) {
    case frame_kind::list_tail: {
      auto& node = access::mutable_node_of<detail::list_node>(*f.container);
      if (node.tail.type() == kind::list) {
        // A LIST_EXT whose tail is a non-empty list: [1 | [2, 3]] is [1, 2, 3]. BEAM never
        // writes this, but it decodes it, so do the same (term::list flattens).
        const auto& rest = access::node_of<detail::list_node>(node.tail);
        std::uint64_t total = std::uint64_t{node.size} + rest.size;
        if (total > UINT32_MAX) {
          fail(errc::too_large, base_ + f.start);
          return false;
        }
        // A new node in the region; the two old ones stay there unused until it dies.
        auto* merged = region_.make<detail::list_node>(total * sizeof(term),
                                                       static_cast<std::uint32_t>(total));
        term* e = merged->elements();
        for (std::uint32_t i = 0; i < node.size; ++i) {
          new (e + i) term();
          access::alias(e[i], node.elements()[i]);
        }
        for (std::uint32_t i = 0; i < rest.size; ++i) {
          new (e + node.size + i) term();
          access::alias(e[node.size + i], rest.elements()[i]);
        }
        access::alias(merged->tail, rest.tail);
        access::set_node(*f.container, kind::list, merged);
      }
      return true;
    }
    case frame_kind::map: {
      auto& node = access::mutable_node_of<detail::map_node>(*f.container);
      const term_pair* e = node.entries();
      bool sorted = true;
      for (std::uint32_t i = 1; i < node.size; ++i) {
        if (!key_less(e[i - 1].first, e[i].first)) {
          sorted = false;
          break;
        }
      }
      // Keys in strictly increasing order cannot repeat; otherwise (BEAM's hash order for more
      // than 32 keys, atom-index order in OTP 26+) look for a repeat.
      if (!sorted && has_duplicate_key(e, node.size)) {
        fail(errc::duplicate_map_key, base_ + f.start);
        return false;
      }
      node.sorted = sorted;
      return true;
    }
    default:
      (void)p;
      return true;
  }
}

const byte* decoder::decode_term(const byte* p, const byte* end, term& root) {
  base_ = p;
  stack_.clear();
  term* dest = &root;
  std::size_t depth = 0;  // how many containers enclose *dest
  for (;;) {
    if (p >= end) return fail(errc::truncated, p);
    const byte* at = p;
    byte t = *p++;
    std::size_t remaining = static_cast<std::size_t>(end - p);
    switch (t) {
      case tag::small_integer:
        if (remaining < 1) return fail(errc::truncated, at);
        access::set_int(*dest, *p);
        p += 1;
        break;
      case tag::integer:
        if (remaining < 4) return fail(errc::truncated, at);
        access::set_int(*dest, static_cast<std::int32_t>(load_u32(p)));
        p += 4;
        break;
      case tag::new_float: {
        if (remaining < 8) return fail(errc::truncated, at);
        double d = std::bit_cast<double>(load_u64(p));
        // BEAM has no NaN or infinities and refuses them in external terms.
        if (!std::isfinite(d)) return fail(errc::invalid_term, at);
        access::set_float(*dest, d);
        p += 8;
        break;
      }
      case tag::float_: {
        if (remaining < 31) return fail(errc::truncated, at);
        auto d = parse_old_float(p);
        if (!d) return fail(errc::invalid_term, at);
        access::set_float(*dest, *d);
        p += 31;
        break;
      }
      case tag::small_atom_utf8:
      case tag::atom_utf8:
      case tag::small_atom:
      case tag::atom:
      case tag::atom_cache_ref:
        if ((p = decode_atom(t, p, end, *dest)) == nullptr) return nullptr;
        break;
      case tag::small_big:
      case tag::large_big:
        if ((p = decode_big(t, p, end, *dest)) == nullptr) return nullptr;
        break;
      case tag::nil:
        break;  // *dest is nil already
      case tag::string: {
        if (remaining < 2) return fail(errc::truncated, at);
        std::size_t n = load_u16(p);
        p += 2;
        if (static_cast<std::size_t>(end - p) < n) return fail(errc::truncated, at);
        if (n == 0) break;
        if (!reserve_elements(n, at)) return nullptr;
        auto* node =
            region_.make<detail::list_node>(n * sizeof(term), static_cast<std::uint32_t>(n));
        term* e = node->elements();
        for (std::size_t i = 0; i < n; ++i) {
          new (e + i) term();
          access::set_int(e[i], p[i]);
        }
        access::set_node(*dest, kind::list, node);
        p += n;
        break;
      }
      case tag::binary: {
        if (remaining < 4) return fail(errc::truncated, at);
        std::size_t n = load_u32(p);
        p += 4;
        if (static_cast<std::size_t>(end - p) < n) return fail(errc::truncated, at);
        if (owner_ != nullptr && n >= lim_.zero_copy_threshold) {
          if (kept_owner_ != owner_) {
            region_.keep(*owner_);
            kept_owner_ = owner_;
          }
          auto* node = region_.make<detail::binary_node>(0, kind::binary, n, 8u);
          node->data = p;
          access::set_node(*dest, kind::binary, node);
        } else {
          store_binary_copy(p, n, 8, *dest);
        }
        p += n;
        break;
      }
      case tag::bit_binary: {
        if (remaining < 5) return fail(errc::truncated, at);
        std::size_t n = load_u32(p);
        unsigned bits = p[4];
        p += 5;
        if (static_cast<std::size_t>(end - p) < n) return fail(errc::truncated, at);
        // As BEAM: an empty bitstring has 0 bits in its (absent) last byte, others 1..8.
        if (n == 0 ? bits != 0 : (bits < 1 || bits > 8)) return fail(errc::invalid_term, at);
        store_binary_copy(p, n, n == 0 ? 8 : bits, *dest);
        p += n;
        break;
      }
      case tag::small_tuple:
      case tag::large_tuple: {
        std::size_t n;
        if (t == tag::small_tuple) {
          if (remaining < 1) return fail(errc::truncated, at);
          n = *p++;
        } else {
          if (remaining < 4) return fail(errc::truncated, at);
          n = load_u32(p);
          p += 4;
        }
        if (n > static_cast<std::size_t>(end - p)) return fail(errc::count_exceeds_input, at);
        if (!reserve_elements(n, at)) return nullptr;
        auto* node =
            region_.make<detail::tuple_node>(n * sizeof(term), static_cast<std::uint32_t>(n));
        term* e = node->elements();
        for (std::size_t i = 0; i < n; ++i) new (e + i) term();
        access::set_node(*dest, kind::tuple, node);
        if (n == 0) break;
        if (depth >= lim_.max_depth) return fail(errc::depth_exceeded, at);
        ++depth;
        // A tuple is complete when its last element is: no frame to come back to for that one
        // ({{{...}}} nests without a stack).
        if (n > 1) {
          stack_.push_back({e, dest, static_cast<std::size_t>(at - base_), 1,
                            static_cast<std::uint32_t>(n), static_cast<std::uint32_t>(depth),
                            frame_kind::tuple});
        }
        dest = e;
        continue;
      }
      case tag::list: {
        if (remaining < 4) return fail(errc::truncated, at);
        std::size_t n = load_u32(p);
        p += 4;
        if (n >= static_cast<std::size_t>(end - p)) return fail(errc::count_exceeds_input, at);
        // LIST_EXT with no elements is just its tail.
        if (n == 0) continue;
        if (!reserve_elements(n, at)) return nullptr;
        auto* node =
            region_.make<detail::list_node>(n * sizeof(term), static_cast<std::uint32_t>(n));
        term* e = node->elements();
        for (std::size_t i = 0; i < n; ++i) new (e + i) term();
        access::set_node(*dest, kind::list, node);
        if (depth >= lim_.max_depth) return fail(errc::depth_exceeded, at);
        ++depth;
        stack_.push_back({e, dest, static_cast<std::size_t>(at - base_), 1,
                          static_cast<std::uint32_t>(n), static_cast<std::uint32_t>(depth),
                          frame_kind::list});
        dest = e;
        continue;
      }
      case tag::map: {
        if (remaining < 4) return fail(errc::truncated, at);
        std::size_t n = load_u32(p);
        p += 4;
        if (n > static_cast<std::size_t>(end - p) / 2) return fail(errc::count_exceeds_input, at);
        if (!reserve_elements(2 * static_cast<std::uint64_t>(n), at)) return nullptr;
        auto* node = region_.make<detail::map_node>(n * sizeof(term_pair),
                                                    static_cast<std::uint32_t>(n), true);
        term_pair* e = node->entries();
        for (std::size_t i = 0; i < n; ++i) new (e + i) term_pair();
        access::set_node(*dest, kind::map, node);
        if (n == 0) break;
        if (depth >= lim_.max_depth) return fail(errc::depth_exceeded, at);
        ++depth;
        stack_.push_back({e, dest, static_cast<std::size_t>(at - base_), 1,
                          static_cast<std::uint32_t>(2 * n), static_cast<std::uint32_t>(depth),
                          frame_kind::map});
        dest = &e[0].first;
        continue;
      }
      case tag::new_pid:
      case tag::pid:
        if ((p = read_pid(at, end, *dest)) == nullptr) return nullptr;
        break;
      case tag::new_port:
      case tag::v4_port:
      case tag::port: {
        auto* node = region_.make<detail::port_node>(0, port_fields{});
        access::set_node(*dest, kind::port, node);
        port_fields& f = node->fields;
        if ((p = read_atom(p, end, f.node)) == nullptr) return nullptr;
        std::size_t need = t == tag::v4_port ? 12 : (t == tag::new_port ? 8 : 5);
        if (static_cast<std::size_t>(end - p) < need) return fail(errc::truncated, at);
        if (t == tag::v4_port) {
          f.id = load_u64(p);
          f.creation = load_u32(p + 8);
        } else {
          f.id = load_u32(p);
          f.creation = t == tag::new_port ? load_u32(p + 4) : p[4];
        }
        p += need;
        break;
      }
      case tag::newer_reference:
      case tag::new_reference:
      case tag::reference: {
        std::size_t words = 1;
        if (t != tag::reference) {
          if (remaining < 2) return fail(errc::truncated, at);
          words = load_u16(p);
          p += 2;
          if (words < 1 || words > 5) return fail(errc::invalid_term, at);
        }
        auto* node = region_.make<detail::reference_node>(0, reference_fields{});
        access::set_node(*dest, kind::reference, node);
        reference_fields& f = node->fields;
        if ((p = read_atom(p, end, f.node)) == nullptr) return nullptr;
        std::size_t creation_size = t == tag::newer_reference ? 4 : 1;
        if (static_cast<std::size_t>(end - p) < creation_size + 4 * words) {
          return fail(errc::truncated, at);
        }
        if (t == tag::reference) {
          f.words[0] = load_u32(p);
          f.creation = p[4];
        } else {
          f.creation = t == tag::newer_reference ? load_u32(p) : p[0];
          p += creation_size;
          for (std::size_t i = 0; i < words; ++i) f.words[i] = load_u32(p + 4 * i);
        }
        f.word_count = static_cast<std::uint8_t>(words);
        p += t == tag::reference ? 5 : 4 * words;
        break;
      }
      case tag::export_: {
        auto* node = region_.make<detail::fun_node>(0, fun_fields{});
        access::set_node(*dest, kind::fun, node);
        region_.finalize_fun(node);
        fun_fields& f = node->fields;
        f.is_export = true;
        if ((p = read_atom(p, end, f.module)) == nullptr) return nullptr;
        if ((p = read_atom(p, end, f.function)) == nullptr) return nullptr;
        term arity;
        if ((p = read_small_integer(p, end, arity)) == nullptr) return nullptr;
        auto a = arity.to_int64();
        access::forget(arity);  // a big one would be an alias of a node in the region
        if (!a || *a < 0 || *a > 255) return fail(errc::invalid_term, at);
        f.arity = static_cast<std::uint8_t>(*a);
        break;
      }
      case tag::new_fun: {
        frame pending{};
        if ((p = decode_fun(p, end, *dest, pending)) == nullptr) return nullptr;
        if (pending.count == 0) break;
        if (depth >= lim_.max_depth) return fail(errc::depth_exceeded, at);
        dest = static_cast<term*>(pending.slots);
        pending.next = 1;
        pending.depth = static_cast<std::uint32_t>(++depth);
        if (pending.count > 1) stack_.push_back(pending);
        continue;
      }
      case tag::local:
        return fail(errc::local_ext_unsupported, at);
      default:
        // COMPRESSED is only valid for a whole term; everything else is unknown here.
        return fail(errc::unknown_tag, at);
    }

    // A term is complete at *dest: move to the next empty slot, closing finished containers.
    for (;;) {
      if (stack_.empty()) return p;
      frame& f = stack_.back();
      if (f.next < f.count) {
        std::uint32_t i = f.next++;
        depth = f.depth;
        if (f.kind == frame_kind::map) {
          term_pair& e = static_cast<term_pair*>(f.slots)[i / 2];
          dest = (i & 1) != 0 ? &e.second : &e.first;
          if (f.next == f.count) {
            // All keys are in: check them now, and decode the last value without a frame.
            if (!finish_container(f, p)) return nullptr;
            stack_.pop_back();
          }
          break;
        }
        dest = static_cast<term*>(f.slots) + i;
        // Runs of integers and nils (byte lists, counters, tuples of numbers) are taken here
        // without a round through the dispatch above.
        if (end - p >= 2 && *p == tag::small_integer) {
          access::set_int(*dest, p[1]);
          p += 2;
          // Locals, not the frame: stores into terms may alias any memory.
          term* slots = static_cast<term*>(f.slots);
          std::uint32_t next = f.next, count = f.count;
          while (next < count && end - p >= 2 && *p == tag::small_integer) {
            access::set_int(slots[next++], p[1]);
            p += 2;
          }
          f.next = next;
          continue;
        }
        if (end - p >= 5 && *p == tag::integer) {
          term* slots = static_cast<term*>(f.slots);
          std::uint32_t next = f.next - 1, count = f.count;
          do {
            access::set_int(slots[next++], static_cast<std::int32_t>(load_u32(p + 1)));
            p += 5;
          } while (next < count && end - p >= 5 && *p == tag::integer);
          f.next = next;
          continue;
        }
        if (p < end && *p == tag::nil) {
          ++p;
          continue;
        }
        // Short binaries that are copied (names, keys, small payloads) likewise.
        if (end - p >= 5 && *p == tag::binary) {
          std::size_t n = load_u32(p + 1);
          if (n <= small_binary && n <= static_cast<std::size_t>(end - p) - 5 &&
              (owner_ == nullptr || n < lim_.zero_copy_threshold)) {
            store_binary_copy(p + 5, n, 8, *dest);
            p += 5 + n;
            continue;
          }
        }
        // Short ASCII atoms (record tags, keys, ok/error) and floats likewise.
        if (end - p >= 2 && *p == tag::small_atom_utf8 && p[1] <= access::inline_atom_capacity &&
            static_cast<std::size_t>(end - p) >= 2u + p[1] && all_ascii(p + 2, p[1])) {
          if (end - (p + 2) >= static_cast<std::ptrdiff_t>(access::inline_atom_capacity)) {
            access::set_inline_atom_unchecked_tail(*dest, p + 2, p[1]);
          } else {
            access::set_inline_atom(*dest, p + 2, p[1]);
          }
          p += 2 + p[1];
          continue;
        }
        if (end - p >= 9 && *p == tag::new_float) {
          double d = std::bit_cast<double>(load_u64(p + 1));
          if (std::isfinite(d)) {
            access::set_float(*dest, d);
            p += 9;
            continue;
          }
        }
        // The last element of a tuple (or of a fun's environment) completes it: no need to come
        // back to its frame.
        if (f.next == f.count && f.kind != frame_kind::list) stack_.pop_back();
        break;
      }
      if (f.kind == frame_kind::list) {
        // A proper list: its tail is NIL_EXT, and the tail slot holds nil already.
        if (p < end && *p == tag::nil) {
          ++p;
          stack_.pop_back();
          continue;
        }
        f.kind = frame_kind::list_tail;
        dest = &access::mutable_node_of<detail::list_node>(*f.container).tail;
        depth = f.depth;
        break;
      }
      if (f.kind == frame_kind::map ||
          (f.kind == frame_kind::list_tail &&
           access::node_of<detail::list_node>(*f.container).tail.type() == kind::list)) {
        if (!finish_container(f, p)) return nullptr;
      }
      stack_.pop_back();
    }
  }
}

decode_result decoder::run(std::span<const byte> input) {
  decode_result result;
  const byte* begin = input.data();
  const byte* end = begin + input.size();
  const byte* p = begin;
  const byte* done = nullptr;
  // Errors inside a compressed term are reported at the compressed term's tag.
  const byte* compressed_at = nullptr;
  try {
    if (input.size() > lim_.max_input_size || lim_.max_elements < elements_) {
      fail(errc::too_large, begin);
    } else if (!opts_.without_version && p == end) {
      fail(errc::truncated, p);
    } else if (!opts_.without_version && *p++ != tag::version) {
      fail(errc::bad_version, begin);
    } else if (p < end && *p == tag::compressed) {
      compressed_at = p;
      if (end - p < 5) {
        fail(errc::truncated, p);
      } else {
        std::uint64_t size = load_u32(p + 1);
        const byte* z = p + 5;
        auto z_size = static_cast<std::uint64_t>(end - z);
        if (size > lim_.max_input_size) {
          fail(errc::too_large, p);
        } else if (size == 0 || size > z_size * max_inflate_ratio + 64) {
          fail(errc::bad_compressed_data, p);
        } else {
          std::shared_ptr<byte[]> buffer(new byte[size]);
          z_stream zs{};
          int rc = inflateInit(&zs);
          if (rc == Z_OK) {
            zs.next_in = const_cast<Bytef*>(z);
            zs.avail_in = static_cast<uInt>(std::min<std::uint64_t>(z_size, UINT32_MAX));
            zs.next_out = buffer.get();
            zs.avail_out = static_cast<uInt>(size);
            rc = inflate(&zs, Z_FINISH);
            inflateEnd(&zs);
          }
          if (rc != Z_STREAM_END || zs.total_out != size) {
            fail(errc::bad_compressed_data, p);
          } else {
            std::shared_ptr<const void> owner(buffer, buffer.get());
            const std::shared_ptr<const void>* saved = owner_;
            owner_ = &owner;
            region_.expect_input(size);
            const byte* inner_end = decode_term(buffer.get(), buffer.get() + size, result.value);
            owner_ = saved;
            if (inner_end != nullptr && inner_end != buffer.get() + size) {
              fail(errc::bad_compressed_data, compressed_at);
            } else if (inner_end != nullptr) {
              done = z + zs.total_in;
            }
          }
        }
      }
    } else {
      region_.expect_input(static_cast<std::size_t>(end - p));
      done = decode_term(p, end, result.value);
    }
  } catch (const std::bad_alloc&) {
    fail(errc::too_large, p);
  } catch (const invalid_term&) {
    fail(errc::invalid_term, p);
  }
  if (done != nullptr && !opts_.allow_trailing && done != end) fail(errc::trailing_bytes, done);
  if (error_ != errc::ok) {
    access::forget(result.value);  // an alias (see below); the region goes with the builder
    result.error = error_;
    const byte* at = compressed_at != nullptr ? compressed_at : error_at_;
    result.error_offset =
        at != nullptr && at >= begin && at <= end ? static_cast<std::size_t>(at - begin) : 0;
    if (error_ == errc::trailing_bytes)
      result.error_offset = static_cast<std::size_t>(done - begin);
    return result;
  }
  result.consumed = static_cast<std::size_t>(done - begin);
  // The value was decoded as an alias, like every slot. A node of the region takes over the
  // builder's reference to it; an atom of the atom cache gets a reference of its own, and the
  // region, if any, goes with the builder.
  if (detail::node* n = access::node_or_null(result.value)) {
    if (n->pool_class == detail::region_pool_class && detail::region_of(n) == region_.get()) {
      region_.hand_over();
    } else {
      access::retain(result.value);
    }
  }
  return result;
}

// ---- Tuples taken apart ------------------------------------------------------------------------
//
// decode_tuple_elements(): the elements of a flat tuple whose common forms are read here, each
// into a term of its own (pool-allocated nodes, no region). It accepts only what the decoder
// accepts, with the same values; whatever it does not know is left to the decoder.

// An atom in a current form (ATOM_CACHE_REF, SMALL_ATOM_UTF8, ATOM_UTF8); false for anything
// else, including the Latin-1 forms, which the decoder converts.
bool direct_atom(const byte*& p, const byte* end, const decode_options& o, term& out) {
  if (p >= end) return false;
  const byte t = *p++;
  std::size_t len;
  if (t == tag::atom_cache_ref) {
    if (p >= end) return false;
    const std::size_t index = *p++;
    if (index >= o.atom_cache_refs.size() || !o.atom_cache_refs[index].is_atom()) return false;
    out = o.atom_cache_refs[index];
    return true;
  }
  if (t == tag::small_atom_utf8) {
    if (p >= end) return false;
    len = *p++;
  } else if (t == tag::atom_utf8) {
    if (end - p < 2) return false;
    len = load_u16(p);
    p += 2;
  } else {
    return false;
  }
  if (static_cast<std::size_t>(end - p) < len) return false;
  // The decoder's checks (decode_atom): at most 255 characters of valid UTF-8.
  if (all_ascii(p, len)) {
    if (len > 255) return false;
  } else {
    auto count = detail::utf8_count({reinterpret_cast<const char*>(p), len});
    if (!count || *count > 255) return false;
  }
  term a;
  if (len <= access::inline_atom_capacity) {
    access::set_inline_atom(a, p, len);
  } else {
    auto* n = detail::allocate_node<detail::atom_node>(len, static_cast<std::uint32_t>(len));
    std::memcpy(detail::trailing<char>(n), p, len);
    access::set_heap_atom(a, n);
  }
  p += len;
  out = std::move(a);
  return true;
}

// An element of another form, through the decoder: true with p past it.
[[gnu::noinline]] bool general_element(const byte*& p, const byte* end, const decode_options& o,
                                       const std::shared_ptr<const void>* owner, term& out) {
  decode_options inner = o;
  inner.without_version = true;
  inner.allow_trailing = true;
  auto r = decoder(inner, owner).run({p, end});
  if (!r) return false;
  out = std::move(r.value);
  p += r.consumed;
  return true;
}

// One element at p: true with p past it, false when the decoder must decide.
bool direct_element(const byte*& p, const byte* end, const decode_options& o,
                    const std::shared_ptr<const void>* owner, term& out) {
  if (p >= end) return false;
  const byte t = *p;
  switch (t) {
    case tag::small_integer:
      if (end - p < 2) return false;
      out = term(std::int64_t{p[1]});
      p += 2;
      return true;
    case tag::integer:
      if (end - p < 5) return false;
      out = term(std::int64_t{static_cast<std::int32_t>(load_u32(p + 1))});
      p += 5;
      return true;
    case tag::atom_cache_ref:
    case tag::small_atom_utf8:
    case tag::atom_utf8:
      return direct_atom(p, end, o, out);
    case tag::new_pid: {
      const byte* q = p + 1;
      term node;
      if (!direct_atom(q, end, o, node) || end - q < 12) return false;
      auto* n = detail::allocate_node<detail::pid_node>(
          0, pid_fields{std::move(node), load_u32(q), load_u32(q + 4), load_u32(q + 8)});
      out = access::adopt(kind::pid, n);
      p = q + 12;
      return true;
    }
    case tag::newer_reference: {
      if (end - p < 3) return false;
      const std::size_t words = load_u16(p + 1);
      if (words < 1 || words > 5) return false;
      const byte* q = p + 3;
      reference_fields f{};
      if (!direct_atom(q, end, o, f.node)) return false;
      if (static_cast<std::size_t>(end - q) < 4 + 4 * words) return false;
      f.creation = load_u32(q);
      f.word_count = static_cast<std::uint8_t>(words);
      for (std::size_t i = 0; i < words; ++i) f.words[i] = load_u32(q + 4 + 4 * i);
      auto* n = detail::allocate_node<detail::reference_node>(0, std::move(f));
      out = access::adopt(kind::reference, n);
      p = q + 4 + 4 * words;
      return true;
    }
    default:
      return general_element(p, end, o, owner, out);
  }
}

bool decode_tuple_elements_from(std::span<const std::uint8_t> input, const decode_options& o,
                                const std::shared_ptr<const void>* owner, std::span<term> out,
                                std::size_t& arity, std::size_t& consumed) {
  const decode_limits& lim = o.limits;
  // Tight limits are the decoder's to enforce: this path counts neither depth nor elements.
  if (input.size() > lim.max_input_size || lim.max_depth < 2 || lim.max_elements < 64) {
    return false;
  }
  const byte* begin = input.data();
  const byte* end = begin + input.size();
  const byte* p = begin;
  if (!o.without_version) {
    if (p == end || *p++ != tag::version) return false;
  }
  if (end - p < 2) return false;
  std::size_t n;
  if (*p == tag::small_tuple) {
    n = p[1];
    p += 2;
  } else if (*p == tag::large_tuple) {
    if (end - p < 5) return false;
    n = load_u32(p + 1);
    p += 5;
  } else {
    return false;
  }
  if (n > out.size()) return false;
  try {
    for (std::size_t i = 0; i < n; ++i) {
      if (!direct_element(p, end, o, owner, out[i])) return false;
    }
  } catch (const std::bad_alloc&) {
    return false;
  }
  arity = n;
  consumed = static_cast<std::size_t>(p - begin);
  return true;
}

}  // namespace

bool decode_tuple_elements(std::span<const std::uint8_t> input, const decode_options& options,
                           std::span<term> out, std::size_t& arity, std::size_t& consumed) {
  return decode_tuple_elements_from(input, options, nullptr, out, arity, consumed);
}

bool decode_tuple_elements(const shared_bytes& input, const decode_options& options,
                           std::span<term> out, std::size_t& arity, std::size_t& consumed) {
  return decode_tuple_elements_from(input.bytes, options, input.owner ? &input.owner : nullptr, out,
                                    arity, consumed);
}

shared_bytes shared_bytes::copy_of(std::span<const std::uint8_t> data) {
  std::shared_ptr<std::uint8_t[]> buffer(new std::uint8_t[data.size() == 0 ? 1 : data.size()]);
  if (!data.empty()) std::memcpy(buffer.get(), data.data(), data.size());
  shared_bytes out;
  out.bytes = {buffer.get(), data.size()};
  out.owner = std::shared_ptr<const void>(buffer, buffer.get());
  return out;
}

decode_result decode(std::span<const std::uint8_t> input, const decode_options& options) {
  return decoder(options, nullptr).run(input);
}

decode_result decode(const shared_bytes& input, const decode_options& options) {
  if (!input.owner) return decode(input.bytes, options);
  return decoder(options, &input.owner).run(input.bytes);
}

term binary_to_term(std::span<const std::uint8_t> input) {
  auto result = decode(input);
  if (!result) {
    throw std::system_error(result.error,
                            "binary_to_term at byte " + std::to_string(result.error_offset));
  }
  return std::move(result.value);
}

}  // namespace edist::etf
