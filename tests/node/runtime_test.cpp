// The local runtime without any network: pids, names, sends, links, monitors, exits, actors.
#include "edist/node/runtime.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <edist/etf/convert.hpp>
#include <edist/etf/match.hpp>
#include <set>
#include <thread>

namespace {

namespace asio = boost::asio;
namespace p = edist::etf::pattern;
using edist::etf::atom;
using edist::etf::term;
using edist::node::errc;
using edist::node::process;
using edist::node::runtime;
using namespace std::chrono_literals;

class Runtime : public ::testing::Test {
 protected:
  void TearDown() override { rt->shutdown(atom("shutdown")); }

  asio::io_context io;
  std::shared_ptr<runtime> rt = runtime::create(io.get_executor(), "cpp@localhost", 7);
};

term exit_msg(const term& from, const term& reason) {
  return term::tuple({atom("EXIT"), from, reason});
}

TEST_F(Runtime, PidsCarryNodeAndCreationAndAreUnique) {
  std::set<term> seen;
  std::vector<process> procs;
  for (int i = 0; i < 1000; ++i) {
    procs.push_back(rt->spawn());
    const term& pid = procs.back().pid();
    ASSERT_TRUE(pid.is_pid());
    EXPECT_EQ(pid.as_pid().node, atom("cpp@localhost"));
    EXPECT_EQ(pid.as_pid().creation, 7u);
    EXPECT_LT(pid.as_pid().id, 1u << 28);
    EXPECT_TRUE(seen.insert(pid).second);
  }
  procs.clear();  // all end; new ones still get fresh pids
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(seen.insert(rt->spawn().pid()).second);
  EXPECT_EQ(rt->process_count(), 0u);
}

TEST_F(Runtime, RefsAreUniqueAndOfThisNode) {
  term a = rt->make_ref(), b = rt->make_ref();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.as_reference().node, atom("cpp@localhost"));
  EXPECT_EQ(a.as_reference().creation, 7u);
}

TEST_F(Runtime, SendToPidNameAndNameNodePair) {
  process a = rt->spawn();
  process b = rt->spawn();
  EXPECT_FALSE(b.register_name(atom("shell")));
  EXPECT_FALSE(a.send(b.pid(), term(1)));
  EXPECT_FALSE(a.send(atom("shell"), term(2)));
  EXPECT_FALSE(a.send(term::tuple({atom("shell"), atom("cpp@localhost")}), term(3)));
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(*b.receive(0s), term(i));
  EXPECT_EQ(a.send(atom("nobody"), term(1)), errc::not_registered);
  EXPECT_EQ(a.send(term(42), term(1)), errc::invalid_target);
  // {Name, Node} of this node with no such name: dropped silently, as in Erlang.
  EXPECT_FALSE(a.send(term::tuple({atom("nobody"), atom("cpp@localhost")}), term(1)));
}

TEST_F(Runtime, SendToDeadPidOrOldCreationIsDropped) {
  term old;
  {
    process gone = rt->spawn();
    old = gone.pid();
  }
  process a = rt->spawn();
  EXPECT_FALSE(a.send(old, term(1)));
  const auto& f = a.pid().as_pid();
  term other_incarnation = term::pid(f.node, f.id, f.serial, 8);
  EXPECT_FALSE(a.send(other_incarnation, term(1)));
  EXPECT_FALSE(rt->is_alive(other_incarnation));
  EXPECT_EQ(a.mailbox_ptr()->size(), 0u);
}

TEST_F(Runtime, RegistryNamesAreUniqueAndFreedOnExit) {
  process a = rt->spawn();
  process b = rt->spawn();
  EXPECT_FALSE(a.register_name(atom("srv")));
  EXPECT_EQ(b.register_name(atom("srv")), errc::name_in_use);
  EXPECT_EQ(a.register_name(atom("other")), errc::already_registered);
  EXPECT_EQ(b.register_name(atom("undefined")), errc::invalid_name);
  EXPECT_EQ(rt->register_name(term(1), b.pid()), errc::invalid_name);
  EXPECT_EQ(rt->whereis(atom("srv")), a.pid());
  EXPECT_EQ(rt->registered(), std::vector<term>{atom("srv")});
  a.exit(atom("normal"));
  EXPECT_FALSE(rt->whereis(atom("srv")));
  EXPECT_FALSE(b.register_name(atom("srv")));
  EXPECT_FALSE(rt->unregister_name(atom("srv")));
  EXPECT_EQ(rt->unregister_name(atom("srv")), errc::not_registered);
  EXPECT_FALSE(b.register_name(atom("again")));
}

