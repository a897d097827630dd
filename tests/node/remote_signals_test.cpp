// Links, monitors and exits across nodes, checked at the runtime's gateway boundary: the
// signals it emits for another node and its reaction to signals from one.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <mutex>

#include "edist/node/runtime.hpp"

namespace {

namespace asio = boost::asio;
using edist::etf::atom;
using edist::etf::term;
using edist::node::errc;
using edist::node::process;
using edist::node::remote_gateway;
using edist::node::remote_signal;
using edist::node::runtime;
using edist::node::signal_kind;
using namespace std::chrono_literals;

class recorder final : public remote_gateway {
 public:
  bool route(const term& node, remote_signal s) override {
    std::lock_guard lock(mu);
    sent.emplace_back(node, std::move(s));
    return reachable;
  }
  std::vector<std::pair<term, remote_signal>> take() {
    std::lock_guard lock(mu);
    return std::exchange(sent, {});
  }
  std::mutex mu;
  std::vector<std::pair<term, remote_signal>> sent;
  bool reachable = true;
};

class RemoteSignals : public ::testing::Test {
 protected:
  void SetUp() override { rt->set_gateway(&gw); }
  void TearDown() override {
    rt->shutdown(atom("shutdown"));
    rt->set_gateway(nullptr);
  }
  remote_signal only(signal_kind k) {
    auto v = gw.take();
    EXPECT_EQ(v.size(), 1u);
    if (v.empty()) return {};
    EXPECT_EQ(v[0].first, peer_node);
    EXPECT_EQ(v[0].second.kind, k) << to_string(v[0].second.kind);
    return v[0].second;
  }

