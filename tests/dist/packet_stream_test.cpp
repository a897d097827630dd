// packet_stream over real loopback sockets.
#include "edist/dist/packet_stream.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "edist/dist/error.hpp"
#include "edist/dist/tcp_transport.hpp"

namespace edist::dist {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;
using bytes = std::vector<std::uint8_t>;

std::pair<tcp::socket, tcp::socket> socket_pair(asio::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  return {std::move(client), acceptor.accept()};
}

// Counts the write_some calls that reach the socket, to observe coalescing.
class counting_transport final : public transport {
 public:
  explicit counting_transport(tcp::socket s, int& writes) : inner_(std::move(s)), writes_(writes) {}
  executor_type get_executor() const override { return inner_.get_executor(); }
  length_prefix handshake_prefix() const noexcept override { return length_prefix::u16; }
  void close() noexcept override { inner_.close(); }
  bool is_open() const noexcept override { return inner_.is_open(); }
  std::string remote_endpoint_text() const override { return inner_.remote_endpoint_text(); }

 protected:
  void do_read_some(const mutable_buffers& b, io_handler h) override {
    inner_.async_read_some(b, std::move(h));
  }
  void do_write_some(const const_buffers& b, io_handler h) override {
    ++writes_;
    inner_.async_write_some(b, std::move(h));
  }

