// rpc in both directions: C++ functions callable from BEAM (the `rex` protocol of rpc:call and
// erpc's spawn of erpc:execute_call/4), and calls from C++ into BEAM nodes through their `rex`.
//
// Serving. Functions are registered under Module:Function (atoms), optionally for one arity:
//
//   auto fns = std::make_shared<edist::node::rpc::registry>();
//   fns->add("math", "add", [](std::span<const term> a) { return term(a[0].as_int64() +
//                                                                     a[1].as_int64()); }, 2);
//   auto rex = edist::node::rpc::start_rex(rt, fns, ec);   // registered as `rex`
//
// A function returns its result, or raises an Erlang exception by throwing rpc::exception
// (class throw, exit or error); any other C++ exception is an `error` with reason
// {cpp_exception, What}. A function that is not registered behaves as an undefined Erlang
// function: rpc:call returns {badrpc, {'EXIT', {undef, [{M, F, Args, []}]}}} and erpc:call
// raises error:undef, exactly what a BEAM node answers. Functions run on the runtime's
// executor, not inside the rex process, so a slow one does not hold up other calls. A lambda
// cannot cross from C++ to BEAM (or back): only Module:Function names can be called.
//
// erpc (erpc:call/4,5, and rpc:call of OTP 23+ to a node with SPAWN): the node hands each
// SPAWN_REQUEST to erpc_spawn(). For {erpc, execute_call, 4} with [Ref, M, F, A] it starts a
// process that runs the function and ends with {Ref, return, Value} / {Ref, throw, T} /
// {Ref, exit, R} / {Ref, error, R, Stack} (erpc.erl, the same in OTP 25 and 27); the requester's
// monitor (whose reference is the request id) carries that reason back. Any other M:F/A is
// started as BEAM would start it: a process that ends at once with {undef, [{M, F, Args, []}]}.
//
// Calling. call() sends {'$gen_call', {Self, Tag}, {call, M, F, Args, user}} to {rex, Node}
// and answers as rpc:call/5 does: the result, {badrpc, Reason} from the far side, or
// {badrpc, nodedown} / {badrpc, timeout} from this side.
//
// Thread-safety: the registry may be used from any thread (add/remove while serving). The
// pure functions are thread-safe. call()/multicall() block and drive `self` like a BEAM process
// (one thread at a time).
#pragma once

#include <edist/etf/term.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "edist/node/gen_server.hpp"
#include "edist/node/process.hpp"
#include "edist/node/runtime.hpp"

namespace edist::node::rpc {

// The class of an Erlang exception.
enum class exception_class { throw_, exit, error };

// Thrown by a served function to raise an Erlang exception to its caller.
class exception : public std::runtime_error {
 public:
  exception(exception_class cls, etf::term reason, etf::term stack = etf::term())
      : std::runtime_error("erlang exception"),
        cls_(cls),
        reason_(std::move(reason)),
        stack_(std::move(stack)) {}
  exception_class cls() const noexcept { return cls_; }
  const etf::term& reason() const noexcept { return reason_; }
  const etf::term& stack() const noexcept { return stack_; }

 private:
  exception_class cls_;
  etf::term reason_;
  etf::term stack_;
};

using served_function = std::function<etf::term(std::span<const etf::term> args)>;

// The outcome of applying M:F(Args): a return value or an exception with its stack.
struct outcome {
  enum class what { value, throw_, exit, error } kind = what::value;
  etf::term value;  // the result, or the exception reason
  etf::term stack;  // error only: a list of {M, F, ArgsOrArity, Location}
  // error only: the call itself was malformed (apply/3 raised badarg on its arguments), which
  // erpc reports as {erpc, Reason} and rpc as {badrpc, {'EXIT', Reason}} without a stack.
  bool arg_error = false;
};

class registry {
 public:
  // With `arity`, only calls with that many arguments; otherwise any. Replaces an existing
  // registration of the same key.
  void add(std::string_view module, std::string_view function, served_function fn,
           std::optional<std::size_t> arity = std::nullopt);
  bool remove(std::string_view module, std::string_view function,
              std::optional<std::size_t> arity = std::nullopt);
  // Runs M:F(Args) on the calling thread. `module`/`function` must be atoms and `args` a proper
  // list, else the outcome is error:badarg as apply/3 raises.
  outcome apply(const etf::term& module, const etf::term& function, const etf::term& args) const;

