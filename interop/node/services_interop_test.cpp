// OTP services of the edist node against live BEAM nodes (every available OTP; Elixir where it
// runs): GenServer calls both ways (by pid, {Name, Node} and {global, Name}), the rex protocol
// both ways, and :pg membership seen on both sides.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <future>
#include <span>
#include <thread>

#include "cpp_node_test.hpp"
#include "edist/node/gen_server.hpp"
#include "edist/node/global.hpp"
#include "edist/node/network.hpp"
#include "edist/node/pg.hpp"
#include "edist/node/rpc.hpp"
#include "edist/testing/beam_node.hpp"
#include "edist/testing/epmd_instance.hpp"
#include "edist/testing/gtest.hpp"
#include "edist/testing/names.hpp"

namespace {

namespace asio = boost::asio;
namespace et = edist::testing;
namespace gen = edist::node::gen;
namespace rpc = edist::node::rpc;
namespace pg = edist::node::pg;
using edist::etf::atom;
using edist::etf::term;
using namespace edist::node;
using namespace std::chrono_literals;

term L(std::initializer_list<term> xs) {
  return term::list(xs);
}
term T(std::initializer_list<term> xs) {
  return term::tuple(xs);
}

class ServicesInterop : public edist::interop::cpp_node_test {
 protected:
  void SetUp() override {
    cpp_node_test::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    start_cpp_node("svc");
  }

  void TearDown() override {
    beam_.reset();
    cpp_node_test::TearDown();
  }

  et::beam_node& start_beam() {
    et::beam_options o;
    o.epmd_port = epmd_->port();
    o.cookie = cookie_;
    o.elixir = et::system_elixir().has_value() && et::system_otp().has_value() &&
               otp().bin_dir == et::system_otp()->bin_dir;
    beam_.emplace(et::beam_node::start(otp(), o));
    return *beam_;
  }

  term beam_atom() { return atom(beam_->node_name()); }
  std::string q() { return "'" + cpp().name() + "'"; }

  // Polls a BEAM expression until it prints `expected` (membership spreads asynchronously).
  std::string eventually(const std::string& expr, const std::string& expected) {
    std::string got;
    for (int i = 0; i < 100; ++i) {
      got = beam_->eval(expr);
      if (got == expected) break;
      std::this_thread::sleep_for(50ms);
    }
    return got;
  }

