#include "edist/dist/control_message.hpp"

#include <array>
#include <type_traits>

#include "edist/dist/error.hpp"

namespace edist::dist {
namespace {

// For exhaustiveness checks over control_message's alternatives.
template <class>
struct dependent_false : std::false_type {};

const term& empty_atom() {
  static const term a = term::atom("");
  return a;
}

term with_token(std::initializer_list<term> fields, const std::optional<term>& token) {
  std::vector<term> v(fields);
  if (token) v.push_back(*token);
  return term::tuple(std::move(v));
}

bool is_proc(const term& t) {
  return t.is_pid() || t.is_atom();
}

// Field checks over the control tuple's elements, recording the first failure.
class checker {
 public:
  checker(std::span<const term> e, std::string* detail) : e_(e), detail_(detail) {}

  bool arity(std::size_t n) {
    if (e_.size() == n) return true;
    return fail("wrong arity " + std::to_string(e_.size()));
  }
  const term& pid(std::size_t i, const char* what) {
    if (!e_[i].is_pid()) fail(std::string(what) + " is not a pid");
    return e_[i];
  }
  const term& ref(std::size_t i, const char* what) {
    if (!e_[i].is_reference()) fail(std::string(what) + " is not a reference");
    return e_[i];
  }
  const term& atom(std::size_t i, const char* what) {
    if (!e_[i].is_atom()) fail(std::string(what) + " is not an atom");
    return e_[i];
  }
  const term& proc(std::size_t i, const char* what) {
    if (!is_proc(e_[i])) fail(std::string(what) + " is neither a pid nor an atom");
    return e_[i];
  }
  const term& any(std::size_t i) { return e_[i]; }
  std::uint64_t u64(std::size_t i, const char* what) {
    auto v = e_[i].to_uint64();
    if (!v) fail(std::string(what) + " is not a non-negative integer");
    return v.value_or(0);
  }
  bool ok() const { return ok_; }
  bool fail(std::string why) {
    if (ok_ && detail_) *detail_ = std::move(why);
    ok_ = false;
    return false;
  }

 private:
  std::span<const term> e_;
  std::string* detail_;
  bool ok_ = true;
};

}  // namespace

int operation(const control_message& m) noexcept {
  return std::visit(
      [](const auto& c) -> int {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, ctrl::link>)
          return op::link;
        else if constexpr (std::is_same_v<T, ctrl::send>)
          return c.trace_token ? op::send_tt : op::send;
        else if constexpr (std::is_same_v<T, ctrl::exit>)
          return c.trace_token ? op::exit_tt : op::exit;
        else if constexpr (std::is_same_v<T, ctrl::unlink>)
          return op::unlink;
        else if constexpr (std::is_same_v<T, ctrl::node_link>)
          return op::node_link;
        else if constexpr (std::is_same_v<T, ctrl::reg_send>)
          return c.trace_token ? op::reg_send_tt : op::reg_send;
        else if constexpr (std::is_same_v<T, ctrl::group_leader>)
          return op::group_leader;
        else if constexpr (std::is_same_v<T, ctrl::exit2>)
          return c.trace_token ? op::exit2_tt : op::exit2;
        else if constexpr (std::is_same_v<T, ctrl::monitor_p>)
          return op::monitor_p;
        else if constexpr (std::is_same_v<T, ctrl::demonitor_p>)
          return op::demonitor_p;
        else if constexpr (std::is_same_v<T, ctrl::monitor_p_exit>)
          return op::monitor_p_exit;
        else if constexpr (std::is_same_v<T, ctrl::send_sender>)
          return c.trace_token ? op::send_sender_tt : op::send_sender;
        else if constexpr (std::is_same_v<T, ctrl::payload_exit>)
          return c.trace_token ? op::payload_exit_tt : op::payload_exit;
        else if constexpr (std::is_same_v<T, ctrl::payload_exit2>)
          return c.trace_token ? op::payload_exit2_tt : op::payload_exit2;
        else if constexpr (std::is_same_v<T, ctrl::payload_monitor_p_exit>)
          return op::payload_monitor_p_exit;
        else if constexpr (std::is_same_v<T, ctrl::spawn_request>)
          return c.trace_token ? op::spawn_request_tt : op::spawn_request;
        else if constexpr (std::is_same_v<T, ctrl::spawn_reply>)
          return c.trace_token ? op::spawn_reply_tt : op::spawn_reply;
        else if constexpr (std::is_same_v<T, ctrl::alias_send>)
          return c.trace_token ? op::alias_send_tt : op::alias_send;
        else if constexpr (std::is_same_v<T, ctrl::unlink_id>)
          return op::unlink_id;
        else if constexpr (std::is_same_v<T, ctrl::unlink_id_ack>)
          return op::unlink_id_ack;
        else
          static_assert(dependent_false<T>::value);
      },
      m);
}

