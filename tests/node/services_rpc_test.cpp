// rpc: result shapes as rpc.erl and erpc.erl build them (OTP 25 and 27 agree), the function
// registry, the rex server, answers to erpc's spawn requests, and the rex client (here against
// our own rex, and against an unreachable node).
#include <gtest/gtest.h>

#include <array>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>

#include "edist/node/rpc.hpp"

namespace {

namespace asio = boost::asio;
namespace rpc = edist::node::rpc;
namespace gen = edist::node::gen;
using edist::etf::atom;
using edist::etf::term;
using edist::node::process;
using edist::node::remote_gateway;
using edist::node::remote_signal;
using edist::node::runtime;
using namespace std::chrono_literals;

term L(std::initializer_list<term> xs) {
  return term::list(xs);
}
term T(std::initializer_list<term> xs) {
  return term::tuple(xs);
}

std::shared_ptr<rpc::registry> math_registry() {
  auto r = std::make_shared<rpc::registry>();
  r->add(
      "math", "add",
      [](std::span<const term> a) { return term(a[0].as_int64() + a[1].as_int64()); }, 2);
  r->add(
      "math", "add", [](std::span<const term> a) { return a[0]; }, 1);
  r->add("math", "count", [](std::span<const term> a) { return term(a.size()); });
  r->add("math", "throws", [](std::span<const term>) -> term {
    throw rpc::exception(rpc::exception_class::throw_, atom("thrown"));
  });
  r->add("math", "exits", [](std::span<const term>) -> term {
    throw rpc::exception(rpc::exception_class::exit, atom("bye"));
  });
  r->add("math", "errors", [](std::span<const term>) -> term {
    throw rpc::exception(rpc::exception_class::error, atom("badarith"));
  });
  r->add("math", "cpp", [](std::span<const term>) -> term { throw std::runtime_error("boom"); });
  return r;
}

TEST(RpcShapes, ResultsAsRpcAndErpcBuildThem) {
  auto reg = math_registry();
  const term m = atom("math");
  EXPECT_EQ(rpc::rex_reply(reg->apply(m, atom("add"), L({1, 2}))), term(3));
  EXPECT_EQ(rpc::rex_reply(reg->apply(m, atom("add"), L({9}))), term(9));
  EXPECT_EQ(rpc::rex_reply(reg->apply(m, atom("count"), L({1, 2, 3, 4}))), term(4));
  EXPECT_EQ(rpc::rex_reply(reg->apply(m, atom("count"), term::list({}))), term(0));
  // A thrown value is the result of rpc:call, as rpc.erl returns it.
  EXPECT_EQ(rpc::rex_reply(reg->apply(m, atom("throws"), L({}))), atom("thrown"));
  EXPECT_EQ(rpc::rex_reply(reg->apply(m, atom("exits"), L({}))),
            T({atom("badrpc"), T({atom("EXIT"), atom("bye")})}));
  EXPECT_EQ(
      rpc::rex_reply(reg->apply(m, atom("errors"), L({}))),
      T({atom("badrpc"),
         T({atom("EXIT"), T({atom("badarith"), L({T({m, atom("errors"), term(0), L({})})})})})}));
  EXPECT_EQ(
      rpc::rex_reply(reg->apply(m, atom("cpp"), L({}))),
      T({atom("badrpc"), T({atom("EXIT"), T({T({atom("cpp_exception"), edist::etf::binary("boom")}),
                                             L({T({m, atom("cpp"), term(0), L({})})})})})}));
  // Seen on a live OTP 25 node: rpc:call(N, foo, bar, [1]) ->
  // {badrpc,{'EXIT',{undef,[{foo,bar,[1],[]}]}}}. Arity 3 of add is undefined too.
  EXPECT_EQ(rpc::rex_reply(reg->apply(atom("foo"), atom("bar"), L({1}))),
            T({atom("badrpc"),
               T({atom("EXIT"),
                  T({atom("undef"), L({T({atom("foo"), atom("bar"), L({1}), L({})})})})})}));
  EXPECT_EQ(rpc::rex_reply(reg->apply(m, atom("add"), L({1, 2, 3})))[1][1][0], atom("undef"));
  EXPECT_EQ(rpc::rex_reply(reg->apply(term(1), atom("f"), L({}))),
            T({atom("badrpc"), T({atom("EXIT"), atom("badarg")})}));

  const term ref = term::reference(atom("beam@h"), 4, std::array<std::uint32_t, 3>{1, 2, 3});
  EXPECT_EQ(rpc::erpc_exit_reason(ref, reg->apply(m, atom("add"), L({1, 2}))),
            T({ref, atom("return"), term(3)}));
  EXPECT_EQ(rpc::erpc_exit_reason(ref, reg->apply(m, atom("throws"), L({}))),
            T({ref, atom("throw"), atom("thrown")}));
  EXPECT_EQ(rpc::erpc_exit_reason(ref, reg->apply(m, atom("exits"), L({}))),
            T({ref, atom("exit"), atom("bye")}));
  EXPECT_EQ(
      rpc::erpc_exit_reason(ref, reg->apply(atom("foo"), atom("bar"), L({1}))),
      T({ref, atom("error"), atom("undef"), L({T({atom("foo"), atom("bar"), L({1}), L({})})})}));
  EXPECT_EQ(rpc::erpc_exit_reason(ref, reg->apply(m, atom("f"), atom("notalist"))),
            T({ref, atom("error"), T({atom("erpc"), atom("badarg")})}));
}

TEST(RpcShapes, RegistryRemoveAndRexParsing) {
  auto reg = math_registry();
  EXPECT_TRUE(reg->remove("math", "add", 2));
  EXPECT_FALSE(reg->remove("math", "add", 2));
  EXPECT_EQ(reg->apply(atom("math"), atom("add"), L({1, 2})).value, atom("undef"));
  EXPECT_EQ(reg->apply(atom("math"), atom("add"), L({5})).value, term(5));

  auto rt = runtime::create(asio::io_context().get_executor(), "a@h", 1);
  term pid = term::pid(atom("beam@h"), 1, 0, 1);
  term ref = rt->make_ref();
  auto c = rpc::parse_rex(
      gen::call_message(pid, ref, T({atom("call"), atom("m"), atom("f"), L({1}), atom("user")})));
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->is_cast);
  EXPECT_EQ(c->caller.tag, ref);
  EXPECT_EQ(c->args, L({1}));
  auto k = rpc::parse_rex(gen::cast_message(T({atom("cast"), atom("m"), atom("f"), L({}), pid})));
  ASSERT_TRUE(k);
  EXPECT_TRUE(k->is_cast);
  EXPECT_FALSE(rpc::parse_rex(gen::call_message(pid, ref, atom("stop"))));
  EXPECT_FALSE(
      rpc::parse_rex(gen::cast_message(T({atom("call"), atom("m"), atom("f"), L({}), pid}))));
}

