// The GenServer protocol: message shapes as BEAM sends and expects them, the server helper, and
// the gen:call-like client (monitor, alias tag, reply or DOWN, timeouts), over the local runtime
// and a recording gateway for remote targets.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "edist/node/gen_server.hpp"

namespace {

namespace asio = boost::asio;
namespace gen = edist::node::gen;
using edist::etf::atom;
using edist::etf::term;
using edist::node::process;
using edist::node::remote_gateway;
using edist::node::remote_signal;
using edist::node::runtime;
using edist::node::service_errc;
using edist::node::signal_kind;
using namespace std::chrono_literals;

class recording_gateway final : public remote_gateway {
 public:
  bool route(const term& node, remote_signal s) override {
    std::lock_guard lock(mu);
    signals.emplace_back(node, std::move(s));
    return reachable;
  }
  std::vector<std::pair<term, remote_signal>> take() {
    std::lock_guard lock(mu);
    return std::exchange(signals, {});
  }
  std::mutex mu;
  std::vector<std::pair<term, remote_signal>> signals;
  bool reachable = true;
};

class GenServer : public ::testing::Test {
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
  recording_gateway gateway;
  std::thread runner;
};

term alias_tag(const term& ref) {
  return term::list({atom("alias")}, ref);
}

TEST(GenProtocol, ParsesCallsWithPlainAndAliasTags) {
  auto rt = runtime::create(asio::io_context().get_executor(), "a@h", 1);
  term pid = term::pid(atom("beam@h"), 77, 0, 5);
  term ref = rt->make_ref();
  for (const term& tag : {ref, alias_tag(ref)}) {
    auto c = gen::parse_call(term::tuple({atom("$gen_call"), term::tuple({pid, tag}), term(42)}));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->from.pid, pid);
    EXPECT_EQ(c->from.tag, tag);
    EXPECT_EQ(c->request, term(42));
  }
  // Not calls: wrong arity, a From that is not {Pid, Tag}, a tag that is neither form.
  EXPECT_FALSE(gen::parse_call(term::tuple({atom("$gen_call"), term::tuple({pid, ref})})));
  EXPECT_FALSE(gen::parse_call(term::tuple({atom("$gen_call"), term::tuple({atom("x"), ref}), 1})));
  EXPECT_FALSE(gen::parse_call(term::tuple({atom("$gen_call"), term::tuple({pid, atom("t")}), 1})));
  EXPECT_FALSE(gen::parse_call(
      term::tuple({atom("$gen_call"), term::tuple({pid, term::list({atom("alias"), ref})}), 1})));
  EXPECT_FALSE(gen::parse_call(term::tuple({atom("$gen_cast"), term::tuple({pid, ref}), 1})));

  auto cast = gen::parse_cast(term::tuple({atom("$gen_cast"), atom("hello")}));
  ASSERT_TRUE(cast);
  EXPECT_EQ(*cast, atom("hello"));
  EXPECT_FALSE(gen::parse_cast(term::tuple({atom("$gen_cast"), atom("a"), atom("b")})));
}

TEST(GenProtocol, ReplyEchoesTheTagAndGoesToTheAliasWhenThereIsOne) {
  auto rt = runtime::create(asio::io_context().get_executor(), "a@h", 1);
  term pid = term::pid(atom("beam@h"), 77, 0, 5);
  term ref = rt->make_ref();
  auto plain = gen::reply_envelope({pid, ref}, atom("ok"));
  EXPECT_EQ(plain.to, pid);
  EXPECT_EQ(plain.message, term::tuple({ref, atom("ok")}));
  auto aliased = gen::reply_envelope({pid, alias_tag(ref)}, atom("ok"));
  EXPECT_EQ(aliased.to, ref);
  EXPECT_EQ(aliased.message, term::tuple({alias_tag(ref), atom("ok")}));
  EXPECT_EQ(gen::call_message(pid, ref, term(1)),
            term::tuple({atom("$gen_call"), term::tuple({pid, ref}), term(1)}));
  EXPECT_EQ(gen::cast_message(term(1)), term::tuple({atom("$gen_cast"), term(1)}));
}

gen::server_handlers echo_server(std::atomic<int>* casts = nullptr) {
  gen::server_handlers h;
  h.on_call = [](process&, const gen::from&, const term& req) -> std::optional<term> {
    if (req == atom("no_reply")) return std::nullopt;
    return term::tuple({atom("echo"), req});
  };
  h.on_cast = [casts](process&, const term&) {
    if (casts) ++*casts;
  };
  return h;
}

