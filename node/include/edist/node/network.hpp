// A node on the network: listens for distribution connections, registers with EPMD (starting
// an embedded EPMD when none answers, if allowed), dials peers on demand, and runs every
// established connection for its node (node.hpp).
//
//   asio::io_context io;
//   std::error_code ec; std::string why;
//   auto net = edist::node::network::start(io.get_executor(), {.name = "cpp@localhost"}, {}, ec,
//   &why); std::thread t([&] { io.run(); }); auto shell = net->get_node().spawn();
//
// Connections are the dist layer's (dist/connection.hpp): edist advertises the OTP 26
// mandatory flags plus monitors, aliases, spawn, SEND_SENDER, EXIT_PAYLOAD, the atom-cache
// header and fragments (dist::advertised_flags).
//
// Lifetime and threads: start() blocks the calling thread for the EPMD registration only.
// The returned object keeps the EPMD registration (the name stays registered while it lives),
// the listening socket, and the connections; stop() (also run by the destructor) shuts the
// node down, closes everything and unregisters. Every connection runs on its own strand of
// the executor; the io_context may be run by any number of threads. All member functions are
// thread-safe. Destroy the object before its io_context.
//
// Outgoing backpressure: nothing sent is dropped while its connection lives. Each connection
// writes from a bounded send queue (max_send_queue); what the queue cannot take waits, in
// order, in the connection's backlog until the peer has read enough. Like a BEAM process
// sending to a busy distribution port, a sender is then slowed down:
//   - process::send and runtime::send called from a thread that does not run this network's
//     io_context block, once the message is queued, while the backlog is above
//     send_busy_limit, until it has drained to half of it (or the connection closed). Each
//     such sender adds at most one message beyond the limit before it blocks.
//   - a thread that runs the io_context (actors, coroutines, completion handlers) never
//     blocks: its sends go through, and it may co_await async_wait_not_busy() to pace itself.
//   - a backlog beyond max_send_backlog closes the connection with errc::send_queue_overflow
//     (reported to `log` and by failure_detail()); its links and monitors fire with
//     noconnection, as for any lost connection. Memory stays bounded; nothing is lost
//     silently.
// Signals of one sender keep their order throughout.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "edist/node/node.hpp"

namespace edist::node {

struct network_options {
  // Listen address: "0.0.0.0" (IPv4), "::" (IPv6 and, where the system allows, IPv4), or a
  // specific one. Port 0 lets the system choose.
  std::string listen_address = "0.0.0.0";
  std::uint16_t listen_port = 0;
  // Where EPMD runs (client side): host for registration, port explicit or $ERL_EPMD_PORT.
  std::optional<std::uint16_t> epmd_port{};
  // Start an EPMD server inside this process when none answers at the EPMD port.
  bool start_embedded_epmd = true;
  std::chrono::milliseconds net_setuptime{7000};
  // Bytes of messages each connection's send queue holds for writing (dist::connection's
  // max_send_queue); more waits in the node-side backlog (see above).
  std::size_t max_send_queue = std::size_t{64} << 20;
  // Backlog bytes above which senders on ordinary threads block (BEAM: dist_buf_busy_limit).
  std::size_t send_busy_limit = std::size_t{8} << 20;
  // Backlog bytes beyond which the connection is closed with errc::send_queue_overflow. One
  // message larger than this is still accepted when the backlog is empty.
  std::size_t max_send_backlog = std::size_t{1} << 30;
  // Where the network reports connections it closes on its own (e.g. a send queue overflow),
  // one line each; none when empty. Runs on the sending thread, possibly under the node's
  // lock: it must not call into the network, its node or its processes.
  std::function<void(std::string_view line)> log{};
};

// A connection's node-side backlog (network::send_backlog).
struct send_backlog_info {
  std::size_t bytes = 0;       // queued and not yet taken by the send queue (estimated sizes)
  std::size_t peak_bytes = 0;  // the most it has held
  bool busy = false;           // above send_busy_limit, not yet drained to half of it
};

class network : public std::enable_shared_from_this<network> {
 public:
  static std::shared_ptr<network> start(boost::asio::any_io_executor executor, node_options node,
                                        network_options options, std::error_code& ec,
                                        std::string* detail = nullptr);
  ~network();
  network(const network&) = delete;
  network& operator=(const network&) = delete;

  node& get_node() noexcept;
  std::shared_ptr<node> node_ptr() noexcept;
  std::uint16_t listen_port() const noexcept;
  std::uint32_t creation() const noexcept;
  // The last connection failure with `peer_node` in words ("" if none), e.g. the handshake's
  // explanation of a cookie or name-type mismatch.
  std::string failure_detail(const std::string& peer_node) const;
  // The backlog of the connection to `peer_node`; empty when there is none.
  std::optional<send_backlog_info> send_backlog(const std::string& peer_node) const;

  // Completes (signature void()) once the connection to `peer_node` is not busy: at once when
  // it is not, or there is no connection; else when its backlog has drained to half of
  // send_busy_limit or the connection has closed. Never inside this call; the handler runs on
  // its associated executor, else this network's. For actors and coroutines, which must not
  // block: `co_await net->async_wait_not_busy(peer, asio::use_awaitable);`.
  template <boost::asio::completion_token_for<void()> Token>
  auto async_wait_not_busy(const std::string& peer_node, Token&& token) {
    return boost::asio::async_initiate<Token, void()>(
        [this](auto handler, const std::string& peer) {
          start_wait_not_busy(peer, std::move(handler));
        },
        token, peer_node);
  }
  // Shuts the node down, closes the connections and the listener, unregisters. Idempotent.
  void stop();

  struct impl;

 private:
  explicit network(std::shared_ptr<impl> p) : impl_(std::move(p)) {}
  void start_wait_not_busy(const std::string& peer_node,
                           boost::asio::any_completion_handler<void()> handler);
  std::shared_ptr<impl> impl_;
};

}  // namespace edist::node
