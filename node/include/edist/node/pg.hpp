// :pg on the edist node: a scope process that BEAM pg scopes of the same name treat as a peer.
//
// The protocol (pg.erl, OTP 25 and 27): scopes find each other with {discover, ScopePid}
// (sent to {Scope, Node} on nodeup, and back to a new peer); the receiver casts
// {'$gen_cast', {sync, ScopePid, [{Group, [Pid]}]}} with all its local members and monitors
// the peer scope. Changes travel as plain {join, ScopePid, Group, PidOrPids} and
// {leave, ScopePid, PidOrPids, [Group]}. A scope watches only its own members: when one ends
// it sends leave for it; when a peer scope goes down all of its members vanish. A BEAM scope
// crashes on a message it does not expect, on a leave for a group the pid never joined, or on
// a member that is not a pid, so this scope only ever sends the shapes above, only with pids,
// and a leave only for memberships it holds. OTP 27 also accepts {discover, Pid, Vsn}; we
// send the 2-tuple that 25 and 27 both take, and accept both.
//
// scope_state is the sans-I/O core (messages in, actions out); scope runs it in a process of
// the runtime. Visible nodes are discovered on nodeup; a hidden node (which never gets
// nodeup from its peers' point of view) calls scope::discover(Node) explicitly.
//
// Thread-safety: scope_state is not thread-safe (one owner). scope's member functions may be
// called from any thread; one mutex guards its state. Ownership: start() returns a
// shared_ptr; the scope process runs until stop() or the runtime's shutdown; the
// runtime must outlive the scope object.
#pragma once

#include <edist/etf/term.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <system_error>
#include <vector>

#include "edist/node/process.hpp"
#include "edist/node/runtime.hpp"

namespace edist::node::pg {

// What the core asks its driver to do, as the scope process.
struct action {
  enum class what { send, monitor, demonitor } kind = what::send;
  etf::term to;       // send: destination (pid or {Scope, Node}); (de)monitor: the pid
  etf::term message;  // send only
};

class scope_state {
 public:
  // `self` is the scope's pid, `name` its registered name (an atom).
  scope_state(etf::term self, etf::term name);

  const etf::term& self() const noexcept { return self_; }
  const etf::term& name() const noexcept { return name_; }

  // pg:join/3 with local pids (the caller checks that they are local pids): monitors pids
  // new to the scope and broadcasts the join to every known peer.
  std::vector<action> join(const etf::term& group, std::span<const etf::term> pids);
  // pg:leave/3: false (and no action) when none of `pids` is in `group` (not_joined). Pids not
  // in the group are left out of the broadcast, so peers never see a leave they cannot apply.
  bool leave(const etf::term& group, std::span<const etf::term> pids, std::vector<action>& out);
  // Sends {discover, self()} to {Scope, Node} (on nodeup, or explicitly for hidden nodes).
  std::vector<action> discover(const etf::term& node) const;
  // Any message to the scope process: discover, sync casts, join, leave, DOWN of a member or
  // peer scope, nodeup. Malformed or unknown messages are ignored.
  std::vector<action> handle(const etf::term& message);

  std::vector<etf::term> members(const etf::term& group) const;
  std::vector<etf::term> local_members(const etf::term& group) const;
  std::vector<etf::term> groups() const;
  std::vector<etf::term> peers() const;

  // {sync, Self, [{Group, [Pid]}]} wrapped as a gen_server cast, with the local members.
  etf::term sync_message() const;

 private:
  bool is_local(const etf::term& pid) const;
  std::vector<action> member_down(const etf::term& pid);
  void peer_join(const etf::term& peer, const etf::term& group, std::span<const etf::term> pids);
  void peer_leave(const etf::term& peer, std::span<const etf::term> pids,
                  std::span<const etf::term> groups);
  void broadcast(const etf::term& message, std::vector<action>& out) const;

  etf::term self_;
  etf::term name_;
  std::map<etf::term, std::vector<etf::term>> local_;   // group -> pids (with repeats)
  std::map<etf::term, std::vector<etf::term>> joined_;  // local pid -> groups (with repeats)
  std::map<etf::term, std::map<etf::term, std::vector<etf::term>>> remote_;  // peer -> groups
};

class scope : public std::enable_shared_from_this<scope> {
 public:
  // Starts a scope registered as `name` (default `pg`), following visible nodes' nodeup.
  // Errors: errc::name_in_use / invalid_name from registration.
  static std::shared_ptr<scope> start(runtime& rt, etf::term name, std::error_code& ec);
  ~scope();

  const etf::term& pid() const noexcept { return pid_; }
  // pg:join/3: every pid must be a live-or-not pid of this node (errc::not_local otherwise).
  std::error_code join(const etf::term& group, std::span<const etf::term> pids);
  // pg:leave/3: false for not_joined.
  bool leave(const etf::term& group, std::span<const etf::term> pids);
  // Explicit discovery of `node`'s scope of the same name (needed for hidden nodes).
  void discover(const etf::term& node);
  std::vector<etf::term> get_members(const etf::term& group) const;
  std::vector<etf::term> get_local_members(const etf::term& group) const;
  std::vector<etf::term> which_groups() const;
  // Ends the scope process (BEAM peers then drop its members).
  void stop();

  struct private_tag {};
  scope(private_tag, runtime& rt, process proc, etf::term name);

 private:
  void arm();
  void run(const std::vector<action>& actions);  // mu_ held

  runtime& rt_;
  etf::term pid_;
  mutable std::mutex mu_;
  process proc_;
  scope_state state_;
  std::map<etf::term, etf::term> monitors_;  // member pid -> monitor ref
};

}  // namespace edist::node::pg
