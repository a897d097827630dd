// The GenServer protocol (gen:call / gen_server:cast) on edist processes, in both directions.
//
// Serving: a C++ process answers `GenServer.call/3` and `GenServer.cast/2` from Elixir or
// Erlang. Calls arrive as {'$gen_call', {From, Tag}, Request}, casts as {'$gen_cast', Request}.
// The reply is {Tag, Reply} with Tag exactly as received; when Tag is [alias | Alias] (OTP 24+
// callers) it goes to the alias, as gen:reply/2 does, so that a reply after the caller's
// timeout is dropped by its node instead of landing in its mailbox.
//
//   auto pid = edist::node::gen::start_server(rt, {
//       .on_call = [](process&, const gen::from&, const term& req) -> std::optional<term> {
//         return term::tuple({atom("ok"), req});   // nullopt: reply later with gen::reply()
//       }}, atom("my_server"), ec);
//
// Calling: gen::call() does what gen:call/4 does: monitor the target, send the request with
// a tag that is [alias | MonitorRef], wait for {Tag, Reply} or the monitor's DOWN, then
// demonitor with flush and deactivate the alias. Targets: a pid, a local name atom,
// {Name, Node}, {global, Name} (resolved through call_options::resolve_global: a visible
// node's own global server, global_server.hpp, or an rpc to a BEAM node's
// global:whereis_name/1, see rpc.hpp), or {via, Module, Name} (call_options::resolve_via;
// without it, {via, global, Name} goes through resolve_global as gen:call does with
// global:whereis_name/1).
//
// The parse/build functions are pure and thread-safe. call() blocks the calling thread and
// uses `self` as a BEAM process would: only one thread may drive `self` at a time (see
// process.hpp). async_call() keeps a reference to `self`: the process handle must outlive the
// operation; it never completes inside the initiating call.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <chrono>
#include <edist/etf/term.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <system_error>

#include "edist/node/process.hpp"
#include "edist/node/runtime.hpp"
#include "edist/node/service_error.hpp"

