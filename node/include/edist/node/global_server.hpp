// :global on a visible edist node: a participant of global's own protocol, registered as
// `global_name_server` as on every BEAM node, plus the native name API on top of it.
//
// With it, BEAM's global treats the edist node like another BEAM node: the two servers run
// global's connect protocol on nodeup (init_connect, the lockers' lock handshake, exchange of
// the name tables, resolved), the edist node connects to the nodes the peer knows (so that
// connecting to one node of a cluster connects it to all of them) and tells them it is in sync
// (so that `:global.sync()` returns there), it keeps the names registered anywhere in the
// cluster, and it answers the lock and registration calls that global:register_name/2 on any
// node makes to every node's server.
//
//   auto& g = node->global_names();           // started by node::create for visible nodes
//   process worker = node->spawn();
//   if (g.register_name(term::tuple({atom("todo_list"), binary("bob")}), worker.pid())) ...
//   std::optional<term> pid = g.whereis_name(name);   // local table, no network
//
// register_name/unregister_name take global's own `global` lock on every known node (as
// global:trans/2 does through the registrar), so they block the calling thread for network
// round trips, at most `operation_timeout` per call; never call them from a thread that runs
// the node's io_context (the server's answers run there). whereis_name, registered_names and
// send read the local table.
//
// A name vanishes on every node when its process ends (each server monitors the pid) or when
// its node goes down. A hidden node never runs this server (BEAM's hidden nodes take no part in
// global); use global::client (global.hpp) there.
//
// Ownership and threads: node::create starts it and node::shutdown stops it (stop() ends its
// processes and joins its locker thread). It holds the runtime (shared) and the node (weak).
// All member functions are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <edist/etf/term.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include "edist/node/process.hpp"

namespace edist::node {
class node;
class runtime;
}  // namespace edist::node

namespace edist::node::global {

struct server_options {
  // The longest a register/unregister waits for locks and answers before giving up.
  std::chrono::milliseconds operation_timeout{30000};
  // One call to another node's global_name_server (set_lock, register, ...).
  std::chrono::milliseconds call_timeout{10000};
};

class server : public std::enable_shared_from_this<server> {
 public:
  // Starts the processes and registers `global_name_server`. Errors: the name is taken.
  static std::shared_ptr<server> start(const std::shared_ptr<node>& owner, server_options options,
                                       std::error_code& ec);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // global:register_name/2: true for yes, false for no (the name is taken, the pid already has
  // a name, the pid is not a pid, or the locks could not be had within the timeout).
  bool register_name(const etf::term& name, const etf::term& pid);
  // global:unregister_name/1 (no-op for an unknown name).
  void unregister_name(const etf::term& name);
  // global:whereis_name/1.
  std::optional<etf::term> whereis_name(const etf::term& name) const;
  // global:registered_names/0.
  std::vector<etf::term> registered_names() const;
  // global:send/2 from `from`: the pid it went to, or service_errc::noproc when the name is
  // not registered.
  std::error_code send(const process& from, const etf::term& name, etf::term message) const;
  // A resolver for gen::call_options::resolve_global (and resolve_via with `global`).
  std::function<std::optional<etf::term>(const etf::term&)> resolver() const;

  // The nodes global knows (fully synced partitions), and those it is in sync with.
  std::vector<etf::term> known_nodes() const;
  std::vector<etf::term> synced_nodes() const;
  // Waits until every connected visible node is synced (global:sync/0 seen from here); false
  // on timeout.
  bool sync(std::chrono::milliseconds timeout);

  const etf::term& pid() const noexcept { return server_pid_; }

  // Debug logging: `hook` sees every message the server drops because it does not know its
  // kind (global.erl logs those). It runs on the node's executor with the server's state
  // locked: keep it short and never call this server from it. Empty to stop.
  void set_debug_hook(std::function<void(const etf::term& dropped)> hook);

  // Ends the server's processes (peers drop its locks; names stay with their processes) and
  // joins the locker thread. Idempotent; called by node::shutdown.
  void stop();

  struct state;
  struct private_tag {};
  server(private_tag, const std::shared_ptr<node>& owner, server_options options);

 private:
  void arm();
  void locker_loop();
  // One lock round of the locker for a {lock_request, ...}; false when the locker must end.
  bool lock_round(const etf::term& message);

  std::weak_ptr<node> node_;
  std::shared_ptr<runtime> runtime_;
  server_options options_;
  etf::term server_pid_;
  etf::term locker_pid_;
  std::unique_ptr<state> state_;  // guarded by state mutex inside
  process server_proc_;
  process registrar_;
  process locker_proc_;  // driven by the locker thread only
  std::mutex registrar_mu_;
  std::thread locker_thread_;
  std::atomic<bool> stopping_{false};
  std::mutex stop_mu_;
};

}  // namespace edist::node::global