  std::optional<et::beam_node> beam_;
};

TEST_P(ServicesInterop, BeamCallsAndCastsACppGenServer) {
  auto& beam = start_beam();
  std::atomic<int> casts{0};
  gen::server_handlers h;
  h.on_call = [](process&, const gen::from&, const term& req) -> std::optional<term> {
    std::int64_t a = 0, b = 0;
    if (req.is_tuple(3) && req[0].is_atom("add") && req[1].is_integer() && req[2].is_integer()) {
      a = req[1].as_int64();
      b = req[2].as_int64();
      return T({atom("sum"), term(a + b)});
    }
    return atom("unknown");
  };
  h.on_cast = [&](process&, const term&) { ++casts; };
  std::error_code ec;
  term srv = gen::start_server(cpp().local(), std::move(h), atom("cpp_srv"), ec);
  ASSERT_FALSE(ec);
  // gen_server:call of the release under test (alias tags on OTP 24+), by {Name, Node}.
  EXPECT_EQ(beam.eval("gen_server:call({cpp_srv, " + q() + "}, {add, 20, 22})"), "{sum,42}");
  EXPECT_EQ(beam.eval("gen_server:cast({cpp_srv, " + q() + "}, hello)"), "ok");
  EXPECT_EQ(beam.eval("gen_server:call({cpp_srv, " + q() + "}, other, 5000)"), "unknown");
  EXPECT_EQ(casts.load(), 1);
  // The C++ pid registered in :global from the BEAM side, then called through {global, Name}.
  process holder = cpp().spawn();
  holder.send(T({atom("edist_test_evaluator"), beam_atom()}), T({atom("srv"), srv}));
  EXPECT_EQ(beam.eval("receive {srv, P} -> global:register_name({todo_list, <<\"bob\">>}, P) "
                      "after 10000 -> timeout end"),
            "yes");
  EXPECT_EQ(beam.eval("gen_server:call({global, {todo_list, <<\"bob\">>}}, {add, 1, 2})"),
            "{sum,3}");
  // A call to a C++ name nobody holds fails at once with noproc (MONITOR_P_EXIT).
  EXPECT_EQ(beam.eval("catch gen_server:call({nobody, " + q() + "}, x, 5000)"),
            "{'EXIT',{noproc,{gen_server,call,[{nobody," + cpp().name() + "},x,5000]}}}");
}

TEST_P(ServicesInterop, CppCallsBeamGenServers) {
  auto& beam = start_beam();
  process self = cpp().spawn();
  // rex is a gen_server on every BEAM node: by {Name, Node}, by pid, and by {global, Name}.
  const term req = T({atom("call"), atom("erlang"), atom("node"), L({}), atom("user")});
  auto r = gen::call(self, T({atom("rex"), beam_atom()}), req, {10s, {}});
  ASSERT_TRUE(r) << r.error.message();
  EXPECT_EQ(r.reply, beam_atom());
  const term rex_pid =
      rpc::call(self, beam_atom(), atom("erlang"), atom("whereis"), L({atom("rex")}), 10s);
  ASSERT_TRUE(rex_pid.is_pid());
  EXPECT_EQ(gen::call(self, rex_pid, req).reply, beam_atom());
  EXPECT_EQ(beam.eval("global:register_name(beam_rex, whereis(rex))"), "yes");
  gen::call_options opts;
  opts.resolve_global = rpc::global_resolver(self, beam_atom());
  auto g = gen::call(self, T({atom("global"), atom("beam_rex")}), req, opts);
  ASSERT_TRUE(g) << g.error.message();
  EXPECT_EQ(g.reply, beam_atom());
  EXPECT_EQ(gen::call(self, T({atom("global"), atom("nobody")}), req, opts).error,
            service_errc::noproc);
  // Failure detection: a missing name, a server that dies, a server that never answers.
  EXPECT_EQ(gen::call(self, T({atom("nobody"), beam_atom()}), req).error, service_errc::noproc);
  EXPECT_EQ(beam.eval("register(silent, spawn(fun() -> receive {'$gen_call', _, die} -> "
                      "exit(died) end end)), ok"),
            "ok");
  gen::call_options quick;
  quick.timeout = 300ms;
  EXPECT_EQ(gen::call(self, T({atom("silent"), beam_atom()}), atom("hi"), quick).error,
            service_errc::timeout);
  auto died = gen::call(self, T({atom("silent"), beam_atom()}), atom("die"));
  EXPECT_EQ(died.error, service_errc::target_down);
  EXPECT_EQ(died.reason, atom("died"));
  // Nothing is left in the caller's mailbox.
  EXPECT_EQ(self.receive(100ms).error, errc::timeout);
}

TEST_P(ServicesInterop, RexBothWays) {
  auto& beam = start_beam();
  auto fns = std::make_shared<rpc::registry>();
  fns->add(
      "math", "add",
      [](std::span<const term> a) { return term(a[0].as_int64() + a[1].as_int64()); }, 2);
  std::error_code ec;
  rpc::start_rex(cpp().local(), fns, ec);
  ASSERT_FALSE(ec);
  // The rex protocol as rpc.erl's server speaks it, from the BEAM.
  EXPECT_EQ(beam.eval("gen_server:call({rex, " + q() + "}, {call, math, add, [1, 2], user})"), "3");
  // Undefined: the exact answer a BEAM rex gives (checked against OTP 25 rpc:call).
  const std::string undef =
      beam.eval("gen_server:call({rex, " + q() + "}, {call, foo, bar, [1], user})");
  EXPECT_EQ(undef, "{badrpc,{'EXIT',{undef,[{foo,bar,[1],[]}]}}}");
  // The BEAM node's own rex gives the same for an undefined function.
  EXPECT_EQ(beam.eval("gen_server:call(rex, {call, foo, bar, [1], user})"), undef);

  process self = cpp().spawn();
  EXPECT_EQ(rpc::call(self, beam_atom(), atom("lists"), atom("reverse"), L({L({1, 2, 3})}), 10s),
            L({3, 2, 1}));
  EXPECT_EQ(rpc::call(self, beam_atom(), atom("foo"), atom("bar"), L({1}), 10s),
            T({atom("badrpc"),
               T({atom("EXIT"),
                  T({atom("undef"), L({T({atom("foo"), atom("bar"), L({1}), L({})})})})})}));
  EXPECT_EQ(rpc::call(self, beam_atom(), atom("erlang"), atom("exit"), L({atom("x")}), 10s),
            T({atom("badrpc"), T({atom("EXIT"), atom("x")})}));
  EXPECT_EQ(rpc::call(self, beam_atom(), atom("timer"), atom("sleep"), L({2000}), 200ms),
            T({atom("badrpc"), atom("timeout")}));
  EXPECT_EQ(rpc::call(self, atom("nobody@localhost"), atom("erlang"), atom("node"), L({}), 5s),
            T({atom("badrpc"), atom("nodedown")}));
  const term nodes[] = {beam_atom(), atom("nobody@localhost")};
  auto mc = rpc::multicall(self, nodes, atom("erlang"), atom("node"), L({}), 10s);
  EXPECT_EQ(mc.results, std::vector<term>{beam_atom()});
  EXPECT_EQ(mc.bad_nodes, std::vector<term>{atom("nobody@localhost")});
  rpc::cast(self, beam_atom(), atom("erlang"), atom("send"),
            L({atom("edist_test_evaluator"), atom("cast_arrived")}));
  EXPECT_EQ(beam.eval("receive cast_arrived -> yes after 10000 -> no end"), "yes");
}

// erpc:call and rpc:call from BEAM reach C++ functions through SPAWN_REQUEST of
// {erpc, execute_call, 4}; results, exceptions and undefined functions look as they would
// from a BEAM node.
TEST_P(ServicesInterop, ErpcAndRpcFromBeamReachCppFunctions) {
  auto& beam = start_beam();
  auto fns = cpp().rpc_functions();
  fns->add(
      "math", "add",
      [](std::span<const term> a) { return term(a[0].as_int64() + a[1].as_int64()); }, 2);
  fns->add("math", "fail", [](std::span<const term>) -> term {
    throw rpc::exception(rpc::exception_class::error, atom("boom"));
  });
  fns->add("math", "toss", [](std::span<const term> a) -> term {
    throw rpc::exception(rpc::exception_class::throw_, a[0]);
  });
  fns->add("math", "quit", [](std::span<const term>) -> term {
    throw rpc::exception(rpc::exception_class::exit, atom("bye"));
  });
  const std::string n = q();
  EXPECT_EQ(beam.eval("erpc:call(" + n + ", math, add, [1, 2])"), "3");
  EXPECT_EQ(beam.eval("rpc:call(" + n + ", math, add, [40, 2])"), "42");
  EXPECT_EQ(beam.eval("erpc:call(" + n + ", math, add, [1, 2], 5000)"), "3");
  // Exceptions, as erpc:call raises them and rpc:call turns them into values.
  EXPECT_EQ(beam.eval("try erpc:call(" + n + ", math, toss, [ball]) catch C:R -> {C, R} end"),
            "{throw,ball}");
  EXPECT_EQ(beam.eval("try erpc:call(" + n + ", math, quit, []) catch C:R -> {C, R} end"),
            "{exit,{exception,bye}}");
  EXPECT_EQ(beam.eval("try erpc:call(" + n +
                      ", math, fail, []) catch error:{exception, R, _} -> "
                      "R end"),
            "boom");
  EXPECT_EQ(beam.eval("rpc:call(" + n + ", math, toss, [ball])"), "ball");
  EXPECT_EQ(beam.eval("rpc:call(" + n + ", math, quit, [])"), "{badrpc,{'EXIT',bye}}");
  // Undefined functions: the answers a BEAM node gives for its own undefined function.
  const std::string erpc_undef = "try erpc:call(N, foo, bar, [1]) catch C:R -> {C, R} end";
  auto with = [](std::string expr, const std::string& node) {
    return expr.replace(expr.find("N,"), 1, node);
  };
  EXPECT_EQ(beam.eval(with(erpc_undef, n)), "{error,{exception,undef,[{foo,bar,[1],[]}]}}");
  EXPECT_EQ(beam.eval(with(erpc_undef, n)), beam.eval(with(erpc_undef, "node()")));
  EXPECT_EQ(beam.eval("rpc:call(" + n + ", foo, bar, [1])"),
            "{badrpc,{'EXIT',{undef,[{foo,bar,[1],[]}]}}}");
  EXPECT_EQ(beam.eval("rpc:call(" + n + ", foo, bar, [1])"),
            beam.eval("rpc:call(node(), foo, bar, [1])"));
  // A function registered for two arguments is undefined with three.
  EXPECT_EQ(beam.eval("rpc:call(" + n + ", math, add, [1, 2, 3])"),
            "{badrpc,{'EXIT',{undef,[{math,add,[1,2,3],[]}]}}}");
}

// Spawn requests for anything but erpc: a registered C++ M:F runs as the process body, an
// unknown one gives a process that exits with undef (as a BEAM node would), and link and
// monitor options are honoured.
TEST_P(ServicesInterop, SpawnRequestsFromBeam) {
  auto& beam = start_beam();
  std::atomic<int> runs{0};
  cpp().rpc_functions()->add(
      "work", "run",
      [&](std::span<const term> a) {
        ++runs;
        return a[0];
      },
      1);
  const std::string n = q();
  EXPECT_EQ(beam.eval("R = erlang:spawn_request(" + n +
                      ", work, run, [x], [monitor]), "
                      "receive {spawn_reply, R, ok, P} when node(P) =:= " +
                      n +
                      " -> receive {'DOWN', R, process, P, Why} -> Why after 10000 -> nodown end; "
                      "Other -> Other after 10000 -> noreply end"),
            "normal");
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(beam.eval("R = erlang:spawn_request(" + n +
                      ", nomod, nofun, [1], [monitor]), "
                      "receive {spawn_reply, R, ok, P} -> receive {'DOWN', R, process, P, Why} -> "
                      "Why after 10000 -> nodown end; Other -> Other after 10000 -> noreply end"),
            "{undef,[{nomod,nofun,[1],[]}]}");
  // spawn_link/4 (a spawn request with link): the exit signal reaches a trapping parent.
  EXPECT_EQ(beam.eval("Self = self(), spawn(fun() -> process_flag(trap_exit, true), "
                      "P = spawn_link(" +
                      n +
                      ", nomod, nofun, []), "
                      "receive {'EXIT', P, R} -> Self ! {linked, R} after 10000 -> "
                      "Self ! {linked, timeout} end end), "
                      "receive {linked, X} -> X after 15000 -> none end"),
            "{undef,[{nomod,nofun,[],[]}]}");
  // spawn_monitor/4 of a registered function that ends normally.
  EXPECT_EQ(beam.eval("{P, M} = spawn_monitor(" + n +
                      ", work, run, [y]), "
                      "receive {'DOWN', M, process, P, Why} -> Why after 10000 -> nodown end"),
            "normal");
  EXPECT_EQ(runs.load(), 2);
}

TEST_P(ServicesInterop, PgMembershipOnBothSides) {
  auto& beam = start_beam();
  // The BEAM's default scope first, then ours: the connection's nodeup makes both discover.
  EXPECT_EQ(beam.eval("case pg:start(pg) of {ok, _} -> ok; {error, {already_started, _}} -> ok "
                      "end"),
            "ok");
  std::error_code ec;
  auto scope = pg::scope::start(cpp().local(), atom("pg"), ec);
  ASSERT_TRUE(scope) << ec.message();
  EXPECT_EQ(beam.eval("net_kernel:connect_node(" + q() + ")"), "true");

  process member = cpp().spawn();
  const term pids[] = {member.pid()};
  ASSERT_FALSE(scope->join(atom("workers"), pids));
  // ~0p prints the node atom unquoted.
  const std::string only_cpp = "[" + cpp().name() + "]";
  EXPECT_EQ(eventually("[node(P) || P <- pg:get_members(workers)]", only_cpp), only_cpp);

  // A BEAM member, seen from C++.
  EXPECT_EQ(beam.eval("pg:join(workers, self())"), "ok");
  for (int i = 0; i < 100 && scope->get_members(atom("workers")).size() < 2; ++i)
    std::this_thread::sleep_for(50ms);
  auto members = scope->get_members(atom("workers"));
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[1].as_pid().node, beam_atom());
  EXPECT_EQ(scope->which_groups(), std::vector<term>{atom("workers")});

