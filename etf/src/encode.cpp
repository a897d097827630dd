// The External Term Format encoder.
//
// One non-recursive walk writes the bytes; the same walk with a counting sink gives
// encoded_size(). The output is what term_to_binary(T, [{minor_version, 2}]) writes in OTP 26+.
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <edist/etf/encode.hpp>
#include <limits>

#include "small_stack.hpp"
#include "tags.hpp"
#include "term_access.hpp"
#include "term_nodes.hpp"

namespace edist::etf {

void encode_buffer::put_u16(std::uint16_t v) {
  std::uint8_t b[2] = {static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
  bytes_.insert(bytes_.end(), b, b + 2);
}

void encode_buffer::put_u32(std::uint32_t v) {
  std::uint8_t b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
  bytes_.insert(bytes_.end(), b, b + 4);
}

void encode_buffer::put_u64(std::uint64_t v) {
  std::uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(v >> (56 - 8 * i));
  bytes_.insert(bytes_.end(), b, b + 8);
}

void encode_buffer::put_reference(std::size_t at, const term& binary) {
  references_.push_back({at, binary});
  referenced_size_ += references_.back().bytes().size();
}

namespace {

using access = term_builder_access;
using byte = std::uint8_t;

// Writes into a std::vector through a raw cursor. ensure(n) must precede every n bytes of
// writes; the vector grows geometrically, and finish() trims it to what was written.
class vector_sink {
 public:
  static constexpr bool counting = false;
  explicit vector_sink(std::vector<byte>& v, encode_buffer* references = nullptr,
                       std::size_t reference_from = 0)
      : v_(v), start_(v.size()), references_(references), reference_from_(reference_from) {
    cur_ = v_.data() + v_.size();
    lim_ = cur_;
  }
  // Whether a binary of n bytes is to be referenced instead of copied.
  bool references(std::size_t n) const noexcept {
    return references_ != nullptr && reference_from_ != 0 && n >= reference_from_;
  }
  // Records `binary` at the current position (the vector is trimmed to it only at the end).
  void reference(const term& binary) { references_->put_reference(pos(), binary); }
  [[gnu::always_inline]] void ensure(std::size_t n) {
    if (static_cast<std::size_t>(lim_ - cur_) < n) [[unlikely]]
      grow(n);
  }
  // The next n bytes, for the caller to fill (after ensure(n), or ensure of more). Writing
  // through the returned pointer keeps the cursor out of memory: a byte store may alias it.
  [[gnu::always_inline]] byte* claim(std::size_t n) noexcept {
    byte* c = cur_;
    cur_ = c + n;
    return c;
  }
  void u8(byte b) noexcept { *cur_++ = b; }
  void u16(std::uint16_t v) noexcept {
    cur_[0] = static_cast<byte>(v >> 8);
    cur_[1] = static_cast<byte>(v);
    cur_ += 2;
  }
  void u32(std::uint32_t v) noexcept {
    if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap32(v);
    std::memcpy(cur_, &v, 4);
    cur_ += 4;
  }
  void u64(std::uint64_t v) noexcept {
    if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
    std::memcpy(cur_, &v, 8);
    cur_ += 8;
  }
  void bytes(const void* p, std::size_t n) noexcept {
    if (n != 0) std::memcpy(cur_, p, n);
    cur_ += n;
  }
  std::size_t pos() const noexcept { return static_cast<std::size_t>(cur_ - v_.data()); }
  void patch_u32(std::size_t at, std::uint32_t v) noexcept {
    if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap32(v);
    std::memcpy(v_.data() + at, &v, 4);
  }
  void finish() { v_.resize(pos()); }

 private:
  [[gnu::noinline]] void grow(std::size_t n) {
    std::size_t at = pos();
    std::size_t written = at - start_;
    // Growth doubles what this encode has written, so it stays amortised, and resize()
    // zero-fills at most about as much as is written.
    std::size_t step = std::max({n, written, std::size_t{256}});
    if (v_.capacity() - at < n) v_.reserve(at + step);
    v_.resize(std::min(v_.capacity(), at + step));
    cur_ = v_.data() + at;
    lim_ = v_.data() + v_.size();
  }

  std::vector<byte>& v_;
  std::size_t start_;
  encode_buffer* references_;
  std::size_t reference_from_;
  byte* cur_;
  byte* lim_;
};

class size_sink {
 public:
  static constexpr bool counting = true;
  void ensure(std::size_t) noexcept {}
  // Callers write at most 16 bytes through it (longer data goes through bytes()).
  byte* claim(std::size_t n) noexcept {
    n_ += n;
    return scratch_;  // what is written here is not kept
  }
  void u8(byte) noexcept { ++n_; }
  void u16(std::uint16_t) noexcept { n_ += 2; }
  void u32(std::uint32_t) noexcept { n_ += 4; }
  void u64(std::uint64_t) noexcept { n_ += 8; }
  void bytes(const void*, std::size_t n) noexcept { n_ += n; }
  std::size_t pos() const noexcept { return n_; }
  void patch_u32(std::size_t, std::uint32_t) noexcept {}
  std::size_t size() const noexcept { return n_; }
  // The size counts every byte, so a binary is never left out here.
  bool references(std::size_t) const noexcept { return false; }
  void reference(const term&) noexcept {}

 private:
  std::size_t n_ = 0;
  byte scratch_[32];
};

inline void store_be32(byte* o, std::uint32_t v) noexcept {
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap32(v);
  std::memcpy(o, &v, 4);
}
inline void store_be64(byte* o, std::uint64_t v) noexcept {
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  std::memcpy(o, &v, 8);
}

struct walk_options {
  atom_cache_hook* atom_cache = nullptr;
  bool v4_ports = true;
};

enum class frame_kind : std::uint8_t { terms, map };

struct frame {
  const void* cur;  // const term* or const term_pair*
  const void* end;
  const term* tail;         // list tail still to write after the elements, or null
  std::size_t fun_size_at;  // closure whose Size field is patched at the end, or npos
  frame_kind kind;
  bool value_next;  // map: the value of *cur is next
};

constexpr std::size_t no_patch = std::numeric_limits<std::size_t>::max();

template <class Sink>
class walker {
 public:
  walker(Sink& s, const walk_options& o) noexcept : s_(s), o_(o) {}

  void write(const term& root);

 private:
  void atom(const term& a) {
    if (o_.atom_cache != nullptr) {
      int ref = o_.atom_cache->reference_for(a);
      if (ref >= 0 && ref <= 254) {
        s_.ensure(2);
        s_.u8(tag::atom_cache_ref);
        s_.u8(static_cast<byte>(ref));
        return;
      }
    }
    std::string_view text = access::atom_text(a);
    if (text.size() <= access::inline_atom_capacity) {
      inline_atom(a, text.size());
      return;
    }
    s_.ensure(3 + text.size());
    if (text.size() <= 255) {
      s_.u8(tag::small_atom_utf8);
      s_.u8(static_cast<byte>(text.size()));
    } else {
      s_.u8(tag::atom_utf8);
      s_.u16(static_cast<std::uint16_t>(text.size()));
    }
    s_.bytes(text.data(), text.size());
  }

  [[gnu::always_inline]] void integer(std::int64_t v) {
    s_.ensure(11);
    if (v >= 0 && v <= 255) {
      byte* o = s_.claim(2);
      o[0] = tag::small_integer;
      o[1] = static_cast<byte>(v);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      byte* o = s_.claim(5);
      o[0] = tag::integer;
      store_be32(o + 1, static_cast<std::uint32_t>(static_cast<std::int32_t>(v)));
    } else {
      std::uint64_t mag = v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
      auto n = static_cast<byte>((71 - std::countl_zero(mag)) / 8);
      byte* o = s_.claim(3u + n);
      o[0] = tag::small_big;
      o[1] = n;
      o[2] = v < 0 ? 1 : 0;
      for (byte i = 0; i < n; ++i) o[3 + i] = static_cast<byte>(mag >> (8 * i));
    }
  }

  void float_(double d) {
    s_.ensure(9);
    byte* o = s_.claim(9);
    o[0] = tag::new_float;
    store_be64(o + 1, std::bit_cast<std::uint64_t>(d));
  }

  // An atom of at most inline_atom_capacity bytes, kept in the term: a fixed-size copy of the
  // term's text bytes; what lies past the atom is overwritten by the next write or trimmed.
  void inline_atom(const term& a, std::size_t size) {
    s_.ensure(2 + access::inline_atom_capacity);
    byte* o = s_.claim(2 + size);
    o[0] = tag::small_atom_utf8;
    o[1] = static_cast<byte>(size);
    std::memcpy(o + 2, access::atom_text_padded(a), access::inline_atom_capacity);
  }

  void big(const term& t) {
    const auto& n = access::node_of<detail::big_node>(t);
    auto mag = n.magnitude();
    s_.ensure(6 + mag.size());
    if (mag.size() <= 255) {
      s_.u8(tag::small_big);
      s_.u8(static_cast<byte>(mag.size()));
    } else {
      s_.u8(tag::large_big);
      s_.u32(static_cast<std::uint32_t>(mag.size()));
    }
    s_.u8(n.negative ? 1 : 0);
    s_.bytes(mag.data(), mag.size());
  }

  void pid(const term& t) {
    const auto& f = access::node_of<detail::pid_node>(t).fields;
    s_.ensure(1);
    s_.u8(tag::new_pid);
    atom(f.node);
    s_.ensure(12);
    s_.u32(f.id);
    s_.u32(f.serial);
    s_.u32(f.creation);
  }

  // Writes t when it lives inside its 16 bytes and needs no atom-cache lookup; false otherwise.
  [[gnu::always_inline]] bool write_immediate(const term& t) {
    switch (t.type()) {
      case kind::integer:
        integer(access::int_value(t));
        return true;
      case kind::float_:
        float_(access::float_value(t));
        return true;
      case kind::nil:
        s_.ensure(1);
        *s_.claim(1) = tag::nil;
        return true;
      case kind::atom: {
        if (o_.atom_cache != nullptr) return false;
        std::size_t size = access::atom_text(t).size();
        if (size > access::inline_atom_capacity) return false;
        inline_atom(t, size);
        return true;
      }
      default:
        return false;
    }
  }

  // True when t is a proper list that BEAM writes as STRING_EXT.
  static bool is_byte_string(const detail::list_node& n) noexcept {
    if (!n.tail.is_nil() || n.size > 65535) return false;
    const term* e = n.elements();
    for (std::uint32_t i = 0; i < n.size; ++i) {
      if (e[i].type() != kind::integer) return false;
      if (static_cast<std::uint64_t>(access::int_value(e[i])) > 255) return false;
    }
    return true;
  }

  Sink& s_;
  const walk_options& o_;
  detail::small_stack<frame, 32> stack_;
};

template <class Sink>
void walker<Sink>::write(const term& root) {
  const term* t = &root;
  for (;;) {
    switch (t->type()) {
      case kind::integer:
        integer(access::int_value(*t));
        break;
      case kind::big_integer:
        big(*t);
        break;
      case kind::float_:
        float_(access::float_value(*t));
        break;
      case kind::atom:
        atom(*t);
        break;
      case kind::nil:
        s_.ensure(1);
        s_.u8(tag::nil);
        break;
      case kind::binary:
      case kind::bitstring: {
        const auto& n = access::node_of<detail::binary_node>(*t);
        if (t->type() == kind::binary && s_.references(n.size)) {
          s_.ensure(5);
          s_.u8(tag::binary);
          s_.u32(static_cast<std::uint32_t>(n.size));
          s_.reference(*t);
          break;
        }
        s_.ensure(6 + n.size);
        if (t->type() == kind::binary) {
          s_.u8(tag::binary);
          s_.u32(static_cast<std::uint32_t>(n.size));
        } else {
          s_.u8(tag::bit_binary);
          s_.u32(static_cast<std::uint32_t>(n.size));
          s_.u8(n.bits_in_last_byte);
        }
        s_.bytes(n.data, n.size);
        break;
      }
      case kind::tuple: {
        const auto& n = access::node_of<detail::tuple_node>(*t);
        s_.ensure(5);
        if (n.size <= 255) {
          byte* o = s_.claim(2);
          o[0] = tag::small_tuple;
          o[1] = static_cast<byte>(n.size);
        } else {
          byte* o = s_.claim(5);
          o[0] = tag::large_tuple;
          store_be32(o + 1, n.size);
        }
        // Leading immediates are written at once; a tuple of immediates needs no frame, and
        // one whose last element is its only other term needs none either.
        const term* e = n.elements();
        const term* last = e + n.size;
        while (e != last && write_immediate(*e)) ++e;
        if (e == last) break;
        if (e + 1 != last) {
          stack_.push_back({e + 1, last, nullptr, no_patch, frame_kind::terms, false});
        }
        t = e;
        continue;
      }
      case kind::list: {
        const auto& n = access::node_of<detail::list_node>(*t);
        const term* e = n.elements();
        if (is_byte_string(n)) {
          if constexpr (Sink::counting) {
            s_.claim(3 + n.size);
            break;
          }
          s_.ensure(3 + n.size);
          byte* o = s_.claim(3 + n.size);
          o[0] = tag::string;
          o[1] = static_cast<byte>(n.size >> 8);
          o[2] = static_cast<byte>(n.size);
          for (std::uint32_t i = 0; i < n.size; ++i) {
            o[3 + i] = static_cast<byte>(access::int_value(e[i]));
          }
          break;
        }
        s_.ensure(5);
        byte* o = s_.claim(5);
        o[0] = tag::list;
        store_be32(o + 1, n.size);
        const term* last = e + n.size;
        while (e != last && write_immediate(*e)) ++e;
        if (e == last) {
          // All elements written: the tail is the last term of the list, so no frame.
          if (write_immediate(n.tail)) break;
          t = &n.tail;
          continue;
        }
        stack_.push_back({e + 1, last, &n.tail, no_patch, frame_kind::terms, false});
        t = e;
        continue;
      }
      case kind::map: {
        const auto& n = access::node_of<detail::map_node>(*t);
        s_.ensure(5);
        byte* o = s_.claim(5);
        o[0] = tag::map;
        store_be32(o + 1, n.size);
        if (n.size == 0) break;
        stack_.push_back(
            {n.entries(), n.entries() + n.size, nullptr, no_patch, frame_kind::map, true});
        t = &n.entries()[0].first;
        continue;
      }
      case kind::pid:
        pid(*t);
        break;
      case kind::port: {
        const auto& f = access::node_of<detail::port_node>(*t).fields;
        bool v4 = o_.v4_ports || f.id > UINT32_MAX;
        s_.ensure(1);
        s_.u8(v4 ? tag::v4_port : tag::new_port);
        atom(f.node);
        s_.ensure(12);
        if (v4) {
          s_.u64(f.id);
        } else {
          s_.u32(static_cast<std::uint32_t>(f.id));
        }
        s_.u32(f.creation);
        break;
      }
      case kind::reference: {
        const auto& f = access::node_of<detail::reference_node>(*t).fields;
        s_.ensure(3);
        s_.u8(tag::newer_reference);
        s_.u16(f.word_count);
        atom(f.node);
        s_.ensure(4 + 4 * f.word_count);
        s_.u32(f.creation);
        for (std::uint8_t i = 0; i < f.word_count; ++i) s_.u32(f.words[i]);
        break;
      }
      case kind::fun: {
        const auto& f = access::node_of<detail::fun_node>(*t).fields;
        if (f.is_export) {
          s_.ensure(1);
          s_.u8(tag::export_);
          atom(f.module);
          atom(f.function);
          s_.ensure(2);
          s_.u8(tag::small_integer);
          s_.u8(f.arity);
          break;
        }
        s_.ensure(30);
        s_.u8(tag::new_fun);
        std::size_t size_at = s_.pos();
        s_.u32(0);
        s_.u8(f.arity);
        s_.bytes(f.uniq.data(), 16);
        s_.u32(f.index);
        s_.u32(static_cast<std::uint32_t>(f.free_vars.size()));
        atom(f.module);
        // OldIndex, OldUniq and Pid are an integer, an integer and a pid in every fun BEAM
        // writes; nesting through them is not worth a stack frame, so recurse.
        walker(s_, o_).write(f.old_index);
        walker(s_, o_).write(f.old_uniq);
        walker(s_, o_).write(f.pid);
        if (f.free_vars.empty()) {
          s_.patch_u32(size_at, static_cast<std::uint32_t>(s_.pos() - size_at));
          break;
        }
        const term* e = f.free_vars.data();
        stack_.push_back(
            {e + 1, e + f.free_vars.size(), nullptr, size_at, frame_kind::terms, false});
        t = e;
        continue;
      }
    }

    // Move to the next term to write, closing finished containers.
    for (;;) {
      if (stack_.empty()) return;
      frame& f = stack_.back();
      if (f.kind == frame_kind::map) {
        auto* e = static_cast<const term_pair*>(f.cur);
        if (f.value_next) {
          if (!write_immediate(e->second)) {
            t = &e->second;
            f.value_next = false;
            f.cur = e + 1;
            break;
          }
          ++e;
        }
        // Entries whose key and value are immediates are written here, without the dispatch.
        while (e != f.end && write_immediate(e->first)) {
          if (!write_immediate(e->second)) {
            t = &e->second;
            f.value_next = false;
            f.cur = e + 1;
            goto next_term;
          }
          ++e;
        }
        f.cur = e;
        if (e != f.end) {
          t = &e->first;
          f.value_next = true;
          break;
        }
      } else {
        auto* e = static_cast<const term*>(f.cur);
        // Runs of integers, short atoms, floats and nils are written here, without a round
        // through the dispatch above.
        while (e != f.end && write_immediate(*e)) ++e;
        f.cur = e;
        if (e != f.end) {
          t = e;
          f.cur = e + 1;
          break;
        }
        if (f.tail != nullptr) {
          t = f.tail;
          f.tail = nullptr;
          if (!write_immediate(*t)) break;  // a proper list's nil tail is written here
        }
        if (f.fun_size_at != no_patch) {
          s_.patch_u32(f.fun_size_at, static_cast<std::uint32_t>(s_.pos() - f.fun_size_at));
        }
      }
      stack_.pop_back();
    }
  next_term:;
  }
}

walk_options walk_options_of(const encode_options& o, bool with_cache) {
  return {with_cache ? o.atom_cache : nullptr, o.v4_ports};
}

void encode_plain(const term& t, std::vector<byte>& out, const encode_options& options,
                  encode_buffer* references = nullptr) {
  vector_sink sink(out, references, options.reference_binaries_from);
  if (!options.without_version) {
    sink.ensure(1);
    sink.u8(tag::version);
  }
  auto wo = walk_options_of(options, true);
  walker<vector_sink>(sink, wo).write(t);
  sink.finish();
}

void encode_compressed(const term& t, std::vector<byte>& out, const encode_options& options) {
  // As BEAM: compress the encoding without its version byte, and keep the result only if it is
  // at least 5 bytes smaller (the room the 80 tag and the size take).
  std::vector<byte> plain;
  encode_options inner = options;
  inner.without_version = true;
  encode_plain(t, plain, inner);
  std::size_t start = out.size();
  uLongf room = plain.size() < 5 ? 0 : static_cast<uLongf>(plain.size() - 5);
  std::size_t header = options.without_version ? 5 : 6;
  out.resize(start + header + room);
  byte* h = out.data() + start;
  if (!options.without_version) *h++ = tag::version;
  int level = std::min(options.compression_level, 9);
  if (room > 0 && plain.size() <= UINT32_MAX &&
      compress2(h + 5, &room, plain.data(), static_cast<uLong>(plain.size()), level) == Z_OK) {
    h[0] = tag::compressed;
    auto size = static_cast<std::uint32_t>(plain.size());
    for (int i = 0; i < 4; ++i) h[1 + i] = static_cast<byte>(size >> (24 - 8 * i));
    out.resize(start + header + room);
    return;
  }
  out.resize(start);
  if (!options.without_version) out.push_back(tag::version);
  out.insert(out.end(), plain.begin(), plain.end());
}

}  // namespace

void encode(const term& t, encode_buffer& out, const encode_options& options) {
  // Level 0 means no compression, as in term_to_binary(T, [{compressed, 0}]).
  if (options.compression_level > 0) {
    encode_compressed(t, out.underlying(), options);
  } else {
    encode_plain(t, out.underlying(), options, &out);
  }
}

void encode_tuple(std::span<const term* const> elements, encode_buffer& out,
                  const encode_options& options, const term* then) {
  if (then != nullptr && options.compression_level > 0) {
    encode_tuple(elements, out, options);
    encode(*then, out, options);
    return;
  }
  vector_sink sink(out.underlying(), &out, options.reference_binaries_from);
  sink.ensure(6);
  if (!options.without_version) sink.u8(tag::version);
  if (elements.size() <= 255) {
    sink.u8(tag::small_tuple);
    sink.u8(static_cast<byte>(elements.size()));
  } else {
    sink.u8(tag::large_tuple);
    sink.u32(static_cast<std::uint32_t>(elements.size()));
  }
  // Each element written on its own gives the bytes of the tuple's walk: the walk writes the
  // elements in order, each as write() would.
  auto wo = walk_options_of(options, true);
  for (const term* e : elements) walker<vector_sink>(sink, wo).write(*e);
  if (then != nullptr) {
    if (!options.without_version) {
      sink.ensure(1);
      sink.u8(tag::version);
    }
    walker<vector_sink>(sink, wo).write(*then);
  }
  sink.finish();
}

std::size_t encoded_size(const term& t, const encode_options& options) {
  size_sink sink;
  if (!options.without_version) sink.u8(tag::version);
  auto wo = walk_options_of(options, false);
  walker<size_sink>(sink, wo).write(t);
  return sink.size();
}

std::size_t encoded_size(const term& t, bool without_version) {
  encode_options options;
  options.without_version = without_version;
  return encoded_size(t, options);
}

std::vector<std::uint8_t> term_to_binary(const term& t, const encode_options& options) {
  encode_buffer out;
  encode(t, out, options);
  return out.release();
}

}  // namespace edist::etf
