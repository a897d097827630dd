#include "edist/node/rpc.hpp"

#include <boost/asio/post.hpp>
#include <chrono>
#include <exception>
#include <optional>

namespace edist::node::rpc {

using etf::term;

namespace {

term atom(std::string_view s) {
  return term::atom(s);
}

std::optional<std::size_t> proper_length(const term& list) {
  if (!list.is_proper_list()) return std::nullopt;
  return list.is_nil() ? 0 : list.list_elements().size();
}

outcome raised(outcome::what kind, term reason, term stack = term()) {
  outcome o;
  o.kind = kind;
  o.value = std::move(reason);
  o.stack = std::move(stack);
  return o;
}

// The one-frame stack of an error raised inside a C++ function, as BEAM shows the frame of the
// function that raised it (no file or line to report).
term cpp_frame_stack(const term& m, const term& f, std::size_t arity) {
  return term::list({term::tuple({m, f, term(arity), term::list({})})});
}

}  // namespace

void registry::add(std::string_view module, std::string_view function, served_function fn,
                   std::optional<std::size_t> arity) {
  std::unique_lock lock(mu_);
  functions_[{std::string(module), std::string(function)}][arity] = std::move(fn);
}

bool registry::remove(std::string_view module, std::string_view function,
                      std::optional<std::size_t> arity) {
  std::unique_lock lock(mu_);
  auto it = functions_.find({std::string(module), std::string(function)});
  if (it == functions_.end()) return false;
  const bool erased = it->second.erase(arity) > 0;
  if (it->second.empty()) functions_.erase(it);
  return erased;
}

std::optional<served_function> registry::find(const term& module, const term& function,
                                              std::size_t arity) const {
  std::shared_lock lock(mu_);
  auto it = functions_.find({std::string(module.atom_name()), std::string(function.atom_name())});
  if (it == functions_.end()) return std::nullopt;
  if (auto exact = it->second.find(arity); exact != it->second.end()) return exact->second;
  if (auto any = it->second.find(std::nullopt); any != it->second.end()) return any->second;
  return std::nullopt;
}

outcome registry::apply(const term& module, const term& function, const term& args) const {
  auto n = proper_length(args);
  if (!module.is_atom() || !function.is_atom() || !n) {
    auto o = raised(outcome::what::error, atom("badarg"));
    o.arg_error = true;
    return o;
  }
  auto fn = find(module, function, *n);
  if (!fn)
    return raised(outcome::what::error, atom("undef"), undef_reason(module, function, args)[1]);
  try {
    return {outcome::what::value,
            (*fn)(args.is_nil() ? std::span<const term>() : args.list_elements()), term(), false};
  } catch (const exception& e) {
    switch (e.cls()) {
      case exception_class::throw_:
        return raised(outcome::what::throw_, e.reason());
      case exception_class::exit:
        return raised(outcome::what::exit, e.reason());
      case exception_class::error:
        return raised(outcome::what::error, e.reason(),
                      e.stack().is_proper_list() && !e.stack().is_nil()
                          ? e.stack()
                          : cpp_frame_stack(module, function, *n));
    }
  } catch (const std::exception& e) {
    return raised(outcome::what::error,
                  term::tuple({atom("cpp_exception"), term::binary(std::string_view(e.what()))}),
                  cpp_frame_stack(module, function, *n));
  } catch (...) {
    return raised(outcome::what::error,
                  term::tuple({atom("cpp_exception"), term::binary(std::string_view("unknown"))}),
                  cpp_frame_stack(module, function, *n));
  }
  return raised(outcome::what::error, atom("badarg"));
}

term undef_reason(const term& module, const term& function, const term& args) {
  return term::tuple(
      {atom("undef"), term::list({term::tuple({module, function, args, term::list({})})})});
}

term rex_reply(const outcome& o) {
  const term badrpc = atom("badrpc");
  const term exit_tag = atom("EXIT");
  switch (o.kind) {
    case outcome::what::value:
      return o.value;
    case outcome::what::throw_:
      return o.value;
    case outcome::what::exit:
      return term::tuple({badrpc, term::tuple({exit_tag, o.value})});
    case outcome::what::error:
      if (o.arg_error) return term::tuple({badrpc, term::tuple({exit_tag, o.value})});
      return term::tuple({badrpc, term::tuple({exit_tag, term::tuple({o.value, o.stack})})});
  }
  return o.value;
}

term erpc_exit_reason(const term& ref, const outcome& o) {
  switch (o.kind) {
    case outcome::what::value:
      return term::tuple({ref, atom("return"), o.value});
    case outcome::what::throw_:
      return term::tuple({ref, atom("throw"), o.value});
    case outcome::what::exit:
      return term::tuple({ref, atom("exit"), o.value});
    case outcome::what::error:
      if (o.arg_error)
        return term::tuple({ref, atom("error"), term::tuple({atom("erpc"), o.value})});
      return term::tuple({ref, atom("error"), o.value, o.stack});
  }
  return term::tuple({ref, atom("return"), o.value});
}

std::optional<rex_request> parse_rex(const term& message) {
  auto is_call5 = [](const term& r, std::string_view tag) {
    return r.is_tuple(5) && r[0].is_atom(tag);
  };
  if (auto c = gen::parse_call(message)) {
    const term& r = c->request;
    if (!is_call5(r, "call") && !is_call5(r, "block_call")) return std::nullopt;
    return rex_request{false, c->from, r[1], r[2], r[3]};
  }
  if (auto r = gen::parse_cast(message)) {
    if (!is_call5(*r, "cast")) return std::nullopt;
    return rex_request{true, {}, (*r)[1], (*r)[2], (*r)[3]};
  }
  return std::nullopt;
}

term start_rex(runtime& rt, std::shared_ptr<const registry> functions, std::error_code& ec) {
  ec.clear();
  std::weak_ptr<runtime> weak_rt = rt.shared_from_this();
  term pid = rt.spawn_actor([functions, weak_rt](process&, const term& msg) {
    auto req = parse_rex(msg);
    if (!req) return;
    auto rtp = weak_rt.lock();
    if (!rtp) return;
    // As rex spawns a worker per request: the function runs outside this actor.
    boost::asio::post(rtp->get_executor(), [functions, weak_rt, r = std::move(*req)] {
      outcome o = functions->apply(r.module, r.function, r.args);
      if (r.is_cast) return;
      if (auto rt2 = weak_rt.lock()) gen::reply(*rt2, r.caller, rex_reply(o));
    });
  });
  if ((ec = rt.register_name(atom("rex"), pid))) {
    rt.exit(term(), pid, atom("kill"));
    return term();
  }
  return pid;
}

spawn_decision erpc_spawn(runtime& rt, std::shared_ptr<const registry> functions,
                          const spawn_request& request) {
  const term& mfa = request.mfa;
  auto n = proper_length(request.args);
  if (!mfa.is_tuple(3) || !mfa[0].is_atom() || !mfa[1].is_atom() || !n ||
      mfa[2].to_uint64() != std::optional<std::uint64_t>(*n)) {
    return {std::nullopt, atom("badarg")};
  }
  auto proc = std::make_shared<process>(rt.spawn());
  if (!proc->alive()) return {std::nullopt, atom("system_limit")};
  term pid = proc->pid();
  const bool execute_call = mfa[0].is_atom("erpc") && mfa[1].is_atom("execute_call") && *n == 4;
  std::weak_ptr<runtime> weak_rt = rt.shared_from_this();
  auto start = [proc, functions, execute_call, args = request.args, mfa, weak_rt]() {
    auto rtp = weak_rt.lock();
    if (!rtp) return;
    boost::asio::post(rtp->get_executor(), [proc, functions, execute_call, args, mfa] {
      if (execute_call) {
        auto a = args.list_elements();
        outcome o = functions->apply(a[1], a[2], a[3]);
        proc->exit(erpc_exit_reason(a[0], o));
        return;
      }
      // Any other M:F(Args): run a registered C++ function as the body of the spawned
      // process, with the exit reasons BEAM gives an uncaught exception.
      outcome o = functions->apply(mfa[0], mfa[1], args);
      switch (o.kind) {
        case outcome::what::value:
          proc->exit(atom("normal"));
          return;
        case outcome::what::exit:
          proc->exit(o.value);
          return;
        case outcome::what::throw_:
          proc->exit(term::tuple({term::tuple({atom("nocatch"), o.value}), o.stack}));
          return;
        case outcome::what::error:
          proc->exit(term::tuple({o.value, o.stack}));
          return;
      }
    });
  };
  return {spawn_job{std::move(pid), std::move(start)}, term()};
}

// ---- Calling BEAM ---------------------------------------------------------------------------

namespace {

term rex_of(const term& node) {
  return term::tuple({atom("rex"), node});
}

term call_request(const term& m, const term& f, const term& a) {
  return term::tuple({atom("call"), m, f, a, atom("user")});
}

term badrpc(std::string_view why) {
  return term::tuple({atom("badrpc"), atom(why)});
}

// rpc:call's mapping of a failed gen call: a lost node is nodedown; anything else that ended
// the rex call is an EXIT.
term failed_call_term(const gen::call_result& r) {
  if (r.error == service_errc::timeout) return badrpc("timeout");
  if (r.error == service_errc::noconnection || r.error == service_errc::noproc)
    return badrpc("nodedown");
  if (r.error == service_errc::target_down)
    return term::tuple({atom("badrpc"), term::tuple({atom("EXIT"), r.reason})});
  return badrpc("nodedown");
}

}  // namespace

term call(const process& self, const term& node, const term& module, const term& function,
          const term& args, receive_timeout timeout) {
  if (!node.is_atom()) return badrpc("nodedown");
  gen::call_options opts;
  opts.timeout = timeout;
  auto r = gen::call(self, rex_of(node), call_request(module, function, args), opts);
  return r ? r.reply : failed_call_term(r);
}

void cast(const process& self, const term& node, const term& module, const term& function,
          const term& args) {
  if (!node.is_atom()) return;
  (void)self.send(
      rex_of(node),
      gen::cast_message(term::tuple({atom("cast"), module, function, args, atom("user")})));
}

multicall_result multicall(const process& self, std::span<const term> nodes, const term& module,
                           const term& function, const term& args, receive_timeout timeout) {
  multicall_result out;
  gen::call_options opts;
  std::vector<std::optional<gen::detail::pending_call>> pending;
  pending.reserve(nodes.size());
  const term request = call_request(module, function, args);
  for (const term& n : nodes) {
    std::error_code ec;
    pending.push_back(n.is_atom() ? gen::detail::begin_call(self, rex_of(n), request, opts, ec)
                                  : std::nullopt);
  }
  // All requests are out before the first wait, so the nodes work in parallel; one deadline
  // covers them all, as rpc:multicall/5's timeout does.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (timeout) deadline = std::chrono::steady_clock::now() + *timeout;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (!pending[i]) {
      out.bad_nodes.push_back(nodes[i]);
      continue;
    }
    receive_timeout left;
    if (deadline) {
      left = std::max(std::chrono::steady_clock::duration::zero(),
                      *deadline - std::chrono::steady_clock::now());
    }
    const auto& pc = *pending[i];
    auto m =
        self.receive_if([&](const term& t) { return gen::detail::is_call_answer(pc, t); }, left);
    auto r = gen::detail::finish_call(self, pc, m.error, m.message);
    if (r) {
      out.results.push_back(r.reply);
    } else {
      out.bad_nodes.push_back(nodes[i]);
    }
  }
  return out;
}

std::function<std::optional<term>(const term&)> global_resolver(const process& self, term node) {
  return [&self, node = std::move(node)](const term& name) -> std::optional<term> {
    term r = call(self, node, atom("global"), atom("whereis_name"), term::list({name}),
                  std::chrono::seconds(5));
    if (r.is_pid()) return r;
    return std::nullopt;
  };
}

}  // namespace edist::node::rpc
