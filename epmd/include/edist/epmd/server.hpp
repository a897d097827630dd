// An EPMD server that real BEAM nodes (and `epmd -names`) can use in place of the real one.
// It runs in-process on an Asio executor, or standalone as `edist epmd`.
//
// The protocol and the hardening (request size cap, registration and connection caps,
// per-connection request timeout, one request per connection, registration tied to its
// connection) live in server_core (server_core.hpp); this class accepts connections and moves
// bytes between the sockets and the core.
//
// Listening: with no addresses configured it listens on every IPv4 and IPv6 address
// (0.0.0.0 and ::, IPv6-only sockets), like the real epmd; with loopback_only on 127.0.0.1 and
// ::1; with explicit addresses on those plus the loopback ones (as the real epmd -address).
// An IPv6 socket that cannot be opened (no IPv6 on this host) is skipped when another socket
// listens. Port: explicit, else $ERL_EPMD_PORT, else 4369; an explicit 0 picks a free port,
// the same on every address (read it with port()).
//
// Lifetime and threads: all work happens on a strand of the given executor. Destroy the server
// before its execution context (as any Asio I/O object). stop(), also run by the destructor,
// closes the listening sockets and every client connection, which unregisters every name; it
// may be called from any thread: it runs at once when called from within the server's strand,
// else it is posted there. Pending handlers keep the internal state alive, never this object.
// start()/start_if_absent() are not thread-safe with each other or with stop(); call them
// from one thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

#include "edist/epmd/server_core.hpp"

namespace edist::epmd {

namespace detail {
struct server_state;
}

struct server_options {
  std::optional<std::uint16_t> port;  // else $ERL_EPMD_PORT, else 4369; 0 = any free port
  std::vector<boost::asio::ip::address> addresses;  // empty: every address
  bool loopback_only = false;
  server_limits limits;
  // Accept KILL_REQ (stop the server) and STOP_REQ (drop a registration) from local peers,
  // as `epmd -relaxed_command_check` does. Off by default.
  bool relaxed_command_check = false;
  // Called on the strand with one line of text for each notable event: registrations and
  // unregistrations, connections closed for a protocol violation or a timeout, and the
  // server stopping on a KILL_REQ. Must not call back into the server. May be empty.
  std::function<void(std::string_view)> log;
  // Called on the strand once the server has stopped because a KILL_REQ was granted.
  std::function<void()> on_killed;
};

class server {
 public:
  enum class start_outcome {
    started,          // we listen on the port
    already_running,  // the port is taken by an EPMD that answers: use that one
    failed,           // see the error code
  };

  server(boost::asio::any_io_executor ex, server_options options = {});
  server(const server&) = delete;
  server& operator=(const server&) = delete;
  ~server();

  // Binds, listens and starts accepting. Errors: the bind/listen error (e.g.
  // address_in_use), or invalid_argument when called twice.
  std::error_code start();

  // start(), but when the port is already in use, asks whoever holds it for its NAMES (with
  // a short timeout, blocking the caller): an answer means an EPMD runs there, and the
  // result is already_running (ec cleared); otherwise failed, with the bind error in ec. For a node
  // that should use the host's EPMD and start its own only when there is none.
  start_outcome start_if_absent(std::error_code& ec);

  // Stops accepting and closes every connection. Idempotent.
  void stop();

  // The port listened on; valid after a successful start().
  std::uint16_t port() const { return port_; }
  // The addresses listened on, with the port; valid after a successful start().
  std::vector<boost::asio::ip::tcp::endpoint> local_endpoints() const { return endpoints_; }

 private:
  boost::asio::any_io_executor executor_;
  server_options options_;
  std::shared_ptr<detail::server_state> state_;
  std::uint16_t port_ = 0;
  std::vector<boost::asio::ip::tcp::endpoint> endpoints_;
};

}  // namespace edist::epmd