class unreachable_gateway final : public remote_gateway {
 public:
  bool route(const term&, remote_signal) override { return false; }
};

class Rpc : public ::testing::Test {
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
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::shared_ptr<runtime> rt = runtime::create(io.get_executor(), "cpp@localhost", 3);
  unreachable_gateway gateway;
  std::shared_ptr<rpc::registry> reg = math_registry();
  std::thread runner;
};

TEST_F(Rpc, RexAnswersBeamShapedCallsAndCasts) {
  std::error_code ec;
  term rex = rpc::start_rex(*rt, reg, ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(rt->whereis(atom("rex")), rex);
  process caller = rt->spawn();
  term ref = rt->make_ref();
  caller.send(
      atom("rex"),
      gen::call_message(caller.pid(), ref,
                        T({atom("call"), atom("math"), atom("add"), L({20, 22}), atom("user")})));
  auto r = caller.receive(2s);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, T({ref, term(42)}));

  term ref2 = rt->make_ref();
  caller.send(atom("rex"),
              gen::call_message(caller.pid(), ref2,
                                T({atom("call"), atom("foo"), atom("bar"), L({1}), atom("user")})));
  auto u = caller.receive(2s);
  ASSERT_TRUE(u);
  EXPECT_EQ((*u)[0], ref2);
  EXPECT_EQ((*u)[1], rpc::rex_reply(reg->apply(atom("foo"), atom("bar"), L({1}))));

  // A cast runs the function and answers nothing.
  std::promise<term> seen;
  reg->add("side", "effect", [&](std::span<const term> a) {
    seen.set_value(a[0]);
    return atom("ok");
  });
  caller.send(atom("rex"), gen::cast_message(T({atom("cast"), atom("side"), atom("effect"),
                                                L({atom("x")}), atom("user")})));
  EXPECT_EQ(seen.get_future().get(), atom("x"));
  EXPECT_EQ(caller.receive(50ms).error, edist::node::errc::timeout);
}

