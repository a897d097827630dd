// Encoding the External Term Format.
//
// For every term without maps the output equals term_to_binary(T, [{minor_version, 2}]) of
// OTP 26+ (UTF-8 atom tags, NEW_FLOAT_EXT, STRING_EXT for short lists of bytes, ...). Maps are
// written in their stored order: maps built from C++ are in term order (BEAM's order for up to
// 32 keys); decoded maps keep the order they arrived in, so they re-encode to the same bytes.
#pragma once

#include <cstdint>
#include <edist/etf/term.hpp>
#include <span>
#include <string_view>
#include <vector>

namespace edist::etf {

// A growable output buffer, meant to be kept and reused: clear() keeps its capacity.
//
// With encode_options::reference_binaries_from, the encoder leaves large binaries out of the
// bytes and records them as references instead: the encoding is then bytes() with each
// reference's binary inserted at its offset (see references()). A reference holds a copy of
// the binary term, so the bytes it points to stay valid as long as the buffer keeps it (until
// clear() or destruction). Without that option there are no references and bytes() is the
// whole encoding.
class encode_buffer {
 public:
  // The bytes of `binary` (a term of kind binary) belong before bytes()[at].
  struct reference {
    std::size_t at = 0;
    term binary;
    std::span<const std::uint8_t> bytes() const { return binary.binary_bytes(); }
  };

  encode_buffer() = default;
  explicit encode_buffer(std::size_t reserve) { bytes_.reserve(reserve); }

  std::span<const std::uint8_t> bytes() const noexcept { return bytes_; }
  const std::uint8_t* data() const noexcept { return bytes_.data(); }
  // The size of bytes() (without referenced binaries).
  std::size_t size() const noexcept { return bytes_.size(); }
  // In offset order; empty unless the encoder was asked to reference binaries.
  std::span<const reference> references() const noexcept { return references_; }
  // The size of the whole encoding: bytes() plus the referenced binaries.
  std::size_t total_size() const noexcept { return bytes_.size() + referenced_size_; }
  void clear() noexcept {
    bytes_.clear();
    references_.clear();
    referenced_size_ = 0;
  }
  void reserve(std::size_t n) { bytes_.reserve(n); }
  // Hands the bytes over (the buffer becomes empty, without capacity). Referenced binaries
  // are not part of them: use it only on buffers without references.
  std::vector<std::uint8_t> release() noexcept { return std::move(bytes_); }

  void put_u8(std::uint8_t v) { bytes_.push_back(v); }
  void put_u16(std::uint16_t v);
  void put_u32(std::uint32_t v);
  void put_u64(std::uint64_t v);
  void put(std::span<const std::uint8_t> data) {
    bytes_.insert(bytes_.end(), data.begin(), data.end());
  }
  void put(std::string_view data) { bytes_.insert(bytes_.end(), data.begin(), data.end()); }
  // Room for n more bytes, returned for the caller to fill.
  std::uint8_t* grow(std::size_t n) {
    bytes_.resize(bytes_.size() + n);
    return bytes_.data() + bytes_.size() - n;
  }
  // Records `binary` (kind binary) as inserted before bytes()[at]: at the current end by
  // default. Offsets must not decrease from one reference to the next.
  void put_reference(const term& binary) { put_reference(bytes_.size(), binary); }
  void put_reference(std::size_t at, const term& binary);
  std::vector<std::uint8_t>& underlying() noexcept { return bytes_; }

 private:
  std::vector<std::uint8_t> bytes_;
  std::vector<reference> references_;
  std::size_t referenced_size_ = 0;
};

// Lets the distribution layer replace atoms by references into its atom cache. For each atom
// the encoder is about to write it asks reference_for(); a value 0..254 makes it write
// ATOM_CACHE_REF with that index, -1 makes it write the atom itself.
class atom_cache_hook {
 public:
  virtual int reference_for(const term& atom) = 0;

 protected:
  ~atom_cache_hook() = default;
};

struct encode_options {
  // zlib level 1..9 to write a compressed term (tag 80) as term_to_binary(T, [{compressed, L}])
  // does (only when compression makes it at least 5 bytes smaller); 0 or -1 for no
  // compression (BEAM's level 0 means none too); levels above 9 count as 9.
  int compression_level = -1;
  // Write without the version byte 131 (inside a distribution message with a 131,68 header).
  bool without_version = false;
  atom_cache_hook* atom_cache = nullptr;
  // Ports: true writes V4_PORT_EXT for every port, as OTP 26+ does; false writes NEW_PORT_EXT
  // when the id fits in 32 bits, as OTP 25's term_to_binary does (and as a peer without
  // DFLAG_V4_NC needs). A port id above 32 bits is always V4_PORT_EXT.
  bool v4_ports = true;
  // Binaries of at least this many bytes are not copied into the output but recorded as
  // encode_buffer references (0: copy every binary). Meant for a writer that sends the
  // pieces with scatter-gather I/O. Ignored when compressing.
  std::size_t reference_binaries_from = 0;
};

// Appends the encoding of t to out.
void encode(const term& t, encode_buffer& out, const encode_options& options = {});
// Appends what encode() appends for the tuple {*elements[0], *elements[1], ...} without
// building the tuple: for a caller that holds the elements apart (the distribution layer writes
// its control messages so). options.compression_level is ignored (never compressed); atoms go
// through options.atom_cache in element order, as encode() would ask for them. With `then`,
// what encode(*then, out, options) appends follows, written in the same pass.
void encode_tuple(std::span<const term* const> elements, encode_buffer& out,
                  const encode_options& options = {}, const term* then = nullptr);
// Exact number of bytes encode() appends without compression or atom cache.
std::size_t encoded_size(const term& t, bool without_version = false);
// The same for these options; compression_level and atom_cache are ignored.
std::size_t encoded_size(const term& t, const encode_options& options);
// Convenience: term_to_binary.
std::vector<std::uint8_t> term_to_binary(const term& t, const encode_options& options = {});

}  // namespace edist::etf
