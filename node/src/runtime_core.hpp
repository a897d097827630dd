// Internal state of a runtime, shared by runtime.cpp and process.cpp.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <edist/etf/term.hpp>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "edist/node/mailbox.hpp"
#include "edist/node/signal.hpp"

namespace edist::node::detail {

struct link_entry {
  std::uint64_t unlink_id = 0;  // 0: active; else an UNLINK_ID we sent awaits its ack
};

struct monitor_out {
  etf::term target;  // local: the monitored pid; remote: the pid or name atom sent in MONITOR_P
  etf::term item;    // the 4th element of the DOWN message: pid or {Name, Node}
  etf::term node;    // nil for a local target
};

struct monitor_in {
  etf::term watcher;
  etf::term by_name;  // the name atom when monitored by name, else nil
};

// Everything but `alive` and `box` is guarded by runtime_core::mu.
struct process_state {
  etf::term pid;
  std::uint64_t key = 0;
  std::shared_ptr<mailbox> box = mailbox::create();
  std::atomic<bool> alive{true};
  etf::term reason;
  bool trap_exit = false;
  bool named = false;
  etf::term name;
  std::unordered_map<etf::term, link_entry> links;
  std::unordered_map<etf::term, monitor_out> monitors_out;
  std::unordered_map<etf::term, monitor_in> monitors_in;
  std::vector<etf::term> aliases;
  bool monitors_nodes = false;
  bool monitors_hidden_nodes = false;
  std::unordered_map<etf::term, unsigned> node_monitors;  // node -> count
};

// Side effects collected under the lock and carried out after it is released.
struct effects {
  std::vector<std::pair<etf::term, remote_signal>> remote;
  std::vector<std::shared_ptr<process_state>> dying;
};

enum class exit_kind { link, forced_link, exit2 };

struct atoms {
  etf::term exit_tag, down, process, normal, kill, killed, noproc, noconnection, nodeup, nodedown,
      undefined, shutdown;
};

// Registered names are atoms, looked up for every message sent to a name: hashing the atom's
// text directly costs a fraction of term::hash(), which walks any term. Consistent with
// term equality (equal atoms have equal text).
struct name_hash {
  std::size_t operator()(const etf::term& name) const noexcept {
    return name.is_atom() ? std::hash<std::string_view>{}(name.atom_name()) : name.hash();
  }
};

struct runtime_core {
  boost::asio::any_io_executor executor;
  etf::term node;
  std::uint32_t creation = 0;
  atoms a;

  std::atomic<std::uint64_t> next_pid{1};
  std::atomic<std::uint64_t> next_ref{1};
  std::atomic<std::uint64_t> next_unlink{1};

  mutable std::shared_mutex mu;
  bool stopped = false;
  std::unordered_map<std::uint64_t, std::shared_ptr<process_state>> procs;
  std::unordered_map<etf::term, std::shared_ptr<process_state>, name_hash> names;
  std::unordered_map<etf::term, std::shared_ptr<process_state>> aliases;

  mutable std::shared_mutex gateway_mu;
  remote_gateway* gateway = nullptr;

  // ---- helpers; "locked" ones need mu held exclusively (or shared where noted) ----
  static std::uint64_t key_of(std::uint32_t id, std::uint32_t serial) {
    return (std::uint64_t{serial} << 32) | id;
  }
  bool is_this_node(const etf::term& pid_or_ref_node) const { return pid_or_ref_node == node; }
  // The live local process of `pid`, or null (mu held, shared is enough).
  std::shared_ptr<process_state> lookup(const etf::term& pid) const;
  std::shared_ptr<process_state> lookup_name(const etf::term& name) const;
  // The same without taking a reference, for a message push under the (shared) lock: valid
  // only while mu is held.
  process_state* find(const etf::term& pid) const;
  process_state* find_name(const etf::term& name) const;

  etf::term make_ref();
  std::error_code send(const etf::term& from, const etf::term& to, etf::term message);
  // A message to the process registered locally as `name` (dropped when there is none).
  void send_to_name(const etf::term& name, etf::term message);

  void kill_locked(const std::shared_ptr<process_state>& p, const etf::term& reason, effects& fx);
  void exit_signal_locked(const std::shared_ptr<process_state>& p, const etf::term& from,
                          const etf::term& reason, exit_kind kind, effects& fx);
  void drain_locked(effects& fx);
  void cleanup_locked(process_state& p, effects& fx);
  void push_down(process_state& watcher, const etf::term& ref, const etf::term& item,
                 const etf::term& reason);

  // Routes the remote signals of fx (no lock held) and answers unreachable links/monitors.
  void flush(effects& fx);
  // Applies a batch: runs f under the exclusive lock, then drains deaths and flushes.
  template <class F>
  void apply(F&& f) {
    effects fx;
    {
      std::unique_lock lock(mu);
      f(fx);
      drain_locked(fx);
    }
    flush(fx);
  }
};

}  // namespace edist::node::detail
