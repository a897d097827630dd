// connection over real loopback sockets: messages both ways, interleaving, ordering,
// backpressure, and closing on bad input.
#include "edist/dist/connection.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <string>
#include <vector>

#include "edist/dist/error.hpp"
#include "edist/dist/tcp_transport.hpp"

namespace edist::dist {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using etf::term;
using namespace std::chrono_literals;

const term node_a = term::atom("a@localhost");
const term pid_a = term::pid(node_a, 5, 0, 1);

std::pair<tcp::socket, tcp::socket> socket_pair(asio::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  return {std::move(client), acceptor.accept()};
}

handshake_result peer(const char* name, dist_flags flags = advertised_flags(visibility::hidden)) {
  handshake_result r;
  r.peer_node = name;
  r.peer_flags = flags;
  r.flags = flags;
  r.peer_creation = 1;
  return r;
}

struct recorder : connection::handler {
  std::vector<dist_message> messages;
  std::vector<std::error_code> closed;
  int send_ready = 0;
  void on_message(dist_message&& m) override { messages.push_back(std::move(m)); }
  void on_send_ready() override { ++send_ready; }
  void on_closed(std::error_code ec) override { closed.push_back(ec); }
};

dist_message reg_send(const char* name, term payload) {
  return {ctrl::reg_send{pid_a, term::atom(name), {}}, std::move(payload)};
}

term blob(std::size_t n) {
  std::vector<std::uint8_t> b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i ^ (i >> 8));
  return term::binary(b);
}

template <class Pred>
void run_until(asio::io_context& io, Pred pred, std::chrono::milliseconds limit = 10s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < end) io.run_one_for(50ms);
}

class Connection : public ::testing::TestWithParam<dist_flags> {
 protected:
  void SetUp() override {
    auto [x, y] = socket_pair(io);
    connection_options opts;
    opts.fragment_size = 16 * 1024;
    a = connection::create(tcp_transport::make(std::move(x)), peer("b@localhost", GetParam()), ra,
                           opts);
    b = connection::create(tcp_transport::make(std::move(y)), peer("a@localhost", GetParam()), rb,
                           opts);
    a->start();
    b->start();
  }
  void TearDown() override {
    a->close();
    b->close();
    io.run_for(50ms);
  }

  asio::io_context io;
  recorder ra, rb;
  std::shared_ptr<connection> a, b;
};

TEST_P(Connection, MessagesBothWays) {
  ASSERT_FALSE(a->send(reg_send("srv", term::atom("hello"))));
  ASSERT_FALSE(a->send({ctrl::link{pid_a, pid_a}, std::nullopt}));
  ASSERT_FALSE(b->send(reg_send("other", term::list({term(1), term(2)}))));
  ASSERT_FALSE(b->send(reg_send("big", term::tuple({term::atom("data"), blob(3 << 20)}))));
  run_until(io, [&] { return rb.messages.size() == 2 && ra.messages.size() == 2; });
  ASSERT_EQ(rb.messages.size(), 2u);
  ASSERT_EQ(ra.messages.size(), 2u);
  EXPECT_EQ(std::get<ctrl::reg_send>(rb.messages[0].control).to_name, term::atom("srv"));
  EXPECT_EQ(*rb.messages[0].payload, term::atom("hello"));
  EXPECT_TRUE(std::holds_alternative<ctrl::link>(rb.messages[1].control));
  EXPECT_EQ((*ra.messages[1].payload)[1], blob(3 << 20));
  EXPECT_EQ(a->queued_bytes(), 0u);
  EXPECT_TRUE(ra.closed.empty());
}

TEST_P(Connection, SameOrderKeyKeepsOrder) {
  ASSERT_FALSE(a->send(reg_send("big", blob(2 << 20)), 7));
  for (int i = 0; i < 5; ++i) ASSERT_FALSE(a->send(reg_send("small", term(i)), 7));
  run_until(io, [&] { return rb.messages.size() == 6; });
  ASSERT_EQ(rb.messages.size(), 6u);
  EXPECT_TRUE(rb.messages[0].payload->is_binary());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(*rb.messages[1 + i].payload, term(i));
}

