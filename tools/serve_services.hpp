// The processes of `edist serve` (its documented contract), started on a node so that both
// `edist serve` and `edist demo` run the same code.
//
//   echo  {Pid, Msg}      -> Pid ! {echo, Msg}
//   sink  {count, Pid, N}  then N messages of any shape -> Pid ! {done, N}
//   kv    GenServer: call {put, K, V} -> ok; call {get, K} -> {ok, V} | error;
//         cast {put, K, V}; call stop -> ok then exit(normal). Restarted under the same name
//         whenever it ends (with fresh state, as a supervisor restarts a child).
//   rex   rpc functions demo:add/2, demo:echo/1, demo:node/0.
//
// Ownership: the returned object keeps the kv restarter alive; stop() (or destruction) ends
// the restarts, so that kv stays down while the node shuts down. Thread-safe.
#pragma once

#include <edist/node/network.hpp>
#include <functional>
#include <memory>

namespace edist::tools {

class serve_services {
 public:
  virtual ~serve_services() = default;
  virtual void stop() = 0;
};

// Ends the program with a one-line error when a name is taken. `on_kv_started` (optional)
// runs with the pid of every kv incarnation, the first one included, on whichever thread
// started it; it must not block.
std::unique_ptr<serve_services> start_serve_services(
    node::network& net, std::function<void(const etf::term&)> on_kv_started = {});

// A + B for integers of any size (bignums too); nullopt when either is not an integer.
std::optional<etf::term> add_integers(const etf::term& a, const etf::term& b);

}  // namespace edist::tools
