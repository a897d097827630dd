// The edist node against live BEAM nodes (every available OTP; iex/elixir where Elixir runs):
// the steps of the "distribution primitives" chapter of Elixir in Action, in both directions.
// Each test runs a real epmd on a private port, a uniquely named C++ node with a random cookie
// on an io_context run by two threads, and a real BEAM node driven through its control channel.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <edist/dist/error.hpp>
#include <edist/etf/match.hpp>
#include <future>
#include <thread>

#include "cpp_node_test.hpp"
#include "edist/node/network.hpp"
#include "edist/testing/beam_node.hpp"
#include "edist/testing/epmd_instance.hpp"
#include "edist/testing/gtest.hpp"
#include "edist/testing/names.hpp"

namespace {

namespace asio = boost::asio;
namespace et = edist::testing;
namespace p = edist::etf::pattern;
using edist::etf::atom;
using edist::etf::term;
using namespace edist::node;
using namespace std::chrono_literals;

class NodeInterop : public edist::interop::cpp_node_test {
 protected:
  void SetUp() override {
    cpp_node_test::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    start_cpp_node("cpp");
  }

  void TearDown() override {
    beam_.reset();
    cpp_node_test::TearDown();
  }

  // Elixir runs on the system OTP only; other releases get a plain erl node.
  et::beam_node& start_beam(std::string cookie = {}, bool long_names = false) {
    et::beam_options o;
    o.epmd_port = epmd_->port();
    o.cookie = cookie.empty() ? cookie_ : cookie;
    o.elixir = !long_names && et::system_elixir().has_value() && et::system_otp().has_value() &&
               otp().bin_dir == et::system_otp()->bin_dir;
    if (long_names) {
      o.long_names = true;
      o.host = "127.0.0.1";
    }
    beam_.emplace(et::beam_node::start(otp(), o));
    return *beam_;
  }

  term beam_atom() { return atom(beam_->node_name()); }
  std::string cpp_name() { return cpp().name(); }
  // Erlang source for the C++ node's atom.
  std::string q() { return "'" + cpp_name() + "'"; }

  std::error_code connect_from_cpp(const std::string& peer) {
    std::promise<std::error_code> done;
    cpp().connect(peer, [&](std::error_code ec) { done.set_value(ec); });
    auto f = done.get_future();
    if (f.wait_for(15s) != std::future_status::ready) return make_error_code(errc::timeout);
    return f.get();
  }

  bool ping_from_cpp(const std::string& peer) {
    std::promise<bool> done;
    cpp().ping(peer, 10s, [&](bool pong) { done.set_value(pong); });
    return done.get_future().get();
  }

  // Hands a C++ pid to the BEAM evaluator, which keeps it in its process dictionary as `Key`.
  void give_pid(const process& from, const std::string& key, const term& pid) {
    from.send(term::tuple({atom("edist_test_evaluator"), beam_atom()}),
              term::tuple({atom("pid_for"), atom(key), pid}));
    ASSERT_EQ(beam_->eval("receive {pid_for, " + key + ", P} -> put(" + key +
                          ", P), ok after 10000 -> timeout end"),
              "ok");
  }

