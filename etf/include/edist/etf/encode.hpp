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
class encode_buffer {
 public:
  encode_buffer() = default;
  explicit encode_buffer(std::size_t reserve) { bytes_.reserve(reserve); }

  std::span<const std::uint8_t> bytes() const noexcept { return bytes_; }
  const std::uint8_t* data() const noexcept { return bytes_.data(); }
  std::size_t size() const noexcept { return bytes_.size(); }
  void clear() noexcept { bytes_.clear(); }
  void reserve(std::size_t n) { bytes_.reserve(n); }
  // Hands the bytes over (the buffer becomes empty, without capacity).
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
  std::vector<std::uint8_t>& underlying() noexcept { return bytes_; }

 private:
  std::vector<std::uint8_t> bytes_;
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
};

// Appends the encoding of t to out.
void encode(const term& t, encode_buffer& out, const encode_options& options = {});
// Exact number of bytes encode() appends without compression or atom cache.
std::size_t encoded_size(const term& t, bool without_version = false);
// The same for these options; compression_level and atom_cache are ignored.
std::size_t encoded_size(const term& t, const encode_options& options);
// Convenience: term_to_binary.
std::vector<std::uint8_t> term_to_binary(const term& t, const encode_options& options = {});

}  // namespace edist::etf