  asio::io_context io;
  recorder gw;
  std::shared_ptr<runtime> rt = runtime::create(io.get_executor(), "cpp@localhost", 3);
  term peer_node = atom("beam@localhost");
  term peer_pid = term::pid(peer_node, 90, 0, 1);
  term peer_pid2 = term::pid(peer_node, 91, 0, 1);
};

TEST_F(RemoteSignals, SendsToRemotePidNameAndAlias) {
  process a = rt->spawn();
  a.send(peer_pid, term(1));
  auto s = only(signal_kind::send);
  EXPECT_EQ(s.to, peer_pid);
  EXPECT_EQ(s.from, a.pid());
  EXPECT_EQ(s.payload, term(1));

  a.send(term::tuple({atom("shell"), peer_node}), term(2));
  s = only(signal_kind::reg_send);
  EXPECT_EQ(s.to, atom("shell"));

  const std::uint32_t words[3] = {1, 2, 3};
  term alias = term::reference(peer_node, 1, words);
  a.send(alias, term(3));
  s = only(signal_kind::alias_send);
  EXPECT_EQ(s.to, alias);
}

TEST_F(RemoteSignals, IncomingSendsReachPidNameAndAlias) {
  process a = rt->spawn();
  a.register_name(atom("shell"));
  term al = a.make_alias();
  rt->deliver(peer_node, {signal_kind::send, term(), a.pid(), {}, term(1), 0});
  rt->deliver(peer_node, {signal_kind::reg_send, peer_pid, atom("shell"), {}, term(2), 0});
  rt->deliver(peer_node, {signal_kind::alias_send, peer_pid, al, {}, term(3), 0});
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(*a.receive(0s), term(i));
  // Unknown names and garbage targets are dropped without fuss.
  rt->deliver(peer_node, {signal_kind::reg_send, peer_pid, atom("nobody"), {}, term(4), 0});
  rt->deliver(peer_node, {signal_kind::send, term(), term(17), {}, term(5), 0});
  EXPECT_EQ(a.receive(0s).error, errc::timeout);
}

TEST_F(RemoteSignals, PeerCannotSpeakForAnotherNode) {
  process a = rt->spawn();
  term foreign = term::pid(atom("other@localhost"), 1, 0, 1);
  rt->deliver(peer_node, {signal_kind::exit2, foreign, a.pid(), {}, atom("kill"), 0});
  EXPECT_TRUE(a.alive());
}

TEST_F(RemoteSignals, LinkThenRemoteExitKillsLocal) {
  process a = rt->spawn();
  a.link(peer_pid);
  auto s = only(signal_kind::link);
  EXPECT_EQ(s.from, a.pid());
  EXPECT_EQ(s.to, peer_pid);
  rt->deliver(peer_node, {signal_kind::exit, peer_pid, a.pid(), {}, atom("boom"), 0});
  EXPECT_EQ(a.exit_reason(), atom("boom"));
}

TEST_F(RemoteSignals, IncomingLinkThenLocalDeathSendsExit) {
  process a = rt->spawn();
  rt->deliver(peer_node, {signal_kind::link, peer_pid, a.pid(), {}, {}, 0});
  a.exit(atom("crashed"));
  auto s = only(signal_kind::exit);
  EXPECT_EQ(s.from, a.pid());
  EXPECT_EQ(s.to, peer_pid);
  EXPECT_EQ(s.payload, atom("crashed"));
}

TEST_F(RemoteSignals, IncomingLinkToDeadPidAnswersNoproc) {
  term dead;
  { dead = rt->spawn().pid(); }
  rt->deliver(peer_node, {signal_kind::link, peer_pid, dead, {}, {}, 0});
  auto s = only(signal_kind::exit);
  EXPECT_EQ(s.from, dead);
  EXPECT_EQ(s.to, peer_pid);
  EXPECT_EQ(s.payload, atom("noproc"));
}

TEST_F(RemoteSignals, UnlinkIdProtocol) {
  process a = rt->spawn();
  a.trap_exit(true);
  a.link(peer_pid);
  gw.take();
  a.unlink(peer_pid);
  auto s = only(signal_kind::unlink_id);
  ASSERT_NE(s.id, 0u);
  // The peer's exit crossed our unlink: it must have no effect.
  rt->deliver(peer_node, {signal_kind::exit, peer_pid, a.pid(), {}, atom("late"), 0});
  EXPECT_EQ(a.receive(0s).error, errc::timeout);

  // Link again, unlink again; the ack of that unlink completes it.
  a.link(peer_pid);
  gw.take();
  a.unlink(peer_pid);
  auto s2 = only(signal_kind::unlink_id);
  // An ack with a stale id is ignored: while unlinking, exits still do not count.
  rt->deliver(peer_node, {signal_kind::unlink_id_ack, peer_pid, a.pid(), {}, {}, s.id});
  rt->deliver(peer_node, {signal_kind::unlink_id_ack, peer_pid, a.pid(), {}, {}, s2.id});
  rt->deliver(peer_node, {signal_kind::exit, peer_pid, a.pid(), {}, atom("later"), 0});
  EXPECT_EQ(a.receive(0s).error, errc::timeout);
  a.exit(atom("bye"));
  EXPECT_TRUE(gw.take().empty());  // no link left: no exit signal to the peer
}

TEST_F(RemoteSignals, IncomingUnlinkIdIsAcknowledged) {
  process a = rt->spawn();
  rt->deliver(peer_node, {signal_kind::link, peer_pid, a.pid(), {}, {}, 0});
  rt->deliver(peer_node, {signal_kind::unlink_id, peer_pid, a.pid(), {}, {}, 77});
  auto s = only(signal_kind::unlink_id_ack);
  EXPECT_EQ(s.id, 77u);
  EXPECT_EQ(s.from, a.pid());
  EXPECT_EQ(s.to, peer_pid);
  a.exit(atom("bye"));
  EXPECT_TRUE(gw.take().empty());
}

TEST_F(RemoteSignals, Exit2FromRemote) {
  process a = rt->spawn();
  a.trap_exit(true);
  rt->deliver(peer_node, {signal_kind::exit2, peer_pid, a.pid(), {}, atom("please"), 0});
  EXPECT_EQ(*a.receive(0s), term::tuple({atom("EXIT"), peer_pid, atom("please")}));
  rt->deliver(peer_node, {signal_kind::exit2, peer_pid, a.pid(), {}, atom("kill"), 0});
  EXPECT_EQ(a.exit_reason(), atom("killed"));
}

TEST_F(RemoteSignals, MonitorRemotePidAndName) {
  process w = rt->spawn();
  term r1 = w.monitor(peer_pid);
  auto s = only(signal_kind::monitor);
  EXPECT_EQ(s.to, peer_pid);
  EXPECT_EQ(s.ref, r1);
  term r2 = w.monitor(term::tuple({atom("shell"), peer_node}));
  s = only(signal_kind::monitor);
  EXPECT_EQ(s.to, atom("shell"));

  rt->deliver(peer_node, {signal_kind::monitor_exit, peer_pid, w.pid(), r1, atom("gone"), 0});
  rt->deliver(peer_node,
              {signal_kind::monitor_exit, atom("shell"), w.pid(), r2, atom("noproc"), 0});
  EXPECT_EQ(*w.receive(0s),
            term::tuple({atom("DOWN"), r1, atom("process"), peer_pid, atom("gone")}));
  EXPECT_EQ(*w.receive(0s), term::tuple({atom("DOWN"), r2, atom("process"),
                                         term::tuple({atom("shell"), peer_node}), atom("noproc")}));
}

TEST_F(RemoteSignals, DemonitorAndWatcherDeathTellThePeer) {
  process w = rt->spawn();
  term r1 = w.monitor(peer_pid);
  gw.take();
  w.demonitor(r1);
  auto s = only(signal_kind::demonitor);
  EXPECT_EQ(s.ref, r1);
  EXPECT_EQ(s.to, peer_pid);
  term r2 = w.monitor(peer_pid2);
  gw.take();
  w.exit(atom("bye"));
  s = only(signal_kind::demonitor);
  EXPECT_EQ(s.ref, r2);
}

TEST_F(RemoteSignals, IncomingMonitorOfUnknownNameOrDeadPidAnswersNoproc) {
  term ref = term::reference(peer_node, 1, std::vector<std::uint32_t>{1, 2, 3});
  rt->deliver(peer_node, {signal_kind::monitor, peer_pid, atom("nobody"), ref, {}, 0});
  auto s = only(signal_kind::monitor_exit);
  EXPECT_EQ(s.from, atom("nobody"));
  EXPECT_EQ(s.to, peer_pid);
  EXPECT_EQ(s.ref, ref);
  EXPECT_EQ(s.payload, atom("noproc"));
  term dead;
  { dead = rt->spawn().pid(); }
  rt->deliver(peer_node, {signal_kind::monitor, peer_pid, dead, ref, {}, 0});
  s = only(signal_kind::monitor_exit);
  EXPECT_EQ(s.from, dead);
}

TEST_F(RemoteSignals, IncomingMonitorFiresOnExitByNameOrPid) {
  process a = rt->spawn();
  a.register_name(atom("srv"));
  term r1 = term::reference(peer_node, 1, std::vector<std::uint32_t>{1, 2, 3});
  term r2 = term::reference(peer_node, 1, std::vector<std::uint32_t>{4, 5, 6});
  term r3 = term::reference(peer_node, 1, std::vector<std::uint32_t>{7, 8, 9});
  rt->deliver(peer_node, {signal_kind::monitor, peer_pid, atom("srv"), r1, {}, 0});
  rt->deliver(peer_node, {signal_kind::monitor, peer_pid, a.pid(), r2, {}, 0});
  rt->deliver(peer_node, {signal_kind::monitor, peer_pid, a.pid(), r3, {}, 0});
  rt->deliver(peer_node, {signal_kind::demonitor, peer_pid, a.pid(), r3, {}, 0});
  EXPECT_TRUE(gw.take().empty());
  a.exit(atom("done"));
  auto v = gw.take();
  ASSERT_EQ(v.size(), 2u);
  for (auto& [n, s] : v) {
    EXPECT_EQ(s.kind, signal_kind::monitor_exit);
    EXPECT_EQ(s.payload, atom("done"));
    if (s.ref == r1) {
      EXPECT_EQ(s.from, atom("srv"));
    } else {
      EXPECT_EQ(s.ref, r2);
      EXPECT_EQ(s.from, a.pid());
    }
  }
}

TEST_F(RemoteSignals, NodeDownFiresLinksAndMonitorsWithNoconnection) {
  process linked = rt->spawn();
  process trapper = rt->spawn();
  process watcher = rt->spawn();
  process unrelated = rt->spawn();
  trapper.trap_exit(true);
  linked.link(peer_pid);
  trapper.link(peer_pid2);
  term ref = watcher.monitor(term::tuple({atom("shell"), peer_node}));
  unrelated.link(term::pid(atom("elsewhere@localhost"), 1, 0, 1));
  // The peer monitors one of ours: that monitor must simply vanish.
  term pref = term::reference(peer_node, 1, std::vector<std::uint32_t>{1, 2, 3});
  rt->deliver(peer_node, {signal_kind::monitor, peer_pid, unrelated.pid(), pref, {}, 0});
  gw.take();

  rt->node_down(peer_node, false);
  EXPECT_EQ(linked.exit_reason(), atom("noconnection"));
  EXPECT_EQ(*trapper.receive(0s), term::tuple({atom("EXIT"), peer_pid2, atom("noconnection")}));
  EXPECT_EQ(*watcher.receive(0s),
            term::tuple({atom("DOWN"), ref, atom("process"),
                         term::tuple({atom("shell"), peer_node}), atom("noconnection")}));
  EXPECT_TRUE(unrelated.alive());
  unrelated.exit(atom("x"));
  auto v = gw.take();
  ASSERT_EQ(v.size(), 1u);  // the exit to elsewhere@, nothing to the lost node
  EXPECT_EQ(v[0].first, atom("elsewhere@localhost"));
}

TEST_F(RemoteSignals, UnreachableNodeAnswersLinkAndMonitorAtOnce) {
  gw.reachable = false;
  process a = rt->spawn();
  a.trap_exit(true);
  a.link(peer_pid);
  EXPECT_EQ(*a.receive(0s), term::tuple({atom("EXIT"), peer_pid, atom("noconnection")}));
  term ref = a.monitor(peer_pid);
  EXPECT_EQ(*a.receive(0s),
            term::tuple({atom("DOWN"), ref, atom("process"), peer_pid, atom("noconnection")}));
}

TEST_F(RemoteSignals, Exit2ToRemotePid) {
  process a = rt->spawn();
  a.exit(peer_pid, atom("kill"));
  auto s = only(signal_kind::exit2);
  EXPECT_EQ(s.to, peer_pid);
  EXPECT_EQ(s.payload, atom("kill"));
}

}  // namespace