INSTANTIATE_TEST_SUITE_P(Flags, Connection,
                         ::testing::Values(advertised_flags(visibility::hidden),
                                           advertised_flags(visibility::hidden) &
                                               ~(dflag::dist_hdr_atom_cache | dflag::fragments)));

TEST(ConnectionSend, SmallMessagesOvertakeABigOneFromAnotherSender) {
  asio::io_context io;
  auto [x, y] = socket_pair(io);
  recorder ra, rb;
  connection_options opts;
  opts.fragment_size = 16 * 1024;
  opts.write_high_water = 32 * 1024;
  auto a = connection::create(tcp_transport::make(std::move(x)), peer("b@localhost"), ra, opts);
  auto b = connection::create(tcp_transport::make(std::move(y)), peer("a@localhost"), rb, opts);
  a->start();
  b->start();
  ASSERT_FALSE(a->send(reg_send("big", blob(8 << 20)), 1));
  for (int i = 0; i < 20; ++i) ASSERT_FALSE(a->send(reg_send("small", term(i)), 2));
  run_until(io, [&] { return rb.messages.size() == 21; });
  ASSERT_EQ(rb.messages.size(), 21u);
  // All small messages arrive while the big one is still in fragments.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(*rb.messages[i].payload, term(i)) << i;
  EXPECT_TRUE(rb.messages[20].payload->is_binary());
  EXPECT_EQ(rb.messages[20].payload->binary_bytes().size(), std::size_t{8} << 20);
  EXPECT_EQ(a->queued_bytes(), 0u);  // the accounting returns exactly to zero
  a->close();
  b->close();
  io.run_for(50ms);
}

TEST(ConnectionSend, BackpressureAndSendReady) {
  asio::io_context io;
  auto [x, y] = socket_pair(io);
  recorder ra, rb;
  connection_options opts;
  opts.max_send_queue = 1 << 20;
  opts.write_high_water = 256 * 1024;  // about 3 messages handed to the transport at once
  auto a = connection::create(tcp_transport::make(std::move(x)), peer("b@localhost"), ra, opts);
  auto b = connection::create(tcp_transport::make(std::move(y)), peer("a@localhost"), rb);
  a->start();
  b->start();
  int accepted = 0;
  std::error_code ec;
  while (!(ec = a->send(reg_send("x", blob(100 * 1024)), 1))) ++accepted;
  EXPECT_EQ(ec, errc::send_queue_full);
  EXPECT_GE(accepted, 8);
  EXPECT_LE(accepted, 14);  // 10 queued + what already went to the transport
  EXPECT_LE(a->queued_bytes(), opts.max_send_queue);
  // A refused message stays with the caller, intact, to be sent once there is room.
  auto refused = reg_send("x", blob(100 * 1024));
  EXPECT_EQ(a->send(std::move(refused), 1), errc::send_queue_full);
  ASSERT_TRUE(refused.payload.has_value());
  EXPECT_EQ(*refused.payload, blob(100 * 1024));
  run_until(io, [&] { return ra.send_ready > 0; });
  EXPECT_EQ(ra.send_ready, 1);
  EXPECT_FALSE(a->send(std::move(refused), 1));
  EXPECT_FALSE(a->send(reg_send("x", term(1)), 1));
  run_until(io, [&] { return rb.messages.size() == static_cast<std::size_t>(accepted) + 2; });
  ASSERT_EQ(rb.messages.size(), static_cast<std::size_t>(accepted) + 2);
  EXPECT_EQ(rb.messages[static_cast<std::size_t>(accepted)].payload, blob(100 * 1024));
  a->close();
  b->close();
  io.run_for(50ms);
}

