#include "edist/dist/packet_stream.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "edist/dist/error.hpp"

namespace edist::dist {

namespace asio = boost::asio;

namespace {

// All of a batch, each write_some given as much of it as the transport takes in one call.
// asio::transfer_all() offers at most 64 KiB per write_some: a 1 MiB message would cost 16
// system calls where one does, and each of them costs the kernel a push of its own.
struct transfer_whole_batch {
  std::size_t operator()(const boost::system::error_code& ec, std::size_t) const noexcept {
    return ec ? 0 : std::numeric_limits<std::size_t>::max();
  }
};

}  // namespace

std::shared_ptr<packet_stream> packet_stream::create(std::unique_ptr<transport> tp, handler& h,
                                                     packet_stream_options opts,
                                                     std::vector<std::uint8_t> leftover) {
  return std::shared_ptr<packet_stream>(
      new packet_stream(std::move(tp), h, std::move(opts), std::move(leftover)));
}

packet_stream::packet_stream(std::unique_ptr<transport> tp, handler& h, packet_stream_options opts,
                             std::vector<std::uint8_t> leftover)
    : tp_(std::move(tp)),
      handler_(h),
      opts_(opts),
      reader_(opts.max_frame_size),
      ticks_(opts.ticks, tick_policy::clock::now()),
      timer_(tp_->get_executor()) {
  reader_.feed(leftover);
}

packet_stream::~packet_stream() = default;

void packet_stream::start() {
  if (started_ || closed_) return;
  started_ = true;
  ticks_ = tick_policy(opts_.ticks, tick_policy::clock::now());
  arm_tick_timer();
  // Bytes that arrived with the handshake are processed from the executor, like any read,
  // so that no handler runs inside start().
  asio::post(tp_->get_executor(), [self = shared_from_this()] {
    if (self->closed_ || self->frozen_) return;
    if (self->reader_.buffered() != 0) self->ticks_.on_read();
    if (self->drain_frames()) self->do_read();
  });
}

std::error_code packet_stream::send(std::span<const std::uint8_t> packet) {
  const std::span<const std::uint8_t> parts[] = {packet};
  return send_parts(parts);
}

std::error_code packet_stream::send_parts(std::span<const std::span<const std::uint8_t>> parts) {
  return send_parts(parts, nullptr);
}

std::error_code packet_stream::send_parts(std::span<const std::span<const std::uint8_t>> parts,
                                          std::shared_ptr<const void> owner) {
  if (closed_) return errc::connection_closed;
  std::size_t size = 0;
  for (auto p : parts) size += p.size();
  if (size > 0xffffffffu || size > opts_.max_frame_size) return errc::frame_too_large;
  if (queued_bytes() + size + 4 > opts_.max_send_queue && queued_bytes() != 0) {
    want_send_ready_ = true;
    return errc::send_queue_full;
  }
  std::uint8_t header[4];
  put_frame_header(header, static_cast<std::uint32_t>(size));
  pending_.copy(header);
  for (auto p : parts) {
    if (owner && p.size() >= opts_.reference_parts_from) {
      pending_.refer(p, owner);
    } else {
      pending_.copy(p);
    }
  }
  pending_.has_packets = true;
  do_write();
  return {};
}

void packet_stream::close() {
  close(errc::connection_closed);
}

void packet_stream::close(std::error_code reason) {
  if (closed_) return;
  fail(reason);
}

void packet_stream::freeze() {
  frozen_ = true;
  timer_.cancel();
}

void packet_stream::fail(std::error_code ec) {
  if (closed_) return;
  closed_ = true;
  timer_.cancel();
  tp_->close();
  pending_.clear();  // nothing more will be written; the write in flight keeps its bytes
  // Posted, so that close() called from inside a handler callback does not re-enter it.
  asio::post(tp_->get_executor(),
             [self = shared_from_this(), ec] { self->handler_.on_closed(ec); });
}

void packet_stream::do_read() {
  if (closed_ || frozen_ || reading_active_) return;
  reading_active_ = true;
  auto done = [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
    self->on_read(ec, n);
  };
  if (direct_) {
    // The rest of the packet, and a little beyond it: usually the next packet's header.
    auto beyond = reader_.prepare(opts_.direct_read_lookahead);
    const std::array<asio::mutable_buffer, 2> buffers = {
        asio::buffer(direct_rest_.data(), direct_rest_.size()),
        asio::buffer(beyond.data(), std::min(beyond.size(), opts_.direct_read_lookahead))};
    tp_->async_read_some(buffers, std::move(done));
    return;
  }
  auto space = reader_.prepare(opts_.read_chunk);
  std::size_t limit = space.size();
  const auto partial = reader_.partial();
  if (!declined_ && partial.size >= opts_.direct_read_from) {
    // Only the head the handler asked for (or a lookahead's worth, so that a head it could
    // not do with costs no more reads): the rest may go straight to its memory.
    const std::size_t have = partial.head.size();
    limit = std::min(limit, std::max(head_wanted_ > have ? head_wanted_ - have : 0,
                                     opts_.direct_read_lookahead));
  } else if (after_direct_ && reader_.buffered() < 4) {
    // After a packet read directly, the next one may be large too: learn its size first.
    limit = std::min(limit, opts_.direct_read_lookahead);
  }
  tp_->async_read_some(asio::buffer(space.data(), limit), std::move(done));
}

void packet_stream::on_read(boost::system::error_code ec, std::size_t n) {
  reading_active_ = false;
  if (closed_) return;
  if (ec) {
    if (ec == asio::error::eof || ec == asio::error::connection_reset) {
      return fail(errc::peer_closed);
    }
    return fail(ec);
  }
  bool filled = false;
  if (direct_) {
    const std::size_t into_packet = std::min(n, direct_rest_.size());
    direct_rest_ = direct_rest_.subspan(into_packet);
    reader_.commit(n - into_packet);
    filled = direct_rest_.empty();
  } else {
    reader_.commit(n);
  }
  if (frozen_) return;
  if (n != 0) ticks_.on_read();
  if (filled) {
    direct_ = false;
    after_direct_ = true;
    handler_.on_packet_filled();
    if (closed_ || frozen_) {
      handler_.on_packets_end();
      return;
    }
  }
  if (drain_frames(filled)) do_read();
}

bool packet_stream::drain_frames(bool delivered) {
  bool read_on = true;
  for (bool more = true; more;) {
    auto f = reader_.next();
    switch (f.what) {
      case frame_reader::kind::need_more:
        more = false;
        try_direct_read();
        break;
      case frame_reader::kind::tick:
        break;
      case frame_reader::kind::packet:
        declined_ = false;
        head_wanted_ = 0;
        after_direct_ = false;
        handler_.on_packet(f.body);
        delivered = true;
        if (closed_ || frozen_) more = read_on = false;
        break;
      case frame_reader::kind::error:
        fail(f.error);
        more = read_on = false;
        break;
    }
  }
  if (delivered) handler_.on_packets_end();
  return read_on && !closed_ && !frozen_;
}

void packet_stream::try_direct_read() {
  if (declined_) return;
  const auto partial = reader_.partial();
  if (partial.size < opts_.direct_read_from || partial.head.size() < head_wanted_) return;
  const auto dest = handler_.on_packet_start(partial.head, partial.size);
  if (closed_ || frozen_) return;
  if (dest.into.empty()) {
    if (dest.need_head > partial.head.size() && dest.need_head < partial.size) {
      head_wanted_ = dest.need_head;
    } else {
      declined_ = true;
    }
    return;
  }
  if (dest.taken > partial.head.size() || dest.into.size() != partial.size - dest.taken) {
    throw std::logic_error("packet_stream: memory for a packet of the wrong size");
  }
  // The part already here is copied (at most a read's worth); the rest is read in place.
  const auto here = partial.head.subspan(dest.taken);
  if (!here.empty()) std::memcpy(dest.into.data(), here.data(), here.size());
  direct_rest_ = dest.into.subspan(here.size());
  reader_.drop_partial_packet();
  direct_ = true;
  head_wanted_ = 0;
  after_direct_ = false;
}

void packet_stream::write_batch::copy(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return;
  if (pieces.empty() || pieces.back().data != nullptr) {
    pieces.push_back({nullptr, copied.size(), 0});
  }
  copied.insert(copied.end(), bytes.begin(), bytes.end());
  pieces.back().size += bytes.size();
  size += bytes.size();
}

void packet_stream::write_batch::refer(std::span<const std::uint8_t> bytes,
                                       const std::shared_ptr<const void>& owner) {
  pieces.push_back({bytes.data(), 0, bytes.size()});
  // The parts of one message come in a row, so this keeps one reference per message.
  if (owners.empty() || owners.back() != owner) owners.push_back(owner);
  size += bytes.size();
}

void packet_stream::write_batch::describe() {
  // Copied pieces are located only now: `copied` may have moved while it grew.
  buffers.clear();
  for (const piece& p : pieces) {
    buffers.emplace_back(p.data != nullptr ? p.data : copied.data() + p.offset, p.size);
  }
}

void packet_stream::write_batch::clear() noexcept {
  copied.clear();
  pieces.clear();
  owners.clear();
  buffers.clear();
  size = 0;
  has_packets = false;
}

void packet_stream::do_write() {
  if (closed_ || frozen_ || writing_active_ || pending_.empty()) return;
  writing_active_ = true;
  std::swap(writing_, pending_);
  writing_.describe();
  asio::async_write(*tp_, writing_.buffers, transfer_whole_batch{},
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                      self->on_written(ec);
                    });
}