 private:
  tcp_transport inner_;
  int& writes_;
};

struct recorder : packet_stream::handler {
  std::vector<bytes> packets;
  std::vector<std::error_code> closed;
  int send_ready = 0;
  void on_packet(std::span<const std::uint8_t> p) override {
    packets.emplace_back(p.begin(), p.end());
  }
  void on_send_ready() override { ++send_ready; }
  void on_closed(std::error_code ec) override { closed.push_back(ec); }
};

// Two started streams over a connected socket pair, each with its recorder.
struct stream_pair {
  explicit stream_pair(asio::io_context& io) {
    auto sockets = socket_pair(io);
    a = packet_stream::create(tcp_transport::make(std::move(sockets.first)), ra);
    b = packet_stream::create(tcp_transport::make(std::move(sockets.second)), rb);
    a->start();
    b->start();
  }
  recorder ra, rb;
  std::shared_ptr<packet_stream> a, b;
};

bytes frame(const bytes& body) {
  bytes out(4);
  std::uint8_t hdr[4];
  put_frame_header(hdr, static_cast<std::uint32_t>(body.size()));
  std::copy(hdr, hdr + 4, out.begin());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

TEST(PacketStream, DeliversPacketsSkipsTicksAndStartsWithLeftover) {
  asio::io_context io;
  auto sockets = socket_pair(io);
  tcp::socket& a = sockets.first;
  tcp::socket& b = sockets.second;
  recorder rec;
  bytes leftover = {0, 0, 0, 0, 0, 0, 0, 2, 'h'};  // a tick, then half of a 2-byte packet
  auto s = packet_stream::create(tcp_transport::make(std::move(a)), rec, {}, leftover);
  s->start();
  EXPECT_TRUE(rec.packets.empty());  // nothing inline
  bytes rest = {'i'};
  auto more = frame({1, 2, 3});
  rest.insert(rest.end(), more.begin(), more.end());
  rest.insert(rest.end(), {0, 0, 0, 0});
  asio::write(b, asio::buffer(rest));
  io.run_for(300ms);
  ASSERT_EQ(rec.packets.size(), 2u);
  EXPECT_EQ(rec.packets[0], bytes({'h', 'i'}));
  EXPECT_EQ(rec.packets[1], bytes({1, 2, 3}));
  EXPECT_TRUE(rec.closed.empty());
  s->close();
  s->close();
  io.run_for(100ms);
  ASSERT_EQ(rec.closed.size(), 1u);
  EXPECT_EQ(rec.closed[0], errc::connection_closed);
  EXPECT_EQ(s->send(bytes{1}), errc::connection_closed);
}

TEST(PacketStream, CoalescesQueuedPacketsIntoFewWrites) {
  asio::io_context io;
  auto sockets = socket_pair(io);
  tcp::socket& a = sockets.first;
  tcp::socket& b = sockets.second;
  recorder rec;
  int writes = 0;
  auto s = packet_stream::create(std::make_unique<counting_transport>(std::move(a), writes), rec);
  s->start();
  for (int i = 0; i < 200; ++i) {
    const bytes body = {static_cast<std::uint8_t>(i), 0x70};
    ASSERT_FALSE(s->send(body));
  }
  bytes got(200 * 6);
  bool done = false;
  asio::async_read(b, asio::buffer(got),
                   [&](boost::system::error_code ec, std::size_t) { done = !ec; });
  io.run_for(500ms);
  ASSERT_TRUE(done);
  EXPECT_LE(writes, 3);
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(got[i * 6 + 3], 2);
    EXPECT_EQ(got[i * 6 + 4], static_cast<std::uint8_t>(i));
  }
}

TEST(PacketStream, BackpressureWhenTheQueueIsFull) {
  asio::io_context io;
  auto sockets = socket_pair(io);
  tcp::socket& a = sockets.first;
  tcp::socket& b = sockets.second;
  recorder rec;
  packet_stream_options opts;
  opts.max_send_queue = 4096;
  auto s = packet_stream::create(tcp_transport::make(std::move(a)), rec, opts);
  s->start();
  const bytes body(1000, 0x55);
  int accepted = 0;
  std::error_code ec;
  while (!(ec = s->send(body))) ++accepted;
  EXPECT_EQ(ec, errc::send_queue_full);
  EXPECT_GE(accepted, 3);
  EXPECT_LE(accepted, 5);
  io.run_for(300ms);  // the peer's socket buffer absorbs it all
  EXPECT_EQ(rec.send_ready, 1);
  EXPECT_FALSE(s->send(body));
  (void)b;
}

TEST(PacketStream, SilentPeerIsDeclaredDeadAfterNetTicktime) {
  asio::io_context io;
  auto sockets = socket_pair(io);
  tcp::socket& a = sockets.first;
  tcp::socket& b = sockets.second;
  recorder rec;
  packet_stream_options opts;
  opts.ticks.net_ticktime = 400ms;
  auto s = packet_stream::create(tcp_transport::make(std::move(a)), rec, opts);
  const auto t0 = std::chrono::steady_clock::now();
  s->start();
  // Record what we send the silent peer: ticks, one per interval.
  bytes seen(64);
  std::size_t seen_n = 0;
  std::function<void()> read_more = [&] {
    b.async_read_some(asio::buffer(seen.data() + seen_n, seen.size() - seen_n),
                      [&](boost::system::error_code ec, std::size_t n) {
                        seen_n += n;
                        if (!ec && seen_n < seen.size()) read_more();
                      });
  };
  read_more();
  while (rec.closed.empty() && std::chrono::steady_clock::now() - t0 < 5s) {
    io.run_one_for(100ms);
  }
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  io.run_for(100ms);  // let the peer side read the last tick
  ASSERT_EQ(rec.closed.size(), 1u);
  EXPECT_EQ(rec.closed[0], errc::tick_timeout);
  EXPECT_GE(elapsed, 400ms);
  EXPECT_LT(elapsed, 1500ms);
  EXPECT_GE(seen_n, 12u);  // at least 3 ticks
  for (std::size_t i = 0; i < seen_n; ++i) EXPECT_EQ(seen[i], 0) << i;
}

TEST(PacketStream, TicksKeepTwoStreamsAliveAndFreezeIsDetected) {
  asio::io_context io;
  auto sockets = socket_pair(io);
  tcp::socket& a = sockets.first;
  tcp::socket& b = sockets.second;
  recorder ra, rb;
  packet_stream_options opts;
  opts.ticks.net_ticktime = 400ms;
  auto sa = packet_stream::create(tcp_transport::make(std::move(a)), ra, opts);
  auto sb = packet_stream::create(tcp_transport::make(std::move(b)), rb, opts);
  sa->start();
  sb->start();
  io.run_for(1200ms);  // three net_ticktimes: only ticks flow, and they suffice
  EXPECT_TRUE(ra.closed.empty());
  EXPECT_TRUE(rb.closed.empty());
  sb->freeze();
  const auto t0 = std::chrono::steady_clock::now();
  while (ra.closed.empty() && std::chrono::steady_clock::now() - t0 < 5s) io.run_one_for(100ms);
  ASSERT_EQ(ra.closed.size(), 1u);
  EXPECT_EQ(ra.closed[0], errc::tick_timeout);
  sb->close();
  io.run_for(100ms);
}

TEST(PacketStream, PeerCloseAndOversizedFrames) {
  asio::io_context io;
  {
    auto sockets = socket_pair(io);
    tcp::socket& a = sockets.first;
    tcp::socket& b = sockets.second;
    recorder rec;
    auto s = packet_stream::create(tcp_transport::make(std::move(a)), rec);
    s->start();
    b.close();
    io.run_for(200ms);
    ASSERT_EQ(rec.closed.size(), 1u);
    EXPECT_EQ(rec.closed[0], errc::peer_closed);
  }
  {
    auto sockets = socket_pair(io);
    tcp::socket& a = sockets.first;
    tcp::socket& b = sockets.second;
    recorder rec;
    packet_stream_options opts;
    opts.max_frame_size = 100;
    auto s = packet_stream::create(tcp_transport::make(std::move(a)), rec, opts);
    s->start();
    asio::write(b, asio::buffer(bytes{0, 0, 0, 101}));
    io.restart();
    io.run_for(200ms);
    ASSERT_EQ(rec.closed.size(), 1u);
    EXPECT_EQ(rec.closed[0], errc::frame_too_large);
    EXPECT_EQ(s->send(bytes(101)), errc::connection_closed);
  }
}

TEST(PacketStream, LargePacketsBothWays) {
  asio::io_context io;
  stream_pair p(io);
  bytes big(8 << 20);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 31);
  ASSERT_FALSE(p.a->send(big));
  ASSERT_FALSE(p.a->send(bytes{7}));
  ASSERT_FALSE(p.b->send(big));
  const auto t0 = std::chrono::steady_clock::now();
  while ((p.ra.packets.size() < 1 || p.rb.packets.size() < 2) &&
         std::chrono::steady_clock::now() - t0 < 10s) {
    io.run_one_for(100ms);
  }
  ASSERT_EQ(p.rb.packets.size(), 2u);
  EXPECT_EQ(p.rb.packets[0], big);
  EXPECT_EQ(p.rb.packets[1], bytes{7});
  ASSERT_EQ(p.ra.packets.size(), 1u);
  EXPECT_EQ(p.ra.packets[0], big);
}