TEST(ConnectionReceive, BadPacketClosesWithTheReason) {
  asio::io_context io;
  auto [x, y] = socket_pair(io);
  recorder ra;
  auto a = connection::create(tcp_transport::make(std::move(x)), peer("b@localhost"), ra);
  a->start();
  const std::vector<std::uint8_t> bad = {0, 0, 0, 3, 131, 68, 9};  // truncated header
  asio::write(y, asio::buffer(bad));
  run_until(io, [&] { return !ra.closed.empty(); });
  ASSERT_EQ(ra.closed.size(), 1u);
  EXPECT_EQ(ra.closed[0], errc::bad_packet);
  EXPECT_FALSE(a->close_detail().empty());
  EXPECT_EQ(a->send(reg_send("x", term(1))), errc::connection_closed);
  a->close();
  io.run_for(50ms);
  EXPECT_EQ(ra.closed.size(), 1u);
}

// Large messages from several senders: their fragments interleave and are read in place.
TEST(ConnectionReceive, InterleavedLargeMessagesArriveWhole) {
  asio::io_context io;
  auto [x, y] = socket_pair(io);
  recorder ra, rb;
  connection_options opts;
  opts.fragment_size = 64 * 1024;
  opts.write_high_water = 64 * 1024;
  auto a = connection::create(tcp_transport::make(std::move(x)), peer("b@localhost"), ra, opts);
  auto b = connection::create(tcp_transport::make(std::move(y)), peer("a@localhost"), rb, opts);
  a->start();
  b->start();
  for (std::uint64_t key = 1; key <= 4; ++key) {
    ASSERT_FALSE(a->send(reg_send("big", blob((key * 300 + 7) * 1024)), key));
  }
  ASSERT_FALSE(a->send(reg_send("small", term(5)), 5));
  run_until(io, [&] { return rb.messages.size() == 5; });
  ASSERT_EQ(rb.messages.size(), 5u);
  std::vector<std::size_t> sizes;
  for (const auto& m : rb.messages) {
    if (!m.payload->is_binary()) continue;
    const auto size = m.payload->binary_bytes().size();
    EXPECT_EQ(*m.payload, blob(size));
    sizes.push_back(size / 1024);
  }
  std::sort(sizes.begin(), sizes.end());
  EXPECT_EQ(sizes, (std::vector<std::size_t>{307, 607, 907, 1207}));
  a->close();
  b->close();
  io.run_for(50ms);
}

// The reassembly bound is hit by a fragment whose bytes are still to come: the connection
// closes with the reason before committing memory to it.
TEST(ConnectionReceive, ReassemblyBoundHitByAFragmentReadInPlace) {
  asio::io_context io;
  auto [x, y] = socket_pair(io);
  recorder ra, rb;
  connection_options sender;
  sender.fragment_size = 64 * 1024;
  connection_options receiver;
  receiver.decode.max_reassembly_bytes = 200 * 1024;
  auto a = connection::create(tcp_transport::make(std::move(x)), peer("b@localhost"), ra, sender);
  auto b = connection::create(tcp_transport::make(std::move(y)), peer("a@localhost"), rb, receiver);
  a->start();
  b->start();
  ASSERT_FALSE(a->send(reg_send("big", blob(1 << 20)), 1));
  run_until(io, [&] { return !rb.closed.empty(); });
  ASSERT_EQ(rb.closed.size(), 1u);
  EXPECT_EQ(rb.closed[0], errc::reassembly_limit);
  EXPECT_NE(b->close_detail().find("reassembly"), std::string::npos) << b->close_detail();
  EXPECT_TRUE(rb.messages.empty());
  a->close();
  io.run_for(50ms);
}

TEST(ConnectionSend, RejectsAMissingPayload) {
  asio::io_context io;
  auto [x, y] = socket_pair(io);
  recorder ra;
  auto a = connection::create(tcp_transport::make(std::move(x)), peer("b@localhost"), ra);
  a->start();
  EXPECT_THROW(a->send({ctrl::send{pid_a, {}}, std::nullopt}), std::invalid_argument);
  a->close();
  io.run_for(50ms);
  (void)y;
}

}  // namespace
}  // namespace edist::dist
