// The node: a name, a cookie, a local runtime of processes, and its connections to other
// nodes, with the services BEAM peers expect (net_kernel's is_auth for ping, erpc/rpc calls
// of C++ functions through spawn requests, noproc for monitors of unknown names).
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
// (or fails: links and monitors then fire with `noconnection`), within
// node_options::max_connecting_queue_bytes.
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
#include "edist/node/rpc.hpp"
#include "edist/node/runtime.hpp"

namespace edist::node {

namespace global {
class server;
}

// One established distribution connection, as the node uses it.
class peer_connection {
 public:
  virtual ~peer_connection() = default;
  // Queues a control message (and payload) for writing, taking it over; never blocks on the
  // network and never calls back into the node. False when the connection is already closed.
  virtual bool send(dist::dist_message message) = 0;
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
  // A visible node runs a `global_name_server` taking part in :global's protocol, as BEAM
  // nodes do (global_server.hpp). Ignored for hidden nodes, which never run it.
  bool global_server = true;
  // Signals to a node whose connection is still being set up wait for it, up to this many
  // bytes (their estimated encoded size) per node. Beyond, a signal is treated as if the node
  // were unreachable: a message is dropped, a link or monitor is answered with
  // `noconnection` at once. A connection that never comes up then holds no unbounded memory.
  std::size_t max_connecting_queue_bytes = std::size_t{64} << 20;
};

// Which nodes nodes() lists, as Node.list/1 and erlang:nodes/1.
struct node_list {
  bool visible = true;
  bool hidden = false;
  bool this_node = false;
  static node_list connected() { return {true, true, false}; }
};

// Options of a spawn on another node (node::request_spawn, node::spawn_on).
struct remote_spawn_options {
  bool link = false;     // spawn_link: the new process and the requester are linked
  bool monitor = false;  // spawn_monitor: the requester monitors it, reference = request id
};

// What node::spawn_on gives back.
struct remote_spawn_result {
  etf::term pid;     // the new pid, or nil
  etf::term req_id;  // the request id (the monitor reference with `monitor`)
  etf::term error;   // the reason when pid is nil
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

  // ---- rpc/erpc into C++ ------------------------------------------------------------------------
  // The functions BEAM nodes may call on this node. erpc:call/4,5 and rpc:call/4,5 (which in
  // OTP 23+ go through erpc to a node with SPAWN) arrive as SPAWN_REQUEST of
  // {erpc, execute_call, 4}; the node answers every spawn request itself through
  // rpc::erpc_spawn with this registry (a request for another registered M:F runs it as the
  // body of the new process; an unknown M:F gives a process that exits with undef, as BEAM).
  // Add and remove functions at any time, from any thread.
  const std::shared_ptr<rpc::registry>& rpc_functions() const noexcept { return rpc_functions_; }
  // Starts `rex` (rpc.erl's server, for the rex protocol of gen_server:call({rex, Node}, ...)
  // and of older nodes) on the same registry. Errors: the name `rex` is taken.
  etf::term start_rex(std::error_code& ec);

  // ---- Spawning on other nodes -----------------------------------------------------------------
  // erlang:spawn_request(Node, M, F, Args, Opts) for `requester` (a live process of this
  // node): returns the request id (a reference) at once. The answer arrives in the
  // requester's mailbox as {spawn_reply, ReqId, ok, Pid} or {spawn_reply, ReqId, error, Reason}
  // (badarg for a malformed request, noconnection when the node cannot be reached or is lost
  // before it answers, notsup when it cannot spawn); with `monitor` the DOWN that follows has
  // ReqId as its reference. The new process's group leader is this node's io sink, which
  // answers output requests with ok (dropping the text) and input requests with eof, so io
  // calls on the far side neither block nor fail.
  etf::term request_spawn(const process& requester, const std::string& peer_node,
                          const etf::term& module, const etf::term& function, const etf::term& args,
                          remote_spawn_options options = {});
  // Node.spawn/4 (spawn_link/4, spawn_monitor/4 with the options): request_spawn, then waits
  // for its reply in `requester`'s mailbox (other messages stay queued). On timeout the
  // result is the error `timeout`, and a late reply still arrives as a message.
  remote_spawn_result spawn_on(const process& requester, const std::string& peer_node,
                               const etf::term& module, const etf::term& function,
                               const etf::term& args, remote_spawn_options options = {},
                               receive_timeout timeout = std::chrono::seconds(10));
  // ---- :global ------------------------------------------------------------------------------
  // This node's global_name_server (global_server.hpp): null on a hidden node or when
  // node_options::global_server is off. Owned by the node; valid until the node is destroyed.
  global::server* global_names() const noexcept { return global_.get(); }

  // The group leader given to processes spawned on other nodes.
  const etf::term& io_sink() const noexcept { return io_sink_pid_; }

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
  // Our dial to `peer_node` met `alive` (the peer already has a connection to us): true to
  // replace that connection, which is right only while this dial is still the attempt we
  // want. If a connection in the other direction is up or being accepted (a simultaneous
  // connect that we let win), false: replacing it would take the node down and up again,
  // and :global would disconnect it from the whole cluster to prevent overlapping partitions.
  bool keep_dial_on_alive(const std::string& peer_node);
  void on_connection_up(const connection_info& info, std::shared_ptr<peer_connection> conn);
  void on_connection_failed(const std::string& peer_node, std::error_code ec);
  // `conn` identifies which connection ended: a report about a connection that was already
  // replaced (simultaneous connect, `alive` answered true) is ignored.
  void on_connection_down(const std::string& peer_node, const peer_connection& conn,
                          std::error_code ec);
  // A control message from an established connection to `peer_node` (its name as an atom,
  // which the connection keeps: nothing per message depends on building it). Malformed or
  // unsupported messages are ignored (see control.hpp).
  void on_control(const etf::term& peer_node, dist::dist_message&& message);

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
    std::vector<remote_signal> queue;  // while connecting
    std::size_t queue_bytes = 0;       // their estimated size, within max_connecting_queue_bytes
    std::vector<std::function<void(std::error_code)>> waiters;
    // Our spawn requests the peer has not answered: request id -> requester.
    std::map<etf::term, etf::term> pending_spawns;
  };

  // Both take the signal by rvalue reference: it is moved only once, into its message.
  bool route(const etf::term& node_atom, remote_signal&& signal);
  void send_locked(peer& p, remote_signal&& s);
  void start_services();
  void answer_spawn(const std::string& peer_node, const edist::node::spawn_request& request);
  void fail_spawn(const etf::term& requester, const etf::term& req_id, const etf::term& reason);
  void send_spawn_request(const std::string& peer_node, dist::dist_message message);

  std::shared_ptr<runtime> runtime_;
  node_options options_;
  std::string name_;
  std::unique_ptr<gateway> gateway_;
  etf::term net_kernel_pid_;
  etf::term io_sink_pid_;
  std::shared_ptr<rpc::registry> rpc_functions_ = std::make_shared<rpc::registry>();
  std::shared_ptr<global::server> global_;  // set once by create()

  mutable std::mutex mu_;
  std::string cookie_;
  std::map<std::string, std::string> peer_cookies_;
  // Transparent: route() finds a peer by the node atom's text without building a string.
  std::map<std::string, peer, std::less<>> peers_;
  dialer* dialer_ = nullptr;
  bool shutting_down_ = false;
  bool stopped_ = false;
};

}  // namespace edist::node
