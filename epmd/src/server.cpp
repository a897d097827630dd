#include "edist/epmd/server.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <list>
#include <string>
#include <unordered_map>

#include "edist/epmd/client.hpp"
#include "edist/epmd/error.hpp"
#include "edist/epmd/port.hpp"

namespace edist::epmd {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost_error = boost::system::error_code;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::uint32_t creation_seed() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(now).count());
}

bool is_loopback(const asio::ip::address& a) {
  if (a.is_loopback()) return true;
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback();
  return false;
}

// The real epmd's test: a loopback peer, or a peer whose address is the one it reached us on
// (a connection from this host through one of its own addresses).
bool is_local_peer(const tcp::socket& s) {
  boost_error ec1, ec2;
  const auto remote = s.remote_endpoint(ec1);
  const auto local = s.local_endpoint(ec2);
  if (ec1) return false;
  if (is_loopback(remote.address())) return true;
  return !ec2 && remote.address() == local.address();
}

std::string describe(const registration_record& r) {
  return "'" + r.node.name + "' port " + std::to_string(r.node.port) + " creation " +
         std::to_string(r.creation) + (r.node.type == node_type::hidden ? " (hidden)" : "");
}

}  // namespace

struct detail::server_state {
  server_state(asio::any_io_executor ex, server_config config, const server_options& options)
      : strand(asio::make_strand(ex)),
        core(std::move(config)),
        sweeper(strand),
        log(options.log),
        on_killed(options.on_killed) {}

  asio::any_io_executor strand;
  server_core core;
  std::list<tcp::acceptor> acceptors;
  std::unordered_map<connection_id, tcp::socket*> sockets;  // owned by their sessions
  asio::steady_timer sweeper;
  std::function<void(std::string_view)> log;
  std::function<void()> on_killed;
  bool stopped = false;

  void note(const std::string& line) {
    if (log) log(line);
  }

  void close_socket(connection_id id) {
    auto it = sockets.find(id);
    if (it == sockets.end()) return;
    boost_error ignored;
    it->second->close(ignored);
  }

  void close_all() {
    if (stopped) return;
    stopped = true;
    boost_error ignored;
    for (auto& a : acceptors) a.close(ignored);
    for (auto& [id, s] : sockets) s->close(ignored);
    sweeper.cancel();
  }

  std::chrono::steady_clock::duration sweep_interval() const {
    const auto t = core.config().limits.request_timeout / 4;
    return std::clamp<std::chrono::steady_clock::duration>(t, std::chrono::milliseconds(10),
                                                           std::chrono::seconds(1));
  }
};