  // Leave, and a member that ends: both vanish on the BEAM side; the BEAM scope survives.
  process second = cpp().spawn();
  const term second_pid[] = {second.pid()};
  ASSERT_FALSE(scope->join(atom("others"), second_pid));
  EXPECT_EQ(eventually("length(pg:get_members(others))", "1"), "1");
  EXPECT_TRUE(scope->leave(atom("workers"), pids));
  EXPECT_EQ(eventually("length(pg:get_members(workers))", "1"), "1");
  second = process();
  EXPECT_EQ(eventually("pg:get_members(others)", "[]"), "[]");
  EXPECT_EQ(beam.eval("is_process_alive(whereis(pg))"), "true");
}

TEST_P(ServicesInterop, GlobalNamesAcrossTwoBeamNodes) {
  auto& beam1 = start_beam();
  et::beam_options o2;
  o2.epmd_port = epmd_->port();
  o2.cookie = cookie_;
  auto beam2 = et::beam_node::start(otp(), o2);
  const std::string b1 = "'" + beam1.node_name() + "'";
  ASSERT_EQ(beam2.eval("net_kernel:connect_node(" + b1 + ")"), "true");
  ASSERT_EQ(beam2.eval("global:sync()"), "ok");

  gen::server_handlers h;
  h.on_call = [](process&, const gen::from&, const term& req) -> std::optional<term> {
    if (req.is_tuple(3) && req[1].is_integer() && req[2].is_integer())
      return T({atom("sum"), term(req[1].as_int64() + req[2].as_int64())});
    return atom("unknown");
  };
  std::error_code ec;
  term srv = gen::start_server(cpp().local(), std::move(h), std::nullopt, ec);
  ASSERT_FALSE(ec);
  process self = cpp().spawn();
  edist::node::global::client g(self, beam_atom());

  // The book's example: :global.register_name({:todo_list, "bob"}, pid), from C++.
  const term bob = T({atom("todo_list"), edist::etf::binary("bob")});
  ASSERT_TRUE(g.register_name(bob, srv));
  process other = cpp().spawn();
  EXPECT_FALSE(g.register_name(bob, other.pid()));  // taken: no
  const std::string where = "node(global:whereis_name({todo_list, <<\"bob\">>}))";
  EXPECT_EQ(eventually(where, cpp().name()), cpp().name());
  EXPECT_EQ(beam2.eval(where), cpp().name());
  EXPECT_EQ(g.whereis_name(bob), srv);
  // GenServer.call({:global, name}, ...) from the other BEAM node reaches the C++ process.
  EXPECT_EQ(beam2.eval("gen_server:call({global, {todo_list, <<\"bob\">>}}, {add, 2, 3})"),
            "{sum,5}");

  // A name registered on a BEAM node resolves from C++; global:send-like delivery.
  ASSERT_EQ(beam2.eval("global:register_name(beam2_evaluator, self())"), "yes");
  std::optional<term> b2;
  for (int i = 0; i < 100 && !(b2 = g.whereis_name(atom("beam2_evaluator"))); ++i)
    std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(b2);
  EXPECT_EQ(b2->as_pid().node, atom(beam2.node_name()));
  EXPECT_FALSE(g.send(atom("beam2_evaluator"), atom("via_global")));
  EXPECT_EQ(beam2.eval("receive via_global -> yes after 10000 -> no end"), "yes");
  EXPECT_EQ(g.send(atom("nobody"), atom("x")), service_errc::noproc);
  auto names = g.registered_names();
  EXPECT_NE(std::find(names.begin(), names.end(), bob), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), atom("beam2_evaluator")), names.end());

  // unregister_name, and a name that vanishes when its C++ process ends.
  ASSERT_TRUE(g.register_name(atom("temp"), other.pid()));
  g.unregister_name(atom("temp"));
  EXPECT_FALSE(g.whereis_name(atom("temp")));
  cpp().local().exit(term(), srv, atom("kill"));
  EXPECT_EQ(eventually("global:whereis_name({todo_list, <<\"bob\">>})", "undefined"), "undefined");
  EXPECT_EQ(beam2.eval("global:whereis_name({todo_list, <<\"bob\">>})"), "undefined");
}

