// The bookkeeping of a :global name server, without processes or I/O: the name table (what
// global.erl keeps in its global_names/global_pid_names ETS tables), the lock table
// (global_locks/global_pid_ids), and the name exchange two servers run when their partitions
// meet (global.erl's exchange_names/4 and do_ops/5).
//
// Names map to {Pid, Method, MonitorRef}: the server monitors every registered pid and drops the
// name when the monitor fires. Locks are {ResourceId, LockRequesterId, [{Pid, MonitorRef}]}: a
// resource is held by one requester id, possibly through several pids (both lockers of two
// connecting partitions hold `global` with the same requester id).
//
// Thread-safety: none; one owner (the server, under its mutex). Terms are values; nothing here
// refers to anything outside the tables.
#pragma once

#include <edist/etf/term.hpp>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace edist::node::global {

struct name_entry {
  etf::term pid;
  etf::term method;   // the resolve fun given at registration, passed on in exchanges
  etf::term monitor;  // our monitor of pid
};

class name_table {
 public:
  // Registers (or re-registers) `name`. Returns the monitor of the entry it replaced, which
  // the caller must demonitor.
  std::optional<etf::term> insert(const etf::term& name, const etf::term& pid,
                                  const etf::term& method, const etf::term& monitor);
  std::optional<name_entry> erase(const etf::term& name);
  // The name whose monitor is `monitor` (its pid ended or its node went down), removed.
  std::optional<etf::term> erase_by_monitor(const etf::term& monitor);
  const name_entry* find(const etf::term& name) const;
  bool pid_has_name(const etf::term& pid) const;
  std::vector<etf::term> names() const;
  std::size_t size() const noexcept { return names_.size(); }
  // [{Name, Pid, Method}], as global.erl's get_names/0 sends it in an exchange.
  etf::term exchange_list() const;

 private:
  std::map<etf::term, name_entry> names_;
  std::map<etf::term, etf::term> by_monitor_;  // monitor -> name
};

class lock_table {
 public:
  // can_set_lock/1: a free resource, or one held by the same requester id.
  bool can_set(const etf::term& resource, const etf::term& requester) const;
  // handle_set_lock/3 before the monitor: false when refused; otherwise true, and `needs_monitor`
  // says whether `pid` is a new holder (the caller then calls add_holder with its monitor).
  bool try_set(const etf::term& resource, const etf::term& requester, const etf::term& pid,
               bool& needs_monitor) const;
  void add_holder(const etf::term& resource, const etf::term& requester, const etf::term& pid,
                  const etf::term& monitor);
  // handle_del_lock/3: releases `pid`'s hold; returns its monitor to demonitor.
  std::optional<etf::term> release(const etf::term& resource, const etf::term& requester,
                                   const etf::term& pid);
  // A holder's monitor fired: every hold through it is released. True if any was.
  bool release_by_monitor(const etf::term& monitor);
  bool is_set(const etf::term& resource) const { return locks_.count(resource) != 0; }
  // The requester id holding `resource` (nil when free).
  etf::term requester(const etf::term& resource) const;

 private:
  struct lock {
    etf::term requester;
    std::vector<std::pair<etf::term, etf::term>> holders;  // {pid, monitor}
  };
  std::map<etf::term, lock> locks_;
};

// What a resolve method decides when `name` is held by pid1 and pid2 (global:resolve_it/4):
// the pid that keeps the name (nil: none does), the pids to kill and the messages to send.
// global's own methods are applied as global.erl defines them: random_exit_name/3 (the pid on
// the smaller node keeps it, the other is killed), random_notify_name/3 (the other is sent
// {global_name_conflict, Name}) and notify_all_name/3 (both are told, none keeps it), given as
// fun global:F/3 or as the legacy {global, F}. Any other method (an Erlang closure cannot run
// here) is treated as random_exit_name/3, the default.
struct conflict_decision {
  etf::term winner;
  std::vector<etf::term> kill;
  std::vector<std::pair<etf::term, etf::term>> notify;  // {to, message}
};
conflict_decision resolve_conflict(const etf::term& method, const etf::term& name,
                                   const etf::term& pid1, const etf::term& pid2);

// The outcome of comparing a peer's names with ours (exchange_names/4): `ops` are applied here,
// `resolved` are sent back to the peer in {resolved, ...}; `kill` and `notify` carry out the
// resolve methods' decisions.
struct exchange_outcome {
  std::vector<etf::term> ops;       // {insert, {Name, Pid, Method}} | {delete, Name}
  std::vector<etf::term> resolved;  // same shapes
  std::vector<etf::term> kill;
  std::vector<std::pair<etf::term, etf::term>> notify;
};

// `his_names` is the peer's [{Name, Pid, Method}] (malformed entries are skipped). A conflict
// is resolved on the node with the smaller name only, as in global.erl, with the method of our
// entry (resolve_conflict).
exchange_outcome exchange_names(const name_table& ours, const etf::term& his_names,
                                const etf::term& this_node, const etf::term& his_node);

// One operation of an ops list, parsed: insert (name, pid, method) or delete (name).
struct name_op {
  bool insert = false;
  etf::term name;
  etf::term pid;
  etf::term method;
};
std::optional<name_op> parse_op(const etf::term& op);

}  // namespace edist::node::global