TEST(PacketStream, LargePartsWithAnOwnerAreWrittenInPlaceAndReleasedAfterwards) {
  asio::io_context io;
  stream_pair p(io);
  auto big = std::make_shared<bytes>(300000);
  for (std::size_t i = 0; i < big->size(); ++i) (*big)[i] = static_cast<std::uint8_t>(i * 13);
  const bytes head = {1, 2, 3};
  const bytes small_tail(100, 0x55);
  const std::span<const std::uint8_t> view(*big);
  ASSERT_FALSE(p.a->send(bytes{9}));
  const std::span<const std::uint8_t> parts[] = {head, view.subspan(0, 200000), small_tail,
                                                 view.subspan(200000)};
  ASSERT_FALSE(p.a->send_parts(parts, big));
  ASSERT_FALSE(p.a->send(bytes{10}));
  EXPECT_EQ(p.a->queued_bytes(), 4 + 1 + 4 + 3 + 300000 + 100 + 4 + 1);
  EXPECT_GT(big.use_count(), 1);  // the stream holds it: nothing is written inline
  const auto t0 = std::chrono::steady_clock::now();
  while (p.rb.packets.size() < 3 && std::chrono::steady_clock::now() - t0 < 10s) {
    io.run_one_for(100ms);
  }
  ASSERT_EQ(p.rb.packets.size(), 3u);
  EXPECT_EQ(p.rb.packets[0], bytes{9});
  bytes expected = head;
  expected.insert(expected.end(), big->begin(), big->begin() + 200000);
  expected.insert(expected.end(), small_tail.begin(), small_tail.end());
  expected.insert(expected.end(), big->begin() + 200000, big->end());
  EXPECT_EQ(p.rb.packets[1], expected);
  EXPECT_EQ(p.rb.packets[2], bytes{10});
  for (int i = 0; i < 10 && p.a->queued_bytes() != 0; ++i) io.run_one_for(50ms);
  EXPECT_EQ(p.a->queued_bytes(), 0u);
  EXPECT_EQ(big.use_count(), 1);  // released once written

  // Closing releases the owners of what was never written.
  ASSERT_FALSE(p.a->send_parts(parts, big));
  ASSERT_FALSE(p.a->send_parts(parts, big));  // queued behind the write in flight
  p.a->close();
  for (int i = 0; i < 20 && big.use_count() != 1; ++i) io.run_one_for(50ms);
  EXPECT_EQ(big.use_count(), 1);
}

