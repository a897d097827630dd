// An established distribution connection at the packet level: reads u32-framed packets and
// hands them to its owner, keeps the link alive with ticks and declares a silent peer dead
// (tick_policy), and writes queued packets, coalescing everything queued while a write is in
// flight into the next single write.
//
// It knows nothing of terms: the connection layer on top decodes the packets it delivers and
// encodes the packets it sends.
//
// Receive path: packets are read in chunks into one buffer and delivered as views into it
// (many small packets per read). A packet of at least options::direct_read_from bytes may
// instead be read straight into memory of the handler's (handler::on_packet_start), so that
// its bytes are copied once, by the kernel, into the place they are decoded from.
//
// Send path and backpressure: send() copies the packet into the pending buffer (reused, so no
// allocation in steady state) and returns errc::send_queue_full instead of queueing beyond
// options::max_send_queue; the owner then waits for handler::on_send_ready(), called once the
// queue has drained below half of that bound. send_parts() with an owner copies only small
// parts: larger ones are written from where they are (scatter-gather), and the stream holds
// the owner until they have been written, so a large packet costs no copy of ours.
//
// Threads and ownership: create() returns a shared_ptr; the stream keeps itself alive while
// operations are in flight and owns the transport. All member functions must be called on the
// transport's executor (a strand for a multi-threaded io_context); handler callbacks run there
// too. The handler must stay valid until on_closed() has been called, which happens exactly
// once, for every cause including close(); no callback follows it.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <system_error>
#include <vector>

#include "edist/dist/frame_reader.hpp"
#include "edist/dist/tick_policy.hpp"
#include "edist/dist/transport.hpp"

namespace edist::dist {

struct packet_stream_options {
  tick_options ticks;
  std::size_t max_frame_size = default_max_frame_size;
  std::size_t max_send_queue = std::size_t{64} << 20;  // bytes queued but not yet written
  std::size_t read_chunk = 64 * 1024;
  // send_parts() with an owner references parts of at least this many bytes instead of
  // copying them. Up to this size copying into the one reused coalescing buffer costs the
  // sender less than keeping each message alive until its bytes are written: with 4 KiB
  // here, 4 and 16 KiB binaries took 1.5 times the CPU per MiB (bench/README.md). A large
  // message's 64 KiB fragments stay references.
  std::size_t reference_parts_from = 32 * 1024;
  // Packets of at least this many bytes are offered to handler::on_packet_start() once their
  // first bytes are here. Smaller ones cost less to copy than the extra read they would take:
  // at 16 KiB the receiver spent 1.7 times the CPU per MiB reading them in place
  // (bench/README.md).
  std::size_t direct_read_from = 32 * 1024;
  // A read into a handler's memory also reads up to this many bytes beyond the packet's end,
  // into the read buffer: what follows is usually the next packet's header, and the bytes of a
  // large packet read there are copied. Small: a handful of small packets may take an extra read.
  std::size_t direct_read_lookahead = 1024;
};

class packet_stream : public std::enable_shared_from_this<packet_stream> {
 public:
  class handler {
   public:
    handler() = default;
    handler(const handler&) = delete;
    handler& operator=(const handler&) = delete;

    // One packet (without its length; ticks are not delivered). The view is valid only during
    // the call.
    virtual void on_packet(std::span<const std::uint8_t> packet) = 0;
    // A packet of `size` bytes (at least options::direct_read_from) has begun to arrive:
    // `head` is its first bytes (fewer than `size`; valid during the call). The handler may
    // give memory for the rest: packet[taken, size) is then written to `into` (exactly
    // size - taken bytes, the part of the head after `taken` copied, the rest read straight
    // there) and on_packet_filled() follows instead of on_packet(). `into` must stay valid,
    // and be used by nothing else, until on_packet_filled() or on_closed(); once the stream is
    // closed nothing more is written to it. Empty `into`: with need_head > head.size() the
    // stream asks again once that many bytes are here, else the packet comes by on_packet().
    // The handler may close the stream here (e.g. a fragment of an unknown sequence).
    struct packet_destination {
      std::size_t taken = 0;  // bytes of `head` the handler has used up (its headers)
      std::span<std::uint8_t> into;
      std::size_t need_head = 0;
    };
    virtual packet_destination on_packet_start(std::span<const std::uint8_t> head,
                                               std::size_t size) {
      (void)head;
      (void)size;
      return {};
    }
    // The packet of the last on_packet_start() that gave memory has all been written there.
    virtual void on_packet_filled() {}
    // After the packets of one read were delivered (at least one, whatever ended the run:
    // no more complete packets, a close, an error), on the same thread: lets the owner finish
    // work the packets started (node/ runs what they woke up here) before reading on.
    virtual void on_packets_end() {}
    // The send queue has room again after send() returned errc::send_queue_full.
    virtual void on_send_ready() {}
    // A write completed; queued_bytes() has shrunk. Lets a producer keep the queue short
    // (and so interleave its messages finely) instead of filling it up to the bound.
    virtual void on_written() {}
    // The stream is closed: errc::tick_timeout, errc::peer_closed, errc::frame_too_large,
    // errc::connection_closed (after close()), or a socket error.
    virtual void on_closed(std::error_code ec) = 0;

