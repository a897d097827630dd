#include "edist/node/control.hpp"

#include <type_traits>
#include <utility>
#include <variant>

namespace edist::node {

using etf::term;
namespace ctrl = dist::ctrl;

namespace {

bool is_pid_or_atom(const term& x) {
  return x.is_pid() || x.is_atom();
}

template <class T, class... Ts>
inline constexpr bool is_one_of = (std::is_same_v<T, Ts> || ...);

}  // namespace

std::optional<dist::dist_message> to_control(remote_signal s, control_features f,
                                             const term& anonymous_from) {
  // The operations that carry the signal's payload as a second term, and those that do not.
  auto with_payload = [&s](auto&& control) -> std::optional<dist::dist_message> {
    return dist::dist_message{std::move(control), std::move(s.payload)};
  };
  auto alone = [](auto&& control) -> std::optional<dist::dist_message> {
    return dist::dist_message{std::move(control), std::nullopt};
  };
  // REG_SEND, ALIAS_SEND and EXIT2 need a sender pid even when the signal has none.
  auto sender = [&]() -> term { return s.from.is_pid() ? std::move(s.from) : anonymous_from; };
  switch (s.kind) {
    case signal_kind::send:
      if (!s.to.is_pid()) return std::nullopt;
      if (f.send_sender && s.from.is_pid()) {
        return with_payload(ctrl::send_sender{std::move(s.from), std::move(s.to), {}});
      }
      return with_payload(ctrl::send{std::move(s.to), {}});
    case signal_kind::reg_send: {
      term from = sender();
      if (!s.to.is_atom() || !from.is_pid()) return std::nullopt;
      return with_payload(ctrl::reg_send{std::move(from), std::move(s.to), {}});
    }
    case signal_kind::alias_send: {
      term from = sender();
      if (!f.alias || !s.to.is_reference() || !from.is_pid()) return std::nullopt;
      return with_payload(ctrl::alias_send{std::move(from), std::move(s.to), {}});
    }
    case signal_kind::link:
      return alone(ctrl::link{std::move(s.from), std::move(s.to)});
    case signal_kind::unlink_id:
      return alone(ctrl::unlink_id{s.id, std::move(s.from), std::move(s.to)});
    case signal_kind::unlink_id_ack:
      return alone(ctrl::unlink_id_ack{s.id, std::move(s.from), std::move(s.to)});
    case signal_kind::exit:
      if (f.exit_payload) {
        return with_payload(ctrl::payload_exit{std::move(s.from), std::move(s.to), {}});
      }
      return alone(ctrl::exit{std::move(s.from), std::move(s.to), std::move(s.payload), {}});
    case signal_kind::exit2: {
      term from = sender();
      if (!from.is_pid()) return std::nullopt;
      if (f.exit_payload) {
        return with_payload(ctrl::payload_exit2{std::move(from), std::move(s.to), {}});
      }
      return alone(ctrl::exit2{std::move(from), std::move(s.to), std::move(s.payload), {}});
    }
    case signal_kind::monitor:
      return alone(ctrl::monitor_p{std::move(s.from), std::move(s.to), std::move(s.ref)});
    case signal_kind::demonitor:
      return alone(ctrl::demonitor_p{std::move(s.from), std::move(s.to), std::move(s.ref)});
    case signal_kind::monitor_exit:
      if (f.exit_payload) {
        return with_payload(
            ctrl::payload_monitor_p_exit{std::move(s.from), std::move(s.to), std::move(s.ref)});
      }
      return alone(ctrl::monitor_p_exit{std::move(s.from), std::move(s.to), std::move(s.ref),
                                        std::move(s.payload)});
  }
  return std::nullopt;
}

incoming_control from_control(dist::dist_message&& m) {
  incoming_control out;
  // The connection only hands over messages whose payload matches the operation; a message
  // built elsewhere may not, and is ignored like any other malformed one.
  const bool has_payload = m.payload.has_value();
  auto payload = [&m]() -> term { return std::move(*m.payload); };
  auto signal = [&out](signal_kind k, term&& from, term&& to, term&& ref, term&& data,
                       std::uint64_t id = 0) {
    out.kind = incoming_control::what::signal;
    out.signal =
        remote_signal{k, std::move(from), std::move(to), std::move(ref), std::move(data), id};
  };
  std::visit(
      [&](auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, ctrl::link>) {
          if (c.from.is_pid() && c.to.is_pid()) {
            signal(signal_kind::link, std::move(c.from), std::move(c.to), {}, {});
          }
        } else if constexpr (std::is_same_v<T, ctrl::send>) {
          if (has_payload && c.to.is_pid())
            signal(signal_kind::send, {}, std::move(c.to), {}, payload());
        } else if constexpr (std::is_same_v<T, ctrl::send_sender>) {
          if (has_payload && c.to.is_pid()) {
            term from = c.from.is_pid() ? std::move(c.from) : term();
            signal(signal_kind::send, std::move(from), std::move(c.to), {}, payload());
          }
        } else if constexpr (std::is_same_v<T, ctrl::reg_send>) {
          if (has_payload && c.from.is_pid() && c.to_name.is_atom()) {
            signal(signal_kind::reg_send, std::move(c.from), std::move(c.to_name), {}, payload());
          }
        } else if constexpr (std::is_same_v<T, ctrl::alias_send>) {
          if (has_payload && c.from.is_pid() && c.alias.is_reference()) {
            signal(signal_kind::alias_send, std::move(c.from), std::move(c.alias), {}, payload());
          }
        } else if constexpr (is_one_of<T, ctrl::exit, ctrl::exit2>) {
          if (c.from.is_pid() && c.to.is_pid()) {
            signal(std::is_same_v<T, ctrl::exit> ? signal_kind::exit : signal_kind::exit2,
                   std::move(c.from), std::move(c.to), {}, std::move(c.reason));
          }
        } else if constexpr (is_one_of<T, ctrl::payload_exit, ctrl::payload_exit2>) {
          if (has_payload && c.from.is_pid() && c.to.is_pid()) {
            signal(std::is_same_v<T, ctrl::payload_exit> ? signal_kind::exit : signal_kind::exit2,
                   std::move(c.from), std::move(c.to), {}, payload());
          }
        } else if constexpr (is_one_of<T, ctrl::monitor_p, ctrl::demonitor_p>) {
          if (c.from.is_pid() && is_pid_or_atom(c.to_proc) && c.ref.is_reference()) {
            signal(
                std::is_same_v<T, ctrl::monitor_p> ? signal_kind::monitor : signal_kind::demonitor,
                std::move(c.from), std::move(c.to_proc), std::move(c.ref), {});
          }
        } else if constexpr (std::is_same_v<T, ctrl::monitor_p_exit>) {
          if (is_pid_or_atom(c.from_proc) && c.to.is_pid() && c.ref.is_reference()) {
            signal(signal_kind::monitor_exit, std::move(c.from_proc), std::move(c.to),
                   std::move(c.ref), std::move(c.reason));
          }
        } else if constexpr (std::is_same_v<T, ctrl::payload_monitor_p_exit>) {
          if (has_payload && is_pid_or_atom(c.from_proc) && c.to.is_pid() && c.ref.is_reference()) {
            signal(signal_kind::monitor_exit, std::move(c.from_proc), std::move(c.to),
                   std::move(c.ref), payload());
          }
        } else if constexpr (is_one_of<T, ctrl::unlink_id, ctrl::unlink_id_ack>) {
          if (c.from.is_pid() && c.to.is_pid()) {
            signal(std::is_same_v<T, ctrl::unlink_id> ? signal_kind::unlink_id
                                                      : signal_kind::unlink_id_ack,
                   std::move(c.from), std::move(c.to), {}, {}, c.id);
          }
        } else if constexpr (std::is_same_v<T, ctrl::spawn_request>) {
          if (!c.from.is_pid()) return;
          out.kind = incoming_control::what::spawn_request;
          spawn_request& r = out.spawn;
          r.req_id = std::move(c.req_id);
          r.from = std::move(c.from);
          r.group_leader = std::move(c.group_leader);
          // rpc::erpc_spawn checks the shape of {M, F, A} against the arguments.
          r.mfa = term::tuple({c.module, c.function, term(c.arity)});
          if (has_payload) r.args = payload();
          if (!c.options.is_proper_list()) {
            r.bad_options = true;
            return;
          }
          for (const term& o : c.options.list_elements()) {
            if (o.is_atom("link")) r.link = true;
            if (o.is_atom("monitor")) r.monitor = true;
          }
        } else if constexpr (std::is_same_v<T, ctrl::spawn_reply>) {
          constexpr std::uint32_t known =
              ctrl::spawn_reply::flag_link | ctrl::spawn_reply::flag_monitor;
          if (c.req_id.is_reference() && c.to.is_pid() && (c.flags & ~known) == 0) {
            out.kind = incoming_control::what::spawn_reply;
            out.reply = std::move(c);
            out.reply.trace_token.reset();
          }
        } else {
          // UNLINK (gone since OTP 26), NODE_LINK, GROUP_LEADER: nothing the node acts on.
          static_assert(is_one_of<T, ctrl::unlink, ctrl::node_link, ctrl::group_leader>);
        }
      },
      m.control);
  return out;
}

dist::dist_message spawn_request_message(const term& req_id, const term& from,
                                         const term& group_leader, const term& module,
                                         const term& function, const term& args, bool link,
                                         bool monitor) {
  std::vector<term> opts;
  if (link) opts.push_back(term::atom("link"));
  if (monitor) opts.push_back(term::atom("monitor"));
  ctrl::spawn_request r;
  r.req_id = req_id;
  r.from = from;
  r.group_leader = group_leader;
  r.module = module;
  r.function = function;
  r.arity = static_cast<std::uint32_t>(args.list_elements().size());
  r.options = term::list(std::move(opts));
  return dist::dist_message{std::move(r), args};
}

dist::dist_message spawn_reply(const term& req_id, const term& to, const term& result,
                               std::uint32_t flags) {
  return dist::dist_message{ctrl::spawn_reply{req_id, to, flags, result, std::nullopt},
                            std::nullopt};
}

}  // namespace edist::node
