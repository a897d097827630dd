// An established distribution connection carrying messages: the packet stream (framing,
// ticks, silent-peer detection), the packet decoder (distribution header, atom cache,
// fragment reassembly) and the packet encoder, with a sender that keeps big messages from
// holding small ones back.
//
// Sending: send() queues a message under an order key (e.g. the sending process). Messages
// with the same key go out in order, each completely before the next; across keys the sender
// takes turns packet by packet, so the fragments of a large message interleave with other
// keys' messages. Everything queued while a write is in flight goes out in one write. The
// queue is bounded: send() returns errc::send_queue_full, leaving the message with the
// caller (not queued, not moved from), and handler::on_send_ready() follows once the queue
// has drained below half the bound; the caller keeps what it could not send and retries
// then (the node's connections keep such messages in order in a backlog of their own).
//
// Receiving: every complete message goes to handler::on_message(); a packet that does not
// decode closes the connection with the decoding error (close_detail() says more). Ticks
// are handled below and never seen.
//
// The connection knows nothing of processes; its owner routes messages.
//
// Threads and ownership: create() returns a shared_ptr; from start() until on_closed() the
// connection also keeps itself alive. All member functions must be called on the transport's
// executor (a strand for a multi-threaded io_context), where handler callbacks run too. The
// handler must stay valid until on_closed(), which is called exactly once; no callback follows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "edist/dist/control_message.hpp"
#include "edist/dist/handshake.hpp"
#include "edist/dist/packet_decoder.hpp"
#include "edist/dist/packet_encoder.hpp"
#include "edist/dist/packet_stream.hpp"
#include "edist/dist/transport.hpp"

namespace edist::dist {

struct connection_options {
  // Ticks (net_ticktime) and the maximum packet size; its max_send_queue is managed by the
  // connection.
  packet_stream_options stream{};
  packet_decoder_limits decode{};
  std::size_t fragment_size = default_fragment_size;
  // Bytes of messages accepted by send() and not yet handed to the transport (estimated
  // before a message is encoded, exact after). One message larger than this is still
  // accepted when the queue is empty.
  std::size_t max_send_queue = std::size_t{64} << 20;
  // How much the sender keeps ready at the transport behind the write in flight, so that
  // the next write starts, with a full batch, as soon as one completes; smaller interleaves
  // more finely. A message queued now waits behind at most about twice this much. 1 MiB is
  // the BEAM's own default (+zdbbl): a 1 MiB message goes out in one system call, where
  // 256 KiB halved the bandwidth of large messages (bench/README.md).
  std::size_t write_high_water = 1024 * 1024;
};

// The send queue's accounting of a message before it is encoded: the payload's size without
// the atom cache (an upper bound) plus room for the control tuple. Once encoded, the exact
// size replaces it.
std::size_t estimated_size(const dist_message& m);

class connection : public std::enable_shared_from_this<connection> {
 public:
  class handler {
   public:
    handler() = default;
    handler(const handler&) = delete;
    handler& operator=(const handler&) = delete;
    virtual ~handler() = default;

    virtual void on_message(dist_message&& m) = 0;
    // The messages of one read have been delivered (packet_stream::handler::on_packets_end).
    virtual void on_messages_end() {}
    virtual void on_send_ready() {}
    // errc::tick_timeout, errc::peer_closed, errc::connection_closed (after close()), a
    // decoding error (dist or etf category), or a socket error.
    virtual void on_closed(std::error_code ec) = 0;
  };

  // `peer` is the handshake's result (its negotiated flags choose the packet format);
  // `leftover` the bytes read along with the end of the handshake.
  static std::shared_ptr<connection> create(std::unique_ptr<transport> tp, handshake_result peer,
                                            handler& h, connection_options opts = {},
                                            std::vector<std::uint8_t> leftover = {});

  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection();

  void start();

  // Queues m, taking it only on success: on an error m is left as it was, so the caller can
  // keep it. errc::send_queue_full (retry after on_send_ready), errc::connection_closed.
  // Throws std::invalid_argument when m.payload does not match has_payload(m.control).
  // `estimated_size`: estimated_size(m) when the caller has computed it already (it walks the
  // whole payload), else 0.
  std::error_code send(dist_message&& m, std::uint64_t order_key = 0,
                       std::size_t estimated_size = 0);

  void close();
  // Stops all traffic without closing (a hung node, for tests).
  void freeze();

  const handshake_result& peer() const noexcept { return peer_; }
  bool is_open() const noexcept { return stream_ && stream_->is_open(); }
  std::size_t queued_bytes() const noexcept { return queued_; }
  // Details of the decoding error that closed the connection, or "".
  const std::string& close_detail() const noexcept { return close_detail_; }

 private:
  struct stream_events final : packet_stream::handler {
    connection* self = nullptr;
    void on_packet(std::span<const std::uint8_t> packet) override;
    packet_destination on_packet_start(std::span<const std::uint8_t> head,
                                       std::size_t size) override;
    void on_packet_filled() override;
    void on_packets_end() override;
    void on_written() override;
    void on_closed(std::error_code ec) override;
  };
  struct lane {
    std::deque<std::pair<dist_message, std::size_t>> waiting;  // message, estimated size
    std::unique_ptr<outgoing_message> current;
  };

  connection(std::unique_ptr<transport> tp, handshake_result peer, handler& h,
             connection_options opts, std::vector<std::uint8_t> leftover);
  void pump();
  void on_decoded(packet_decoder::result&& r);
  void after_dequeue(std::size_t bytes);
  std::unique_ptr<outgoing_message> spare_message();
  // Hands out's next packet to the stream, adding its size to `released`; false (the stream
  // closed) when it could not.
  bool send_packet(outgoing_message& out, std::size_t& released);

  handshake_result peer_;
  handler& handler_;
  connection_options opts_;
  stream_events events_;
  std::shared_ptr<packet_stream> stream_;
  std::shared_ptr<connection> self_;  // from start() until on_closed()
  packet_decoder decoder_;
  packet_encoder encoder_;
  std::unordered_map<std::uint64_t, lane> lanes_;
  std::deque<std::uint64_t> turns_;  // lanes with work, in round-robin order
  std::vector<std::unique_ptr<outgoing_message>> spare_;
  std::size_t queued_ = 0;
  bool want_send_ready_ = false;
  bool pumping_ = false;
  bool closed_ = false;
  std::string close_detail_;
};

}  // namespace edist::dist