    virtual ~handler() = default;
  };

  // `leftover`: bytes read together with the end of the handshake (handshake_outcome).
  static std::shared_ptr<packet_stream> create(std::unique_ptr<transport> tp, handler& h,
                                               packet_stream_options opts = {},
                                               std::vector<std::uint8_t> leftover = {});

  packet_stream(const packet_stream&) = delete;
  packet_stream& operator=(const packet_stream&) = delete;
  ~packet_stream();

  // Starts reading and ticking. Call once.
  void start();

  // Queues one packet (the body; the length is added here) for writing.
  // errc::send_queue_full: not queued, wait for on_send_ready(). errc::connection_closed.
  std::error_code send(std::span<const std::uint8_t> packet);
  // As send(), for a packet that is the concatenation of `parts` (header + payload...).
  std::error_code send_parts(std::span<const std::span<const std::uint8_t>> parts);
  // The same, without copying parts of at least options::reference_parts_from bytes: `owner`
  // keeps the bytes of every part valid and unchanged, and the stream holds it until those
  // parts have been written or the stream is closed. A null owner copies everything.
  std::error_code send_parts(std::span<const std::span<const std::uint8_t>> parts,
                             std::shared_ptr<const void> owner);

  // Closes the transport; on_closed(errc::connection_closed) follows (posted). Idempotent.
  void close();
  // The same, reporting `reason` to on_closed() (e.g. the decoding error that made the owner
  // give up on the peer).
  void close(std::error_code reason);

  // Stops reading, writing and ticking without closing, as a hung node would: the peer's
  // tick timeout fires. For tests and fault injection.
  void freeze();

  bool is_open() const noexcept { return !closed_; }
  std::size_t queued_bytes() const noexcept { return pending_.size + writing_.size; }
  // The part of queued_bytes() that waits behind the write in flight: what the next write
  // takes at once when the current one completes.
  std::size_t unsent_bytes() const noexcept { return pending_.size; }
  transport& get_transport() noexcept { return *tp_; }

 private:
  packet_stream(std::unique_ptr<transport> tp, handler& h, packet_stream_options opts,
                std::vector<std::uint8_t> leftover);

  void do_read();
  void on_read(boost::system::error_code ec, std::size_t n);
  // Delivers the complete packets buffered (`delivered`: a packet was delivered already in
  // this read) and starts a direct read when a large one begins; false: do not read on.
  bool drain_frames(bool delivered = false);
  // Offers the partial packet at the end of the buffer to the handler, which may give the
  // memory its rest is read into (direct_ is then set).
  void try_direct_read();
  void do_write();
  void on_written(boost::system::error_code ec);
  void arm_tick_timer();
  void on_tick_timer();
  void fail(std::error_code ec);

  // Framed packets (and ticks) for one write: small pieces coalesced into `copied`, large
  // ones referenced and kept alive by `owners`. Reused, so steady state does not allocate.
  struct write_batch {
    struct piece {
      const std::uint8_t* data;  // referenced bytes, or null for copied[offset, offset + size)
      std::size_t offset;
      std::size_t size;
    };
    std::vector<std::uint8_t> copied;
    std::vector<piece> pieces;
    std::vector<std::shared_ptr<const void>> owners;
    std::vector<boost::asio::const_buffer> buffers;  // described at write time
    std::size_t size = 0;
    bool has_packets = false;  // more than ticks

    void copy(std::span<const std::uint8_t> bytes);
    void refer(std::span<const std::uint8_t> bytes, const std::shared_ptr<const void>& owner);
    void describe();
    void clear() noexcept;
    bool empty() const noexcept { return size == 0; }
  };

  std::unique_ptr<transport> tp_;
  handler& handler_;
  packet_stream_options opts_;
  frame_reader reader_;
  tick_policy ticks_;
  boost::asio::steady_timer timer_;
  write_batch pending_;  // framed packets waiting for the next write
  write_batch writing_;  // the write in flight
  bool writing_active_ = false;
  bool reading_active_ = false;
  bool started_ = false;
  bool closed_ = false;
  bool frozen_ = false;
  bool want_send_ready_ = false;
  // Reading a packet into the handler's memory: the part of it not yet filled.
  std::span<std::uint8_t> direct_rest_;
  bool direct_ = false;
  // For the partial packet buffered: ask the handler when this many bytes of it are here
  // (0: at once), or never (declined_: it comes by on_packet()).
  std::size_t head_wanted_ = 0;
  bool declined_ = false;
  // The last packet was read directly: the read buffer holds at most the start of the next.
  bool after_direct_ = false;
};

}  // namespace edist::dist
