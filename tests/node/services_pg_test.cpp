// :pg: the scope core's messages in and out (shapes of pg.erl, OTP 25 and 27), and a scope
// process on the runtime talking to a simulated BEAM peer scope through a recording gateway.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

#include "edist/node/gen_server.hpp"
#include "edist/node/pg.hpp"

namespace {

namespace asio = boost::asio;
namespace pg = edist::node::pg;
using edist::etf::atom;
using edist::etf::term;
using edist::node::process;
using edist::node::remote_gateway;
using edist::node::remote_signal;
using edist::node::runtime;
using edist::node::signal_kind;
using namespace std::chrono_literals;

term L(std::initializer_list<term> xs) {
  return term::list(xs);
}
term T(std::initializer_list<term> xs) {
  return term::tuple(xs);
}
term local_pid(std::uint32_t id) {
  return term::pid(atom("cpp@h"), id, 0, 1);
}
term beam_pid(std::uint32_t id) {
  return term::pid(atom("beam@h"), id, 0, 9);
}
term sync_cast(const term& from, const term& groups) {
  return edist::node::gen::cast_message(T({atom("sync"), from, groups}));
}

using what = pg::action::what;

TEST(PgCore, DiscoverFromANewPeerSyncsMonitorsAndDiscoversBack) {
  pg::scope_state s(local_pid(1), atom("pg"));
  const term peer = beam_pid(50);
  auto out = s.handle(T({atom("discover"), peer}));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].kind, what::send);
  EXPECT_EQ(out[0].to, peer);
  EXPECT_EQ(out[0].message, sync_cast(local_pid(1), L({})));
  EXPECT_EQ(out[1].kind, what::monitor);
  EXPECT_EQ(out[1].to, peer);
  EXPECT_EQ(out[2].message, T({atom("discover"), local_pid(1)}));
  // A known peer (or OTP 27's 3-tuple form) only gets the sync again.
  auto again = s.handle(T({atom("discover"), peer, term(1)}));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].message, sync_cast(local_pid(1), L({})));
  // nodeup: discover {pg, Node}.
  auto up = s.handle(T({atom("nodeup"), atom("beam2@h")}));
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0].to, T({atom("pg"), atom("beam2@h")}));
  EXPECT_EQ(up[0].message, T({atom("discover"), local_pid(1)}));
  EXPECT_TRUE(s.handle(T({atom("nodeup"), atom("cpp@h")})).empty());
}

TEST(PgCore, LocalJoinLeaveAndDownAreBroadcastAsPgDoes) {
  pg::scope_state s(local_pid(1), atom("pg"));
  const term peer = beam_pid(50);
  s.handle(T({atom("discover"), peer}));
  const term a = local_pid(2), b = local_pid(3);
  const term g = atom("workers");
  const term ab[] = {a, b};
  auto j = s.join(g, ab);
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0].kind, what::monitor);
  EXPECT_EQ(j[1].kind, what::monitor);
  EXPECT_EQ(j[2].to, peer);
  EXPECT_EQ(j[2].message, T({atom("join"), local_pid(1), g, L({a, b})}));
  const term only_a[] = {a};
  auto j2 = s.join(atom("other"), only_a);  // a already monitored: no second monitor
  ASSERT_EQ(j2.size(), 1u);
  EXPECT_EQ(j2[0].message, T({atom("join"), local_pid(1), atom("other"), a}));
  EXPECT_EQ(s.sync_message(),
            sync_cast(local_pid(1), L({T({atom("other"), L({a})}), T({g, L({a, b})})})));

  // Leave only what was joined: never a leave a BEAM scope cannot apply.
  std::vector<pg::action> out;
  const term nobody[] = {local_pid(9)};
  EXPECT_FALSE(s.leave(g, nobody, out));
  EXPECT_TRUE(out.empty());
  const term b_and_nobody[] = {b, local_pid(9)};
  EXPECT_TRUE(s.leave(g, b_and_nobody, out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].kind, what::demonitor);
  EXPECT_EQ(out[0].to, b);
  EXPECT_EQ(out[1].message, T({atom("leave"), local_pid(1), b, L({g})}));

  // a ends: one leave with all its groups.
  auto down = s.handle(T({atom("DOWN"), term(), atom("process"), a, atom("normal")}));
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].to, peer);
  const term& msg = down[0].message;
  ASSERT_TRUE(msg.is_tuple(4));
  EXPECT_EQ(msg[2], a);
  EXPECT_EQ(msg[3].list_elements().size(), 2u);
  EXPECT_TRUE(s.groups().empty());
}