void packet_stream::on_written(boost::system::error_code ec) {
  writing_active_ = false;
  const bool wrote_packets = writing_.has_packets;
  writing_.clear();  // releases the owners, keeps the capacity for the next swap
  if (closed_) return;
  if (ec) return fail(ec);
  if (wrote_packets) ticks_.on_write();
  do_write();  // start the next batch first, so the callbacks see an accurate queue
  if (want_send_ready_ && queued_bytes() <= opts_.max_send_queue / 2) {
    want_send_ready_ = false;
    handler_.on_send_ready();
    if (closed_) return;
  }
  handler_.on_written();
}

void packet_stream::arm_tick_timer() {
  if (closed_ || frozen_) return;
  timer_.expires_at(ticks_.next_check());
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->closed_ || self->frozen_) return;
    self->on_tick_timer();
  });
}

void packet_stream::on_tick_timer() {
  const bool write_pending = writing_active_ || !pending_.empty();
  const auto v = ticks_.check(tick_policy::clock::now(), write_pending);
  if (v.peer_dead) return fail(errc::tick_timeout);
  if (v.send_tick) {
    static constexpr std::uint8_t tick[4] = {0, 0, 0, 0};
    pending_.copy(tick);
    do_write();
  }
  arm_tick_timer();
}

}  // namespace edist::dist
