// The Asio driver over real loopback sockets, both roles in one io_context.
#include "edist/dist/async_handshake.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <memory>
#include <optional>

#include "edist/dist/error.hpp"
#include "edist/dist/tcp_transport.hpp"

namespace edist::dist {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

struct socket_pair {
  tcp::socket client;
  tcp::socket server;
};

socket_pair make_pair(asio::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket server = acceptor.accept();
  return {std::move(client), std::move(server)};
}

handshake_config config(std::string name, std::string cookie = "cookie") {
  handshake_config c;
  c.this_node = std::move(name);
  c.cookie = std::move(cookie);
  c.creation = 7;
  return c;
}

struct completion {
  std::optional<std::error_code> ec;
  handshake_outcome outcome;
};

auto store(completion& c) {
  return [&c](std::error_code ec, handshake_outcome o) {
    c.ec = ec;
    c.outcome = std::move(o);
  };
}

TEST(AsyncHandshake, BothRolesOverLoopback) {
  asio::io_context io;
  auto [client, server] = make_pair(io);
  tcp_transport ct(std::move(client));
  tcp_transport st(std::move(server));
  completion ic, ac;
  handshake_options aopts;
  std::string seen_peer;
  aopts.hooks.on_peer = [&](const std::string& peer, dist_flags) {
    seen_peer = peer;
    return accept_decision::ok;
  };
  async_handshake_initiate(ct, config("a@localhost"), "b@localhost", {}, store(ic));
  async_handshake_accept(st, config("b@localhost"), aopts, store(ac));
  EXPECT_FALSE(ic.ec);  // never inline
  io.run_for(5s);
  ASSERT_TRUE(ic.ec && ac.ec);
  EXPECT_FALSE(*ic.ec) << ic.ec->message() << ic.outcome.detail;
  EXPECT_FALSE(*ac.ec) << ac.ec->message() << ac.outcome.detail;
  EXPECT_EQ(seen_peer, "a@localhost");
  EXPECT_EQ(ic.outcome.result.peer_node, "b@localhost");
  EXPECT_EQ(ac.outcome.result.peer_node, "a@localhost");
  EXPECT_EQ(ic.outcome.result.peer_creation, 7u);
  EXPECT_TRUE(ct.is_open());
  EXPECT_TRUE(st.is_open());
  EXPECT_TRUE(ic.outcome.leftover.empty());
}

TEST(AsyncHandshake, WrongCookieClosesBothSides) {
  asio::io_context io;
  auto [client, server] = make_pair(io);
  tcp_transport ct(std::move(client));
  tcp_transport st(std::move(server));
  completion ic, ac;
  async_handshake_initiate(ct, config("a@localhost", "one"), "b@localhost", {}, store(ic));
  async_handshake_accept(st, config("b@localhost", "two"), {}, store(ac));
  io.run_for(5s);
  ASSERT_TRUE(ic.ec && ac.ec);
  EXPECT_EQ(*ac.ec, errc::bad_cookie);
  EXPECT_EQ(*ic.ec, errc::peer_closed);
  EXPECT_FALSE(st.is_open());
  EXPECT_FALSE(ct.is_open());
}

TEST(AsyncHandshake, OwnerRefusalReachesInitiator) {
  asio::io_context io;
  auto [client, server] = make_pair(io);
  tcp_transport ct(std::move(client));
  tcp_transport st(std::move(server));
  completion ic, ac;
  handshake_options aopts;
  aopts.hooks.on_peer = [](const std::string&, dist_flags) { return accept_decision::nok; };
  async_handshake_initiate(ct, config("a@localhost"), "b@localhost", {}, store(ic));
  async_handshake_accept(st, config("b@localhost"), aopts, store(ac));
  io.run_for(5s);
  ASSERT_TRUE(ic.ec && ac.ec);
  EXPECT_EQ(*ic.ec, errc::simultaneous_connect_lost);
  EXPECT_EQ(*ac.ec, errc::simultaneous_connect_lost);
}

TEST(AsyncHandshake, AliveHookDecides) {
  asio::io_context io;
  auto [client, server] = make_pair(io);
  tcp_transport ct(std::move(client));
  tcp_transport st(std::move(server));
  completion ic, ac;
  handshake_options aopts, iopts;
  aopts.hooks.on_peer = [](const std::string&, dist_flags) { return accept_decision::alive; };
  iopts.hooks.on_alive = [](const std::string&) { return false; };
  async_handshake_initiate(ct, config("a@localhost"), "b@localhost", iopts, store(ic));
  async_handshake_accept(st, config("b@localhost"), aopts, store(ac));
  io.run_for(5s);
  ASSERT_TRUE(ic.ec && ac.ec);
  EXPECT_EQ(*ic.ec, errc::already_connected);
  EXPECT_EQ(*ac.ec, errc::already_connected);
}

TEST(AsyncHandshake, SilentPeerTimesOutAfterNetSetuptime) {
  asio::io_context io;
  auto [client, server] = make_pair(io);
  tcp_transport ct(std::move(client));
  completion ic;
  handshake_options opts;
  opts.net_setuptime = 200ms;
  const auto t0 = std::chrono::steady_clock::now();
  async_handshake_initiate(ct, config("a@localhost"), "b@localhost", opts, store(ic));
  io.run_for(5s);
  ASSERT_TRUE(ic.ec);
  EXPECT_EQ(*ic.ec, errc::setup_timeout);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 200ms);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_FALSE(ct.is_open());
  (void)server;
}

TEST(AsyncHandshake, AcceptorTimesOutOnSilentInitiator) {
  asio::io_context io;
  auto [client, server] = make_pair(io);
  tcp_transport st(std::move(server));
  completion ac;
  handshake_options opts;
  opts.net_setuptime = 100ms;
  async_handshake_accept(st, config("b@localhost"), opts, store(ac));
  io.run_for(5s);
  ASSERT_TRUE(ac.ec);
  EXPECT_EQ(*ac.ec, errc::setup_timeout);
  (void)client;
}

TEST(AsyncHandshake, PeerClosingMidwayIsPeerClosed) {
  asio::io_context io;
  socket_pair sockets = make_pair(io);
  tcp::socket& server = sockets.server;
  tcp_transport ct(std::move(sockets.client));
  completion ic;
  async_handshake_initiate(ct, config("a@localhost"), "b@localhost", {}, store(ic));
  // The raw peer reads the name message, then hangs up.
  std::array<std::uint8_t, 2> len{};
  asio::async_read(server, asio::buffer(len),
                   [&](boost::system::error_code, std::size_t) { server.close(); });
  io.run_for(5s);
  ASSERT_TRUE(ic.ec);
  EXPECT_EQ(*ic.ec, errc::peer_closed);
}

TEST(AsyncHandshake, ImmediateFailureIsPostedNotInline) {
  asio::io_context io;
  auto [client, server] = make_pair(io);
  tcp_transport ct(std::move(client));
  completion ic;
  async_handshake_initiate(ct, config("a@localhost"), "b@host.example.org", {}, store(ic));
  EXPECT_FALSE(ic.ec);
  io.run_for(1s);
  ASSERT_TRUE(ic.ec);
  EXPECT_EQ(*ic.ec, errc::name_type_mismatch);
  EXPECT_NE(ic.outcome.detail.find("b@host.example.org"), std::string::npos);
  (void)server;
}

}  // namespace
}  // namespace edist::dist