// A transport that plays a script: each read gets at most what is left of the current chunk
// (so the test decides where reads end), after `delay` when one is set; when the script is
// over, reads wait (or see end of file with `eof_at_end`) until more is added or the transport
// is closed. Writes are accepted and dropped.
class scripted_transport final : public transport {
 public:
  scripted_transport(asio::io_context& io, std::vector<bytes> chunks)
      : io_(io), chunks_(std::move(chunks)), timer_(io) {}

  executor_type get_executor() const override { return io_.get_executor(); }
  length_prefix handshake_prefix() const noexcept override { return length_prefix::u16; }
  void close() noexcept override {
    open_ = false;
    timer_.cancel();
    if (waiting_) complete(std::move(*waiting_), asio::error::operation_aborted, 0);
    waiting_.reset();
  }
  bool is_open() const noexcept override { return open_; }
  std::string remote_endpoint_text() const override { return "script"; }

  void add(bytes chunk) {
    chunks_.push_back(std::move(chunk));
    if (waiting_) {
      auto h = std::move(*waiting_);
      waiting_.reset();
      serve(waiting_buffers_, std::move(h));
    }
  }

  std::chrono::milliseconds delay{0};
  bool eof_at_end = false;
  std::size_t reads = 0;
  std::size_t read_bytes = 0;

 protected:
  void do_read_some(const mutable_buffers& b, io_handler h) override {
    ++reads;
    if (!open_) return complete(std::move(h), asio::error::operation_aborted, 0);
    if (delay.count() == 0) return serve(b, std::move(h));
    timer_.expires_after(delay);
    timer_.async_wait([this, b, h = std::move(h)](boost::system::error_code ec) mutable {
      if (ec || !open_) return std::move(h)(asio::error::operation_aborted, std::size_t{0});
      serve(b, std::move(h));
    });
  }
  void do_write_some(const const_buffers& b, io_handler h) override {
    complete(std::move(h), {}, asio::buffer_size(b));
  }

 private:
  void complete(io_handler h, boost::system::error_code ec, std::size_t n) {
    asio::post(io_, [h = std::move(h), ec, n]() mutable { std::move(h)(ec, n); });
  }
  void serve(const mutable_buffers& b, io_handler h) {
    while (next_ < chunks_.size() && offset_ == chunks_[next_].size()) {
      ++next_;
      offset_ = 0;
    }
    if (next_ == chunks_.size()) {
      if (eof_at_end) return complete(std::move(h), asio::error::eof, 0);
      waiting_buffers_ = b;
      waiting_.emplace(std::move(h));
      return;
    }
    const bytes& chunk = chunks_[next_];
    std::size_t n = 0;
    for (const auto& buffer : b) {
      const std::size_t k = std::min(buffer.size(), chunk.size() - offset_);
      std::memcpy(buffer.data(), chunk.data() + offset_, k);
      offset_ += k;
      n += k;
    }
    read_bytes += n;
    complete(std::move(h), {}, n);
  }

