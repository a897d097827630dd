#include "edist/node/gen_server.hpp"

#include <boost/asio/post.hpp>
#include <edist/node/error.hpp>
#include <utility>

namespace edist::node::gen {

using etf::term;

namespace {

const term& gen_call_atom() {
  static const term a = term::atom("$gen_call");
  return a;
}
const term& gen_cast_atom() {
  static const term a = term::atom("$gen_cast");
  return a;
}
const term& alias_atom() {
  static const term a = term::atom("alias");
  return a;
}

// [alias | Ref] as gen builds it: a one-element improper list whose tail is a reference.
bool is_alias_tag(const term& tag) {
  if (tag.type() != etf::kind::list) return false;
  auto elems = tag.list_elements();
  return elems.size() == 1 && elems[0] == alias_atom() && tag.list_tail().is_reference();
}

bool valid_tag(const term& tag) {
  return tag.is_reference() || is_alias_tag(tag);
}

}  // namespace

std::optional<call_request> parse_call(const term& message) {
  if (!message.is_tuple(3) || !(message[0] == gen_call_atom())) return std::nullopt;
  const term& f = message[1];
  if (!f.is_tuple(2) || !f[0].is_pid() || !valid_tag(f[1])) return std::nullopt;
  return call_request{{f[0], f[1]}, message[2]};
}

std::optional<term> parse_cast(const term& message) {
  if (!message.is_tuple(2) || !(message[0] == gen_cast_atom())) return std::nullopt;
  return message[1];
}

term call_message(const term& self, const term& tag, const term& request) {
  return term::tuple({gen_call_atom(), term::tuple({self, tag}), request});
}

term cast_message(const term& request) {
  return term::tuple({gen_cast_atom(), request});
}

envelope reply_envelope(const from& caller, const term& reply) {
  term to = is_alias_tag(caller.tag) ? caller.tag.list_tail() : caller.pid;
  return {std::move(to), term::tuple({caller.tag, reply})};
}

std::error_code reply(const process& self, const from& caller, const term& reply) {
  auto env = reply_envelope(caller, reply);
  return self.send(env.to, std::move(env.message));
}

std::error_code reply(runtime& rt, const from& caller, const term& reply) {
  auto env = reply_envelope(caller, reply);
  return rt.send(env.to, std::move(env.message));
}

term start_server(runtime& rt, server_handlers handlers, std::optional<term> name,
                  std::error_code& ec) {
  ec.clear();
  auto h = std::make_shared<server_handlers>(std::move(handlers));
  term pid = rt.spawn_actor(
      [h](process& self, const term& msg) {
        if (auto c = parse_call(msg)) {
          if (!h->on_call) {
            self.exit(term::tuple({term::atom("bad_call"), c->request}));
            return;
          }
          if (auto r = h->on_call(self, c->from, c->request)) reply(self, c->from, *r);
          return;
        }
        if (auto req = parse_cast(msg)) {
          if (h->on_cast) h->on_cast(self, *req);
          return;
        }
        if (h->on_info) h->on_info(self, msg);
      },
      [h](const term& reason) {
        if (h->on_exit) h->on_exit(reason);
      });
  if (name) {
    if ((ec = rt.register_name(*name, pid))) {
      rt.exit(term(), pid, term::atom("kill"));
      return term();
    }
  }
  return pid;
}

std::optional<term> resolve_target(const term& target, const call_options& options,
                                   std::error_code& ec) {
  ec.clear();
  if (target.is_pid()) return target;
  if (target.is_atom()) {
    if (target.is_atom("undefined")) {
      ec = service_errc::invalid_target;
      return std::nullopt;
    }
    return target;
  }
  if (target.is_tuple(2) && target[0].is_atom("global")) {
    if (!options.resolve_global) {
      ec = service_errc::not_resolved;
      return std::nullopt;
    }
    auto pid = options.resolve_global(target[1]);
    if (!pid || !pid->is_pid()) {
      // gen:call exits with noproc when global:whereis_name/1 answers undefined.
      ec = service_errc::noproc;
      return std::nullopt;
    }
    return pid;
  }
  if (target.is_tuple(3) && target[0].is_atom("via") && target[1].is_atom()) {
    std::optional<term> pid;
    if (options.resolve_via) {
      pid = options.resolve_via(target[1], target[2]);
    } else if (target[1].is_atom("global") && options.resolve_global) {
      pid = options.resolve_global(target[2]);
    } else {
      ec = service_errc::not_resolved;
      return std::nullopt;
    }
    if (!pid || !pid->is_pid()) {
      // gen:call exits with noproc when Module:whereis_name/1 answers undefined.
      ec = service_errc::noproc;
      return std::nullopt;
    }
    return pid;
  }
  if (target.is_tuple(2) && target[0].is_atom() && target[1].is_atom()) return target;
  ec = service_errc::invalid_target;
  return std::nullopt;
}

std::error_code down_error(const term& reason) {
  if (reason.is_atom("noproc")) return service_errc::noproc;
  if (reason.is_atom("noconnection")) return service_errc::noconnection;
  return service_errc::target_down;
}

namespace detail {

std::optional<pending_call> begin_call(const process& self, const term& target, const term& request,
                                       const call_options& options, std::error_code& ec) {
  auto resolved = resolve_target(target, options, ec);
  if (!resolved) return std::nullopt;
  if (*resolved == self.pid()) {
    ec = service_errc::calling_self;
    return std::nullopt;
  }
  term mref = self.monitor(*resolved);
  if (!mref.is_reference()) {
    ec = service_errc::invalid_target;
    return std::nullopt;
  }
  // The alias makes a late reply (after a timeout) vanish instead of filling the mailbox.
  term alias = self.make_alias();
  term tag = term::list({alias_atom()}, alias);
  // A send to an unregistered local name fails here; the monitor has already queued DOWN
  // noproc, which the wait below turns into the error, as in gen:call.
  (void)self.send(*resolved, call_message(self.pid(), tag, request));
  return pending_call{std::move(mref), std::move(tag)};
}

bool is_call_answer(const pending_call& pc, const term& m) {
  if (m.is_tuple(2) && m[0] == pc.tag) return true;
  return m.is_tuple(5) && m[0].is_atom("DOWN") && m[1] == pc.mref;
}

call_result finish_call(const process& self, const pending_call& pc, std::error_code ec,
                        const term& message) {
  self.unalias(pc.tag.list_tail());
  if (!ec) {
    if (message.is_tuple(2) && message[0] == pc.tag) {
      self.demonitor(pc.mref, true);
      return {message[1], {}, {}};
    }
    return {{}, down_error(message[4]), message[4]};
  }
  self.demonitor(pc.mref, true);
  if (ec == errc::timeout) {
    // A reply that arrived while the alias was being deactivated is still a reply.
    auto late = self.receive_if([&](const term& m) { return m.is_tuple(2) && m[0] == pc.tag; },
                                std::chrono::steady_clock::duration::zero());
    if (late) return {late->operator[](1), {}, {}};
    return {{}, service_errc::timeout, {}};
  }
  return {{}, service_errc::caller_exited, {}};
}

void post_failure(const process& self, std::error_code ec,
                  boost::asio::any_completion_handler<call_handler_signature> handler) {
  // Posted through the runtime's executor, then dispatched on the handler's own executor, so
  // that the handler never runs inside the initiating call.
  auto ex = boost::asio::get_associated_executor(handler, self.owner().get_executor());
  boost::asio::post(self.owner().get_executor(),
                    boost::asio::bind_executor(
                        ex, [h = std::move(handler), ec]() mutable { std::move(h)(ec, term()); }));
}

}  // namespace detail

call_result call(const process& self, const term& target, const term& request,
                 const call_options& options) {
  std::error_code ec;
  auto pc = detail::begin_call(self, target, request, options, ec);
  if (!pc) return {{}, ec, {}};
  auto r = self.receive_if([&](const term& m) { return detail::is_call_answer(*pc, m); },
                           options.timeout);
  return detail::finish_call(self, *pc, r.error, r.message);
}

std::error_code cast(const process& self, const term& target, const term& request,
                     const call_options& options) {
  std::error_code ec;
  auto resolved = resolve_target(target, options, ec);
  if (!resolved) return ec;
  // gen_server:cast swallows a badarg for an unregistered name: so do we.
  (void)self.send(*resolved, cast_message(request));
  return {};
}

}  // namespace edist::node::gen
