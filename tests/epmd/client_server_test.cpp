// Our EPMD client against our EPMD server (and against scripted fake servers), over loopback
// sockets inside this process. No Erlang needed; the real epmd is tested in interop/epmd.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "edist/epmd/client.hpp"
#include "edist/epmd/error.hpp"
#include "edist/epmd/server.hpp"

namespace edist::epmd {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;
using bytes = std::vector<std::uint8_t>;

// An io_context run by one background thread for the duration of a test.
class background_io {
 public:
  background_io() : guard_(asio::make_work_guard(ctx_)), thread_([this] { ctx_.run(); }) {}
  ~background_io() { stop(); }
  // Stops the thread once whatever handler it runs has returned. Idempotent.
  void stop() {
    guard_.reset();
    ctx_.stop();
    if (thread_.joinable()) thread_.join();
  }
  asio::io_context& context() { return ctx_; }
  asio::any_io_executor executor() { return ctx_.get_executor(); }

 private:
  asio::io_context ctx_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// Sends `request` on a fresh connection and collects what comes back until the peer closes
// or `timeout` passes. `closed` tells which.
struct raw_result {
  bytes received;
  bool closed = false;
};

raw_result raw_exchange(std::uint16_t port, const bytes& request,
                        std::chrono::milliseconds timeout = 3000ms) {
  asio::io_context ctx;
  tcp::socket s(ctx);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  if (!request.empty()) asio::write(s, asio::buffer(request));
  raw_result r;
  std::array<std::uint8_t, 4096> chunk{};
  std::function<void()> read_more = [&] {
    s.async_read_some(asio::buffer(chunk), [&](boost::system::error_code ec, std::size_t n) {
      r.received.insert(r.received.end(), chunk.begin(), chunk.begin() + static_cast<long>(n));
      if (ec) {
        r.closed = true;
        return;
      }
      read_more();
    });
  };
  read_more();
  ctx.run_for(timeout);
  return r;
}

// A scripted server on 127.0.0.1: each accepted connection is handed to `script` on the
// background thread.
class fake_epmd {
 public:
  explicit fake_epmd(std::function<void(tcp::socket&)> script)
      : acceptor_(io_.context(), {asio::ip::make_address("127.0.0.1"), 0}),
        script_(std::move(script)) {
    accept();
  }
  // The thread first: a script may still be closing its socket after the client got the
  // reply, and must not find the sockets and the script destroyed under it.
  ~fake_epmd() { io_.stop(); }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      sockets_.push_back(std::make_unique<tcp::socket>(std::move(s)));
      script_(*sockets_.back());
      accept();
    });
  }
  background_io io_;
  tcp::acceptor acceptor_;
  std::function<void(tcp::socket&)> script_;
  std::vector<std::unique_ptr<tcp::socket>> sockets_;
};

// Reads the request then writes `reply` (and closes when `close_after`).
std::function<void(tcp::socket&)> reply_with(bytes reply, bool close_after = true) {
  return [reply = std::move(reply), close_after](tcp::socket& s) {
    std::array<std::uint8_t, 512> buf{};
    boost::system::error_code ec;
    s.read_some(asio::buffer(buf), ec);
    asio::write(s, asio::buffer(reply), ec);
    if (close_after) s.close(ec);
  };
}

node_info make_node(std::string name, std::uint16_t port, node_type type = node_type::normal) {
  node_info n;
  n.name = std::move(name);
  n.port = port;
  n.type = type;
  n.highest_version = 6;
  n.lowest_version = 5;
  return n;
}

class ClientServer : public ::testing::Test {
 protected:
  void SetUp() override {
    server_options o;
    o.port = 0;
    o.loopback_only = true;
    o.limits.request_timeout = 500ms;
    start_server(o);
  }

  void start_server(server_options o) {
    server_.reset();
    server_.emplace(io_.executor(), std::move(o));
    ASSERT_FALSE(server_->start());
    ASSERT_NE(server_->port(), 0);
  }

  client_options options() const {
    client_options o;
    o.host = "127.0.0.1";
    o.port = server_->port();
    o.timeout = 3000ms;
    return o;
  }

