// Decodes the packets of an established connection into dist_messages: pass-through packets
// (112), packets with a distribution header (131,68) resolved against the per-connection atom
// cache, and fragmented messages (131,69 then 131,70...) reassembled per sequence id, with any
// number of sequences interleaved.
//
// Limits: the bytes held for incomplete fragmented messages and their number are bounded
// (errc::reassembly_limit), terms are decoded with etf::decode_limits. Reassembled messages are
// decoded zero-copy: large binaries in them share the reassembly buffer, which goes back to the
// decoder's pool (limits::max_pooled_bytes) when the last of them is dropped, on any thread.
//
// Large packets need not be copied: start_packet() looks at the first bytes of a packet and
// names the place where the rest of it belongs (a fragment's place in its message's reassembly
// buffer, or a buffer of its own for a whole message), the caller has those bytes written
// there (packet_stream reads them from the socket straight into it), and finish_packet() goes
// on as decode() of the whole packet would have.
//
// Sans-I/O; one decoder per connection (it owns the receiving atom cache). Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <edist/etf/decode.hpp>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "edist/dist/atom_cache.hpp"
#include "edist/dist/control_message.hpp"

namespace edist::dist {

struct packet_decoder_limits {
  std::size_t max_reassembly_bytes = std::size_t{256} << 20;  // all incomplete messages
  std::size_t max_pending_sequences = 4096;
  // Reassembly buffers whose messages are gone are kept up to this many bytes (and at most 8
  // of them) for the next large messages: reusing resident memory spares the page faults of
  // fresh buffers. Room for a few 4 MiB messages in flight at once: with 8 MiB, a receiver
  // that keeps up with a stream of them faulted 30-60 times per MiB.
  std::size_t max_pooled_bytes = std::size_t{16} << 20;
  etf::decode_limits terms{};
};

class packet_decoder {
 public:
  enum class status {
    message,     // `message` holds a complete message
    incomplete,  // a fragment was stored; nothing to deliver yet
    error,       // `error` (and `detail`) say why; the connection must be closed
  };

  struct result {
    status what = status::incomplete;
    dist_message message;
    std::error_code error;
    std::string detail;
  };

  explicit packet_decoder(packet_decoder_limits limits = {});

  // One packet as delivered by packet_stream (without its length; never a tick).
  result decode(std::span<const std::uint8_t> packet);

  // Where a packet goes that has not all arrived yet, given its first bytes.
  struct placement {
    enum class kind {
      whole,      // not placed: decode() the packet once it is all here
      need_head,  // ask again once `need_head` bytes (at most the packet's size) are here
      placed,     // write packet[taken, size) to `into`, then call finish_packet()
      error,      // `error` and `detail` as in result; the connection must be closed
    };
    kind what = kind::whole;
    std::size_t taken = 0;         // bytes of the head the decoder has read (headers)
    std::span<std::uint8_t> into;  // exactly size - taken bytes, owned by the decoder
    std::size_t need_head = 0;
    std::error_code error;
    std::string detail;
  };
  // `head`: the first bytes of a packet of `size` bytes (head.size() <= size). A placed
  // fragment is counted against limits::max_reassembly_bytes and its checks (sequence, order,
  // limits) are made here, before its bytes arrive; a first fragment's atom cache header takes
  // effect here. A whole message is placed only within max_reassembly_bytes (counted until
  // it is finished), else the answer is `whole`.
  // `into` stays valid and is read by nothing else until finish_packet() or the decoder's
  // destruction; until finish_packet(), no other packet may be decoded or started
  // (std::logic_error).
  placement start_packet(std::span<const std::uint8_t> head, std::size_t size);
  // All bytes of the placed packet have been written: the same result as decode() of it.
  // Large binaries of a placed whole message are slices of the buffer it was written to.
  result finish_packet();
  bool placing() const noexcept { return placed_.what != placed_packet::kind::none; }

  std::size_t reassembly_bytes() const noexcept { return reassembly_bytes_; }
  std::size_t pending_sequences() const noexcept { return pending_.size(); }
  const atom_cache_in& cache() const noexcept { return cache_; }

 private:
  // Uninitialised memory for the bytes of one message (filling it is the only write).
  struct byte_buffer {
    std::unique_ptr<std::uint8_t[]> bytes;
    std::size_t capacity = 0;
  };
  struct partial {
    std::vector<etf::term> refs;
    byte_buffer data;
    std::size_t size = 0;             // bytes of data filled (or placed, being filled)
    std::uint64_t next_fragment = 0;  // the fragment id expected next (counts down to 1)
    std::size_t reserved = 0;         // room in data not yet claimed, counted in reserved_bytes_
  };
  // The packet between start_packet() and finish_packet().
  struct placed_packet {
    enum class kind {
      none,
      pass_through,     // 112: the terms follow
      dist_header,      // 131,68: the atom cache header and the terms follow
      single_fragment,  // 131,69 with fragment id 1: the header was read, the terms follow
      fragment,         // a part of pending_[seq]
    };
    kind what = kind::none;
    std::uint64_t seq = 0;
    std::uint64_t fragment = 0;
    std::size_t size = 0;         // bytes of `into`
    byte_buffer whole;            // for a whole message
    std::vector<etf::term> refs;  // single_fragment's atom cache references
  };

  // Decodes control (+ payload) terms from `data`.
  result decode_terms(std::span<const std::uint8_t> data, const etf::shared_bytes* shared,
                      std::span<const etf::term> refs, bool without_version);
  result fail(std::error_code ec, std::string detail);
  static placement refuse(std::error_code ec, std::string detail);
  // start_packet() for 131,69 and 131,70; a single fragment is left to the caller.
  placement start_fragment(std::span<const std::uint8_t> head, std::size_t size);
  placement place_whole(placed_packet::kind what, std::size_t size, std::size_t taken);
  // Records the fragment `frag` of `seq` as the packet being placed: its `body` bytes go to
  // `into`, after the `taken` bytes of head the decoder has read.
  placement place_fragment(std::uint64_t seq, std::uint64_t frag, std::size_t body,
                           std::size_t taken, std::uint8_t* into);
  // Room for `needed` bytes in p.data, keeping its first p.size bytes.
  void make_room(partial& p, std::size_t needed);
  // Hands `size` bytes of a buffer to shared ownership; the buffer returns to the pool when
  // the last binary sliced from it is dropped.
  etf::shared_bytes share(byte_buffer&& buffer, std::size_t size);

  struct buffer_pool;  // shared with the owners of reassembled messages' buffers

  packet_decoder_limits limits_;
  std::shared_ptr<buffer_pool> pool_;
  atom_cache_in cache_;
  std::vector<etf::term> refs_;  // reused for unfragmented packets
  std::unordered_map<std::uint64_t, partial> pending_;
  std::size_t reassembly_bytes_ = 0;
  // Room reserved ahead for the rest of incomplete messages; with reassembly_bytes_ within
  // limits::max_reassembly_bytes.
  std::size_t reserved_bytes_ = 0;
  placed_packet placed_;
};

}  // namespace edist::dist