  std::optional<et::beam_node> beam_;
};

TEST_P(NodeInterop, ConnectListAndPingBothWays) {
  auto& beam = start_beam();
  // Node.connect from the BEAM side, then Node.list([:this, :visible]).
  EXPECT_EQ(beam.eval("net_kernel:connect_node(" + q() + ")"), "true");
  EXPECT_EQ(beam.eval("lists:member(" + q() + ", nodes([this, visible]))"), "true");
  EXPECT_EQ(beam.eval("nodes(hidden)"), "[]");
  EXPECT_EQ(cpp().nodes(), std::vector<std::string>{beam.node_name()});
  EXPECT_EQ(cpp().nodes({true, false, true}),
            (std::vector<std::string>{cpp_name(), beam.node_name()}));
  // Node.ping both ways.
  EXPECT_EQ(beam.eval("net_adm:ping(" + q() + ")"), "pong");
  EXPECT_TRUE(ping_from_cpp(beam.node_name()));
  EXPECT_FALSE(ping_from_cpp("nobody@localhost"));
}

TEST_P(NodeInterop, HiddenNodeIsListedAsHidden) {
  net_->stop();
  node_options no;
  no.name = et::unique_name("hid") + "@localhost";
  no.cookie = cookie_;
  no.hidden = true;
  network_options net;
  net.epmd_port = epmd_->port();
  net.start_embedded_epmd = false;
  std::error_code ec;
  net_ = network::start(io_.get_executor(), no, net, ec);
  ASSERT_TRUE(net_) << ec.message();
  auto& beam = start_beam();
  EXPECT_FALSE(connect_from_cpp(beam.node_name()));
  EXPECT_EQ(beam.eval("nodes()"), "[]");
  EXPECT_EQ(beam.eval("nodes(hidden) =:= [" + q() + "]"), "true");
}

TEST_P(NodeInterop, MessagesBothWaysByPidAndRegisteredName) {
  auto& beam = start_beam();
  process shell = cpp().spawn();
  ASSERT_FALSE(shell.register_name(atom("shell")));
  // send({:shell, :"cpp@localhost"}, msg) from the BEAM: connects on demand.
  EXPECT_EQ(beam.eval("{shell, " + q() + "} ! {hello, self()}, ok"), "ok");
  term beam_pid;
  auto m = shell.receive_match(p::tuple(atom("hello"), p::bind(beam_pid)), 10s);
  ASSERT_TRUE(m) << m.error.message();
  EXPECT_EQ(beam_pid.as_pid().node, beam_atom());
  // Reply to the pid, then to a registered name on the BEAM side.
  shell.send(beam_pid, term::tuple({atom("reply"), term(42)}));
  EXPECT_EQ(beam.eval("receive {reply, X} -> X after 10000 -> timeout end"), "42");
  shell.send(term::tuple({atom("edist_test_evaluator"), beam_atom()}), atom("by_name"));
  EXPECT_EQ(beam.eval("receive by_name -> got after 10000 -> timeout end"), "got");
  // The same registered name on both nodes: each send reaches the named process of its node.
  EXPECT_EQ(beam.eval("Self = self(), register(shell, spawn(fun() -> receive M -> Self ! "
                      "{beam_shell, M} end end)), ok"),
            "ok");
  shell.send(term::tuple({atom("shell"), beam_atom()}), atom("to_beam_shell"));
  EXPECT_EQ(beam.eval("receive {beam_shell, M} -> M after 10000 -> timeout end"), "to_beam_shell");
  EXPECT_EQ(beam.eval("{shell, " + q() + "} ! to_cpp_shell, ok"), "ok");
  EXPECT_EQ(*shell.receive(10s), atom("to_cpp_shell"));
  // A C++ pid sent to the BEAM and back is the same pid (same node, id, serial, creation).
  shell.send(beam_pid, term::tuple({atom("reply"), shell.pid()}));
  EXPECT_EQ(beam.eval("receive {reply, P} -> P ! {back, P}, ok after 10000 -> timeout end"), "ok");
  EXPECT_EQ(*shell.receive(10s), term::tuple({atom("back"), shell.pid()}));
}

TEST_P(NodeInterop, LinksAcrossNodesWithKillsOnEitherSide) {
  auto& beam = start_beam();
  // 1. A trapping BEAM process links to a C++ process, which is then killed.
  process victim = cpp().spawn();
  give_pid(victim, "cpp", victim.pid());
  EXPECT_EQ(beam.eval("C = get(cpp), Self = self(), spawn(fun() -> process_flag(trap_exit, true), "
                      "link(C), C ! linked, receive M -> Self ! {beam_got, M} end end), ok"),
            "ok");
  ASSERT_EQ(*victim.receive(10s), atom("linked"));  // after the LINK, on the same connection
  victim.exit(atom("boom"));
  const std::string got = beam.eval("receive {beam_got, M} -> M after 10000 -> timeout end");
  EXPECT_EQ(got.rfind("{'EXIT',", 0), 0u) << got;
  EXPECT_NE(got.find(",boom}"), std::string::npos) << got;

  // 2. A trapping C++ process links to a BEAM process that crashes, then to one that is killed.
  process watcher = cpp().spawn();
  watcher.trap_exit(true);
  give_pid(watcher, "w", watcher.pid());
  EXPECT_EQ(beam.eval("W = get(w), P = spawn(fun() -> receive stop -> exit(crashed) end end), "
                      "W ! {p, P}, ok"),
            "ok");
  term bp;
  ASSERT_TRUE(watcher.receive_match(p::tuple(atom("p"), p::bind(bp)), 10s));
  watcher.link(bp);
  watcher.send(bp, atom("stop"));  // ordered after the LINK
  EXPECT_EQ(*watcher.receive(10s), term::tuple({atom("EXIT"), bp, atom("crashed")}));

  EXPECT_EQ(beam.eval("W = get(w), P = spawn(fun() -> receive _ -> ok end end), put(p3, P), "
                      "W ! {p, P}, ok"),
            "ok");
  ASSERT_TRUE(watcher.receive_match(p::tuple(atom("p"), p::bind(bp)), 10s));
  watcher.link(bp);
  watcher.send(term::tuple({atom("edist_test_evaluator"), beam_atom()}), atom("linked_ok"));
  EXPECT_EQ(beam.eval("receive linked_ok -> exit(get(p3), kill), ok after 10000 -> timeout end"),
            "ok");
  EXPECT_EQ(*watcher.receive(10s), term::tuple({atom("EXIT"), bp, atom("killed")}));

  // 3. Without trap_exit, the C++ process dies with the BEAM process's reason.
  process plain = cpp().spawn();
  give_pid(plain, "plain", plain.pid());
  EXPECT_EQ(beam.eval("C = get(plain), spawn(fun() -> link(C), C ! linked, "
                      "receive after 100 -> exit(gone_wrong) end end), ok"),
            "ok");
  ASSERT_EQ(*plain.receive(10s), atom("linked"));
  EXPECT_EQ(plain.receive(10s).error, errc::process_exited);
  EXPECT_EQ(plain.exit_reason(), atom("gone_wrong"));
}

TEST_P(NodeInterop, MonitorsAcrossNodes) {
  auto& beam = start_beam();
  // The BEAM monitors a C++ process by pid and another by {Name, Node}.
  process a = cpp().spawn();
  process named = cpp().spawn();
  ASSERT_FALSE(named.register_name(atom("named")));
  give_pid(a, "a", a.pid());
  auto by_pid = std::async(std::launch::async, [&] {
    return beam.eval(
        "C = get(a), R = erlang:monitor(process, C), C ! monitored, "
        "receive {'DOWN', R, process, C, Why} -> Why after 15000 -> timeout end");
  });
  ASSERT_EQ(*a.receive(10s), atom("monitored"));
  a.exit(atom("bye"));
  EXPECT_EQ(by_pid.get(), "bye");

  process helper = cpp().spawn();
  give_pid(helper, "h", helper.pid());
  auto by_name = std::async(std::launch::async, [&] {
    return beam.eval("R = erlang:monitor(process, {named, " + q() +
                     "}), get(h) ! monitored, "
                     "receive {'DOWN', R, process, Item, Why} -> {Item, Why} "
                     "after 15000 -> timeout end");
  });
  ASSERT_EQ(*helper.receive(10s), atom("monitored"));
  named.exit(atom("done"));
  // ~0p leaves a node-name atom unquoted.
  EXPECT_EQ(by_name.get(), "{{named," + cpp_name() + "},done}");

  // A monitor of a name nobody holds is answered at once with noproc (no hang).
  EXPECT_EQ(beam.eval("R = erlang:monitor(process, {nobody, " + q() +
                      "}), "
                      "receive {'DOWN', R, process, _, Why} -> Why after 10000 -> timeout end"),
            "noproc");

  // The C++ side monitors a BEAM process that is killed.
  EXPECT_EQ(beam.eval("H = get(h), P = spawn(fun() -> receive _ -> ok end end), put(victim, P), "
                      "H ! {p, P}, ok"),
            "ok");
  term bp;
  ASSERT_TRUE(helper.receive_match(p::tuple(atom("p"), p::bind(bp)), 10s));
  term ref = helper.monitor(bp);
  helper.send(term::tuple({atom("edist_test_evaluator"), beam_atom()}), atom("go"));
  EXPECT_EQ(beam.eval("receive go -> exit(get(victim), kill), ok after 10000 -> timeout end"),
            "ok");
  EXPECT_EQ(*helper.receive(10s),
            term::tuple({atom("DOWN"), ref, atom("process"), bp, atom("killed")}));

  // The C++ side monitors a name nobody holds on the BEAM node: with EXIT_PAYLOAD negotiated
  // BEAM answers at once with PAYLOAD_MONITOR_P_EXIT, naming the monitored name.
  const term nobody = term::tuple({atom("nobody"), beam_atom()});
  term nref = helper.monitor(nobody);
  EXPECT_EQ(*helper.receive(10s),
            term::tuple({atom("DOWN"), nref, atom("process"), nobody, atom("noproc")}));

  // exit/2 from BEAM arrives as PAYLOAD_EXIT2; a trapping process gets it as a message.
  helper.trap_exit(true);
  EXPECT_EQ(beam.eval("exit(get(h), because), ok"), "ok");
  auto ex = helper.receive(10s);
  ASSERT_TRUE(ex);
  ASSERT_TRUE(ex->is_tuple(3));
  EXPECT_EQ((*ex)[0], atom("EXIT"));
  EXPECT_TRUE((*ex)[1].is_pid());
  EXPECT_EQ((*ex)[2], atom("because"));
}

// Node.spawn/4 from C++: spawn requests to the BEAM node, with monitor and link, the new
// process running with our io sink as its group leader.
TEST_P(NodeInterop, SpawnOnBeamFromCpp) {
  auto& beam = start_beam();
  const std::string bn = beam.node_name();
  process self = cpp().spawn();
  // Plain spawn: the process does its work (a message to us) on the BEAM node.
  auto r = cpp().spawn_on(self, bn, atom("erlang"), atom("send"),
                          term::list({self.pid(), atom("hello_from_beam")}));
  ASSERT_TRUE(r.pid.is_pid()) << r.error.is_atom();
  EXPECT_EQ(r.pid.as_pid().node, beam_atom());
  EXPECT_EQ(*self.receive(10s), atom("hello_from_beam"));

  // With monitor: the DOWN carries the request id as its reference and the real reason.
  auto m = cpp().spawn_on(self, bn, atom("erlang"), atom("exit"), term::list({atom("boom")}),
                          {.monitor = true});
  ASSERT_TRUE(m.pid.is_pid());
  EXPECT_EQ(*self.receive(10s),
            term::tuple({atom("DOWN"), m.req_id, atom("process"), m.pid, atom("boom")}));

  // An undefined function: the spawn succeeds and the process exits with undef, as on BEAM.
  auto u =
      cpp().spawn_on(self, bn, atom("nomod"), atom("nofun"), term::list({}), {.monitor = true});
  ASSERT_TRUE(u.pid.is_pid());
  auto down = self.receive(10s);
  ASSERT_TRUE(down);
  ASSERT_TRUE(down->is_tuple(5));
  EXPECT_EQ((*down)[1], u.req_id);
  EXPECT_EQ((*down)[4], term::tuple({atom("undef"),
                                     term::list({term::tuple({atom("nomod"), atom("nofun"),
                                                              term::list({}), term::list({})})})}));

  // With link: a trapping requester gets the exit signal.
  self.trap_exit(true);
  auto l = cpp().spawn_on(self, bn, atom("erlang"), atom("exit"), term::list({atom("bye")}),
                          {.link = true});
  ASSERT_TRUE(l.pid.is_pid());
  EXPECT_EQ(*self.receive(10s), term::tuple({atom("EXIT"), l.pid, atom("bye")}));

  // io on the far side goes to our io sink and is answered: output and input both return.
  auto io = cpp().spawn_on(self, bn, atom("io"), atom("format"), term::list({term::list({104})}),
                           {.monitor = true});
  ASSERT_TRUE(io.pid.is_pid());
  EXPECT_EQ(*self.receive(10s),
            term::tuple({atom("DOWN"), io.req_id, atom("process"), io.pid, atom("normal")}));
  auto in = cpp().spawn_on(self, bn, atom("io"), atom("get_line"), term::list({term::list({62})}),
                           {.monitor = true});
  ASSERT_TRUE(in.pid.is_pid());
  EXPECT_EQ(*self.receive(10s),
            term::tuple({atom("DOWN"), in.req_id, atom("process"), in.pid, atom("normal")}));
  // The group leader BEAM reports for such a process is our io sink.
  auto gl = cpp().spawn_on(self, bn, atom("erlang"), atom("send"),
                           term::list({self.pid(), atom("ready")}), {});
  ASSERT_TRUE(gl.pid.is_pid());
  EXPECT_EQ(*self.receive(10s), atom("ready"));
  auto info = cpp().spawn_on(self, bn, atom("timer"), atom("sleep"), term::list({term(3000)}), {});
  ASSERT_TRUE(info.pid.is_pid());
  self.send(term::tuple({atom("edist_test_evaluator"), beam_atom()}),
            term::tuple({atom("pid_for"), atom("sleeper"), info.pid}));
  EXPECT_EQ(beam.eval("receive {pid_for, sleeper, P} -> {group_leader, G} = "
                      "process_info(P, group_leader), node(G) after 10000 -> timeout end"),
            cpp_name());

  // Errors: a node that is not there, a malformed request.
  auto nc = cpp().spawn_on(self, "nobody@localhost", atom("erlang"), atom("node"), term::list({}));
  EXPECT_EQ(nc.error, atom("noconnection"));
  auto bad = cpp().spawn_on(self, bn, term(1), atom("node"), term::list({}));
  EXPECT_EQ(bad.error, atom("badarg"));
}

TEST_P(NodeInterop, NodeShutdownDeliversNoconnection) {
  auto& beam = start_beam();
  process w = cpp().spawn();
  w.trap_exit(true);
  give_pid(w, "w", w.pid());
  EXPECT_EQ(beam.eval("W = get(w), P = spawn(fun() -> receive _ -> ok end end), W ! {p, P}, ok"),
            "ok");
  term bp;
  ASSERT_TRUE(w.receive_match(p::tuple(atom("p"), p::bind(bp)), 10s));
  w.link(bp);
  term ref = w.monitor(bp);
  term nref = w.monitor(term::tuple({atom("edist_test_evaluator"), beam_atom()}));
  ASSERT_TRUE(ping_from_cpp(beam.node_name()));  // the signals above went out first
  w.monitor_nodes(true);                         // now: the nodeup of this connection is behind us
  beam.stop();
  std::vector<term> got;
  for (int i = 0; i < 4; ++i) {
    auto m = w.receive(15s);
    ASSERT_TRUE(m) << i;
    got.push_back(*m);
  }
  auto has = [&](const term& t) { return std::find(got.begin(), got.end(), t) != got.end(); };
  EXPECT_TRUE(has(term::tuple({atom("EXIT"), bp, atom("noconnection")})));
  EXPECT_TRUE(has(term::tuple({atom("DOWN"), ref, atom("process"), bp, atom("noconnection")})));
  EXPECT_TRUE(has(term::tuple({atom("DOWN"), nref, atom("process"),
                               term::tuple({atom("edist_test_evaluator"), beam_atom()}),
                               atom("noconnection")})));
  EXPECT_TRUE(has(term::tuple({atom("nodedown"), beam_atom()})));
  EXPECT_TRUE(cpp().nodes().empty());
}

TEST_P(NodeInterop, WrongCookieIsRejected) {
  auto& beam = start_beam(et::random_cookie());
  EXPECT_TRUE(connect_from_cpp(beam.node_name()));
  EXPECT_FALSE(cpp().is_connected(beam.node_name()));
  EXPECT_EQ(beam.eval("net_kernel:connect_node(" + q() + ")"), "false");
  EXPECT_NE(net_->failure_detail(beam.node_name()).find("cookie"), std::string::npos)
      << net_->failure_detail(beam.node_name());
  // With the peer's cookie set for that node only, it works.
  cpp().set_cookie(beam.node_name(), beam.cookie());
  EXPECT_FALSE(connect_from_cpp(beam.node_name()));
}

TEST_P(NodeInterop, APerNodeCookieAlsoAdmitsThatNodeWhenItDialsUs) {
  auto& beam = start_beam(et::random_cookie());
  EXPECT_EQ(beam.eval("net_kernel:connect_node(" + q() + ")"), "false");
  cpp().set_cookie(beam.node_name(), beam.cookie());
  EXPECT_EQ(beam.eval("net_kernel:connect_node(" + q() + ")"), "true");
  // The accepting side records the connection a moment after the dialler returns.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!cpp().is_connected(beam.node_name()) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(cpp().is_connected(beam.node_name()));
}

TEST_P(NodeInterop, NameTypeMismatchIsRejected) {
  auto& beam = start_beam({}, /*long_names=*/true);
  EXPECT_EQ(connect_from_cpp(beam.node_name()), edist::dist::errc::name_type_mismatch);
  EXPECT_EQ(beam.eval("net_kernel:connect_node(" + q() + ")"), "false");
  EXPECT_TRUE(cpp().nodes(node_list::connected()).empty());
}

}  // namespace

EDIST_INSTANTIATE_OTP_TEST_SUITE(NodeInterop);