TEST_F(Runtime, SelectiveReceiveWithPattern) {
  process a = rt->spawn();
  rt->send(a.pid(), term(1));
  rt->send(a.pid(), edist::etf::tuple(atom("reply"), 42));
  std::int64_t v = 0;
  auto r = a.receive_match(p::tuple(atom("reply"), p::bind(v)), 1s);
  ASSERT_TRUE(r);
  EXPECT_EQ(v, 42);
  EXPECT_EQ(*a.receive(0s), term(1));
}

TEST_F(Runtime, LinkedProcessDiesWithAbnormalReason) {
  process a = rt->spawn();
  process b = rt->spawn();
  a.link(b.pid());
  b.exit(atom("boom"));
  EXPECT_FALSE(a.alive());
  EXPECT_EQ(a.exit_reason(), atom("boom"));
  EXPECT_EQ(a.receive(0s).error, errc::process_exited);
}

TEST_F(Runtime, NormalExitDoesNotPropagateButIsSeenWhenTrapping) {
  process a = rt->spawn();
  process t = rt->spawn();
  t.trap_exit(true);
  {
    process b = rt->spawn();
    a.link(b.pid());
    t.link(b.pid());
    term bpid = b.pid();
    // b's handle goes away: it ends with reason normal.
    (void)bpid;
  }
  EXPECT_TRUE(a.alive());
  auto m = t.receive(0s);
  ASSERT_TRUE(m);
  EXPECT_TRUE(
      edist::etf::match(*m, p::tuple(atom("EXIT"), p::is(edist::etf::kind::pid), atom("normal"))));
}

TEST_F(Runtime, TrapExitTurnsSignalsIntoMessages) {
  process a = rt->spawn();
  process b = rt->spawn();
  a.trap_exit(true);
  a.link(b.pid());
  b.exit(atom("crash"));
  EXPECT_TRUE(a.alive());
  EXPECT_EQ(*a.receive(0s), exit_msg(b.pid(), atom("crash")));
}

TEST_F(Runtime, KillCannotBeTrappedAndLinksSeeKilled) {
  process a = rt->spawn();
  process watcher = rt->spawn();
  watcher.trap_exit(true);
  a.trap_exit(true);
  watcher.link(a.pid());
  rt->exit(watcher.pid(), a.pid(), atom("kill"));
  EXPECT_FALSE(a.alive());
  EXPECT_EQ(a.exit_reason(), atom("killed"));
  EXPECT_EQ(*watcher.receive(0s), exit_msg(a.pid(), atom("killed")));
}

TEST_F(Runtime, Exit2NormalIsIgnoredUnlessToSelf) {
  process a = rt->spawn();
  process b = rt->spawn();
  b.exit(a.pid(), atom("normal"));
  EXPECT_TRUE(a.alive());
  a.exit(a.pid(), atom("normal"));
  EXPECT_FALSE(a.alive());
}

TEST_F(Runtime, LinkToDeadPidGivesNoproc) {
  term dead;
  { dead = rt->spawn().pid(); }
  process a = rt->spawn();
  a.trap_exit(true);
  a.link(dead);
  EXPECT_EQ(*a.receive(0s), exit_msg(dead, atom("noproc")));
  process b = rt->spawn();
  b.link(dead);
  EXPECT_FALSE(b.alive());
  EXPECT_EQ(b.exit_reason(), atom("noproc"));
}

TEST_F(Runtime, UnlinkStopsPropagation) {
  process a = rt->spawn();
  process b = rt->spawn();
  a.link(b.pid());
  b.unlink(a.pid());
  b.exit(atom("boom"));
  EXPECT_TRUE(a.alive());
}