TEST_F(GenServer, ServesBeamShapedCallsWithBothTagForms) {
  std::error_code ec;
  term srv = gen::start_server(*rt, echo_server(), atom("echo"), ec);
  ASSERT_FALSE(ec);
  ASSERT_EQ(rt->whereis(atom("echo")), srv);

  process client = rt->spawn();
  term ref = rt->make_ref();
  client.send(atom("echo"), gen::call_message(client.pid(), ref, term(1)));
  auto r1 = client.receive(2s);
  ASSERT_TRUE(r1);
  EXPECT_EQ(*r1, term::tuple({ref, term::tuple({atom("echo"), term(1)})}));

  // An OTP 24+ caller: the reply goes to its alias, with the improper-list tag unchanged.
  term alias = client.make_alias();
  client.send(srv, gen::call_message(client.pid(), alias_tag(alias), term(2)));
  auto r2 = client.receive(2s);
  ASSERT_TRUE(r2);
  EXPECT_EQ(*r2, term::tuple({alias_tag(alias), term::tuple({atom("echo"), term(2)})}));
  // Once the caller drops the alias, a reply to it is lost, as on BEAM.
  client.unalias(alias);
  client.send(srv, gen::call_message(client.pid(), alias_tag(alias), term(3)));
  EXPECT_EQ(client.receive(200ms).error, edist::node::errc::timeout);
}

TEST_F(GenServer, RegisteringATakenNameFails) {
  std::error_code ec;
  gen::start_server(*rt, echo_server(), atom("taken"), ec);
  ASSERT_FALSE(ec);
  term second = gen::start_server(*rt, echo_server(), atom("taken"), ec);
  EXPECT_EQ(ec, edist::node::errc::name_in_use);
  EXPECT_TRUE(second.is_nil());
}

TEST_F(GenServer, ClientCallsAndCasts) {
  std::atomic<int> casts{0};
  std::error_code ec;
  term srv = gen::start_server(*rt, echo_server(&casts), atom("srv"), ec);
  ASSERT_FALSE(ec);
  process client = rt->spawn();
  for (const term& target : {srv, atom("srv"), term::tuple({atom("srv"), atom("cpp@localhost")})}) {
    auto r = gen::call(client, target, atom("hi"));
    ASSERT_TRUE(r) << r.error.message();
    EXPECT_EQ(r.reply, term::tuple({atom("echo"), atom("hi")}));
  }
  EXPECT_FALSE(gen::cast(client, atom("srv"), atom("c")));
  EXPECT_FALSE(gen::cast(client, atom("nobody"), atom("c")));  // silent, as gen_server:cast
  ASSERT_TRUE(gen::call(client, srv, atom("sync")));           // the cast was handled before
  EXPECT_EQ(casts.load(), 1);
  // The call leaves nothing behind: no reply, no DOWN, no monitor.
  EXPECT_EQ(client.receive(50ms).error, edist::node::errc::timeout);
}

TEST_F(GenServer, ClientDetectsMissingAndCrashingServers) {
  process client = rt->spawn();
  auto missing = gen::call(client, atom("nobody"), atom("x"));
  EXPECT_EQ(missing.error, service_errc::noproc);

  std::error_code ec;
  gen::server_handlers no_calls;  // a call ends it with {bad_call, Request}
  term srv = gen::start_server(*rt, std::move(no_calls), std::nullopt, ec);
  auto crashed = gen::call(client, srv, atom("x"));
  EXPECT_EQ(crashed.error, service_errc::target_down);
  EXPECT_EQ(crashed.reason, term::tuple({atom("bad_call"), atom("x")}));

  auto dead = gen::call(client, srv, atom("x"));
  EXPECT_EQ(dead.error, service_errc::noproc);
  EXPECT_EQ(gen::call(client, client.pid(), atom("x")).error, service_errc::calling_self);
  EXPECT_EQ(gen::call(client, term(5), atom("x")).error, service_errc::invalid_target);
}

TEST_F(GenServer, TimeoutDropsTheLateReply) {
  std::error_code ec;
  std::mutex mu;
  std::optional<gen::from> parked;
  gen::server_handlers h;
  h.on_call = [&](process&, const gen::from& f, const term&) -> std::optional<term> {
    std::lock_guard lock(mu);
    parked = f;
    return std::nullopt;
  };
  term srv = gen::start_server(*rt, std::move(h), std::nullopt, ec);
  process client = rt->spawn();
  gen::call_options opts;
  opts.timeout = 100ms;
  auto r = gen::call(client, srv, atom("slow"), opts);
  EXPECT_EQ(r.error, service_errc::timeout);
  std::optional<gen::from> f;
  {
    std::lock_guard lock(mu);
    f = parked;
  }
  ASSERT_TRUE(f);
  EXPECT_EQ(f->pid, client.pid());
  EXPECT_FALSE(gen::reply(*rt, *f, atom("late")));
  // The alias is gone, so the reply never reaches the mailbox; the monitor is gone too.
  EXPECT_EQ(client.receive(100ms).error, edist::node::errc::timeout);
}

TEST_F(GenServer, GlobalTargetsGoThroughTheResolver) {
  std::error_code ec;
  term srv = gen::start_server(*rt, echo_server(), std::nullopt, ec);
  process client = rt->spawn();
  term name = term::tuple({atom("todo_list"), edist::etf::binary("bob")});
  EXPECT_EQ(gen::call(client, term::tuple({atom("global"), name}), term(1)).error,
            service_errc::not_resolved);
  gen::call_options opts;
  term asked;
  opts.resolve_global = [&](const term& n) -> std::optional<term> {
    asked = n;
    if (n == name) return srv;
    return std::nullopt;
  };
  auto r = gen::call(client, term::tuple({atom("global"), name}), term(1), opts);
  ASSERT_TRUE(r);
  EXPECT_EQ(asked, name);
  EXPECT_EQ(r.reply, term::tuple({atom("echo"), term(1)}));
  EXPECT_EQ(gen::call(client, term::tuple({atom("global"), atom("other")}), term(1), opts).error,
            service_errc::noproc);
}

