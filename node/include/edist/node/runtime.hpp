// The local runtime of a node: its processes, registered names, aliases, links, monitors and
// exit signals, and node-level references. It owns no socket: signals for other nodes go to a
// remote_gateway (signal.hpp), and signals from other nodes come in through deliver().
//
// Identity: pids and references carry the node name and the creation given at construction
// (the node object passes the creation EPMD assigned on registration, so that identifiers of
// an earlier incarnation of the same name are told apart). A pid of this node name with
// another creation is treated as a dead process of this node. Pids are allocated from a
// 60-bit counter (id = low 28 bits, serial = the rest), so no pid is ever reused during the
// life of a runtime.
//
// Semantics follow ERTS: links are bidirectional; an exit signal from a link with reason
// `normal` is ignored unless the receiver traps exits; exit/2 with `kill` cannot be trapped and
// ends the target with `killed`; a trapping process gets {'EXIT', From, Reason} messages;
// monitors deliver {'DOWN', Ref, process, PidOrNameNode, Reason}; a lost node fires every link
// and monitor across it with `noconnection`. Remote links use the OTP 26 UNLINK_ID protocol.
//
// Ownership: create() returns a shared_ptr; process handles and in-flight asynchronous
// operations keep the runtime alive. The gateway given to set_gateway() is borrowed: it must
// stay valid until set_gateway(nullptr) returned or the runtime is destroyed.
//
// Thread-safety: all member functions may be called concurrently from any thread. Signals
// between processes are applied under one runtime mutex (links, monitors, exits, names are
// rare next to messages); message sends take it in shared mode only to find the target, and
// then only the target mailbox's own mutex. No lock is held while the gateway routes a signal,
// nor while any completion handler or actor callback runs. Signals from one process to
// another are seen in the order they were sent.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <edist/etf/term.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "edist/node/process.hpp"
#include "edist/node/signal.hpp"

namespace edist::node {

namespace detail {
struct runtime_core;
}

class runtime : public std::enable_shared_from_this<runtime> {
 public:
  // `node_name` is the full "name@host" (it becomes an atom; throws etf::invalid_term if it
  // cannot). `executor` runs asynchronous receives' timers, actor callbacks and completions
  // of handlers without an associated executor.
  static std::shared_ptr<runtime> create(boost::asio::any_io_executor executor,
                                         std::string_view node_name, std::uint32_t creation);
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  const etf::term& node() const noexcept;
  std::uint32_t creation() const noexcept;
  const boost::asio::any_io_executor& get_executor() const noexcept;

  void set_gateway(remote_gateway* gateway);

  // A new process driven by the caller through the returned handle.
  process spawn();

  // An actor: a process whose messages are handed, one at a time and in order, to
  // `on_message` on a strand of the runtime's executor (never concurrently with itself).
  // The handler may use the process (send, link, exit, ...) but must not block (no blocking
  // receive or call; use the asynchronous forms or a thread of its own): it runs on one of the
  // node's threads, often right after, and on the same thread as, the work that sent the
  // message, e.g. the read from the connection that brought it, so a handler waiting there
  // for an answer through that connection would wait until its timeout. When the process
  // ends (exit, kill, runtime shutdown), `on_exit` (if given) runs once with the reason, on
  // the same strand. An exception escaping on_message ends the process with
  // {cpp_exception, What}. Returns the pid.
  using message_handler = std::function<void(process& self, const etf::term& message)>;
  using exit_handler = std::function<void(const etf::term& reason)>;
  etf::term spawn_actor(message_handler on_message, exit_handler on_exit = {});

  // A reference of this node (make_ref()).
  etf::term make_ref();

  // Sends from no process (the `from` of remote signals is nil). As process::send, including
  // its backpressure (it may block an ordinary thread while the connection is busy).
  std::error_code send(const etf::term& to, etf::term message);
  // exit(To, Reason) on behalf of `from` (any pid, also a remote one, or nil).
  void exit(const etf::term& from, const etf::term& to, const etf::term& reason);

  // register/2, unregister/1, whereis/1, registered/0 (names are atoms).
  std::error_code register_name(const etf::term& name, const etf::term& pid);
  std::error_code unregister_name(const etf::term& name);
  std::optional<etf::term> whereis(const etf::term& name) const;
  std::vector<etf::term> registered() const;

  bool is_local(const etf::term& pid) const noexcept;  // this node's name (any creation)
  bool is_alive(const etf::term& pid) const;
  std::size_t process_count() const;

  // ---- From the node object ----------------------------------------------------------------
  // A signal that arrived from `from_node`. Malformed signals (wrong term kinds) are ignored;
  // a misbehaving peer cannot disturb processes it has no link or monitor with.
  // Taken by value: the node hands over the signal it decoded, and the message moves on into
  // the mailbox without a copy.
  void deliver(const etf::term& from_node, remote_signal signal);
  // A SPAWN_REPLY from `from_node` to the local `requester` for request `req_id` (a reference):
  // `result` is the new pid (then `link`/`monitor` say which of the requested link and
  // monitor, whose reference is req_id, the spawning node has set up on its side) or an error
  // reason. The requester gets its half of the link and the monitor, then the message
  // {spawn_reply, ReqId, ok, Pid} or {spawn_reply, ReqId, error, Reason}, as from
  // erlang:spawn_request/5. A requester that is gone is treated as a dead link/monitor peer:
  // the child gets an exit signal `noproc` for the link and a demonitor for the monitor.
  void spawn_reply(const etf::term& from_node, const etf::term& requester, const etf::term& req_id,
                   bool link, bool monitor, const etf::term& result);
  // The connection to `node` is up: {nodeup, Node} to node monitors.
  void node_up(const etf::term& node, bool hidden);
  // The connection to `node` is lost (or, `was_up` false, could not be made): every link to a
  // process there fires with `noconnection`, every monitor of one sends DOWN `noconnection`,
  // monitors held by processes there are dropped, and {nodedown, Node} goes to the watchers of
  // erlang:monitor_node. Subscribers of net_kernel:monitor_nodes get it only for a node that
  // was up, as net_kernel reports them: :global takes a nodedown of a node it knows as a lost
  // connection and tells the whole cluster to disconnect it.
  void node_down(const etf::term& node, bool hidden, bool was_up = true);

  // Ends every process with `reason` (e.g. `shutdown`) and refuses new ones. Idempotent.
  void shutdown(const etf::term& reason);

 private:
  friend class process;
  struct private_tag {};

 public:
  runtime(private_tag, boost::asio::any_io_executor executor, std::string_view node_name,
          std::uint32_t creation);

 private:
  std::unique_ptr<detail::runtime_core> core_;
};

}  // namespace edist::node