bool has_payload(int operation) noexcept {
  switch (operation) {
    case op::send:
    case op::send_tt:
    case op::reg_send:
    case op::reg_send_tt:
    case op::send_sender:
    case op::send_sender_tt:
    case op::payload_exit:
    case op::payload_exit_tt:
    case op::payload_exit2:
    case op::payload_exit2_tt:
    case op::payload_monitor_p_exit:
    case op::spawn_request:
    case op::spawn_request_tt:
    case op::alias_send:
    case op::alias_send_tt:
      return true;
    default:
      return false;
  }
}

bool has_payload(const control_message& m) noexcept {
  return has_payload(operation(m));
}

term to_term(const control_message& m) {
  const term code(operation(m));
  return std::visit(
      [&](const auto& c) -> term {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, ctrl::link> || std::is_same_v<T, ctrl::unlink> ||
                      std::is_same_v<T, ctrl::group_leader>) {
          return term::tuple({code, c.from, c.to});
        } else if constexpr (std::is_same_v<T, ctrl::send>) {
          return with_token({code, empty_atom(), c.to}, c.trace_token);
        } else if constexpr (std::is_same_v<T, ctrl::exit> || std::is_same_v<T, ctrl::exit2>) {
          if (c.trace_token) return term::tuple({code, c.from, c.to, *c.trace_token, c.reason});
          return term::tuple({code, c.from, c.to, c.reason});
        } else if constexpr (std::is_same_v<T, ctrl::node_link>) {
          return term::tuple({code});
        } else if constexpr (std::is_same_v<T, ctrl::reg_send>) {
          return with_token({code, c.from, empty_atom(), c.to_name}, c.trace_token);
        } else if constexpr (std::is_same_v<T, ctrl::monitor_p> ||
                             std::is_same_v<T, ctrl::demonitor_p>) {
          return term::tuple({code, c.from, c.to_proc, c.ref});
        } else if constexpr (std::is_same_v<T, ctrl::monitor_p_exit>) {
          return term::tuple({code, c.from_proc, c.to, c.ref, c.reason});
        } else if constexpr (std::is_same_v<T, ctrl::send_sender> ||
                             std::is_same_v<T, ctrl::payload_exit> ||
                             std::is_same_v<T, ctrl::payload_exit2>) {
          return with_token({code, c.from, c.to}, c.trace_token);
        } else if constexpr (std::is_same_v<T, ctrl::payload_monitor_p_exit>) {
          return term::tuple({code, c.from_proc, c.to, c.ref});
        } else if constexpr (std::is_same_v<T, ctrl::spawn_request>) {
          const term mfa = term::tuple({c.module, c.function, term(c.arity)});
          return with_token({code, c.req_id, c.from, c.group_leader, mfa, c.options},
                            c.trace_token);
        } else if constexpr (std::is_same_v<T, ctrl::spawn_reply>) {
          return with_token({code, c.req_id, c.to, term(c.flags), c.result}, c.trace_token);
        } else if constexpr (std::is_same_v<T, ctrl::alias_send>) {
          return with_token({code, c.from, c.alias}, c.trace_token);
        } else if constexpr (std::is_same_v<T, ctrl::unlink_id> ||
                             std::is_same_v<T, ctrl::unlink_id_ack>) {
          return term::tuple({code, term(c.id), c.from, c.to});
        } else {
          static_assert(dependent_false<T>::value);
        }
      },
      m);
}