  // Unregistration happens when the server sees the close: poll briefly.
  bool eventually_not_found(const std::string& name) {
    for (int i = 0; i < 200; ++i) {
      std::error_code ec;
      lookup(options(), name, ec);
      if (ec == errc::name_not_found) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  background_io io_;
  std::optional<server> server_;
};

TEST_F(ClientServer, RegisterLookupNamesUnregister) {
  client c(io_.executor(), options());
  // With std::error_code signatures, use_future yields (error_code, value) tuples.
  auto [rec, reg] = c.async_register_node(make_node("alpha", 40001), asio::use_future).get();
  ASSERT_FALSE(rec) << rec.message();
  ASSERT_TRUE(reg.active());
  EXPECT_NE(reg.creation(), 0u);
  EXPECT_EQ(reg.node().name, "alpha");

  auto [lec, info] = c.async_lookup("alpha", asio::use_future).get();
  ASSERT_FALSE(lec) << lec.message();
  EXPECT_EQ(info.name, "alpha");
  EXPECT_EQ(info.port, 40001);
  EXPECT_EQ(info.type, node_type::normal);
  EXPECT_EQ(info.highest_version, 6);
  EXPECT_EQ(info.lowest_version, 5);

  auto [nec, listed] = c.async_names(asio::use_future).get();
  ASSERT_FALSE(nec) << nec.message();
  EXPECT_EQ(listed.epmd_port, server_->port());
  EXPECT_EQ(listed.nodes, (std::vector<name_entry>{{"alpha", 40001}}));

  reg.close();
  EXPECT_FALSE(reg.active());
  EXPECT_TRUE(eventually_not_found("alpha"));
}

TEST_F(ClientServer, DuplicateRegistrationIsRefused) {
  auto first = register_node(options(), make_node("twin", 1));
  std::error_code ec;
  auto second = register_node(options(), make_node("twin", 2), ec);
  EXPECT_EQ(ec, errc::name_in_use);
  EXPECT_FALSE(second.active());
  EXPECT_EQ(lookup(options(), "twin").port, 1);
  // Once the first goes, the name is free again, with a new creation.
  const auto old_creation = first.creation();
  first = registration{};
  ASSERT_TRUE(eventually_not_found("twin"));
  auto third = register_node(options(), make_node("twin", 3));
  EXPECT_NE(third.creation(), old_creation);
}

TEST_F(ClientServer, HiddenNodeType) {
  auto reg = register_node(options(), make_node("shy", 7, node_type::hidden));
  EXPECT_EQ(lookup(options(), "shy").type, node_type::hidden);
}

TEST_F(ClientServer, NotFoundAndInvalidNames) {
  std::error_code ec;
  lookup(options(), "nobody", ec);
  EXPECT_EQ(ec, errc::name_not_found);
  lookup(options(), "bad name", ec);
  EXPECT_EQ(ec, errc::invalid_name);
  register_node(options(), make_node("", 1), ec);
  EXPECT_EQ(ec, errc::invalid_name);
  EXPECT_THROW(lookup(options(), "nobody"), std::system_error);
}

TEST_F(ClientServer, CompletionIsNeverInline) {
  client c(io_.executor(), options());
  // Even an operation that fails before any I/O (an invalid name) completes later, on the
  // executor, not inside the initiating call.
  std::promise<std::thread::id> where;
  std::atomic<bool> returned{false};
  std::atomic<bool> inline_call{false};
  asio::io_context local;
  client lc(local.get_executor(), options());
  lc.async_lookup("", [&](std::error_code ec, node_info) {
    if (!returned) inline_call = true;
    EXPECT_EQ(ec, errc::invalid_name);
    where.set_value(std::this_thread::get_id());
  });
  returned = true;
  local.run();
  EXPECT_FALSE(inline_call);
  EXPECT_EQ(where.get_future().get(), std::this_thread::get_id());
}

TEST_F(ClientServer, Unreachable) {
  std::uint16_t dead_port = 0;
  {
    asio::io_context ctx;
    tcp::acceptor a(ctx, {asio::ip::make_address("127.0.0.1"), 0});
    dead_port = a.local_endpoint().port();
  }
  auto o = options();
  o.port = dead_port;
  std::error_code ec;
  names(o, ec);
  EXPECT_EQ(ec, errc::unreachable);
  o.host = "no-such-host.invalid";
  lookup(o, "x", ec);
  EXPECT_TRUE(ec == errc::unreachable || ec == errc::timeout) << ec.message();
}

TEST_F(ClientServer, TimeoutWhenTheServerNeverAnswers) {
  fake_epmd silent([](tcp::socket&) {});  // accepts, keeps the socket, says nothing
  auto o = options();
  o.port = silent.port();
  o.timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  std::error_code ec;
  register_node(o, make_node("x", 1), ec);
  EXPECT_EQ(ec, errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  names(o, ec);
  EXPECT_EQ(ec, errc::timeout);
}

TEST_F(ClientServer, MalformedTruncatedAndOldReplies) {
  auto o = options();
  std::error_code ec;
  {
    fake_epmd garbage(reply_with({'Q', 0, 0, 0}));
    o.port = garbage.port();
    register_node(o, make_node("x", 1), ec);
    EXPECT_EQ(ec, errc::malformed_reply);
    lookup(o, "x", ec);
    EXPECT_EQ(ec, errc::malformed_reply);
  }
  {
    fake_epmd short_reply(reply_with({118, 0, 0}));
    o.port = short_reply.port();
    register_node(o, make_node("x", 1), ec);
    EXPECT_EQ(ec, errc::truncated_reply);
  }
  {
    fake_epmd bad_names(reply_with({0, 0, 0x11, 0x11, 'h', 'i', '\n'}));
    o.port = bad_names.port();
    names(o, ec);
    EXPECT_EQ(ec, errc::malformed_reply);
  }
  {
    // An old epmd answers ALIVE2_RESP with a 16-bit creation.
    fake_epmd old(reply_with({121, 0, 0, 3}, false));
    o.port = old.port();
    auto reg = register_node(o, make_node("x", 1), ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(reg.creation(), 3u);
  }
  {
    fake_epmd refusing(reply_with({121, 1, 0, 99}));
    o.port = refusing.port();
    register_node(o, make_node("x", 1), ec);
    EXPECT_EQ(ec, errc::name_in_use);
  }
}

TEST_F(ClientServer, NamesReplyIsBounded) {
  bytes big{0, 0, 0x11, 0x11};
  for (int i = 0; i < 1000; ++i) {
    const std::string line = "name n" + std::to_string(i) + " at port 1\n";
    big.insert(big.end(), line.begin(), line.end());
  }
  fake_epmd chatty(reply_with(big));
  auto o = options();
  o.port = chatty.port();
  o.max_names_reply = 1000;
  std::error_code ec;
  names(o, ec);
  EXPECT_EQ(ec, errc::reply_too_large);
  o.max_names_reply = big.size();
  auto all = names(o, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(all.nodes.size(), 1000u);
}

TEST_F(ClientServer, PortFromEnvironment) {
  const char* old = std::getenv("ERL_EPMD_PORT");
  const std::optional<std::string> saved = old ? std::optional<std::string>(old) : std::nullopt;
  ::setenv("ERL_EPMD_PORT", std::to_string(server_->port()).c_str(), 1);
  client_options o;
  o.host = "127.0.0.1";
  std::error_code ec;
  auto listed = names(o, ec);
  if (saved)
    ::setenv("ERL_EPMD_PORT", saved->c_str(), 1);
  else
    ::unsetenv("ERL_EPMD_PORT");
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(listed.epmd_port, server_->port());
}

TEST_F(ClientServer, Ipv6Loopback) {
  bool has_v6 = false;
  for (const auto& ep : server_->local_endpoints()) has_v6 |= ep.address().is_v6();
  if (!has_v6) GTEST_SKIP() << "no IPv6 loopback on this host";
  auto o = options();
  o.host = "::1";
  auto reg = register_node(o, make_node("six", 66));
  auto info = lookup(o, "six");
  EXPECT_EQ(info.port, 66);
  o.host = "127.0.0.1";
  EXPECT_EQ(lookup(o, "six").port, 66);  // one table behind both addresses
}

TEST_F(ClientServer, RegistrationLostWhenServerStops) {
  client c(io_.executor(), options());
  auto [rec, reg] = c.async_register_node(make_node("mortal", 5), asio::use_future).get();
  ASSERT_FALSE(rec) << rec.message();
  auto lost = reg.async_wait_lost(asio::use_future);
  EXPECT_EQ(lost.wait_for(100ms), std::future_status::timeout);
  server_->stop();
  ASSERT_EQ(lost.wait_for(3s), std::future_status::ready);
  EXPECT_EQ(lost.get(), errc::registration_lost);
}

TEST_F(ClientServer, WaitLostCancelledByClose) {
  client c(io_.executor(), options());
  auto [rec, registered] = c.async_register_node(make_node("closer", 5), asio::use_future).get();
  ASSERT_FALSE(rec) << rec.message();
  registration reg = std::move(registered);  // lambdas cannot capture structured bindings
  std::promise<std::error_code> done;
  asio::post(io_.executor(), [&] {
    reg.async_wait_lost([&](std::error_code ec) { done.set_value(ec); });
    reg.close();
  });
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(3s), std::future_status::ready);
  EXPECT_EQ(f.get(), std::errc::operation_canceled);
}

TEST_F(ClientServer, SlowAndSilentClientsAreDisconnected) {
  const auto start = std::chrono::steady_clock::now();
  auto r = raw_exchange(server_->port(), {}, 5000ms);  // send nothing at all
  EXPECT_TRUE(r.closed);
  EXPECT_TRUE(r.received.empty());
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 400ms);
  EXPECT_LT(took, 3s);
  // Half a request: same fate.
  r = raw_exchange(server_->port(), {0, 10, 'z'}, 5000ms);
  EXPECT_TRUE(r.closed);
  EXPECT_TRUE(r.received.empty());
}

TEST_F(ClientServer, BadRequestsCloseOnlyTheirConnection) {
  auto keep = register_node(options(), make_node("steady", 9));
  for (const bytes& junk : {bytes{0xFF, 0xFF, 'x'}, bytes{0, 0}, bytes{0, 1, 'q'},
                            bytes{0, 2, 'z', 0}, bytes{0, 3, 'x', 1, 2}}) {
    auto r = raw_exchange(server_->port(), junk);
    EXPECT_TRUE(r.closed);
    EXPECT_TRUE(r.received.empty());
  }
  EXPECT_EQ(lookup(options(), "steady").port, 9);
  EXPECT_TRUE(keep.active());
}

TEST_F(ClientServer, RealEpmdRepliesToRawRequests) {
  // PORT_PLEASE2 for an unknown name: 'w', 1. NAMES: the port then the lines.
  EXPECT_EQ(raw_exchange(server_->port(), {0, 4, 'z', 'a', 'b', 'c'}).received, (bytes{'w', 1}));
  auto reg = register_node(options(), make_node("listed", 4242));
  auto r = raw_exchange(server_->port(), {0, 1, 'n'});
  const std::string text(r.received.begin() + 4, r.received.end());
  EXPECT_EQ(text, "name listed at port 4242\n");
  EXPECT_TRUE(r.closed);
  // KILL refused by default.
  EXPECT_EQ(raw_exchange(server_->port(), {0, 1, 'k'}).received, (bytes{'N', 'O'}));
}

TEST_F(ClientServer, KillWithRelaxedCommandCheckStopsTheServer) {
  std::promise<void> killed;
  server_options o;
  o.port = 0;
  o.loopback_only = true;
  o.relaxed_command_check = true;
  o.on_killed = [&] { killed.set_value(); };
  start_server(o);
  auto reg = register_node(options(), make_node("doomed", 1));
  const auto port = server_->port();
  EXPECT_EQ(raw_exchange(port, {0, 1, 'k'}).received, (bytes{'O', 'K'}));
  ASSERT_EQ(killed.get_future().wait_for(3s), std::future_status::ready);
  client_options co = options();
  co.port = port;
  std::error_code ec;
  for (int i = 0; i < 100 && ec != errc::unreachable; ++i) {
    names(co, ec);
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(ec, errc::unreachable);
}

TEST_F(ClientServer, ConnectionCap) {
  server_options o;
  o.port = 0;
  o.loopback_only = true;
  o.limits.max_connections = 2;
  o.limits.request_timeout = 5s;
  start_server(o);
  auto a = register_node(options(), make_node("a", 1));
  auto b = register_node(options(), make_node("b", 2));
  auto r = raw_exchange(server_->port(), {0, 1, 'n'});
  EXPECT_TRUE(r.closed);
  EXPECT_TRUE(r.received.empty());
  a.close();
  // Once the server has seen the close, a slot is free again for a look-up.
  bool served = false;
  for (int i = 0; i < 100 && !served; ++i) {
    std::error_code ec;
    auto listed = names(options(), ec);
    served = !ec && listed.nodes.size() == 1;
    if (!served) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(served);
}

TEST_F(ClientServer, StartIfAbsent) {
  server_options o;
  o.port = server_->port();
  o.loopback_only = true;
  server second(io_.executor(), o);
  std::error_code ec;
  EXPECT_EQ(second.start_if_absent(ec), server::start_outcome::already_running);
  EXPECT_FALSE(ec);

  // A port held by something that is not an EPMD.
  fake_epmd impostor([](tcp::socket& s) { s.close(); });
  o.port = impostor.port();
  o.loopback_only = true;
  server third(io_.executor(), o);
  EXPECT_EQ(third.start_if_absent(ec), server::start_outcome::failed);
  EXPECT_EQ(ec, std::errc::address_in_use);

  // A free port: started.
  o.port = 0;
  server fourth(io_.executor(), o);
  EXPECT_EQ(fourth.start_if_absent(ec), server::start_outcome::started);
  EXPECT_FALSE(ec);
  EXPECT_NE(fourth.port(), 0);
  EXPECT_EQ(fourth.start(), std::errc::invalid_argument);
}

TEST_F(ClientServer, ServerDestroyedWhileClientsConnected) {
  client c(io_.executor(), options());
  auto [rec, reg] = c.async_register_node(make_node("orphan", 1), asio::use_future).get();
  ASSERT_FALSE(rec) << rec.message();
  auto lost = reg.async_wait_lost(asio::use_future);
  raw_result half;
  std::thread slow([&, port = server_->port()] { half = raw_exchange(port, {0, 9}, 3000ms); });
  std::this_thread::sleep_for(50ms);
  server_.reset();
  slow.join();
  EXPECT_TRUE(half.closed);
  ASSERT_EQ(lost.wait_for(3s), std::future_status::ready);
  EXPECT_EQ(lost.get(), errc::registration_lost);
}

}  // namespace
}  // namespace edist::epmd