TEST(PgCore, PeerMembershipFromSyncJoinLeaveAndDown) {
  pg::scope_state s(local_pid(1), atom("pg"));
  const term peer = beam_pid(50);
  const term x = beam_pid(60), y = beam_pid(61);
  const term g = atom("g");
  // A join from an unknown scope is ignored, as pg does.
  EXPECT_TRUE(s.handle(T({atom("join"), peer, g, x})).empty());
  EXPECT_TRUE(s.members(g).empty());
  auto out = s.handle(sync_cast(peer, L({T({g, L({x})})})));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, what::monitor);
  EXPECT_EQ(s.members(g), (std::vector<term>{x}));
  s.handle(T({atom("join"), peer, g, L({y, y})}));
  EXPECT_EQ(s.members(g), (std::vector<term>{x, y, y}));
  s.handle(T({atom("leave"), peer, y, L({g})}));
  EXPECT_EQ(s.members(g), (std::vector<term>{x, y}));
  // Malformed messages change nothing.
  s.handle(T({atom("join"), peer, g, L({atom("notapid")})}));
  s.handle(T({atom("leave"), peer, x, atom("notalist")}));
  s.handle(T({atom("bogus")}));
  EXPECT_EQ(s.members(g), (std::vector<term>{x, y}));
  EXPECT_EQ(s.groups(), (std::vector<term>{g}));
  // The peer scope goes down: its members vanish.
  s.handle(T({atom("DOWN"), term(), atom("process"), peer, atom("noconnection")}));
  EXPECT_TRUE(s.members(g).empty());
  EXPECT_TRUE(s.peers().empty());
}

class recording_gateway final : public remote_gateway {
 public:
  bool route(const term& node, remote_signal s) override {
    std::lock_guard lock(mu);
    signals.emplace_back(node, std::move(s));
    return true;
  }
  // Waits until a send whose payload satisfies `pred` was routed.
  template <class Pred>
  std::optional<remote_signal> wait_for(Pred pred) {
    for (int i = 0; i < 400; ++i) {
      {
        std::lock_guard lock(mu);
        for (auto& [n, s] : signals)
          if (pred(s)) return s;
      }
      std::this_thread::sleep_for(5ms);
    }
    return std::nullopt;
  }
  std::mutex mu;
  std::vector<std::pair<term, remote_signal>> signals;
};

class PgScope : public ::testing::Test {
 protected:
  void SetUp() override {
    rt->set_gateway(&gateway);
    runner = std::thread([this] { io.run(); });
  }
  void TearDown() override {
    rt->shutdown(atom("shutdown"));
    rt->set_gateway(nullptr);
    work.reset();
    runner.join();
  }
  void from_peer(const term& to, const term& message) {
    remote_signal s;
    s.kind = to.is_atom() ? signal_kind::reg_send : signal_kind::send;
    s.from = peer;
    s.to = to;
    s.payload = message;
    rt->deliver(atom("beam@h"), s);
  }
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::shared_ptr<runtime> rt = runtime::create(io.get_executor(), "cpp@h", 1);
  recording_gateway gateway;
  std::thread runner;
  const term peer = beam_pid(50);
};

TEST_F(PgScope, TalksToAPeerScope) {
  std::error_code ec;
  auto scope = pg::scope::start(*rt, atom("pg"), ec);
  ASSERT_TRUE(scope) << ec.message();
  EXPECT_EQ(rt->whereis(atom("pg")), scope->pid());
  EXPECT_FALSE(pg::scope::start(*rt, atom("pg"), ec));
  EXPECT_EQ(ec, edist::node::errc::name_in_use);

  from_peer(atom("pg"), T({atom("discover"), peer}));
  auto discover_back = gateway.wait_for([&](const remote_signal& s) {
    return s.kind == signal_kind::send && s.payload == T({atom("discover"), scope->pid()});
  });
  ASSERT_TRUE(discover_back);
  EXPECT_EQ(discover_back->to, peer);
  EXPECT_TRUE(gateway.wait_for(
      [&](const remote_signal& s) { return s.kind == signal_kind::monitor && s.to == peer; }));

  process member = rt->spawn();
  const term g = T({atom("todo"), edist::etf::binary("bob")});
  const term pids[] = {member.pid()};
  EXPECT_FALSE(scope->join(g, pids));
  const term remote[] = {beam_pid(7)};
  EXPECT_EQ(scope->join(g, remote), edist::node::errc::not_local);
  EXPECT_TRUE(gateway.wait_for([&](const remote_signal& s) {
    return s.payload == T({atom("join"), scope->pid(), g, member.pid()});
  }));

  from_peer(scope->pid(), sync_cast(peer, L({T({g, L({beam_pid(60)})})})));
  for (int i = 0; i < 200 && scope->get_members(g).size() < 2; ++i)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(scope->get_members(g), (std::vector<term>{member.pid(), beam_pid(60)}));
  EXPECT_EQ(scope->get_local_members(g), (std::vector<term>{member.pid()}));
  EXPECT_EQ(scope->which_groups(), (std::vector<term>{g}));

  // The member ends: the peer is told.
  member = process();
  EXPECT_TRUE(gateway.wait_for([&](const remote_signal& s) {
    return s.payload == T({atom("leave"), scope->pid(), pids[0], L({g})});
  }));
  EXPECT_EQ(scope->get_local_members(g), std::vector<term>{});

  // Explicit discovery for hidden nodes.
  scope->discover(atom("hidden@h"));
  auto d = gateway.wait_for([&](const remote_signal& s) {
    return s.kind == signal_kind::reg_send && s.to == atom("pg") &&
           s.payload == T({atom("discover"), scope->pid()});
  });
  EXPECT_TRUE(d);
}

}  // namespace
