// The node: a name, a cookie, a local runtime of processes, and its connections to other
// nodes, with the services BEAM peers expect (net_kernel's is_auth for ping, answers to
// spawn requests, noproc for monitors of unknown names).
//
//   auto n = edist::node::node::create(io.get_executor(), {.name = "cpp@localhost"}, creation);
//   edist::node::process shell = n->spawn();
//   shell.register_name(atom("shell"));
//   shell.send(tuple(atom("shell"), atom("beam@localhost")), atom("hi"));   // connects first
//
// Connections: the node does not own sockets itself. A connection layer (the distribution
// driver) dials for it through the `dialer` it is given, tells it about incoming peers
// (decide_incoming, which also resolves simultaneous connects as net_kernel does), and reports
// established connections, control messages and losses through the on_* calls below. Sending
// to a node with no connection asks the dialer for one and queues the signals until it is up
// (or fails: links and monitors then fire with `noconnection`).
//
// Ownership: create() returns a shared_ptr. The dialer and every peer_connection are
// borrowed/shared as stated on each call; call shutdown() before destroying what they refer to.
// Thread-safety: every member function may be called from any thread. One mutex guards the
// connection table; it is held while a signal is handed to peer_connection::send() (which
// only queues) so that signals to a node keep their order across the moment it connects.
// peer_connection::send() and dialer::dial() must therefore never call back into the node
// synchronously.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <edist/dist/handshake.hpp>
#include <edist/etf/term.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "edist/node/control.hpp"
#include "edist/node/process.hpp"
#include "edist/node/runtime.hpp"

namespace edist::node {

// One established distribution connection, as the node uses it.
class peer_connection {
 public:
  virtual ~peer_connection() = default;
  // Queues a control message (and payload) for writing; never blocks on the network and never
  // calls back into the node. False when the connection is already closed.
  virtual bool send(const control_message& message) = 0;
  // Closes the connection; the connection layer then reports on_connection_down().
  virtual void close() = 0;
};

// How the node asks for a connection. The connection layer answers later with
// on_connection_up() or on_connection_failed() for that peer.
class dialer {
 public:
  virtual void dial(const std::string& peer_node) = 0;

 protected:
  ~dialer() = default;
};

struct connection_info {
  std::string peer_node;
  std::uint64_t flags = 0;  // negotiated
  bool hidden = false;      // the peer is a hidden node (or we are one: see node_options)
  std::uint32_t peer_creation = 0;
};

struct node_options {
  // "name" or "name@host". Without a host, the short host name (or, with long_names, the
  // fully qualified one) of this machine is used, as erl -sname/-name do.
  std::string name{};
  bool long_names = false;
  // The cookie; when empty, read from cookie_file (default ~/.erlang.cookie), which is created
  // as erl creates it when missing.
  std::string cookie{};
  std::filesystem::path cookie_file{};
  bool hidden = false;
};

// Which nodes nodes() lists, as Node.list/1 and erlang:nodes/1.
struct node_list {
  bool visible = true;
  bool hidden = false;
  bool this_node = false;
  static node_list connected() { return {true, true, false}; }
};

class node : public std::enable_shared_from_this<node> {
 public:
  // Resolves the name and the cookie. `creation` is what EPMD assigned at registration (pids
  // and references carry it). Errors: errc::invalid_option (with `detail`), errc::cookie_file.
  static std::shared_ptr<node> create(boost::asio::any_io_executor executor, node_options options,
                                      std::uint32_t creation, std::error_code& ec,
                                      std::string* detail = nullptr);
  // Completes `options` as create() does: the full node name in `name`, the cookie (read or
  // created from the cookie file) in `cookie`.
  static std::error_code resolve(node_options& options, std::string* detail = nullptr);
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  const std::string& name() const noexcept { return name_; }
  const etf::term& name_atom() const noexcept { return runtime_->node(); }
  bool hidden() const noexcept { return options_.hidden; }
  runtime& local() noexcept { return *runtime_; }
  std::shared_ptr<runtime> local_ptr() noexcept { return runtime_; }
  process spawn() { return runtime_->spawn(); }

  // Cookies: the default one, and per-peer overrides (erlang:set_cookie/2).
  std::string cookie() const;
  void set_cookie(std::string cookie);
  void set_cookie(const std::string& peer_node, std::string cookie);
  std::string cookie_for(const std::string& peer_node) const;

  // ---- Connections ---------------------------------------------------------------------------
  // Borrowed; must stay valid until set_dialer(nullptr) or shutdown() returned.
  void set_dialer(dialer* d);
  // Asks for a connection (no-op when connected or connecting). `done` (optional) runs once with
  // the outcome, on no lock, possibly on the calling thread when the answer is known at once.
  void connect(const std::string& peer_node, std::function<void(std::error_code)> done = {});
  // Closes the connection; its links and monitors fire with noconnection.
  void disconnect(const std::string& peer_node);
  std::vector<std::string> nodes(node_list which = {}) const;
  bool is_connected(const std::string& peer_node) const;

  // Pings `peer_node` the way net_adm:ping does (is_auth to its net_kernel); `done` gets true
  // for pong, false for pang (failure to connect, no answer within `timeout`). `done` never
  // runs inside this call: it runs on the runtime's executor.
  void ping(const std::string& peer_node, std::chrono::milliseconds timeout,
            std::function<void(bool pong)> done);

  // ---- From the connection layer ------------------------------------------------------------
  // An incoming handshake from `peer_node` asks whether to go on (net_kernel's rules: an
  // existing connection -> alive; our own attempt in progress -> the larger name wins).
  dist::accept_decision decide_incoming(const std::string& peer_node);
  void on_connection_up(const connection_info& info, std::shared_ptr<peer_connection> conn);
  void on_connection_failed(const std::string& peer_node, std::error_code ec);
  // `conn` identifies which connection ended: a report about a connection that was already
  // replaced (simultaneous connect, `alive` answered true) is ignored.
  void on_connection_down(const std::string& peer_node, const peer_connection& conn,
                          std::error_code ec);
  // A control message from an established connection (payload null when none).
  void on_control(const std::string& peer_node, const etf::term& control, const etf::term* payload);

  // Ends every process with `shutdown`, closes every connection, forgets the dialer.
  void shutdown();

 private:
  struct private_tag {};
  class gateway;

 public:
  node(private_tag, std::shared_ptr<runtime> rt, node_options options, std::string name);

 private:
  struct peer {
    bool up = false;
    bool simultaneous = false;  // we accepted their dial while ours was in progress
    bool hidden = false;
    control_features features;
    std::shared_ptr<peer_connection> conn;
    std::vector<remote_signal> queue;
    std::vector<std::function<void(std::error_code)>> waiters;
  };

  bool route(const etf::term& node_atom, remote_signal signal);
  void send_locked(peer& p, const remote_signal& s);
  void start_services();

  std::shared_ptr<runtime> runtime_;
  node_options options_;
  std::string name_;
  std::unique_ptr<gateway> gateway_;
  etf::term net_kernel_pid_;

  mutable std::mutex mu_;
  std::string cookie_;
  std::map<std::string, std::string> peer_cookies_;
  std::map<std::string, peer> peers_;
  dialer* dialer_ = nullptr;
  bool shutting_down_ = false;
  bool stopped_ = false;
};

}  // namespace edist::node
