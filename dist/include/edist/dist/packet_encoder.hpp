// Encodes dist_messages into packets for the peer, using what the handshake negotiated:
// the distribution header (131,68) when DIST_HDR_ATOM_CACHE or FRAGMENTS is on, its atom
// cache references only with DIST_HDR_ATOM_CACHE; pass-through packets (112) when neither is;
// with FRAGMENTS, a message larger than the fragment size is split into fragments (131,69 then
// 131,70...) that the sender can interleave with other messages.
//
// Sans-I/O; one encoder per connection (it owns the sending atom cache and the fragment
// sequence counter). Not thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <edist/etf/encode.hpp>
#include <memory>
#include <span>
#include <vector>

#include "edist/dist/atom_cache.hpp"
#include "edist/dist/control_message.hpp"
#include "edist/dist/flags.hpp"

namespace edist::dist {

inline constexpr std::size_t default_fragment_size = 64 * 1024;
// Binaries of at least this size are not copied into an encoded message: its packets refer
// to the binary's own bytes (see outgoing_message::owner()).
inline constexpr std::size_t reference_binaries_from = 4096;

// One encoded message, emitted as one or more packets. Reusable: encode() overwrites it and
// keeps its buffers' capacity unless a writer still holds them through owner().
class outgoing_message {
 public:
  using parts = std::span<const std::span<const std::uint8_t>>;

  bool done() const noexcept { return offset_ >= size_ && !first_pending_; }
  // Bytes still to be emitted: the sum of the remaining packets' sizes.
  std::size_t remaining() const noexcept {
    const std::size_t packets = static_cast<std::size_t>(next_fragment_id_);
    const std::size_t header = encoding_ ? encoding_->header.size() : 0;
    const std::size_t prefixes =
        first_pending_ ? header + (packets - 1) * cont_.size() : packets * cont_.size();
    return size_ - offset_ + prefixes;
  }
  bool fragmented() const noexcept { return fragment_count_ > 1; }

  // The next packet as spans to be written back to back; advances. The list is valid until
  // the next call or encode(); the bytes it describes as long as owner() is held (or, without
  // holding it, until encode()). Call only while !done().
  parts next_packet();
  // Keeps every byte next_packet() returns valid and unchanged, including the binaries of the
  // message that are referenced rather than copied: a writer may hold it instead of copying.
  // Null before the first encode().
  std::shared_ptr<const void> owner() const noexcept { return encoding_; }

 private:
  friend class packet_encoder;

  // What the packets refer to; shared with writers that have not written them yet.
  struct encoding {
    std::vector<std::uint8_t> header;  // 131,68|69 ... atom cache header (or empty for 112)
    etf::encode_buffer data;           // the terms (with a leading 112 in pass-through mode)
    // The terms in order: runs of data's bytes and the binaries it references.
    std::vector<std::span<const std::uint8_t>> pieces;
  };
  // An encoding to overwrite: the current one unless a writer still holds it.
  encoding& fresh_encoding();
  void split_into_pieces();

  std::shared_ptr<encoding> encoding_;
  std::vector<std::span<const std::uint8_t>> parts_;  // what next_packet() returned last
  std::size_t size_ = 0;                              // all bytes of the terms
  std::size_t offset_ = 0;                            // of the terms emitted so far
  std::size_t piece_ = 0;                             // the piece holding offset_
  std::size_t piece_offset_ = 0;                      // ... and where in it
  std::size_t fragment_size_ = 0;
  std::uint64_t sequence_ = 0;
  std::uint64_t fragment_count_ = 1;
  std::uint64_t next_fragment_id_ = 0;
  bool first_pending_ = false;
  std::array<std::uint8_t, 18> cont_{};  // 131,70, sequence, fragment id
};

class packet_encoder {
 public:
  explicit packet_encoder(dist_flags negotiated, std::size_t fragment_size = default_fragment_size);

  // Encodes m into out. Throws std::invalid_argument if m.payload is missing or present
  // against has_payload(m.control) (a programming error, not peer input).
  void encode(const dist_message& m, outgoing_message& out);

  bool uses_atom_cache() const noexcept { return atom_cache_; }
  bool fragments() const noexcept { return fragments_; }

 private:
  bool atom_cache_;
  bool fragments_;
  bool dist_header_;  // 131,68/69/70 headers rather than pass-through (112) packets
  std::size_t fragment_size_;
  etf::encode_options term_options_;
  atom_cache_out cache_;
  std::uint64_t next_sequence_ = 1;
};

}  // namespace edist::dist
