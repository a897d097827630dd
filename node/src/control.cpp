#include "edist/node/control.hpp"

#include <vector>

namespace edist::node {

using etf::term;

namespace {

const term& empty_atom() {
  static const term a = term::atom("");
  return a;
}

term t(std::initializer_list<term> elements) {
  return term::tuple(elements);
}

bool is_pid_or_atom(const term& x) {
  return x.is_pid() || x.is_atom();
}

}  // namespace

std::optional<control_message> to_control(const remote_signal& s, control_features f,
                                          const term& anonymous_from) {
  const term& from = s.from.is_pid() ? s.from : anonymous_from;
  switch (s.kind) {
    case signal_kind::send:
      if (!s.to.is_pid()) return std::nullopt;
      if (f.send_sender && s.from.is_pid()) {
        return control_message{t({op::send_sender, s.from, s.to}), s.payload};
      }
      return control_message{t({op::send, empty_atom(), s.to}), s.payload};
    case signal_kind::reg_send:
      if (!s.to.is_atom() || !from.is_pid()) return std::nullopt;
      return control_message{t({op::reg_send, from, empty_atom(), s.to}), s.payload};
    case signal_kind::alias_send:
      if (!f.alias || !s.to.is_reference() || !from.is_pid()) return std::nullopt;
      return control_message{t({op::alias_send, from, s.to}), s.payload};
    case signal_kind::link:
      return control_message{t({op::link, s.from, s.to}), std::nullopt};
    case signal_kind::unlink_id:
      return control_message{t({op::unlink_id, term(s.id), s.from, s.to}), std::nullopt};
    case signal_kind::unlink_id_ack:
      return control_message{t({op::unlink_id_ack, term(s.id), s.from, s.to}), std::nullopt};
    case signal_kind::exit:
      if (f.exit_payload) return control_message{t({op::payload_exit, s.from, s.to}), s.payload};
      return control_message{t({op::exit, s.from, s.to, s.payload}), std::nullopt};
    case signal_kind::exit2:
      if (!from.is_pid()) return std::nullopt;
      if (f.exit_payload) return control_message{t({op::payload_exit2, from, s.to}), s.payload};
      return control_message{t({op::exit2, from, s.to, s.payload}), std::nullopt};
    case signal_kind::monitor:
      return control_message{t({op::monitor_p, s.from, s.to, s.ref}), std::nullopt};
    case signal_kind::demonitor:
      return control_message{t({op::demonitor_p, s.from, s.to, s.ref}), std::nullopt};
    case signal_kind::monitor_exit:
      if (f.exit_payload) {
        return control_message{t({op::payload_monitor_p_exit, s.from, s.to, s.ref}), s.payload};
      }
      return control_message{t({op::monitor_p_exit, s.from, s.to, s.ref, s.payload}), std::nullopt};
  }
  return std::nullopt;
}

incoming_control from_control(const term& c, const term* payload) {
  incoming_control out;
  if (!c.is_tuple() || c.tuple_size() < 2) return out;
  const auto code = c[0].to_int64();
  if (!code) return out;
  const std::size_t n = c.tuple_size();
  auto sig = [&](signal_kind k, term from, term to, term ref, term data, std::uint64_t id = 0) {
    out.kind = incoming_control::what::signal;
    out.signal =
        remote_signal{k, std::move(from), std::move(to), std::move(ref), std::move(data), id};
    return out;
  };
  const term none;
  const term& p = payload != nullptr ? *payload : none;
  switch (*code) {
    case op::link:
      if (n == 3 && c[1].is_pid() && c[2].is_pid())
        return sig(signal_kind::link, c[1], c[2], {}, {});
      break;
    case op::send:
    case op::send_tt:
      if (payload != nullptr && n >= 3 && c[2].is_pid())
        return sig(signal_kind::send, {}, c[2], {}, p);
      break;
    case op::send_sender:
    case op::send_sender_tt:
      if (payload != nullptr && n >= 3 && c[2].is_pid()) {
        return sig(signal_kind::send, c[1].is_pid() ? c[1] : term(), c[2], {}, p);
      }
      break;
    case op::reg_send:
    case op::reg_send_tt:
      if (payload != nullptr && n >= 4 && c[1].is_pid() && c[3].is_atom()) {
        return sig(signal_kind::reg_send, c[1], c[3], {}, p);
      }
      break;
    case op::alias_send:
    case op::alias_send_tt:
      if (payload != nullptr && n >= 3 && c[1].is_pid() && c[2].is_reference()) {
        return sig(signal_kind::alias_send, c[1], c[2], {}, p);
      }
      break;
    case op::exit:
      if (n == 4 && c[1].is_pid() && c[2].is_pid())
        return sig(signal_kind::exit, c[1], c[2], {}, c[3]);
      break;
    case op::exit_tt:
      if (n == 5 && c[1].is_pid() && c[2].is_pid())
        return sig(signal_kind::exit, c[1], c[2], {}, c[4]);
      break;
    case op::payload_exit:
    case op::payload_exit_tt:
      if (payload != nullptr && n >= 3 && c[1].is_pid() && c[2].is_pid()) {
        return sig(signal_kind::exit, c[1], c[2], {}, p);
      }
      break;
    case op::exit2:
      if (n == 4 && c[1].is_pid() && c[2].is_pid())
        return sig(signal_kind::exit2, c[1], c[2], {}, c[3]);
      break;
    case op::exit2_tt:
      if (n == 5 && c[1].is_pid() && c[2].is_pid())
        return sig(signal_kind::exit2, c[1], c[2], {}, c[4]);
      break;
    case op::payload_exit2:
    case op::payload_exit2_tt:
      if (payload != nullptr && n >= 3 && c[1].is_pid() && c[2].is_pid()) {
        return sig(signal_kind::exit2, c[1], c[2], {}, p);
      }
      break;
    case op::monitor_p:
      if (n == 4 && c[1].is_pid() && is_pid_or_atom(c[2]) && c[3].is_reference()) {
        return sig(signal_kind::monitor, c[1], c[2], c[3], {});
      }
      break;
    case op::demonitor_p:
      if (n == 4 && c[1].is_pid() && is_pid_or_atom(c[2]) && c[3].is_reference()) {
        return sig(signal_kind::demonitor, c[1], c[2], c[3], {});
      }
      break;
    case op::monitor_p_exit:
      if (n == 5 && is_pid_or_atom(c[1]) && c[2].is_pid() && c[3].is_reference()) {
        return sig(signal_kind::monitor_exit, c[1], c[2], c[3], c[4]);
      }
      break;
    case op::payload_monitor_p_exit:
      if (payload != nullptr && n == 4 && is_pid_or_atom(c[1]) && c[2].is_pid() &&
          c[3].is_reference()) {
        return sig(signal_kind::monitor_exit, c[1], c[2], c[3], p);
      }
      break;
    case op::unlink_id:
    case op::unlink_id_ack:
      if (n == 4 && c[2].is_pid() && c[3].is_pid()) {
        const auto id = c[1].to_uint64();
        if (!id) break;
        return sig(*code == op::unlink_id ? signal_kind::unlink_id : signal_kind::unlink_id_ack,
                   c[2], c[3], {}, {}, *id);
      }
      break;
    case op::spawn_request:
    case op::spawn_request_tt:
      if (n >= 6 && c[2].is_pid()) {
        out.kind = incoming_control::what::spawn_request;
        spawn_request& r = out.spawn;
        r.req_id = c[1];
        r.from = c[2];
        r.group_leader = c[3];
        r.mfa = c[4];
        r.args = p;
        if (!c[5].is_proper_list()) {
          r.bad_options = true;
          break;
        }
        for (const term& o : c[5].list_elements()) {
          if (o.is_atom("link")) r.link = true;
          if (o.is_atom("monitor")) r.monitor = true;
        }
      }
      break;
    case op::spawn_reply:
    case op::spawn_reply_tt:
      if (n >= 5 && c[1].is_reference() && c[2].is_pid()) {
        const auto flags = c[3].to_int64();
        if (!flags || *flags < 0 || *flags > 3) break;
        out.kind = incoming_control::what::spawn_reply;
        out.reply = incoming_spawn_reply{c[1], c[2], static_cast<int>(*flags), c[4]};
      }
      break;
    default:
      break;
  }
  return out;
}

control_message spawn_request_message(const term& req_id, const term& from,
                                      const term& group_leader, const term& module,
                                      const term& function, const term& args, bool link,
                                      bool monitor) {
  std::vector<term> opts;
  if (link) opts.push_back(term::atom("link"));
  if (monitor) opts.push_back(term::atom("monitor"));
  const auto arity = static_cast<std::int64_t>(args.list_elements().size());
  return control_message{t({op::spawn_request, req_id, from, group_leader,
                            t({module, function, term(arity)}), term::list(opts)}),
                         args};
}

control_message spawn_reply(const term& req_id, const term& to, const term& result, int flags) {
  return control_message{t({op::spawn_reply, req_id, to, term(flags), result}), std::nullopt};
}

}  // namespace edist::node
