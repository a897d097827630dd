#include "edist/node/control.hpp"

#include <gtest/gtest.h>

namespace {

using edist::etf::atom;
using edist::etf::term;
using namespace edist::node;
namespace dist = edist::dist;
namespace ctrl = edist::dist::ctrl;

const term a_pid = term::pid(atom("a@h"), 1, 0, 1);
const term b_pid = term::pid(atom("b@h"), 2, 0, 1);
const term ref = term::reference(atom("a@h"), 1, std::vector<std::uint32_t>{1, 2, 3});

term tup(std::initializer_list<term> e) {
  return term::tuple(e);
}

// The control tuple the connection writes for a message.
term wire(const dist::dist_message& m) {
  return dist::to_term(m.control);
}

// A control tuple (and payload) as it arrives: the connection parses the tuple into the
// typed message (refusing a malformed one: `refused`), then the node interprets it.
incoming_control incoming(const term& control, const term* payload, bool* refused = nullptr) {
  dist::dist_message m;
  const bool parse_failed = static_cast<bool>(dist::from_term(control, m.control));
  if (refused != nullptr) *refused = parse_failed;
  if (parse_failed) return {};
  if (payload != nullptr) m.payload = *payload;
  return from_control(std::move(m));
}

TEST(Control, SendFormsDependOnFlags) {
  remote_signal s{signal_kind::send, a_pid, b_pid, {}, term(5), 0};
  auto m = to_control(s, {}, term());
  ASSERT_TRUE(m);
  EXPECT_EQ(wire(*m), tup({22, a_pid, b_pid}));
  EXPECT_EQ(m->payload, term(5));
  control_features old{false, false, false};
  m = to_control(s, old, term());
  EXPECT_EQ(wire(*m), tup({2, atom(""), b_pid}));
  s.from = term();  // anonymous send
  m = to_control(s, {}, term());
  EXPECT_EQ(wire(*m), tup({2, atom(""), b_pid}));
  EXPECT_EQ(m->payload, term(5));
}

TEST(Control, RegSendUsesStandInSender) {
  remote_signal s{signal_kind::reg_send, term(), atom("shell"), {}, term(1), 0};
  auto m = to_control(s, {}, a_pid);
  ASSERT_TRUE(m);
  EXPECT_EQ(wire(*m), tup({6, a_pid, atom(""), atom("shell")}));
  EXPECT_EQ(m->payload, term(1));
  EXPECT_FALSE(to_control(s, {}, term()));
}

TEST(Control, ExitFormsAndUnlinkIds) {
  remote_signal s{signal_kind::exit, a_pid, b_pid, {}, atom("boom"), 0};
  auto pe = to_control(s, {}, term());
  EXPECT_EQ(wire(*pe), tup({24, a_pid, b_pid}));
  EXPECT_EQ(pe->payload, atom("boom"));
  auto e = to_control(s, {false, false, false}, term());
  EXPECT_EQ(wire(*e), tup({3, a_pid, b_pid, atom("boom")}));
  EXPECT_FALSE(e->payload);
  s.kind = signal_kind::monitor_exit;
  s.ref = ref;
  EXPECT_EQ(wire(*to_control(s, {}, term())), tup({28, a_pid, b_pid, ref}));
  EXPECT_EQ(wire(*to_control(s, {false, false, false}, term())),
            tup({21, a_pid, b_pid, ref, atom("boom")}));
  remote_signal u{signal_kind::unlink_id, a_pid, b_pid, {}, {}, 1ull << 40};
  EXPECT_EQ(wire(*to_control(u, {}, term())), tup({35, term(1ull << 40), a_pid, b_pid}));
  remote_signal al{signal_kind::alias_send, a_pid, ref, {}, term(1), 0};
  EXPECT_FALSE(to_control(al, {true, true, false}, term()));
  EXPECT_EQ(wire(*to_control(al, {}, term())), tup({33, a_pid, ref}));
}

TEST(Control, EveryOutgoingMessageCarriesPayloadExactlyWhenItsOperationHasOne) {
  const term reason = atom("r");
  const remote_signal signals[] = {
      {signal_kind::send, a_pid, b_pid, {}, reason, 0},
      {signal_kind::reg_send, a_pid, atom("x"), {}, reason, 0},
      {signal_kind::alias_send, a_pid, ref, {}, reason, 0},
      {signal_kind::link, a_pid, b_pid, {}, {}, 0},
      {signal_kind::unlink_id, a_pid, b_pid, {}, {}, 3},
      {signal_kind::unlink_id_ack, a_pid, b_pid, {}, {}, 3},
      {signal_kind::exit, a_pid, b_pid, {}, reason, 0},
      {signal_kind::exit2, a_pid, b_pid, {}, reason, 0},
      {signal_kind::monitor, a_pid, b_pid, ref, {}, 0},
      {signal_kind::demonitor, a_pid, atom("x"), ref, {}, 0},
      {signal_kind::monitor_exit, atom("x"), b_pid, ref, reason, 0},
  };
  for (const control_features f : {control_features{}, control_features{false, false, true}}) {
    for (const auto& s : signals) {
      auto m = to_control(s, f, term());
      ASSERT_TRUE(m) << to_string(s.kind);
      EXPECT_EQ(m->payload.has_value(), dist::has_payload(m->control)) << to_string(s.kind);
      // What the peer reads back is the signal that was sent.
      auto back = from_control(std::move(*m));
      ASSERT_EQ(back.kind, incoming_control::what::signal) << to_string(s.kind);
      EXPECT_EQ(back.signal.kind, s.kind);
      EXPECT_EQ(back.signal.to, s.to);
      EXPECT_EQ(back.signal.payload, s.payload) << to_string(s.kind);
      EXPECT_EQ(back.signal.id, s.id);
    }
  }
}

TEST(Control, ParsesEveryIncomingForm) {
  const term p = term(9);
  struct row {
    term control;
    bool with_payload;
    signal_kind kind;
  };
  const term tt = atom("token");
  std::vector<row> rows = {
      {tup({1, b_pid, a_pid}), false, signal_kind::link},
      {tup({2, atom(""), a_pid}), true, signal_kind::send},
      {tup({12, atom(""), a_pid, tt}), true, signal_kind::send},
      {tup({22, b_pid, a_pid}), true, signal_kind::send},
      {tup({3, b_pid, a_pid, atom("r")}), false, signal_kind::exit},
      {tup({13, b_pid, a_pid, tt, atom("r")}), false, signal_kind::exit},
      {tup({24, b_pid, a_pid}), true, signal_kind::exit},
      {tup({25, b_pid, a_pid, tt}), true, signal_kind::exit},
      {tup({23, b_pid, a_pid, tt}), true, signal_kind::send},
      {tup({18, b_pid, a_pid, tt, atom("r")}), false, signal_kind::exit2},
      {tup({27, b_pid, a_pid, tt}), true, signal_kind::exit2},
      {tup({28, atom("shell"), a_pid, ref}), true, signal_kind::monitor_exit},
      {tup({34, b_pid, ref, tt}), true, signal_kind::alias_send},
      {tup({6, b_pid, atom(""), atom("shell")}), true, signal_kind::reg_send},
      {tup({16, b_pid, atom(""), atom("shell"), tt}), true, signal_kind::reg_send},
      {tup({8, b_pid, a_pid, atom("r")}), false, signal_kind::exit2},
      {tup({26, b_pid, a_pid}), true, signal_kind::exit2},
      {tup({19, b_pid, atom("shell"), ref}), false, signal_kind::monitor},
      {tup({20, b_pid, a_pid, ref}), false, signal_kind::demonitor},
      {tup({21, atom("shell"), a_pid, ref, atom("r")}), false, signal_kind::monitor_exit},
      {tup({28, b_pid, a_pid, ref}), true, signal_kind::monitor_exit},
      {tup({33, b_pid, ref}), true, signal_kind::alias_send},
      {tup({35, 7, b_pid, a_pid}), false, signal_kind::unlink_id},
      {tup({36, 7, b_pid, a_pid}), false, signal_kind::unlink_id_ack},
  };
  for (const auto& r : rows) {
    auto in = incoming(r.control, r.with_payload ? &p : nullptr);
    ASSERT_EQ(in.kind, incoming_control::what::signal) << r.control[0].as_int64();
    EXPECT_EQ(in.signal.kind, r.kind) << r.control[0].as_int64();
  }
  auto ex = incoming(tup({3, b_pid, a_pid, atom("r")}), nullptr);
  EXPECT_EQ(ex.signal.payload, atom("r"));
  auto pex = incoming(tup({24, b_pid, a_pid}), &p);
  EXPECT_EQ(pex.signal.payload, p);
  // The reason of the payload forms (and their _TT variants) is the payload, not a tuple field.
  for (const term& c :
       {tup({25, b_pid, a_pid, tt}), tup({26, b_pid, a_pid}), tup({27, b_pid, a_pid, tt})}) {
    auto in = incoming(c, &p);
    EXPECT_EQ(in.signal.payload, p);
    EXPECT_EQ(in.signal.from, b_pid);
    EXPECT_EQ(in.signal.to, a_pid);
  }
  // PAYLOAD_MONITOR_P_EXIT: BEAM's answer to a monitor of a name it does not know, by name.
  auto pmx = incoming(tup({28, atom("nobody"), a_pid, ref}), &p);
  EXPECT_EQ(pmx.signal.from, atom("nobody"));
  EXPECT_EQ(pmx.signal.ref, ref);
  EXPECT_EQ(pmx.signal.payload, p);
  EXPECT_EQ(incoming(tup({28, b_pid, a_pid, ref}), nullptr).kind, incoming_control::what::ignored);
  auto ul = incoming(tup({35, 7, b_pid, a_pid}), nullptr);
  EXPECT_EQ(ul.signal.id, 7u);
  EXPECT_EQ(ul.signal.from, b_pid);
  // The sender of a SEND_SENDER is kept.
  EXPECT_EQ(incoming(tup({22, b_pid, a_pid}), &p).signal.from, b_pid);
}

TEST(Control, MalformedIsIgnored) {
  const term p = term(1);
  // Tuples the connection's parser refuses (the connection then closes): never a signal.
  for (const term& c :
       {term(1), tup({}), tup({atom("x"), 1}), tup({1, 2, 3}), tup({2, atom("")}),
        tup({99, a_pid, b_pid}), tup({19, b_pid, 5, ref}), tup({35, -1, b_pid, a_pid})}) {
    bool refused = false;
    EXPECT_EQ(incoming(c, &p, &refused).kind, incoming_control::what::ignored);
    EXPECT_TRUE(refused);
  }
  // A payload operation without its payload.
  EXPECT_EQ(incoming(tup({24, b_pid, a_pid}), nullptr).kind, incoming_control::what::ignored);
  EXPECT_EQ(from_control({ctrl::send{a_pid, {}}, std::nullopt}).kind,
            incoming_control::what::ignored);
  // Typed messages built with fields of the wrong kind.
  EXPECT_EQ(from_control({ctrl::monitor_p{b_pid, term(5), ref}, std::nullopt}).kind,
            incoming_control::what::ignored);
  EXPECT_EQ(from_control({ctrl::link{term(1), a_pid}, std::nullopt}).kind,
            incoming_control::what::ignored);
  EXPECT_EQ(from_control({ctrl::reg_send{b_pid, term(3), {}}, p}).kind,
            incoming_control::what::ignored);
  EXPECT_EQ(
      from_control({ctrl::monitor_p_exit{b_pid, a_pid, term(2), atom("r")}, std::nullopt}).kind,
      incoming_control::what::ignored);
  // Operations the node does not act on.
  EXPECT_EQ(incoming(tup({4, b_pid, a_pid}), nullptr).kind, incoming_control::what::ignored);
  EXPECT_EQ(incoming(tup({5}), nullptr).kind, incoming_control::what::ignored);
  EXPECT_EQ(incoming(tup({7, b_pid, a_pid}), nullptr).kind, incoming_control::what::ignored);
}

TEST(Control, SpawnRequestAndReply) {
  const term mfa = tup({atom("erpc"), atom("execute_call"), 4});
  auto in = incoming(tup({29, ref, b_pid, b_pid, mfa, term()}), &mfa);
  ASSERT_EQ(in.kind, incoming_control::what::spawn_request);
  EXPECT_EQ(in.spawn.from, b_pid);
  EXPECT_EQ(in.spawn.mfa, mfa);
  EXPECT_EQ(in.spawn.args, mfa);
  EXPECT_FALSE(in.spawn.link);
  EXPECT_FALSE(in.spawn.monitor);
  auto reply = spawn_reply(ref, b_pid, atom("notsup"));
  EXPECT_EQ(wire(reply), tup({31, ref, b_pid, 0, atom("notsup")}));
  EXPECT_FALSE(reply.payload);
  EXPECT_EQ(wire(spawn_reply(ref, b_pid, a_pid,
                             ctrl::spawn_reply::flag_link | ctrl::spawn_reply::flag_monitor)),
            tup({31, ref, b_pid, 3, a_pid}));
  // The request as erlang:spawn_request/5 writes it.
  const term args = term::list({term(1), atom("x")});
  auto request = spawn_request_message(ref, a_pid, b_pid, atom("m"), atom("f"), args, true, true);
  EXPECT_EQ(wire(request), tup({29, ref, a_pid, b_pid, tup({atom("m"), atom("f"), 2}),
                                term::list({atom("link"), atom("monitor")})}));
  EXPECT_EQ(request.payload, args);
}

TEST(Control, IncomingSpawnReplies) {
  auto ok = incoming(tup({31, ref, a_pid, 3, b_pid}), nullptr);
  ASSERT_EQ(ok.kind, incoming_control::what::spawn_reply);
  EXPECT_EQ(ok.reply.req_id, ref);
  EXPECT_EQ(ok.reply.to, a_pid);
  EXPECT_EQ(ok.reply.flags, 3u);
  EXPECT_EQ(ok.reply.result, b_pid);
  // SPAWN_REPLY_TT: the token follows the result.
  auto tt = incoming(tup({32, ref, a_pid, 0, atom("badarg"), atom("tok")}), nullptr);
  ASSERT_EQ(tt.kind, incoming_control::what::spawn_reply);
  EXPECT_EQ(tt.reply.result, atom("badarg"));
  // Flags beyond link and monitor mean nothing we know.
  EXPECT_EQ(incoming(tup({31, ref, a_pid, 4, b_pid}), nullptr).kind,
            incoming_control::what::ignored);
}

TEST(Control, SpawnRequestOptionsAndTraceTokenVariant) {
  const term mfa = tup({atom("m"), atom("f"), 0});
  const term opts =
      term::list({atom("monitor"), tup({atom("priority"), atom("low")}), atom("link")});
  const term args = term::list({});
  auto in = incoming(tup({29, ref, b_pid, a_pid, mfa, opts}), &args);
  ASSERT_EQ(in.kind, incoming_control::what::spawn_request);
  EXPECT_TRUE(in.spawn.link);
  EXPECT_TRUE(in.spawn.monitor);
  EXPECT_FALSE(in.spawn.bad_options);
  EXPECT_EQ(in.spawn.group_leader, a_pid);
  // SPAWN_REQUEST_TT: the trace token follows the options.
  auto tt =
      incoming(tup({30, ref, b_pid, a_pid, mfa, term::list({atom("link")}), atom("tok")}), &args);
  ASSERT_EQ(tt.kind, incoming_control::what::spawn_request);
  EXPECT_TRUE(tt.spawn.link);
  EXPECT_FALSE(tt.spawn.monitor);
  // An improper option list is still a request (to be answered badarg), never ignored.
  ctrl::spawn_request improper{
      ref,         b_pid, a_pid, atom("m"), atom("f"), 0, term::list({atom("link")}, atom("x")),
      std::nullopt};
  auto bad = from_control({improper, args});
  ASSERT_EQ(bad.kind, incoming_control::what::spawn_request);
  EXPECT_TRUE(bad.spawn.bad_options);
}

}  // namespace