void encode_control(const control_message& m, etf::encode_buffer& out,
                    const etf::encode_options& options, const term* payload) {
  // The fields in tuple order, as to_term() lays them out; integers are immediate terms on the
  // stack, so nothing here allocates or counts references (but spawn_request's {M, F, A}).
  const term code(operation(m));
  auto write = [&](std::initializer_list<const term*> fields, const std::optional<term>& token) {
    std::array<const term*, 8> all;
    std::size_t n = 0;
    for (const term* f : fields) all[n++] = f;
    if (token) all[n++] = &*token;
    etf::encode_tuple(std::span<const term* const>(all.data(), n), out, options, payload);
  };
  static const std::optional<term> no_token;
  std::visit(
      [&](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, ctrl::link> || std::is_same_v<T, ctrl::unlink> ||
                      std::is_same_v<T, ctrl::group_leader>) {
          write({&code, &c.from, &c.to}, no_token);
        } else if constexpr (std::is_same_v<T, ctrl::send>) {
          write({&code, &empty_atom(), &c.to}, c.trace_token);
        } else if constexpr (std::is_same_v<T, ctrl::exit> || std::is_same_v<T, ctrl::exit2>) {
          if (c.trace_token) {
            write({&code, &c.from, &c.to, &*c.trace_token, &c.reason}, no_token);
          } else {
            write({&code, &c.from, &c.to, &c.reason}, no_token);
          }
        } else if constexpr (std::is_same_v<T, ctrl::node_link>) {
          write({&code}, no_token);
        } else if constexpr (std::is_same_v<T, ctrl::reg_send>) {
          write({&code, &c.from, &empty_atom(), &c.to_name}, c.trace_token);
        } else if constexpr (std::is_same_v<T, ctrl::monitor_p> ||
                             std::is_same_v<T, ctrl::demonitor_p>) {
          write({&code, &c.from, &c.to_proc, &c.ref}, no_token);
        } else if constexpr (std::is_same_v<T, ctrl::monitor_p_exit>) {
          write({&code, &c.from_proc, &c.to, &c.ref, &c.reason}, no_token);
        } else if constexpr (std::is_same_v<T, ctrl::send_sender> ||
                             std::is_same_v<T, ctrl::payload_exit> ||
                             std::is_same_v<T, ctrl::payload_exit2>) {
          write({&code, &c.from, &c.to}, c.trace_token);
        } else if constexpr (std::is_same_v<T, ctrl::payload_monitor_p_exit>) {
          write({&code, &c.from_proc, &c.to, &c.ref}, no_token);
        } else if constexpr (std::is_same_v<T, ctrl::spawn_request>) {
          const term mfa = term::tuple({c.module, c.function, term(c.arity)});
          write({&code, &c.req_id, &c.from, &c.group_leader, &mfa, &c.options}, c.trace_token);
        } else if constexpr (std::is_same_v<T, ctrl::spawn_reply>) {
          const term flags(c.flags);
          write({&code, &c.req_id, &c.to, &flags, &c.result}, c.trace_token);
        } else if constexpr (std::is_same_v<T, ctrl::alias_send>) {
          write({&code, &c.from, &c.alias}, c.trace_token);
        } else if constexpr (std::is_same_v<T, ctrl::unlink_id> ||
                             std::is_same_v<T, ctrl::unlink_id_ack>) {
          const term id(c.id);
          write({&code, &id, &c.from, &c.to}, no_token);
        } else {
          static_assert(dependent_false<T>::value);
        }
      },
      m);
}

std::error_code from_term(const term& t, control_message& out, std::string* detail) {
  if (!t.is_tuple()) {
    if (detail) *detail = "control message is not a non-empty tuple";
    return errc::bad_control_message;
  }
  return from_elements(t.tuple_elements(), out, detail);
}

