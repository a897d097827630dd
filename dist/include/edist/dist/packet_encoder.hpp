// Encodes dist_messages into packets for the peer, using what the handshake negotiated:
// the distribution header with the atom cache (DIST_HDR_ATOM_CACHE) or pass-through packets
// (112) without it, and, with FRAGMENTS as well, a message larger than the fragment size split
// into fragments (131,69 then 131,70...) that the sender can interleave with other messages.
//
// Sans-I/O; one encoder per connection (it owns the sending atom cache and the fragment
// sequence counter). Not thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <edist/etf/encode.hpp>
#include <span>
#include <vector>

#include "edist/dist/atom_cache.hpp"
#include "edist/dist/control_message.hpp"
#include "edist/dist/flags.hpp"

namespace edist::dist {

inline constexpr std::size_t default_fragment_size = 64 * 1024;

// One encoded message, emitted as one or more packets. Reusable: encode() overwrites it and
// keeps its buffers' capacity.
class outgoing_message {
 public:
  using parts = std::array<std::span<const std::uint8_t>, 3>;

  bool done() const noexcept { return offset_ >= data_.size() && !first_pending_; }
  // Bytes still to be emitted: the sum of the remaining packets' sizes.
  std::size_t remaining() const noexcept {
    const std::size_t packets = static_cast<std::size_t>(next_fragment_id_);
    const std::size_t prefixes =
        first_pending_ ? header_.size() + (packets - 1) * cont_.size() : packets * cont_.size();
    return data_.size() - offset_ + prefixes;
  }
  bool fragmented() const noexcept { return fragment_count_ > 1; }

  // The next packet as up to three spans to be written back to back (unused ones empty);
  // advances. Valid until the next call or encode(). Call only while !done().
  parts next_packet();

 private:
  friend class packet_encoder;

  std::vector<std::uint8_t> header_;  // 131,68|69 ... atom cache header (or empty for 112)
  etf::encode_buffer data_;           // the terms (with a leading 112 in pass-through mode)
  std::size_t offset_ = 0;
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
  std::size_t fragment_size_;
  etf::encode_options term_options_;
  atom_cache_out cache_;
  std::uint64_t next_sequence_ = 1;
};

}  // namespace edist::dist
