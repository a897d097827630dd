// :global names from C++, through a BEAM node's `global` (rpc to its rex).
//
// This is the path that works for hidden and visible edist nodes alike: the BEAM node's
// global_name_server stores the name on every visible node of its cluster and monitors the
// pid, so a name held by a C++ process is seen by `:global.whereis_name/1` everywhere and
// vanishes when that process ends (the runtime answers the monitor) or the edist node
// disconnects. A *visible* edist node takes part in global's own protocol through its
// global_name_server instead (global_server.hpp, node::global_names()); this client is for
// hidden nodes, which BEAM's global leaves out.
//
//   edist::node::global::client g(self, atom("beam@host"));
//   if (g.register_name(T({atom("todo_list"), binary("bob")}), self.pid())) ...
//   auto pid = g.whereis_name(name);
//
// Thread-safety and lifetime: a client borrows `self` (which must outlive it) and drives it like
// a BEAM process: one thread at a time. Every call blocks for at most `timeout`.
#pragma once

#include <chrono>
#include <edist/etf/term.hpp>
#include <optional>
#include <system_error>
#include <vector>

#include "edist/node/process.hpp"

namespace edist::node::global {

class client {
 public:
  client(const process& self, etf::term via_node,
         std::chrono::steady_clock::duration timeout = std::chrono::seconds(10))
      : self_(self), node_(std::move(via_node)), timeout_(timeout) {}

  // global:register_name/2: true for yes; false for no (the name is taken), or when the
  // BEAM node cannot be reached (then `error` holds {badrpc, Reason} if given).
  bool register_name(const etf::term& name, const etf::term& pid, etf::term* error = nullptr);
  // global:unregister_name/1.
  void unregister_name(const etf::term& name);
  // global:whereis_name/1: the pid, or nullopt for undefined (or an unreachable node).
  std::optional<etf::term> whereis_name(const etf::term& name);
  // global:registered_names/0.
  std::vector<etf::term> registered_names();
  // global:send/2 done locally: resolve, then send from `self`. Errors: service_errc::noproc
  // (unregistered, as global:send exits with {badarg, {Name, Msg}}).
  std::error_code send(const etf::term& name, etf::term message);

 private:
  etf::term call(const char* function, etf::term args);

  const process& self_;
  etf::term node_;
  std::chrono::steady_clock::duration timeout_;
};

}  // namespace edist::node::global