namespace {

using state_ptr = std::shared_ptr<detail::server_state>;

asio::awaitable<void> session(state_ptr st, tcp::socket sock, connection_id id) {
  if (st->stopped) {
    // stop() ran between the accept and this start: close_all() could not see this socket.
    st->core.close(id);
    co_return;
  }
  st->sockets[id] = &sock;
  std::array<std::uint8_t, 1024> buffer{};
  for (;;) {
    auto [ec, n] = co_await sock.async_read_some(asio::buffer(buffer), use_tuple);
    if (ec) break;
    auto act = st->core.receive(id, std::span<const std::uint8_t>(buffer.data(), n),
                                std::chrono::steady_clock::now());
    if (act.registered) st->note("registered " + describe(*act.registered));
    if (act.unregistered) st->note("unregistered " + describe(*act.unregistered));
    for (auto other : act.close_also) st->close_socket(other);
    if (act.reason) st->note("connection " + std::to_string(id) + ": " + act.reason.message());
    if (!act.reply.empty()) {
      auto [wec, written] = co_await asio::async_write(sock, asio::buffer(act.reply), use_tuple);
      (void)written;
      if (wec) break;
    }
    if (act.stop_server) {
      st->note("killed by a KILL_REQ");
      st->close_all();
      if (st->on_killed) st->on_killed();
      break;
    }
    if (act.close) break;
  }
  st->sockets.erase(id);
  if (auto removed = st->core.close(id)) st->note("unregistered " + describe(*removed));
  boost_error ignored;
  sock.close(ignored);
}

asio::awaitable<void> accept_loop(state_ptr st, tcp::acceptor& acceptor) {
  asio::steady_timer backoff(st->strand);
  while (!st->stopped) {
    auto [ec, sock] = co_await acceptor.async_accept(use_tuple);
    if (st->stopped) break;
    if (ec) {
      if (ec == asio::error::operation_aborted) break;
      // Out of descriptors or similar: give the system a moment instead of spinning.
      st->note("accept failed: " + ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    // Registered connections stay open for the node's lifetime; keep-alive lets the kernel
    // notice a peer host that vanished without closing them.
    boost_error ignored_option;
    sock.set_option(tcp::socket::keep_alive(true), ignored_option);
    auto id = st->core.open(is_local_peer(sock), std::chrono::steady_clock::now());
    if (!id) {
      st->note("connection refused: " + make_error_code(errc::too_many_connections).message());
      boost_error ignored;
      sock.close(ignored);
      continue;
    }
    asio::co_spawn(st->strand, session(st, std::move(sock), *id), asio::detached);
  }
}

asio::awaitable<void> sweep(state_ptr st) {
  while (!st->stopped) {
    st->sweeper.expires_after(st->sweep_interval());
    co_await st->sweeper.async_wait(use_tuple);
    if (st->stopped) break;
    for (auto id : st->core.expire(std::chrono::steady_clock::now())) {
      st->note("connection " + std::to_string(id) + ": " +
               make_error_code(errc::request_timeout).message());
      st->close_socket(id);
    }
  }
}

struct listen_address {
  asio::ip::address address;
  bool optional;  // may be skipped when this host cannot use it (no IPv6)
};

std::vector<listen_address> listen_addresses(const server_options& o) {
  const auto v4_loop = asio::ip::address(asio::ip::address_v4::loopback());
  const auto v6_loop = asio::ip::address(asio::ip::address_v6::loopback());
  if (o.addresses.empty()) {
    if (o.loopback_only) return {{v4_loop, false}, {v6_loop, true}};
    return {{asio::ip::address(asio::ip::address_v4::any()), false},
            {asio::ip::address(asio::ip::address_v6::any()), true}};
  }
  // Like `epmd -address`: the loopback addresses always, then the ones asked for.
  std::vector<listen_address> out{{v4_loop, true}, {v6_loop, true}};
  for (const auto& a : o.addresses)
    if (!a.is_loopback()) out.push_back({a, false});
  return out;
}

// An optional address may be skipped when this host cannot use it (no IPv6). A port in use is
// never skipped: two EPMDs splitting one port by address family would each see half the nodes.
bool can_skip(const boost_error& ec) {
  return ec == asio::error::address_family_not_supported ||
         ec == boost::system::errc::address_not_available;
}

}  // namespace

server::server(asio::any_io_executor ex, server_options options)
    : executor_(std::move(ex)), options_(std::move(options)) {}

server::~server() {
  stop();
}

std::error_code server::start() {
  if (state_) return std::make_error_code(std::errc::invalid_argument);
  const std::uint16_t wanted = resolve_port(options_.port);
  const auto addresses = listen_addresses(options_);

  server_config config;
  config.limits = options_.limits;
  config.creation_seed = creation_seed();
  config.relaxed_command_check = options_.relaxed_command_check;
  auto st = std::make_shared<detail::server_state>(executor_, std::move(config), options_);

  // With port 0, the first socket picks a port and the others must get the same one; if that
  // port is taken on another address, try again with a new one.
  const int attempts = wanted == 0 ? 32 : 1;
  boost_error ec;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    st->acceptors.clear();
    std::uint16_t port = wanted;
    ec.clear();
    for (const auto& la : addresses) {
      tcp::acceptor acceptor(st->strand);
      const tcp::endpoint endpoint(la.address, port);
      boost_error step;
      acceptor.open(endpoint.protocol(), step);
      if (!step && la.address.is_v6()) acceptor.set_option(asio::ip::v6_only(true), step);
      if (!step) acceptor.set_option(tcp::acceptor::reuse_address(true), step);
      if (!step) acceptor.bind(endpoint, step);
      if (!step) acceptor.listen(asio::socket_base::max_listen_connections, step);
      if (step) {
        if (la.optional && can_skip(step)) continue;
        ec = step;
        break;
      }
      if (port == 0) port = acceptor.local_endpoint().port();
      st->acceptors.push_back(std::move(acceptor));
    }
    if (!ec && st->acceptors.empty())
      ec = make_error_code(boost::system::errc::address_not_available);
    if (!ec) {
      port_ = port;
      break;
    }
    if (!(wanted == 0 && ec == asio::error::address_in_use)) break;
  }
  if (ec) {
    st->acceptors.clear();
    return ec;
  }

  endpoints_.clear();
  for (auto& a : st->acceptors) endpoints_.push_back(a.local_endpoint());
  st->core.set_port(port_);
  state_ = st;
  for (auto& a : st->acceptors) asio::co_spawn(st->strand, accept_loop(st, a), asio::detached);
  asio::co_spawn(st->strand, sweep(st), asio::detached);
  return {};
}

server::start_outcome server::start_if_absent(std::error_code& ec) {
  ec = start();
  if (!ec) return start_outcome::started;
  if (ec != std::errc::address_in_use) return start_outcome::failed;
  client_options probe;
  probe.host = "localhost";
  probe.port = resolve_port(options_.port);
  probe.timeout = std::chrono::milliseconds(2000);
  std::error_code probe_ec;
  names(probe, probe_ec);
  if (!probe_ec) {
    ec.clear();
    return start_outcome::already_running;
  }
  return start_outcome::failed;
}

void server::stop() {
  if (!state_) return;
  auto st = state_;
  asio::dispatch(st->strand, [st] { st->close_all(); });
}

}  // namespace edist::epmd