TEST_P(ServicesInterop, PgOnAHiddenNodeByExplicitDiscover) {
  net_->stop();
  node_options no;
  no.name = et::unique_name("hsvc") + "@localhost";
  no.cookie = cookie_;
  no.hidden = true;
  network_options net;
  net.epmd_port = epmd_->port();
  net.start_embedded_epmd = false;
  std::error_code ec;
  net_ = network::start(io_.get_executor(), no, net, ec);
  ASSERT_TRUE(net_) << ec.message();
  auto& beam = start_beam();
  ASSERT_EQ(beam.eval("case pg:start(pg) of {ok, _} -> ok; {error, {already_started, _}} -> ok "
                      "end"),
            "ok");
  ASSERT_EQ(beam.eval("pg:join(g, self())"), "ok");
  auto scope = pg::scope::start(cpp().local(), atom("pg"), ec);
  ASSERT_TRUE(scope) << ec.message();
  // No nodeup discovery for hidden nodes: ask explicitly (this connects on demand).
  scope->discover(beam_atom());
  for (int i = 0; i < 100 && scope->get_members(atom("g")).empty(); ++i)
    std::this_thread::sleep_for(50ms);
  ASSERT_EQ(scope->get_members(atom("g")).size(), 1u);
  EXPECT_EQ(beam.eval("nodes(hidden) =:= [" + q() + "]"), "true");
  process member = cpp().spawn();
  const term pids[] = {member.pid()};
  ASSERT_FALSE(scope->join(atom("g"), pids));
  EXPECT_EQ(eventually("length(pg:get_members(g))", "2"), "2");
  member = process();
  EXPECT_EQ(eventually("length(pg:get_members(g))", "1"), "1");
  // The BEAM member leaves: C++ sees it.
  ASSERT_EQ(beam.eval("pg:leave(g, self())"), "ok");
  for (int i = 0; i < 100 && !scope->get_members(atom("g")).empty(); ++i)
    std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(scope->get_members(atom("g")).empty());
}

EDIST_INSTANTIATE_OTP_TEST_SUITE(ServicesInterop);

}  // namespace