  asio::io_context& io_;
  std::vector<bytes> chunks_;
  std::size_t next_ = 0;
  std::size_t offset_ = 0;
  bool open_ = true;
  asio::steady_timer timer_;
  std::optional<io_handler> waiting_;
  mutable_buffers waiting_buffers_;
};

// Takes packets that start with 'D' into memory of its own (their first byte as a header),
// asks for a 40-byte head for those that start with 'H', refuses 'X' by closing the stream,
// leaves the others to on_packet(); records what arrived, and how.
struct placing_recorder : packet_stream::handler {
  struct arrival {
    char how;  // 'p': on_packet, 'f': on_packet_filled
    bytes body;
    bool operator==(const arrival&) const = default;
  };
  std::vector<arrival> got;
  std::vector<std::error_code> closed;
  std::size_t starts = 0;
  std::size_t ends = 0;
  std::size_t arrivals_at_last_end = 0;
  packet_stream* stream = nullptr;
  std::unique_ptr<bytes> memory;  // the packet being placed: its header, then `into`
  std::size_t header = 0;

  void on_packet(std::span<const std::uint8_t> p) override {
    EXPECT_FALSE(memory) << "a packet in the middle of another";
    got.push_back({'p', bytes(p.begin(), p.end())});
  }
  packet_destination on_packet_start(std::span<const std::uint8_t> head,
                                     std::size_t size) override {
    ++starts;
    EXPECT_LT(head.size(), size);
    EXPECT_FALSE(memory);
    if (head.empty()) return {0, {}, 1};
    packet_destination d;
    switch (head[0]) {
      case 'D':
        header = 1;
        break;
      case 'H':
        if (head.size() < 40) return {0, {}, 40};
        header = 40;
        break;
      case 'X':
        stream->close(errc::bad_packet);
        return {};
      default:
        return {};
    }
    memory = std::make_unique<bytes>(head.begin(), head.begin() + static_cast<long>(header));
    memory->resize(size, 0xee);
    d.taken = header;
    d.into = std::span(*memory).subspan(header);
    return d;
  }
  void on_packet_filled() override {
    EXPECT_TRUE(memory);
    if (memory) got.push_back({'f', std::move(*memory)});
    memory.reset();
  }
  void on_packets_end() override {
    ++ends;
    arrivals_at_last_end = got.size();
  }
  void on_closed(std::error_code ec) override {
    closed.push_back(ec);
    memory.reset();  // nothing may be written there any more
  }
};

bytes packet_of(char first, std::size_t size, std::uint8_t seed) {
  bytes b(size);
  b[0] = static_cast<std::uint8_t>(first);
  for (std::size_t i = 1; i < size; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7);
  return b;
}

packet_stream_options small_direct_options() {
  packet_stream_options opts;
  opts.direct_read_from = 100;
  opts.direct_read_lookahead = 16;
  opts.read_chunk = 64;
  return opts;
}

// Checks that `got` holds `packets` in order, each once, and that only packets the handler
// takes came through its memory; with `all_placed`, every one it takes did (a packet all
// read at once, before it could be offered, comes by on_packet()).
void expect_arrivals(const std::vector<placing_recorder::arrival>& got,
                     const std::vector<bytes>& packets, std::size_t direct_from, bool all_placed,
                     const std::string& what) {
  ASSERT_EQ(got.size(), packets.size()) << what;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    EXPECT_EQ(got[i].body, packets[i]) << what << ": packet " << i;
    const bool takes =
        packets[i].size() >= direct_from && (packets[i][0] == 'D' || packets[i][0] == 'H');
    if (!takes) {
      EXPECT_EQ(got[i].how, 'p') << what << ": packet " << i;
    }
    if (takes && all_placed) {
      EXPECT_EQ(got[i].how, 'f') << what << ": packet " << i;
    }
  }
}