std::error_code from_elements(std::span<const term> e, control_message& out, std::string* detail) {
  if (e.empty()) {
    if (detail) *detail = "control message is not a non-empty tuple";
    return errc::bad_control_message;
  }
  const auto code = e[0].to_int64();
  if (!code) {
    if (detail) *detail = "operation is not an integer";
    return errc::bad_control_message;
  }
  checker c(e, detail);
  auto done = [&](control_message&& m) -> std::error_code {
    if (!c.ok()) return errc::bad_control_message;
    out = std::move(m);
    return {};
  };
  auto token_at = [&](std::size_t i) -> std::optional<term> { return e[i]; };

  switch (*code) {
    case op::link:
      if (!c.arity(3)) break;
      return done(ctrl::link{c.pid(1, "from"), c.pid(2, "to")});
    case op::send:
    case op::send_tt: {
      const bool tt = *code == op::send_tt;
      if (!c.arity(tt ? 4 : 3)) break;
      return done(ctrl::send{c.pid(2, "to"), tt ? token_at(3) : std::nullopt});
    }
    case op::exit:
    case op::exit2:
      if (!c.arity(4)) break;
      if (*code == op::exit)
        return done(ctrl::exit{c.pid(1, "from"), c.pid(2, "to"), c.any(3), {}});
      return done(ctrl::exit2{c.pid(1, "from"), c.pid(2, "to"), c.any(3), {}});
    case op::exit_tt:
    case op::exit2_tt:
      if (!c.arity(5)) break;
      if (*code == op::exit_tt) {
        return done(ctrl::exit{c.pid(1, "from"), c.pid(2, "to"), c.any(4), token_at(3)});
      }
      return done(ctrl::exit2{c.pid(1, "from"), c.pid(2, "to"), c.any(4), token_at(3)});
    case op::unlink:
      if (!c.arity(3)) break;
      return done(ctrl::unlink{c.pid(1, "from"), c.pid(2, "to")});
    case op::node_link:
      if (!c.arity(1)) break;
      return done(ctrl::node_link{});
    case op::reg_send:
    case op::reg_send_tt: {
      const bool tt = *code == op::reg_send_tt;
      if (!c.arity(tt ? 5 : 4)) break;
      return done(
          ctrl::reg_send{c.pid(1, "from"), c.atom(3, "to_name"), tt ? token_at(4) : std::nullopt});
    }
    case op::group_leader:
      if (!c.arity(3)) break;
      return done(ctrl::group_leader{c.pid(1, "from"), c.pid(2, "to")});
    case op::monitor_p:
    case op::demonitor_p:
      if (!c.arity(4)) break;
      if (*code == op::monitor_p) {
        return done(ctrl::monitor_p{c.pid(1, "from"), c.proc(2, "to"), c.ref(3, "ref")});
      }
      return done(ctrl::demonitor_p{c.pid(1, "from"), c.proc(2, "to"), c.ref(3, "ref")});
    case op::monitor_p_exit:
      if (!c.arity(5)) break;
      return done(
          ctrl::monitor_p_exit{c.proc(1, "from"), c.pid(2, "to"), c.ref(3, "ref"), c.any(4)});
    case op::send_sender:
    case op::send_sender_tt: {
      const bool tt = *code == op::send_sender_tt;
      if (!c.arity(tt ? 4 : 3)) break;
      return done(
          ctrl::send_sender{c.pid(1, "from"), c.pid(2, "to"), tt ? token_at(3) : std::nullopt});
    }
    case op::payload_exit:
    case op::payload_exit_tt:
    case op::payload_exit2:
    case op::payload_exit2_tt: {
      const bool tt = *code == op::payload_exit_tt || *code == op::payload_exit2_tt;
      if (!c.arity(tt ? 4 : 3)) break;
      auto token = tt ? token_at(3) : std::nullopt;
      if (*code == op::payload_exit || *code == op::payload_exit_tt) {
        return done(ctrl::payload_exit{c.pid(1, "from"), c.pid(2, "to"), token});
      }
      return done(ctrl::payload_exit2{c.pid(1, "from"), c.pid(2, "to"), token});
    }
    case op::payload_monitor_p_exit:
      if (!c.arity(4)) break;
      return done(ctrl::payload_monitor_p_exit{c.proc(1, "from"), c.pid(2, "to"), c.ref(3, "ref")});
    case op::spawn_request:
    case op::spawn_request_tt: {
      const bool tt = *code == op::spawn_request_tt;
      if (!c.arity(tt ? 7 : 6)) break;
      ctrl::spawn_request r;
      r.req_id = c.ref(1, "request id");
      r.from = c.pid(2, "from");
      r.group_leader = c.pid(3, "group leader");
      const term& mfa = e[4];
      if (!mfa.is_tuple(3) || !mfa[0].is_atom() || !mfa[1].is_atom() || !mfa[2].to_uint64() ||
          *mfa[2].to_uint64() > 255) {
        c.fail("{Module, Function, Arity} malformed");
        break;
      }
      r.module = mfa[0];
      r.function = mfa[1];
      r.arity = static_cast<std::uint32_t>(*mfa[2].to_uint64());
      r.options = e[5];
      if (!r.options.is_proper_list()) c.fail("spawn options are not a proper list");
      if (tt) r.trace_token = e[6];
      return done(std::move(r));
    }
    case op::spawn_reply:
    case op::spawn_reply_tt: {
      const bool tt = *code == op::spawn_reply_tt;
      if (!c.arity(tt ? 6 : 5)) break;
      const auto flags = c.u64(3, "flags");
      if (flags > 0xffffffffu) c.fail("flags out of range");
      return done(ctrl::spawn_reply{c.ref(1, "request id"), c.pid(2, "to"),
                                    static_cast<std::uint32_t>(flags), c.proc(4, "result"),
                                    tt ? token_at(5) : std::nullopt});
    }
    case op::alias_send:
    case op::alias_send_tt: {
      const bool tt = *code == op::alias_send_tt;
      if (!c.arity(tt ? 4 : 3)) break;
      return done(
          ctrl::alias_send{c.pid(1, "from"), c.ref(2, "alias"), tt ? token_at(3) : std::nullopt});
    }
    case op::unlink_id:
    case op::unlink_id_ack:
      if (!c.arity(4)) break;
      if (*code == op::unlink_id) {
        return done(ctrl::unlink_id{c.u64(1, "id"), c.pid(2, "from"), c.pid(3, "to")});
      }
      return done(ctrl::unlink_id_ack{c.u64(1, "id"), c.pid(2, "from"), c.pid(3, "to")});
    default:
      c.fail("unknown operation " + std::to_string(*code));
      break;
  }
  if (c.ok()) c.fail("malformed operation " + std::to_string(*code));
  return errc::bad_control_message;
}

}  // namespace edist::dist