TEST_F(Runtime, ChainOfLinksDoesNotRecurse) {
  std::vector<process> chain;
  for (int i = 0; i < 20000; ++i) {
    chain.push_back(rt->spawn());
    if (i > 0) chain[i].link(chain[i - 1].pid());
  }
  chain.front().exit(atom("cascade"));
  for (const auto& pr : chain) EXPECT_EQ(pr.exit_reason(), atom("cascade"));
}

TEST_F(Runtime, MonitorDeliversDownAndDemonitorStopsIt) {
  process w = rt->spawn();
  process t = rt->spawn();
  term ref = w.monitor(t.pid());
  ASSERT_TRUE(ref.is_reference());
  t.exit(atom("bye"));
  EXPECT_EQ(*w.receive(0s),
            term::tuple({atom("DOWN"), ref, atom("process"), t.pid(), atom("bye")}));

  process t2 = rt->spawn();
  term ref2 = w.monitor(t2.pid());
  EXPECT_TRUE(w.demonitor(ref2));
  EXPECT_FALSE(w.demonitor(ref2));
  t2.exit(atom("bye"));
  EXPECT_EQ(w.receive(0s).error, errc::timeout);
}

TEST_F(Runtime, MonitorByNameReportsNameNodeAndNoproc) {
  process w = rt->spawn();
  process t = rt->spawn();
  t.register_name(atom("srv"));
  term ref = w.monitor(atom("srv"));
  t.exit(atom("stop"));
  term item = term::tuple({atom("srv"), atom("cpp@localhost")});
  EXPECT_EQ(*w.receive(0s), term::tuple({atom("DOWN"), ref, atom("process"), item, atom("stop")}));
  term ref2 = w.monitor(term::tuple({atom("srv"), atom("cpp@localhost")}));
  EXPECT_EQ(*w.receive(0s),
            term::tuple({atom("DOWN"), ref2, atom("process"), item, atom("noproc")}));
  EXPECT_TRUE(w.monitor(term(5)).is_nil());
}

TEST_F(Runtime, DemonitorFlushRemovesQueuedDown) {
  process w = rt->spawn();
  process t = rt->spawn();
  term ref = w.monitor(t.pid());
  t.exit(atom("x"));
  EXPECT_FALSE(w.demonitor(ref, true));
  EXPECT_EQ(w.mailbox_ptr()->size(), 0u);
}

TEST_F(Runtime, WatcherDeathRemovesItsMonitors) {
  process t = rt->spawn();
  {
    process w = rt->spawn();
    w.monitor(t.pid());
  }
  t.exit(atom("x"));  // nothing to deliver to; must not crash or leak
  EXPECT_EQ(rt->process_count(), 0u);
}

TEST_F(Runtime, AliasDeliversUntilUnalias) {
  process a = rt->spawn();
  process b = rt->spawn();
  term al = a.make_alias();
  EXPECT_FALSE(b.send(al, term(1)));
  EXPECT_EQ(*a.receive(0s), term(1));
  EXPECT_TRUE(a.unalias(al));
  b.send(al, term(2));
  EXPECT_EQ(a.receive(0s).error, errc::timeout);
}

TEST_F(Runtime, AsyncReceiveWithCoroutine) {
  process a = rt->spawn();
  term got;
  std::error_code ec_timeout;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        // The signature carries a std::error_code, so use_awaitable yields (ec, message).
        auto [ec, msg] = co_await a.async_receive(asio::use_awaitable);
        EXPECT_FALSE(ec);
        got = msg;
        auto [ec2, none] = co_await a.async_receive(10ms, asio::use_awaitable);
        ec_timeout = ec2;
        EXPECT_TRUE(none.is_nil());
      },
      asio::detached);
  std::thread sender([this, pid = a.pid()] {
    std::this_thread::sleep_for(20ms);
    rt->send(pid, atom("hello"));
  });
  io.run();  // the pending receive keeps run() busy until the message arrives
  sender.join();
  EXPECT_EQ(got, atom("hello"));
  EXPECT_EQ(ec_timeout, errc::timeout);
}