// Small packets, ticks, and large ones placed, refused, or placed after a longer head, split
// into two reads at every byte boundary and then read byte by byte: each packet arrives once,
// in order, and the large ones the handler takes arrive through its memory.
TEST(PacketStreamDirect, LargePacketsAreReadInPlaceWhereverReadsEnd) {
  const std::vector<bytes> packets = {
      packet_of('s', 5, 1),   packet_of('D', 300, 2), packet_of('N', 200, 3),
      packet_of('H', 250, 4), packet_of('s', 9, 5),   packet_of('D', 1000, 6),
      packet_of('D', 101, 7), packet_of('D', 100, 8), packet_of('s', 1, 9),
  };
  bytes stream_bytes;
  for (const auto& p : packets) {
    const auto f = frame(p);
    stream_bytes.insert(stream_bytes.end(), f.begin(), f.end());
    if (&p == &packets[2]) stream_bytes.insert(stream_bytes.end(), {0, 0, 0, 0});  // a tick
  }
  auto run_script = [&](std::vector<bytes> chunks, bool all_placed, const std::string& what) {
    asio::io_context io;
    auto tp = std::make_unique<scripted_transport>(io, std::move(chunks));
    auto* script = tp.get();
    placing_recorder rec;
    auto s = packet_stream::create(std::move(tp), rec, small_direct_options());
    rec.stream = s.get();
    s->start();
    const auto t0 = std::chrono::steady_clock::now();
    while (rec.got.size() < packets.size() && rec.closed.empty() &&
           std::chrono::steady_clock::now() - t0 < 2s) {
      io.run_one_for(10ms);
    }
    io.poll();
    expect_arrivals(rec.got, packets, 100, all_placed, what);
    EXPECT_TRUE(rec.closed.empty()) << what;
    EXPECT_EQ(rec.arrivals_at_last_end, packets.size()) << what;
    EXPECT_EQ(script->read_bytes, stream_bytes.size()) << what;
    s->close();
    io.poll();
    EXPECT_EQ(rec.closed.size(), 1u) << what;
  };
  for (std::size_t k = 0; k <= stream_bytes.size(); ++k) {
    run_script({bytes(stream_bytes.begin(), stream_bytes.begin() + static_cast<long>(k)),
                bytes(stream_bytes.begin() + static_cast<long>(k), stream_bytes.end())},
               false, "split at " + std::to_string(k));
    if (HasFailure()) return;
  }
  std::vector<bytes> one_by_one;
  for (std::uint8_t b : stream_bytes) one_by_one.push_back({b});
  run_script(std::move(one_by_one), true, "byte by byte");
}

TEST(PacketStreamDirect, ClosedDuringADirectRead) {
  asio::io_context io;
  const bytes big = frame(packet_of('D', 5000, 1));
  auto tp = std::make_unique<scripted_transport>(
      io, std::vector<bytes>{bytes(big.begin(), big.begin() + 2000)});
  auto* script = tp.get();
  placing_recorder rec;
  auto s = packet_stream::create(std::move(tp), rec, small_direct_options());
  rec.stream = s.get();
  s->start();
  io.run_for(20ms);
  EXPECT_EQ(rec.starts, 1u);
  EXPECT_TRUE(rec.memory);  // a read into it is in flight
  s->close();
  io.run_for(20ms);
  ASSERT_EQ(rec.closed.size(), 1u);
  EXPECT_EQ(rec.closed[0], errc::connection_closed);
  EXPECT_TRUE(rec.got.empty());
  EXPECT_EQ(script->read_bytes, 2000u);
}

TEST(PacketStreamDirect, PeerClosingInTheMiddleOfAPacket) {
  asio::io_context io;
  const bytes big = frame(packet_of('D', 5000, 1));
  auto tp = std::make_unique<scripted_transport>(
      io, std::vector<bytes>{bytes(big.begin(), big.begin() + 3000)});
  tp->eof_at_end = true;
  placing_recorder rec;
  auto s = packet_stream::create(std::move(tp), rec, small_direct_options());
  rec.stream = s.get();
  s->start();
  io.run_for(20ms);
  ASSERT_EQ(rec.closed.size(), 1u);
  EXPECT_EQ(rec.closed[0], errc::peer_closed);
  EXPECT_TRUE(rec.got.empty());
}

