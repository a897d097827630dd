#include "edist/dist/connection.hpp"

#include <boost/asio/post.hpp>
#include <edist/etf/encode.hpp>
#include <limits>

#include "edist/dist/error.hpp"

namespace edist::dist {

std::size_t estimated_size(const dist_message& m) {
  return 256 + (m.payload ? etf::encoded_size(*m.payload, true) : 0);
}

std::shared_ptr<connection> connection::create(std::unique_ptr<transport> tp, handshake_result peer,
                                               handler& h, connection_options opts,
                                               std::vector<std::uint8_t> leftover) {
  return std::shared_ptr<connection>(
      new connection(std::move(tp), std::move(peer), h, std::move(opts), std::move(leftover)));
}

connection::connection(std::unique_ptr<transport> tp, handshake_result peer, handler& h,
                       connection_options opts, std::vector<std::uint8_t> leftover)
    : peer_(std::move(peer)),
      handler_(h),
      opts_(std::move(opts)),
      decoder_(opts_.decode),
      encoder_(peer_.flags, opts_.fragment_size) {
  events_.self = this;
  // The connection bounds its own queue; the stream's bound only has to admit what pump()
  // hands it (the write in flight, and behind it at most one packet beyond the high-water
  // mark).
  packet_stream_options so = opts_.stream;
  so.max_send_queue = std::numeric_limits<std::size_t>::max() / 2;
  if (so.ticks.peer_hidden == false) so.ticks.peer_hidden = peer_.peer_is_hidden();
  stream_ = packet_stream::create(std::move(tp), events_, so, std::move(leftover));
}

connection::~connection() = default;

void connection::start() {
  if (self_ || closed_) return;
  self_ = shared_from_this();
  stream_->start();
}

std::error_code connection::send(dist_message&& m, std::uint64_t order_key,
                                 std::size_t known_size) {
  if (closed_ || !stream_->is_open()) return errc::connection_closed;
  if (m.payload.has_value() != has_payload(m.control)) {
    throw std::invalid_argument(m.payload ? "dist_message: payload for an operation without one"
                                          : "dist_message: operation needs a payload");
  }
  const std::size_t size = known_size != 0 ? known_size : estimated_size(m);
  if (queued_ != 0 && queued_ + size > opts_.max_send_queue) {
    want_send_ready_ = true;
    return errc::send_queue_full;
  }
  if (turns_.empty() && !pumping_ && stream_->unsent_bytes() < opts_.write_high_water) {
    // Nothing waits in any lane and the transport has room: the message goes out now, in
    // order, without a lane (a map entry and a queue per message). Only the rest of a
    // fragmented one needs its lane, to interleave with other senders' messages.
    auto out = spare_message();
    encoder_.encode(m, *out);
    queued_ += out->remaining();
    std::size_t released = 0;
    if (!send_packet(*out, released)) return {};
    if (out->done()) {
      spare_.push_back(std::move(out));
    } else {
      lanes_[order_key].current = std::move(out);
      turns_.push_back(order_key);
      pump();
    }
    after_dequeue(released);
    return {};
  }
  lane& l = lanes_[order_key];
  if (l.waiting.empty() && !l.current) turns_.push_back(order_key);
  l.waiting.emplace_back(std::move(m), size);
  queued_ += size;
  pump();
  return {};
}

std::unique_ptr<outgoing_message> connection::spare_message() {
  if (spare_.empty()) return std::make_unique<outgoing_message>();
  auto out = std::move(spare_.back());
  spare_.pop_back();
  return out;
}

bool connection::send_packet(outgoing_message& out, std::size_t& released) {
  const auto parts = out.next_packet();
  for (auto part : parts) released += part.size();
  // The stream writes large parts from the message's own buffers and binaries.
  if (auto ec = stream_->send_parts(parts, out.owner()); ec) {
    close_detail_ = "sending: " + ec.message();
    stream_->close(ec);
    return false;
  }
  return true;
}

void connection::close() {
  if (closed_) return;
  stream_->close();
}

void connection::freeze() {
  stream_->freeze();
}

void connection::after_dequeue(std::size_t bytes) {
  queued_ -= std::min(queued_, bytes);
  if (want_send_ready_ && queued_ <= opts_.max_send_queue / 2) {
    want_send_ready_ = false;
    handler_.on_send_ready();
  }
}

void connection::pump() {
  if (pumping_) return;  // send() from inside on_send_ready(): the running loop picks it up
  pumping_ = true;
  std::size_t released = 0;
  while (!turns_.empty() && !closed_ && stream_->is_open() &&
         stream_->unsent_bytes() < opts_.write_high_water) {
    const std::uint64_t key = turns_.front();
    turns_.pop_front();
    lane& l = lanes_[key];
    if (!l.current) {
      // Encode only now, when its first packet is about to go out: the atom cache entries a
      // message creates must reach the peer before any message encoded after it.
      l.current = spare_message();
      auto [msg, size] = std::move(l.waiting.front());
      l.waiting.pop_front();
      encoder_.encode(msg, *l.current);
      queued_ = queued_ - std::min(queued_, size) + l.current->remaining();
    }
    if (!send_packet(*l.current, released)) break;
    if (l.current->done()) {
      spare_.push_back(std::move(l.current));
      if (l.waiting.empty()) {
        lanes_.erase(key);
        continue;
      }
    }
    turns_.push_back(key);
  }
  pumping_ = false;
  if (released != 0) after_dequeue(released);
}

void connection::on_decoded(packet_decoder::result&& r) {
  switch (r.what) {
    case packet_decoder::status::message:
      handler_.on_message(std::move(r.message));
      return;
    case packet_decoder::status::incomplete:
      return;
    case packet_decoder::status::error:
      close_detail_ = std::move(r.detail);
      stream_->close(r.error);
      return;
  }
}

void connection::stream_events::on_packet(std::span<const std::uint8_t> packet) {
  self->on_decoded(self->decoder_.decode(packet));
}

// A large packet is read straight into where the decoder keeps it (a fragment into its
// message's reassembly buffer): no copy of ours.
packet_stream::handler::packet_destination connection::stream_events::on_packet_start(
    std::span<const std::uint8_t> head, std::size_t size) {
  connection& c = *self;
  auto placed = c.decoder_.start_packet(head, size);
  packet_destination dest;
  switch (placed.what) {
    case packet_decoder::placement::kind::placed:
      dest.taken = placed.taken;
      dest.into = placed.into;
      break;
    case packet_decoder::placement::kind::need_head:
      dest.need_head = placed.need_head;
      break;
    case packet_decoder::placement::kind::whole:
      break;
    case packet_decoder::placement::kind::error:
      c.close_detail_ = std::move(placed.detail);
      c.stream_->close(placed.error);
      break;
  }
  return dest;
}

void connection::stream_events::on_packet_filled() {
  self->on_decoded(self->decoder_.finish_packet());
}

void connection::stream_events::on_packets_end() {
  self->handler_.on_messages_end();
}

void connection::stream_events::on_written() {
  self->pump();
}

void connection::stream_events::on_closed(std::error_code ec) {
  connection& c = *self;
  c.closed_ = true;
  c.lanes_.clear();
  c.turns_.clear();
  c.queued_ = 0;
  c.handler_.on_closed(ec);
  // Release the self-reference only after this callback has returned to the stream.
  boost::asio::post(c.stream_->get_transport().get_executor(), [keep = std::move(c.self_)] {});
}

}  // namespace edist::dist