 private:
  using key = std::pair<std::string, std::string>;
  std::optional<served_function> find(const etf::term& module, const etf::term& function,
                                      std::size_t arity) const;
  mutable std::shared_mutex mu_;
  std::map<key, std::map<std::optional<std::size_t>, served_function>> functions_;
};

// What rpc.erl's execute_call/3 makes of an outcome: the value, a thrown term as is, or
// {badrpc, {'EXIT', Reason}} / {badrpc, {'EXIT', {Reason, Stack}}}.
etf::term rex_reply(const outcome& o);
// What erpc:execute_call/4 exits with: {Ref, return, V} and friends.
etf::term erpc_exit_reason(const etf::term& ref, const outcome& o);
// The exit reason of a process spawned as M:F(Args) when M:F is undefined.
etf::term undef_reason(const etf::term& module, const etf::term& function, const etf::term& args);

// A `rex` request: {call, M, F, Args, GL} / {block_call, ...} (calls) or {cast, M, F, Args, GL}.
struct rex_request {
  bool is_cast = false;
  gen::from caller;  // calls only
  etf::term module, function, args;
};
std::optional<rex_request> parse_rex(const etf::term& message);

// Starts the rex server and registers it as `rex`. The registry is shared with the server.
// Requests rex does not know are ignored, as BEAM's rex ignores them.
etf::term start_rex(runtime& rt, std::shared_ptr<const registry> functions, std::error_code& ec);

// ---- erpc: answering SPAWN_REQUEST ------------------------------------------------------------
// The node's side of a spawn request: `from` the requester, `req_id` the request reference,
// `mfa` {M, F, Arity}, `args` the argument list.
struct spawn_request {
  etf::term req_id;
  etf::term from;
  etf::term mfa;
  etf::term args;
};

// An accepted spawn: the node sends SPAWN_REPLY with `pid`, sets up the link/monitor that the
// request's options asked for (the monitor's reference is req_id), then calls start() exactly
// once. Until start() runs the process does nothing, so no exit can race ahead of the reply.
// Dropping a spawn_job without start() ends the process with `normal`.
struct spawn_job {
  etf::term pid;
  std::function<void()> start;
};

// Decides a spawn request: a job, or an error atom for SPAWN_REPLY (`badarg` for a
// malformed request: an mfa that is not {Atom, Atom, Arity} or an argument list of the wrong
// length, as erlang:spawn_request/5 refuses those). Never silence.
struct spawn_decision {
  std::optional<spawn_job> job;
  etf::term error;
};
spawn_decision erpc_spawn(runtime& rt, std::shared_ptr<const registry> functions,
                          const spawn_request& request);

// ---- Calling BEAM ---------------------------------------------------------------------------
// rpc:call(Node, M, F, Args, Timeout) through Node's rex.
etf::term call(const process& self, const etf::term& node, const etf::term& module,
               const etf::term& function, const etf::term& args,
               receive_timeout timeout = std::nullopt);
// rpc:cast/4: fire and forget.
void cast(const process& self, const etf::term& node, const etf::term& module,
          const etf::term& function, const etf::term& args);
// rpc:multicall(Nodes, M, F, Args, Timeout): {Results, BadNodes}, results in the order of
// `nodes` for the nodes that answered.
struct multicall_result {
  std::vector<etf::term> results;
  std::vector<etf::term> bad_nodes;
};
multicall_result multicall(const process& self, std::span<const etf::term> nodes,
                           const etf::term& module, const etf::term& function,
                           const etf::term& args, receive_timeout timeout = std::nullopt);

// A resolver for gen::call_options::resolve_global that asks `node`'s global through rpc
// (global:whereis_name/1). `self` must outlive the resolver and be driven by its caller.
std::function<std::optional<etf::term>(const etf::term&)> global_resolver(const process& self,
                                                                          etf::term node);

}  // namespace edist::node::rpc