TEST_F(Runtime, ActorAnswersCallsAndReportsExit) {
  std::atomic<int> handled{0};
  term exit_reason;
  term srv = rt->spawn_actor(
      [&](process& self, const term& msg) {
        ++handled;
        term from, tag;
        if (edist::etf::match(msg, p::tuple(atom("call"), p::bind(from), p::bind(tag)))) {
          self.send(from, term::tuple({tag, atom("ok")}));
        } else if (msg == atom("stop")) {
          self.exit(atom("stopped"));
        }
      },
      [&](const term& reason) { exit_reason = reason; });
  process client = rt->spawn();
  term tag = rt->make_ref();
  rt->send(srv, term::tuple({atom("call"), client.pid(), tag}));
  rt->send(srv, atom("stop"));
  io.run();
  EXPECT_EQ(*client.receive(0s), term::tuple({tag, atom("ok")}));
  EXPECT_EQ(handled.load(), 2);
  EXPECT_EQ(exit_reason, atom("stopped"));
  EXPECT_FALSE(rt->is_alive(srv));
}

TEST_F(Runtime, ActorExceptionEndsProcess) {
  term reason;
  term srv = rt->spawn_actor([](process&, const term&) { throw std::runtime_error("bad"); },
                             [&](const term& r) { reason = r; });
  rt->send(srv, term(1));
  io.run();
  EXPECT_EQ(reason, term::tuple({atom("cpp_exception"), edist::etf::binary("bad")}));
}

TEST_F(Runtime, ShutdownEndsEverything) {
  process a = rt->spawn();
  process w = rt->spawn();
  rt->shutdown(atom("shutdown"));
  EXPECT_FALSE(a.alive());
  EXPECT_EQ(a.exit_reason(), atom("shutdown"));
  process late = rt->spawn();
  EXPECT_FALSE(late.alive());
}

TEST_F(Runtime, NodeMonitorsGetNodeupAndNodedown) {
  process a = rt->spawn();
  process b = rt->spawn();
  a.monitor_nodes(true);
  b.monitor_node(atom("x@h"), true);
  rt->node_up(atom("x@h"), false);
  rt->node_up(atom("hid@h"), true);  // hidden: not for a plain monitor_nodes
  rt->node_down(atom("x@h"), false);
  EXPECT_EQ(*a.receive(0s), term::tuple({atom("nodeup"), atom("x@h")}));
  EXPECT_EQ(*a.receive(0s), term::tuple({atom("nodedown"), atom("x@h")}));
  EXPECT_EQ(a.receive(0s).error, errc::timeout);
  EXPECT_EQ(*b.receive(0s), term::tuple({atom("nodedown"), atom("x@h")}));
  rt->node_down(atom("x@h"), false);  // one-shot
  EXPECT_EQ(b.receive(0s).error, errc::timeout);
}

// A connection that could not be made: monitor_node watchers hear of it, but not
// monitor_nodes subscribers such as :global, which never saw the node up.
TEST_F(Runtime, FailedConnectionIsNotANodedownForMonitorNodes) {
  process subscriber = rt->spawn();
  process watcher = rt->spawn();
  subscriber.monitor_nodes(true);
  watcher.monitor_node(atom("x@h"), true);
  rt->node_down(atom("x@h"), false, false);
  EXPECT_EQ(subscriber.receive(0s).error, errc::timeout);
  EXPECT_EQ(*watcher.receive(0s), term::tuple({atom("nodedown"), atom("x@h")}));
}

TEST_F(Runtime, MillionLocalSendsAreFast) {
  process a = rt->spawn();
  process b = rt->spawn();
  constexpr int n = 1'000'000;
  std::thread consumer([&] {
    for (int i = 0; i < n; ++i) {
      auto m = b.receive(10s);
      if (!m || !(*m == term(i))) {
        ADD_FAILURE() << "message " << i;
        return;
      }
    }
  });
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) a.send(b.pid(), term(i));
  consumer.join();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  // Generous for sanitizer and debug builds; a release build takes a fraction of this.
  EXPECT_LT(elapsed, 10s);
  std::printf("1M local sends + receives: %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()));
}

}  // namespace