TEST_F(Rpc, ClientThroughRexAndNodedown) {
  std::error_code ec;
  rpc::start_rex(*rt, reg, ec);
  ASSERT_FALSE(ec);
  process self = rt->spawn();
  const term me = atom("cpp@localhost");
  EXPECT_EQ(rpc::call(self, me, atom("math"), atom("add"), L({1, 2}), 2s), term(3));
  EXPECT_EQ(rpc::call(self, me, atom("math"), atom("exits"), L({}), 2s),
            T({atom("badrpc"), T({atom("EXIT"), atom("bye")})}));
  // An unreachable node: the monitor fires with noconnection, which rpc:call maps to nodedown.
  EXPECT_EQ(rpc::call(self, atom("gone@nowhere"), atom("m"), atom("f"), L({}), 2s),
            T({atom("badrpc"), atom("nodedown")}));

  const term nodes[] = {me, atom("gone@nowhere"), me};
  auto mc = rpc::multicall(self, nodes, atom("math"), atom("add"), L({2, 3}), 2s);
  EXPECT_EQ(mc.results, (std::vector<term>{term(5), term(5)}));
  EXPECT_EQ(mc.bad_nodes, (std::vector<term>{atom("gone@nowhere")}));
  EXPECT_EQ(self.receive(50ms).error, edist::node::errc::timeout);
}

TEST_F(Rpc, GlobalResolverAsksGlobalWhereisName) {
  std::error_code ec;
  rpc::start_rex(*rt, reg, ec);
  process self = rt->spawn();
  const term target = term::pid(atom("cpp@localhost"), 5, 0, 3);
  reg->add(
      "global", "whereis_name",
      [&](std::span<const term> a) { return a[0] == atom("known") ? target : atom("undefined"); },
      1);
  auto resolve = rpc::global_resolver(self, atom("cpp@localhost"));
  EXPECT_EQ(resolve(atom("known")), target);
  EXPECT_FALSE(resolve(atom("unknown")));
}

// What the requester sees: it monitors the spawned pid with the request id as reference (the
// node sets that up before start()), and reads erpc's result from the DOWN reason.
term run_spawn(runtime& rt, const std::shared_ptr<rpc::registry>& reg, const process& requester,
               const term& mfa, const term& args, term* error = nullptr) {
  rpc::spawn_request req{rt.make_ref(), requester.pid(), mfa, args};
  auto d = rpc::erpc_spawn(rt, reg, req);
  if (!d.job) {
    if (error) *error = d.error;
    return term();
  }
  term mref = requester.monitor(d.job->pid);
  d.job->start();
  auto down = requester.receive_if([&](const term& m) { return m.is_tuple(5) && m[1] == mref; },
                                   std::chrono::seconds(2));
  if (!down) return atom("no_down");
  return (*down)[4];
}

TEST_F(Rpc, ErpcSpawnRequestsEndWithErpcReasons) {
  process requester = rt->spawn();
  const term ref = rt->make_ref();
  const term exec = T({atom("erpc"), atom("execute_call"), term(4)});
  EXPECT_EQ(run_spawn(*rt, reg, requester, exec, L({ref, atom("math"), atom("add"), L({4, 5})})),
            T({ref, atom("return"), term(9)}));
  EXPECT_EQ(
      run_spawn(*rt, reg, requester, exec, L({ref, atom("foo"), atom("bar"), L({1})})),
      T({ref, atom("error"), atom("undef"), L({T({atom("foo"), atom("bar"), L({1}), L({})})})}));
  EXPECT_EQ(run_spawn(*rt, reg, requester, exec, L({ref, atom("math"), atom("throws"), L({})})),
            T({ref, atom("throw"), atom("thrown")}));

  // Another M:F/A: a registered C++ function is the body; an unknown one ends with undef.
  EXPECT_EQ(run_spawn(*rt, reg, requester, T({atom("math"), atom("add"), term(2)}), L({1, 2})),
            atom("normal"));
  EXPECT_EQ(run_spawn(*rt, reg, requester, T({atom("io"), atom("format"), term(1)}), L({1})),
            rpc::undef_reason(atom("io"), atom("format"), L({1})));
  EXPECT_EQ(run_spawn(*rt, reg, requester, T({atom("math"), atom("exits"), term(0)}), L({})),
            atom("bye"));

  // Malformed requests are refused with an error for SPAWN_REPLY, never silence.
  term error;
  EXPECT_TRUE(
      run_spawn(*rt, reg, requester, T({atom("m"), atom("f"), term(2)}), L({1}), &error).is_nil());
  EXPECT_EQ(error, atom("badarg"));
  EXPECT_TRUE(run_spawn(*rt, reg, requester, atom("nonsense"), L({}), &error).is_nil());
  EXPECT_EQ(error, atom("badarg"));

  // A job dropped without start() ends its process.
  auto d = rpc::erpc_spawn(
      *rt, reg,
      {rt->make_ref(), requester.pid(), exec, L({ref, atom("math"), atom("add"), L({1, 1})})});
  ASSERT_TRUE(d.job);
  term pid = d.job->pid;
  EXPECT_TRUE(rt->is_alive(pid));
  d.job.reset();
  EXPECT_FALSE(rt->is_alive(pid));
}

}  // namespace
