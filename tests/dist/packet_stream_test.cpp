// packet_stream over real loopback sockets.
#include "edist/dist/packet_stream.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
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

}  // namespace
}  // namespace edist::dist
