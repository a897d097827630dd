#include "edist/node/control.hpp"

#include <gtest/gtest.h>

namespace {

using edist::etf::atom;
using edist::etf::term;
using namespace edist::node;

const term a_pid = term::pid(atom("a@h"), 1, 0, 1);
const term b_pid = term::pid(atom("b@h"), 2, 0, 1);
const term ref = term::reference(atom("a@h"), 1, std::vector<std::uint32_t>{1, 2, 3});

term tup(std::initializer_list<term> e) {
  return term::tuple(e);
}

TEST(Control, SendFormsDependOnFlags) {
  remote_signal s{signal_kind::send, a_pid, b_pid, {}, term(5), 0};
  auto m = to_control(s, {}, term());
  ASSERT_TRUE(m);
  EXPECT_EQ(m->control, tup({22, a_pid, b_pid}));
  EXPECT_EQ(m->payload, term(5));
  control_features old{false, false, false};
  m = to_control(s, old, term());
  EXPECT_EQ(m->control, tup({2, atom(""), b_pid}));
  s.from = term();  // anonymous send
  m = to_control(s, {}, term());
  EXPECT_EQ(m->control, tup({2, atom(""), b_pid}));
}

TEST(Control, RegSendUsesStandInSender) {
  remote_signal s{signal_kind::reg_send, term(), atom("shell"), {}, term(1), 0};
  auto m = to_control(s, {}, a_pid);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->control, tup({6, a_pid, atom(""), atom("shell")}));
  EXPECT_FALSE(to_control(s, {}, term()));
}

TEST(Control, ExitFormsAndUnlinkIds) {
  remote_signal s{signal_kind::exit, a_pid, b_pid, {}, atom("boom"), 0};
  EXPECT_EQ(to_control(s, {}, term())->control, tup({24, a_pid, b_pid}));
  EXPECT_EQ(to_control(s, {false, false, false}, term())->control,
            tup({3, a_pid, b_pid, atom("boom")}));
  s.kind = signal_kind::monitor_exit;
  s.ref = ref;
  EXPECT_EQ(to_control(s, {}, term())->control, tup({28, a_pid, b_pid, ref}));
  remote_signal u{signal_kind::unlink_id, a_pid, b_pid, {}, {}, 1ull << 40};
  EXPECT_EQ(to_control(u, {}, term())->control, tup({35, term(1ull << 40), a_pid, b_pid}));
  remote_signal al{signal_kind::alias_send, a_pid, ref, {}, term(1), 0};
  EXPECT_FALSE(to_control(al, {true, true, false}, term()));
  EXPECT_EQ(to_control(al, {}, term())->control, tup({33, a_pid, ref}));
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
    auto in = from_control(r.control, r.with_payload ? &p : nullptr);
    ASSERT_EQ(in.kind, incoming_control::what::signal) << r.control[0].as_int64();
    EXPECT_EQ(in.signal.kind, r.kind) << r.control[0].as_int64();
  }
  auto ex = from_control(tup({3, b_pid, a_pid, atom("r")}), nullptr);
  EXPECT_EQ(ex.signal.payload, atom("r"));
  auto pex = from_control(tup({24, b_pid, a_pid}), &p);
  EXPECT_EQ(pex.signal.payload, p);
  // The reason of the payload forms (and their _TT variants) is the payload, not a tuple field.
  for (const term& c :
       {tup({25, b_pid, a_pid, tt}), tup({26, b_pid, a_pid}), tup({27, b_pid, a_pid, tt})}) {
    auto in = from_control(c, &p);
    EXPECT_EQ(in.signal.payload, p);
    EXPECT_EQ(in.signal.from, b_pid);
    EXPECT_EQ(in.signal.to, a_pid);
  }
  // PAYLOAD_MONITOR_P_EXIT: BEAM's answer to a monitor of a name it does not know, by name.
  auto pmx = from_control(tup({28, atom("nobody"), a_pid, ref}), &p);
  EXPECT_EQ(pmx.signal.from, atom("nobody"));
  EXPECT_EQ(pmx.signal.ref, ref);
  EXPECT_EQ(pmx.signal.payload, p);
  EXPECT_EQ(from_control(tup({28, b_pid, a_pid, ref}), nullptr).kind,
            incoming_control::what::ignored);
  auto ul = from_control(tup({35, 7, b_pid, a_pid}), nullptr);
  EXPECT_EQ(ul.signal.id, 7u);
  EXPECT_EQ(ul.signal.from, b_pid);
}

TEST(Control, MalformedIsIgnored) {
  const term p = term(1);
  for (const term& c :
       {term(1), tup({}), tup({atom("x"), 1}), tup({1, 2, 3}), tup({2, atom("")}),
        tup({99, a_pid, b_pid}), tup({19, b_pid, 5, ref}), tup({35, -1, b_pid, a_pid})}) {
    EXPECT_EQ(from_control(c, &p).kind, incoming_control::what::ignored);
  }
  // A payload operation without its payload.
  EXPECT_EQ(from_control(tup({24, b_pid, a_pid}), nullptr).kind, incoming_control::what::ignored);
}

TEST(Control, SpawnRequestAndReply) {
  const term mfa = tup({atom("erpc"), atom("execute_call"), 4});
  auto in = from_control(tup({29, ref, b_pid, b_pid, mfa, term()}), &mfa);
  ASSERT_EQ(in.kind, incoming_control::what::spawn_request);
  EXPECT_EQ(in.spawn.from, b_pid);
  EXPECT_EQ(in.spawn.mfa, mfa);
  EXPECT_EQ(in.spawn.args, mfa);
  EXPECT_FALSE(in.spawn.link);
  EXPECT_FALSE(in.spawn.monitor);
  auto reply = spawn_reply(ref, b_pid, atom("notsup"));
  EXPECT_EQ(reply.control, tup({31, ref, b_pid, 0, atom("notsup")}));
  EXPECT_EQ(spawn_reply(ref, b_pid, a_pid, spawn_flag::link | spawn_flag::monitor).control,
            tup({31, ref, b_pid, 3, a_pid}));
}

TEST(Control, SpawnRequestOptionsAndTraceTokenVariant) {
  const term mfa = tup({atom("m"), atom("f"), 0});
  const term opts =
      term::list({atom("monitor"), tup({atom("priority"), atom("low")}), atom("link")});
  const term args = term::list({});
  auto in = from_control(tup({29, ref, b_pid, a_pid, mfa, opts}), &args);
  ASSERT_EQ(in.kind, incoming_control::what::spawn_request);
  EXPECT_TRUE(in.spawn.link);
  EXPECT_TRUE(in.spawn.monitor);
  EXPECT_FALSE(in.spawn.bad_options);
  EXPECT_EQ(in.spawn.group_leader, a_pid);
  // SPAWN_REQUEST_TT: the trace token follows the options.
  auto tt = from_control(tup({30, ref, b_pid, a_pid, mfa, term::list({atom("link")}), atom("tok")}),
                         &args);
  ASSERT_EQ(tt.kind, incoming_control::what::spawn_request);
  EXPECT_TRUE(tt.spawn.link);
  EXPECT_FALSE(tt.spawn.monitor);
  // An improper option list is still a request (to be answered badarg), never ignored.
  auto bad =
      from_control(tup({29, ref, b_pid, a_pid, mfa, term::list({atom("link")}, atom("x"))}), &args);
  ASSERT_EQ(bad.kind, incoming_control::what::spawn_request);
  EXPECT_TRUE(bad.spawn.bad_options);
}

}  // namespace
