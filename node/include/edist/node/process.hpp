// A process of this node as seen by the C++ code that drives it: a pid and a mailbox, plus the
// Erlang operations a process performs on its own behalf (send, receive, link, monitor,
// trap_exit, exit, register, alias).
//
//   edist::node::process p = rt->spawn();
//   p.send(other_pid, etf::tuple(atom("hello"), p.pid()));
//   if (auto m = p.receive(std::chrono::seconds(1))) use(*m);
//   auto [ec, reply] = co_await p.async_receive(std::chrono::seconds(5), asio::use_awaitable);
//
// Lifetime: the handle owns the process. Destroying (or moving over) a handle whose process is
// still alive ends it with reason `normal`, which runs its links and monitors as in Erlang.
// A process may also end while its handle lives: killed by an exit signal, or by the end of
// the runtime. Its operations then fail with errc::process_exited (receive) or do nothing
// (send, link, ...), and exit_reason() says why. The handle keeps the runtime's bookkeeping
// alive, so it may outlive the node object; pids are never reused by a runtime.
//
// Thread-safety: a process handle is meant to be used by one thread (or one strand/coroutine)
// at a time, like a BEAM process; its operations are thread-safe with respect to every other
// process, to the network and to the runtime (any thread may send to its pid at any time).
// alive(), exit_reason() and pid() may be called from any thread.
//
// Asynchronous receives take any Asio completion token with signature
// void(std::error_code, etf::term); they never complete inside the initiating call; the
// handler runs on its associated executor (else the runtime's executor). Only one receive of a
// process should be pending at a time (several work, but they compete for messages).
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <concepts>
#include <edist/etf/match.hpp>
#include <edist/etf/term.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <system_error>

#include "edist/node/mailbox.hpp"

namespace edist::node {

class runtime;

namespace detail {
struct process_state;
}

class process {
 public:
  process() noexcept = default;
  process(process&& other) noexcept = default;
  process& operator=(process&& other) noexcept;
  process(const process&) = delete;
  process& operator=(const process&) = delete;
  ~process();

  bool valid() const noexcept { return state_ != nullptr; }
  const etf::term& pid() const;
  bool alive() const;
  // The exit reason once the process has ended; empty while it is alive.
  std::optional<etf::term> exit_reason() const;

  // Sends `message` to a pid, a registered name (atom, local), {Name, Node} (tuple or atom
  // pair), or an alias reference, on this node or another. Local delivery is immediate and
  // never touches a socket; remote delivery connects first when needed. Errors only for
  // a bad destination (errc::invalid_target) or an unregistered local name
  // (errc::not_registered), as `Name ! Msg` raises badarg; a dead pid silently drops it.
  // Backpressure, as BEAM suspends a sender to a busy distribution port: when the message
  // leaves its connection busy (network.hpp, send_busy_limit), the call blocks after queueing
  // it until the connection has drained or closed. Never on a thread that runs the network's
  // io_context (actors, coroutines): there it returns at once, and the caller may pace
  // itself with network::async_wait_not_busy.
  std::error_code send(const etf::term& to, etf::term message) const;

  // Blocking receive of the oldest message (or the oldest one `pred` accepts / that matches
  // the etf pattern). Errors: errc::timeout, errc::process_exited.
  receive_result receive(receive_timeout timeout = std::nullopt) const;
  template <class Pred>
  requires std::predicate<Pred&, const etf::term&> receive_result
  receive_if(Pred&& pred, receive_timeout timeout = std::nullopt)
  const { return box().receive(std::forward<Pred>(pred), timeout); }
  template <class Pattern>
  receive_result receive_match(const Pattern& pattern,
                               receive_timeout timeout = std::nullopt) const {
    auto pred = [&pattern](const etf::term& t) { return etf::match(t, pattern); };
    return box().receive(pred, timeout);
  }

  // Asynchronous receive. The predicate (if any) is copied and runs under the mailbox lock.
  template <boost::asio::completion_token_for<receive_signature> Token>
  auto async_receive(Token&& token) const {
    return async_receive_if(std::function<bool(const etf::term&)>(), std::nullopt,
                            std::forward<Token>(token));
  }
  template <boost::asio::completion_token_for<receive_signature> Token>
  auto async_receive(receive_timeout timeout, Token&& token) const {
    return async_receive_if(std::function<bool(const etf::term&)>(), timeout,
                            std::forward<Token>(token));
  }
  template <boost::asio::completion_token_for<receive_signature> Token>
  auto async_receive_if(std::function<bool(const etf::term&)> pred, receive_timeout timeout,
                        Token&& token) const {
    return boost::asio::async_initiate<Token, receive_signature>(
        [this](auto handler, std::function<bool(const etf::term&)> p, receive_timeout t) {
          start_async_receive(std::move(p), t, std::move(handler));
        },
        token, std::move(pred), timeout);
  }

  // link/1. Linking a dead or unknown pid delivers an exit signal with reason `noproc`
  // (a message {'EXIT', Pid, noproc} when trapping exits; otherwise this process ends).
  void link(const etf::term& pid) const;
  // unlink/1: afterwards the link has no effect on this process, even if the peer's exit
  // signal is still in flight (OTP 26 UNLINK_ID protocol).
  void unlink(const etf::term& pid) const;
  // monitor(process, Target) with Target a pid, a local name atom, or {Name, Node}. Returns
  // the monitor reference; a DOWN message {'DOWN', Ref, process, Item, Reason} follows when
  // the target ends (at once with `noproc` when it does not exist, `noconnection` when its
  // node is lost). Returns nil for an invalid target.
  etf::term monitor(const etf::term& target) const;
  // demonitor/2; with flush, also removes a DOWN message of this monitor already queued.
  // Returns true when the monitor was still active.
  bool demonitor(const etf::term& ref, bool flush = false) const;

  // process_flag(trap_exit, On): exit signals (except `kill`) become {'EXIT', From, Reason}.
  void trap_exit(bool on) const;
  bool trapping_exit() const;
  // exit(Pid, Reason) from this process.
  void exit(const etf::term& to, const etf::term& reason) const;
  // exit(Reason) of this process: it ends now with that reason.
  void exit(const etf::term& reason) const;

  // register(Name, self()).
  std::error_code register_name(const etf::term& name) const;
  // alias(): a reference that, sent to, delivers to this process until unalias().
  etf::term make_alias() const;
  bool unalias(const etf::term& alias) const;

  // monitor_node(Node, Flag) / net_kernel:monitor_nodes(Flag): {nodeup, Node} and
  // {nodedown, Node} messages. With `include_hidden`, hidden nodes are reported too.
  void monitor_nodes(bool on, bool include_hidden = false) const;
  // Registers (on) or removes one monitor of `node` (an atom): one {nodedown, Node} message
  // per registration when the connection is lost. The node object also sends it at once when
  // the node cannot be reached (see node::monitor_node).
  void monitor_node(const etf::term& node, bool on) const;

  // The runtime this process belongs to.
  runtime& owner() const;
  std::shared_ptr<mailbox> mailbox_ptr() const;

 private:
  friend class runtime;
  process(std::shared_ptr<runtime> rt, std::shared_ptr<detail::process_state> st) noexcept
      : runtime_(std::move(rt)), state_(std::move(st)) {}
  mailbox& box() const;
  void start_async_receive(std::function<bool(const etf::term&)> pred, receive_timeout timeout,
                           boost::asio::any_completion_handler<receive_signature> handler) const;

  std::shared_ptr<runtime> runtime_;
  std::shared_ptr<detail::process_state> state_;
};

}  // namespace edist::node