TEST(PacketStreamDirect, HandlerRefusingAPacketClosesTheStream) {
  asio::io_context io;
  bytes script = frame(packet_of('s', 3, 1));
  for (const auto& f : {frame(packet_of('X', 500, 2)), frame(packet_of('s', 3, 3))}) {
    script.insert(script.end(), f.begin(), f.end());
  }
  auto tp = std::make_unique<scripted_transport>(
      io, std::vector<bytes>{bytes(script.begin(), script.begin() + 30),
                             bytes(script.begin() + 30, script.end())});
  placing_recorder rec;
  auto s = packet_stream::create(std::move(tp), rec, small_direct_options());
  rec.stream = s.get();
  s->start();
  io.run_for(20ms);
  ASSERT_EQ(rec.closed.size(), 1u);
  EXPECT_EQ(rec.closed[0], errc::bad_packet);
  ASSERT_EQ(rec.got.size(), 1u);  // nothing after the refused packet
  EXPECT_EQ(rec.got[0].body, packet_of('s', 3, 1));
}

// A large packet trickling in keeps the link alive: its reads count as traffic.
TEST(PacketStreamDirect, ADirectReadCountsAsTraffic) {
  asio::io_context io;
  const bytes big = frame(packet_of('D', 3000, 1));
  std::vector<bytes> chunks;
  for (std::size_t at = 0; at < big.size(); at += 100) {
    chunks.emplace_back(big.begin() + static_cast<long>(at),
                        big.begin() + static_cast<long>(std::min(big.size(), at + 100)));
  }
  auto tp = std::make_unique<scripted_transport>(io, std::move(chunks));
  tp->delay = 40ms;  // 31 reads: about 1.2 s, three times net_ticktime
  placing_recorder rec;
  auto opts = small_direct_options();
  opts.ticks.net_ticktime = 400ms;
  auto s = packet_stream::create(std::move(tp), rec, opts);
  rec.stream = s.get();
  s->start();
  const auto t0 = std::chrono::steady_clock::now();
  while (rec.got.empty() && rec.closed.empty() && std::chrono::steady_clock::now() - t0 < 5s) {
    io.run_one_for(50ms);
  }
  EXPECT_TRUE(rec.closed.empty());
  ASSERT_EQ(rec.got.size(), 1u);
  EXPECT_EQ(rec.got[0], (placing_recorder::arrival{'f', packet_of('D', 3000, 1)}));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 800ms);
  s->close();
  io.run_for(50ms);
}

// Over a real socket, with the default options: large packets of many sizes between small ones.
TEST(PacketStreamDirect, LargePacketsInPlaceOverASocket) {
  asio::io_context io;
  auto sockets = socket_pair(io);
  placing_recorder rec;
  auto s = packet_stream::create(tcp_transport::make(std::move(sockets.first)), rec);
  rec.stream = s.get();
  s->start();
  std::vector<bytes> packets;
  bytes out;
  for (std::size_t i = 0; i < 60; ++i) {
    const std::size_t size = (i * 7919 * 131) % (300 * 1024) + 1;
    packets.push_back(packet_of(i % 3 == 0 ? 's' : 'D', size, static_cast<std::uint8_t>(i)));
    const auto f = frame(packets.back());
    out.insert(out.end(), f.begin(), f.end());
  }
  asio::async_write(sockets.second, asio::buffer(out),
                    [](boost::system::error_code, std::size_t) {});
  const auto t0 = std::chrono::steady_clock::now();
  while (rec.got.size() < packets.size() && std::chrono::steady_clock::now() - t0 < 10s) {
    io.run_one_for(50ms);
  }
  expect_arrivals(rec.got, packets, packet_stream_options{}.direct_read_from, false, "socket");
  const auto placed =
      std::count_if(rec.got.begin(), rec.got.end(), [](const auto& a) { return a.how == 'f'; });
  EXPECT_GT(placed, 20);  // most large packets cannot arrive in one 64 KiB read
  s->close();
  io.run_for(50ms);
}

}  // namespace
}  // namespace edist::dist
