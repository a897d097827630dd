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
  // Reassembly buffers whose messages are gone are kept up to this many bytes for the next
  // fragmented messages: reusing resident memory spares the page faults of fresh buffers.
  std::size_t max_pooled_bytes = std::size_t{8} << 20;
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

  std::size_t reassembly_bytes() const noexcept { return reassembly_bytes_; }
  std::size_t pending_sequences() const noexcept { return pending_.size(); }
  const atom_cache_in& cache() const noexcept { return cache_; }

 private:
  struct partial {
    std::vector<etf::term> refs;
    std::vector<std::uint8_t> data;
    std::uint64_t next_fragment = 0;  // the fragment id expected next (counts down to 1)
    std::size_t reserved = 0;         // room in data not yet filled, counted in reserved_bytes_
  };

  // Decodes control (+ payload) terms from `data`.
  result decode_terms(std::span<const std::uint8_t> data, const etf::shared_bytes* shared,
                      std::span<const etf::term> refs, bool without_version);
  result fail(std::error_code ec, std::string detail);

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
};

}  // namespace edist::dist
