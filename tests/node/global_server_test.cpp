// The global name server of a lone visible node (no peers): who runs it, the native API against
// its own locks and table, names that vanish with their process, robustness against malformed
// messages, and {via, Module, Name} targets of gen::call.
#include "edist/node/global_server.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <mutex>
#include <thread>

#include "edist/node/gen_server.hpp"
#include "edist/node/node.hpp"
#include "edist/node/service_error.hpp"

namespace {

namespace asio = boost::asio;
namespace gen = edist::node::gen;
using edist::etf::atom;
using edist::etf::term;
using namespace edist::node;
using namespace std::chrono_literals;

term T(std::initializer_list<term> xs) {
  return term::tuple(xs);
}

class GlobalServer : public ::testing::Test {
 protected:
  void SetUp() override {
    thread = std::thread([this] { io.run(); });
    std::error_code ec;
    n = node::create(io.get_executor(), {.name = "cpp@localhost", .cookie = "SECRET"}, 3, ec);
    ASSERT_FALSE(ec);
    ASSERT_NE(n->global_names(), nullptr);
  }
  void TearDown() override {
    if (n) n->shutdown();
    n.reset();
    work.reset();
    thread.join();
  }
  global::server& g() { return *n->global_names(); }

  template <class Pred>
  static bool wait_for(Pred pred) {
    for (int i = 0; i < 200 && !pred(); ++i) std::this_thread::sleep_for(10ms);
    return pred();
  }

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::thread thread;
  std::shared_ptr<node> n;
};

TEST(GlobalServerStart, OnlyVisibleNodesRunIt) {
  asio::io_context io;
  std::error_code ec;
  auto hidden = node::create(io.get_executor(),
                             {.name = "h@localhost", .cookie = "C", .hidden = true}, 1, ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(hidden->global_names(), nullptr);
  EXPECT_FALSE(hidden->local().whereis(atom("global_name_server")).has_value());
  auto off = node::create(io.get_executor(),
                          {.name = "o@localhost", .cookie = "C", .global_server = false}, 1, ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(off->global_names(), nullptr);
  auto visible = node::create(io.get_executor(), {.name = "v@localhost", .cookie = "C"}, 1, ec);
  ASSERT_FALSE(ec);
  ASSERT_NE(visible->global_names(), nullptr);
  EXPECT_EQ(visible->local().whereis(atom("global_name_server")), visible->global_names()->pid());
  hidden->shutdown();
  off->shutdown();
  visible->shutdown();
}

TEST_F(GlobalServer, RegisterWhereisUnregisterAndNamesVanishWithTheirProcess) {
  process a = n->spawn();
  process b = n->spawn();
  const term name = T({atom("todo_list"), term::binary("bob")});
  ASSERT_TRUE(g().register_name(name, a.pid()));
  EXPECT_EQ(g().whereis_name(name), a.pid());
  EXPECT_EQ(g().registered_names(), std::vector<term>{name});
  // Taken name; a pid with a name already; not a pid.
  EXPECT_FALSE(g().register_name(name, b.pid()));
  EXPECT_FALSE(g().register_name(atom("other"), a.pid()));
  EXPECT_FALSE(g().register_name(atom("other"), atom("not_a_pid")));
  // global:send/2.
  process sender = n->spawn();
  ASSERT_FALSE(g().send(sender, name, atom("hello")));
  auto got = a.receive(1s);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, atom("hello"));
  EXPECT_EQ(g().send(sender, atom("nobody"), atom("x")), service_errc::noproc);
  // Unregister, then the name is free again.
  g().unregister_name(name);
  EXPECT_FALSE(g().whereis_name(name).has_value());
  ASSERT_TRUE(g().register_name(name, b.pid()));
  // The holder ends: its name goes (the server's monitor fires).
  b = process();
  EXPECT_FALSE(g().whereis_name(name).has_value());
  EXPECT_TRUE(wait_for([&] { return g().registered_names().empty(); }));
}

TEST_F(GlobalServer, AnswersLockAndRegistrationCallsAsGlobalErlDoes) {
  process caller = n->spawn();
  const term server = atom("global_name_server");
  gen::call_options o;
  o.timeout = 2s;
  const term id = T({atom("res"), atom("req1")});
  EXPECT_EQ(gen::call(caller, server, T({atom("set_lock"), id}), o).reply, term::boolean(true));
  process other = n->spawn();
  EXPECT_EQ(
      gen::call(other, server, T({atom("set_lock"), T({atom("res"), atom("req2")})}), o).reply,
      term::boolean(false));
  EXPECT_EQ(gen::call(caller, server, T({atom("del_lock"), id}), o).reply, term::boolean(true));
  EXPECT_EQ(
      gen::call(other, server, T({atom("set_lock"), T({atom("res"), atom("req2")})}), o).reply,
      term::boolean(true));
  // A lock holder that ends releases its locks.
  other = process();
  EXPECT_TRUE(wait_for([&] {
    return gen::call(caller, server, T({atom("set_lock"), id}), o).reply == term::boolean(true);
  }));
  process holder = n->spawn();
  EXPECT_EQ(
      gen::call(caller, server, T({atom("register"), atom("via_call"), holder.pid(), atom("m")}), o)
          .reply,
      atom("yes"));
  EXPECT_EQ(g().whereis_name(atom("via_call")), holder.pid());
  EXPECT_EQ(gen::call(caller, server, T({atom("unregister"), atom("via_call")}), o).reply,
            atom("ok"));
  EXPECT_FALSE(g().whereis_name(atom("via_call")).has_value());
  EXPECT_EQ(gen::call(caller, server, atom("get_protocol_version"), o).reply, term(8));
  EXPECT_EQ(gen::call(caller, server, atom("get_known"), o).reply, term::list({}));
}

TEST_F(GlobalServer, MalformedMessagesAreIgnored) {
  process p = n->spawn();
  const term server = atom("global_name_server");
  const term big = term::big_integer(false, std::vector<std::uint8_t>(12, 0xff));
  const term garbage[] = {
      atom("junk"),
      T({}),
      gen::cast_message(atom("x")),
      gen::cast_message(T({atom("init_connect"), T({big, atom("t")}), atom("a@b"), atom("x")})),
      gen::cast_message(T({atom("init_connect"), T({term(8), atom("t")}), atom("a@b"),
                           T({atom("locker"), atom("x"), atom("y"), atom("not_pid")})})),
      gen::cast_message(T({atom("lock_set"), atom("x"), atom("true"), atom("y")})),
      gen::cast_message(T({atom("exchange"), atom("a@b"), atom("names"), atom("x"), term(1)})),
      gen::cast_message(T({atom("resolved"), atom("a@b"), atom("x"), atom("y"), atom("unused"),
                           atom("z"), term(1)})),
      gen::cast_message(T({atom("new_nodes"), atom("a@b"), atom("ops"), atom("x"),
                           term::list({T({atom("n@h"), big}), term(1)}), atom("y")})),
      gen::cast_message(T({atom("in_sync"), term(1), atom("true")})),
      T({atom("lost_connection"), atom("a@b"), term(1), big, atom("c@d")}),
      T({atom("remove_connection"), term(3)}),
      T({atom("init_connect_ack"), atom("a@b"), term(1), term(2)}),
      T({atom("DOWN"), atom("x"), atom("process"), atom("y"), atom("z")}),
      gen::call_message(p.pid(), p.make_alias(), T({atom("set_lock"), atom("not_an_id")})),
  };
  std::mutex mu;
  std::vector<term> dropped;
  g().set_debug_hook([&](const term& m) {
    std::lock_guard lock(mu);
    dropped.push_back(m);
  });
  for (const term& m : garbage) ASSERT_FALSE(p.send(server, m));
  // Still serving, and still the same process.
  process holder = n->spawn();
  EXPECT_TRUE(g().register_name(atom("after_garbage"), holder.pid()));
  EXPECT_TRUE(n->local().is_alive(g().pid()));
  // The debug hook saw the messages of unknown kinds.
  g().set_debug_hook({});
  std::lock_guard lock(mu);
  EXPECT_NE(std::find(dropped.begin(), dropped.end(), atom("junk")), dropped.end());
  EXPECT_NE(std::find(dropped.begin(), dropped.end(), gen::cast_message(atom("x"))), dropped.end());
}

TEST_F(GlobalServer, GenCallResolvesViaTargets) {
  gen::server_handlers h;
  h.on_call = [](process&, const gen::from&, const term& req) -> std::optional<term> {
    return req;
  };
  std::error_code ec;
  term srv = gen::start_server(n->local(), std::move(h), std::nullopt, ec);
  ASSERT_FALSE(ec);
  ASSERT_TRUE(g().register_name(atom("echo"), srv));
  process self = n->spawn();
  gen::call_options o;
  o.resolve_global = g().resolver();
  EXPECT_EQ(gen::call(self, T({atom("via"), atom("global"), atom("echo")}), atom("hi"), o).reply,
            atom("hi"));
  EXPECT_EQ(gen::call(self, T({atom("global"), atom("echo")}), atom("ho"), o).reply, atom("ho"));
  EXPECT_EQ(gen::call(self, T({atom("via"), atom("global"), atom("nobody")}), atom("x"), o).error,
            service_errc::noproc);
  // A registry of the caller's own through resolve_via.
  gen::call_options mine;
  mine.resolve_via = [&](const term& module, const term& name) -> std::optional<term> {
    if (module == atom("my_registry") && name == atom("e")) return srv;
    return std::nullopt;
  };
  EXPECT_EQ(
      gen::call(self, T({atom("via"), atom("my_registry"), atom("e")}), atom("v"), mine).reply,
      atom("v"));
  EXPECT_EQ(
      gen::call(self, T({atom("via"), atom("my_registry"), atom("f")}), atom("v"), mine).error,
      service_errc::noproc);
  // No resolver for the module.
  EXPECT_EQ(gen::call(self, T({atom("via"), atom("other"), atom("e")}), atom("v"), {}).error,
            service_errc::not_resolved);
  EXPECT_EQ(gen::call(self, T({atom("via"), term(1), atom("e")}), atom("v"), {}).error,
            service_errc::invalid_target);
}

}  // namespace