namespace edist::node::gen {

// Who called: the caller's pid and the tag to echo (a reference or [alias | Ref]).
struct from {
  etf::term pid;
  etf::term tag;
};

struct call_request {
  gen::from from;
  etf::term request;
};

// {'$gen_call', {Pid, Tag}, Request} with a pid and a reference or [alias | Ref] tag.
std::optional<call_request> parse_call(const etf::term& message);
// {'$gen_cast', Request}.
std::optional<etf::term> parse_cast(const etf::term& message);

etf::term call_message(const etf::term& self, const etf::term& tag, const etf::term& request);
etf::term cast_message(const etf::term& request);

// Where gen:reply/2 sends the reply and what it sends: {Tag, Reply} to the alias of an
// [alias | Alias] tag, else to the caller's pid.
struct envelope {
  etf::term to;
  etf::term message;
};
envelope reply_envelope(const from& caller, const etf::term& reply);
// gen:reply/2 from `self` (or from no process with the runtime overload).
std::error_code reply(const process& self, const from& caller, const etf::term& reply);
std::error_code reply(runtime& rt, const from& caller, const etf::term& reply);

// ---- Serving ---------------------------------------------------------------------------------
struct server_handlers {
  // A call: return the reply, or nullopt to answer later with gen::reply(). Without on_call,
  // a call ends the server with {bad_call, Request} (gen_server crashes on an unmatched
  // handle_call), so the caller's monitor fires instead of leaving it waiting.
  std::function<std::optional<etf::term>(process& self, const from& caller,
                                         const etf::term& request)>
      on_call;
  std::function<void(process& self, const etf::term& request)> on_cast;
  // Any other message (exit signals when trapping, DOWN, plain messages). Ignored if unset.
  std::function<void(process& self, const etf::term& message)> on_info;
  std::function<void(const etf::term& reason)> on_exit;
};

// Starts an actor that dispatches to the handlers (one message at a time, on a strand of the
// runtime's executor). With `name` (an atom), registers it; if that fails the actor is ended
// and `ec` says why (errc::name_in_use, ...). Returns the pid (nil on error).
etf::term start_server(runtime& rt, server_handlers handlers, std::optional<etf::term> name,
                       std::error_code& ec);

// ---- Calling ---------------------------------------------------------------------------------
struct call_options {
  // gen:call's default is 5 s; nullopt waits forever (infinity).
  receive_timeout timeout = std::chrono::seconds(5);
  // Resolves the Name of {global, Name} to a pid (nullopt: not registered). Called on the
  // calling thread.
  std::function<std::optional<etf::term>(const etf::term& name)> resolve_global;
  // Resolves {via, Module, Name} (Module:whereis_name(Name) in gen.erl): a registry of the
  // caller's choice. Called on the calling thread.
  // (Initialized so that existing aggregate initializations of call_options stay complete.)
  std::function<std::optional<etf::term>(const etf::term& module, const etf::term& name)>
      resolve_via = {};
};

// The outcome of a call: the reply, or an error. For service_errc::target_down, `reason` is
// the DOWN reason.
struct call_result {
  etf::term reply;
  std::error_code error;
  etf::term reason;
  explicit operator bool() const noexcept { return !error; }
};

// What a call is sent to after {global, Name} or {via, Module, Name} was resolved: a pid, a name
// atom, {Name, Node}; nullopt with `ec` set when the target is none of these or cannot be resolved.
std::optional<etf::term> resolve_target(const etf::term& target, const call_options& options,
                                        std::error_code& ec);

// Maps a DOWN reason of the call's monitor to the call's error (noproc, noconnection,
// target_down).
std::error_code down_error(const etf::term& reason);

call_result call(const process& self, const etf::term& target, const etf::term& request,
                 const call_options& options = {});

// gen_server:cast/2: sends {'$gen_cast', Request}; like BEAM, it does not tell whether anyone
// received it. Errors only for an invalid or unresolvable target.
std::error_code cast(const process& self, const etf::term& target, const etf::term& request,
                     const call_options& options = {});

namespace detail {
using call_handler_signature = void(std::error_code, etf::term);
struct pending_call {
  etf::term mref;
  etf::term tag;
};
// Monitors and sends; on failure returns nullopt and sets ec.
std::optional<pending_call> begin_call(const process& self, const etf::term& target,
                                       const etf::term& request, const call_options& options,
                                       std::error_code& ec);
// Classifies a received message of the call (reply or DOWN) and cleans up the monitor/alias.
call_result finish_call(const process& self, const pending_call& pc, std::error_code ec,
                        const etf::term& message);
bool is_call_answer(const pending_call& pc, const etf::term& message);
void post_failure(const process& self, std::error_code ec,
                  boost::asio::any_completion_handler<call_handler_signature> handler);
}  // namespace detail

// Asynchronous gen:call. The handler gets (error, reply); for target_down the term is the DOWN
// reason instead of a reply. Runs on the handler's associated executor (else the runtime's).
template <boost::asio::completion_token_for<detail::call_handler_signature> Token>
auto async_call(const process& self, const etf::term& target, const etf::term& request,
                const call_options& options, Token&& token) {
  return boost::asio::async_initiate<Token, detail::call_handler_signature>(
      [&self, &target, &request, &options](auto handler) {
        std::error_code ec;
        auto pc = detail::begin_call(self, target, request, options, ec);
        if (!pc) {
          detail::post_failure(self, ec, std::move(handler));
          return;
        }
        auto pending = *pc;
        // The receive completes on the caller's executor, so the cleanup and the handler run
        // there, as the handler expects.
        auto ex = boost::asio::get_associated_executor(handler, self.owner().get_executor());
        self.async_receive_if(
            [pending](const etf::term& m) { return detail::is_call_answer(pending, m); },
            options.timeout,
            boost::asio::bind_executor(ex, [&self, pending, h = std::move(handler)](
                                               std::error_code e, etf::term m) mutable {
              auto r = detail::finish_call(self, pending, e, m);
              std::move(h)(r.error, r.error ? r.reason : r.reply);
            }));
      },
      token);
}

}  // namespace edist::node::gen