TEST_F(GenServer, RemoteCallMonitorsThenSendsAndFailsOnNoconnection) {
  process client = rt->spawn();
  const term beam = atom("beam@localhost");
  std::thread peer([&] {
    // Wait for the two signals of the call, then lose the node.
    for (int i = 0; i < 200; ++i) {
      {
        std::lock_guard lock(gateway.mu);
        if (gateway.signals.size() >= 2) break;
      }
      std::this_thread::sleep_for(5ms);
    }
    rt->node_down(beam, false);
  });
  auto r = gen::call(client, term::tuple({atom("kv"), beam}), atom("get"));
  peer.join();
  EXPECT_EQ(r.error, service_errc::noconnection);
  auto sig = gateway.take();
  ASSERT_GE(sig.size(), 2u);
  EXPECT_EQ(sig[0].first, beam);
  EXPECT_EQ(sig[0].second.kind, signal_kind::monitor);
  EXPECT_EQ(sig[0].second.to, atom("kv"));
  const term mref = sig[0].second.ref;
  EXPECT_EQ(sig[1].second.kind, signal_kind::reg_send);
  EXPECT_EQ(sig[1].second.to, atom("kv"));
  // {'$gen_call', {Self, [alias | Alias]}, get}: the shape gen:call of OTP 24+ sends.
  const term& msg = sig[1].second.payload;
  auto parsed = gen::parse_call(msg);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->from.pid, client.pid());
  EXPECT_EQ(parsed->from.tag.list_elements()[0], atom("alias"));
  EXPECT_TRUE(parsed->from.tag.list_tail().is_reference());
  EXPECT_NE(parsed->from.tag.list_tail(), mref);
  EXPECT_EQ(parsed->request, atom("get"));
}

TEST_F(GenServer, RemoteReplyThroughTheAliasCompletesTheCall) {
  process client = rt->spawn();
  const term beam = atom("beam@localhost");
  const term server_pid = term::pid(beam, 90, 0, 9);
  std::thread peer([&] {
    for (int i = 0; i < 400; ++i) {
      std::vector<std::pair<term, remote_signal>> sig;
      {
        std::lock_guard lock(gateway.mu);
        if (gateway.signals.size() >= 2) sig = gateway.signals;
      }
      if (!sig.empty()) {
        auto c = gen::parse_call(sig[1].second.payload);
        auto env = gen::reply_envelope(c->from, atom("pong"));
        remote_signal in;
        in.kind = signal_kind::alias_send;
        in.from = server_pid;
        in.to = env.to;
        in.payload = env.message;
        rt->deliver(beam, in);
        return;
      }
      std::this_thread::sleep_for(5ms);
    }
  });
  auto r = gen::call(client, server_pid, atom("ping"));
  peer.join();
  ASSERT_TRUE(r) << r.error.message();
  EXPECT_EQ(r.reply, atom("pong"));
  // The monitor was dropped: the last signal to the peer is its demonitor.
  auto sig = gateway.take();
  ASSERT_EQ(sig.size(), 3u);
  EXPECT_EQ(sig[0].second.kind, signal_kind::monitor);
  EXPECT_EQ(sig[1].second.kind, signal_kind::send);
  EXPECT_EQ(sig[2].second.kind, signal_kind::demonitor);
  EXPECT_EQ(sig[2].second.ref, sig[0].second.ref);
}

TEST_F(GenServer, AsyncCallNeverCompletesInline) {
  // The io_context runs on `runner` only, so a completion on this thread would be inline.
  std::error_code ec;
  term srv = gen::start_server(*rt, echo_server(), std::nullopt, ec);
  process client = rt->spawn();
  const auto caller = std::this_thread::get_id();
  std::promise<std::pair<std::error_code, term>> done;
  std::atomic<bool> on_caller_thread{false};
  gen::call_options opts;
  gen::async_call(client, srv, term(7), opts, [&](std::error_code e, term reply) {
    on_caller_thread = std::this_thread::get_id() == caller;
    done.set_value({e, reply});
  });
  auto [e, reply] = done.get_future().get();
  EXPECT_FALSE(on_caller_thread);
  EXPECT_FALSE(e);
  EXPECT_EQ(reply, term::tuple({atom("echo"), term(7)}));

  // A failure known at once (an invalid target) is posted too.
  std::promise<std::error_code> failed;
  gen::async_call(client, term(1), term(7), opts, [&](std::error_code e2, term) {
    on_caller_thread = std::this_thread::get_id() == caller;
    failed.set_value(e2);
  });
  EXPECT_EQ(failed.get_future().get(), service_errc::invalid_target);
  EXPECT_FALSE(on_caller_thread);
}

}  // namespace
