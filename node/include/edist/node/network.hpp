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
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
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
  // Shuts the node down, closes the connections and the listener, unregisters. Idempotent.
  void stop();

  struct impl;

 private:
  explicit network(std::shared_ptr<impl> p) : impl_(std::move(p)) {}
  std::shared_ptr<impl> impl_;
};

}  // namespace edist::node
