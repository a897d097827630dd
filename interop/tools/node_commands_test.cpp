// `edist names|ping|send|call|serve` as programs: real processes, exit codes and output,
// against live BEAM nodes (every available OTP; Elixir on the system OTP) on a private EPMD.
// The program is the build's `edist` (EDIST_CLI_PATH), or $EDIST_CLI when set.
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "edist/testing/beam_node.hpp"
#include "edist/testing/child_process.hpp"
#include "edist/testing/epmd_instance.hpp"
#include "edist/testing/gtest.hpp"
#include "edist/testing/names.hpp"

namespace {

namespace et = edist::testing;
using et::read_line;
using namespace std::chrono_literals;

std::string cli_path() {
  if (const char* p = std::getenv("EDIST_CLI")) return p;
  return EDIST_CLI_PATH;
}

// Evaluates `expr` on `beam` until it gives `expected` (10 s at most); returns the last value.
std::string eval_until(et::beam_node& beam, const std::string& expr, const std::string& expected) {
  std::string last;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  do {
    last = beam.eval(expr);
    if (last == expected) break;
    std::this_thread::sleep_for(50ms);
  } while (std::chrono::steady_clock::now() < deadline);
  return last;
}

struct run_result {
  int status = -1;
  std::string out;  // stdout and stderr together
};

class NodeCommands : public et::otp_test {
 protected:
  void SetUp() override {
    et::otp_test::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    epmd_.emplace(et::epmd_instance::start(otp()));
    cookie_ = et::random_cookie();
  }

  et::beam_node& start_beam() {
    et::beam_options o;
    o.epmd_port = epmd_->port();
    o.cookie = cookie_;
    // The serve contract is also checked from iex, where Elixir runs on this OTP.
    o.elixir = et::system_elixir().has_value() && et::system_otp().has_value() &&
               otp().bin_dir == et::system_otp()->bin_dir;
    uses_elixir_ = o.elixir;
    beam_.emplace(et::beam_node::start(otp(), o));
    return *beam_;
  }

  // A plain erl node of the same release, on the same EPMD and cookie.
  et::beam_node start_second_beam() {
    et::beam_options o;
    o.epmd_port = epmd_->port();
    o.cookie = cookie_;
    return et::beam_node::start(otp(), o);
  }

  std::vector<std::pair<std::string, std::string>> env() const {
    return {{"ERL_EPMD_PORT", std::to_string(epmd_->port())}};
  }

  run_result run(std::vector<std::string> args) {
    et::child_process::options o;
    o.argv = {cli_path()};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.env = env();
    o.capture_stdout = true;
    o.stderr_to_stdout = true;
    auto p = et::child_process::spawn(o);
    run_result r;
    r.out = p.read_stdout(60s);
    r.status = p.wait(10s);
    return r;
  }

  // `edist serve ARGS...` until it printed its ready line (returned in `ready`).
  et::child_process start_serve(std::vector<std::string> args, std::string& ready) {
    et::child_process::options o;
    o.argv = {cli_path(), "serve"};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.env = env();
    o.capture_stdout = true;
    auto p = et::child_process::spawn(o);
    ready = read_line(p.stdout_fd(), 30s).value_or("");
    return p;
  }

  // `serve --global TERM --pg GROUP --connect NODE` in a cluster of two BEAM nodes (the first
  // an iex node when Elixir runs on this OTP): the name resolves to kv on both, calls through
  // {global, TERM} work, kv is back under the name and in the group after `stop`. Visible, the
  // name is registered by serve's own global_name_server; hidden, through the first node.
  void check_global_and_pg(bool hidden) {
    auto& first = start_beam();
    auto second = start_second_beam();
    for (auto* b : {&first, &second}) EXPECT_EQ(b->eval("{ok, _} = pg:start(pg), ok"), "ok");
    ASSERT_EQ(second.eval("net_kernel:connect_node('" + first.node_name() + "')"), "true");
    EXPECT_EQ(second.eval("global:sync()"), "ok");

    const auto name = et::unique_name("serve") + "@localhost";
    const std::string q = "'" + name + "'";
    const std::string global_name = "{edist_kv, <<\"main\">>}";
    const std::string group = "{kv_group, 1}";
    std::vector<std::string> args = {
        "--sname",         name,       "--cookie",  first.cookie(), "--connect",
        first.node_name(), "--global", global_name, "--pg",         group};
    if (hidden) args.push_back("--hidden");
    std::string ready;
    auto serve = start_serve(args, ready);
    ASSERT_EQ(ready, "ready " + name);
    EXPECT_EQ(first.eval("lists:member(" + q + ", nodes(hidden))"), hidden ? "true" : "false");
    // A visible serve takes part in global's protocol, learns the second node from the first
    // and connects to it by itself, as a BEAM node joining the cluster does. A hidden one never
    // becomes a visible node of the cluster; the second node may still connect to it (hidden),
    // since its global_name_server monitors kv once the name is registered.
    if (hidden) {
      EXPECT_EQ(second.eval("lists:member(" + q + ", nodes(visible))"), "false");
    } else {
      EXPECT_EQ(eval_until(second, "lists:member(" + q + ", nodes())", "true"), "true");
    }

    const std::string where = "global:whereis_name(" + global_name + ")";
    const std::string kv_there = "case " + where + " of P when is_pid(P) -> node(P); U -> U end";
    // Both BEAM nodes resolve the name to a process of the edist node, the same one.
    EXPECT_EQ(eval_until(first, kv_there, name), name);
    EXPECT_EQ(eval_until(second, kv_there, name), name);
    EXPECT_EQ(second.eval(where + " =:= rpc:call('" + first.node_name() +
                          "', global, whereis_name, [" + global_name + "])"),
              "true");
    // From iex as GenServer.call({:global, TERM}, ...) when the first node runs Elixir.
    const bool iex = first.eval("element(1, code:ensure_loaded('Elixir.GenServer'))") == "module";
    const std::string call_first = iex ? "'Elixir.GenServer':call" : "gen_server:call";
    EXPECT_EQ(iex, uses_elixir_);
    EXPECT_EQ(first.eval(call_first + "({global, " + global_name + "}, {put, k, [1, 2]})"), "ok");
    EXPECT_EQ(second.eval("gen_server:call({global, " + global_name + "}, {get, k})"),
              "{ok,[1,2]}");

    // pg: the member is kv on the node connected to it, and on the other once it connects too.
    const std::string members = "pg:get_members(" + group + ") =:= [" + where + "]";
    EXPECT_EQ(eval_until(first, members, "true"), "true");
    EXPECT_EQ(second.eval("net_kernel:connect_node(" + q + ")"), "true");
    EXPECT_EQ(eval_until(second, members, "true"), "true");

    // stop: kv ends, then comes back under the global name (a new pid, empty state) and in the
    // group.
    EXPECT_EQ(second.eval("put(old, " + where + "), gen_server:call({global, " + global_name +
                          "}, stop)"),
              "ok");
    EXPECT_EQ(eval_until(second,
                         "case " + where +
                             " of P when is_pid(P) -> case P =/= get(old) of true -> node(P); "
                             "false -> old end; U -> U end",
                         name),
              name);
    EXPECT_EQ(second.eval("gen_server:call({global, " + global_name + "}, {get, k})"), "error");
    // Killed by an exit signal: the same.
    EXPECT_EQ(second.eval("put(old, " + where + "), exit(get(old), kill)"), "true");
    EXPECT_EQ(eval_until(second,
                         "case " + where +
                             " of P when is_pid(P) -> case P =/= get(old) of true -> node(P); "
                             "false -> old end; U -> U end",
                         name),
              name);
    EXPECT_EQ(eval_until(first, members, "true"), "true");
    EXPECT_EQ(eval_until(second, members, "true"), "true");

    ASSERT_EQ(::kill(serve.pid(), SIGTERM), 0);
    EXPECT_EQ(serve.wait(15s), 0);
    // The name and the membership end with the node.
    EXPECT_EQ(eval_until(second, where, "undefined"), "undefined");
    EXPECT_EQ(eval_until(first, "pg:get_members(" + group + ")", "[]"), "[]");
  }

  // The --global name is already held by a BEAM process when serve starts: serve does not take
  // it from that process (a visible serve meets the name when global merges the two sides, and
  // the pid on the smaller node, the BEAM one here, keeps it; a hidden one is refused by the
  // BEAM node), keeps trying, and kv has the name once the holder ends.
  void check_name_held_elsewhere(bool hidden) {
    auto& beam = start_beam();
    ASSERT_EQ(beam.eval("P = spawn(fun() -> receive stop -> ok end end), "
                        "register(held_kv_holder, P), global:register_name(held_kv, P)"),
              "yes");
    const auto name = et::unique_name("serve") + "@localhost";
    ASSERT_LT(beam.node_name(), name);  // which side keeps the name in global's merge
    std::vector<std::string> args = {"--sname",        name,       "--cookie", cookie_, "--connect",
                                     beam.node_name(), "--global", "held_kv"};
    if (hidden) args.push_back("--hidden");
    std::string ready;
    auto serve = start_serve(args, ready);
    ASSERT_EQ(ready, "ready " + name);
    const std::string held = "global:whereis_name(held_kv) =:= whereis(held_kv_holder)";
    EXPECT_EQ(beam.eval(held), "true");
    std::this_thread::sleep_for(1s);  // serve's retries (every 250 ms) change nothing
    EXPECT_EQ(beam.eval(held), "true");
    EXPECT_EQ(beam.eval("held_kv_holder ! stop, ok"), "ok");
    EXPECT_EQ(eval_until(beam,
                         "case global:whereis_name(held_kv) of P when is_pid(P) -> node(P); "
                         "U -> U end",
                         name),
              name);
    EXPECT_EQ(beam.eval("gen_server:call({global, held_kv}, {put, a, 1})"), "ok");
    ASSERT_EQ(::kill(serve.pid(), SIGTERM), 0);
    EXPECT_EQ(serve.wait(15s), 0);
  }

  std::optional<et::epmd_instance> epmd_;
  std::string cookie_;
  bool uses_elixir_ = false;
  std::optional<et::beam_node> beam_;
};

TEST_P(NodeCommands, PingPongPangAndOptionOrder) {
  auto& beam = start_beam();
  auto pong = run({"ping", beam.node_name(), "--cookie", cookie_});
  EXPECT_EQ(pong.status, 0) << pong.out;
  EXPECT_EQ(pong.out, "pong\n");
  // Options before the positional argument work as well.
  pong = run({"ping", "--cookie", cookie_, beam.node_name()});
  EXPECT_EQ(pong.status, 0) << pong.out;
  EXPECT_EQ(pong.out, "pong\n");
  // The client node was hidden: the BEAM node does not list it among visible nodes.
  EXPECT_EQ(beam.eval("nodes()"), "[]");

  auto absent = run({"ping", "nobody_here@localhost", "--cookie", cookie_});
  EXPECT_EQ(absent.status, 1) << absent.out;
  EXPECT_EQ(absent.out.rfind("pang\n", 0), 0u) << absent.out;

  auto bad_cookie = run({"ping", beam.node_name(), "--cookie", "not_" + cookie_});
  EXPECT_EQ(bad_cookie.status, 1) << bad_cookie.out;
  EXPECT_EQ(bad_cookie.out.rfind("pang\n", 0), 0u) << bad_cookie.out;
}

TEST_P(NodeCommands, NamesListsRegisteredNodes) {
  auto& beam = start_beam();
  auto names = run({"names"});
  EXPECT_EQ(names.status, 0) << names.out;
  EXPECT_NE(names.out.find("name " + beam.name() + " at port "), std::string::npos) << names.out;

  // A port where no EPMD listens: the stopped instance's.
  const auto port = std::to_string(epmd_->port());
  beam_.reset();
  epmd_->stop();
  auto none = run({"names", "--port", port});
  EXPECT_EQ(none.status, 1) << none.out;
  EXPECT_NE(none.out.find("no EPMD at localhost:" + port), std::string::npos) << none.out;
}

TEST_P(NodeCommands, SendDeliversToRegisteredProcess) {
  auto& beam = start_beam();
  // The BEAM node's evaluator is a registered process that the next eval reads from.
  auto sent = run({"send", beam.node_name(), "edist_test_evaluator",
                   "{hello, [1, 2.5, <<\"bin\">>], #{k => 'v w'}}", "--cookie", cookie_});
  EXPECT_EQ(sent.status, 0) << sent.out;
  EXPECT_EQ(sent.out, "");
  EXPECT_EQ(beam.eval("receive {hello, _, _} = M -> M after 10000 -> timeout end"),
            "{hello,[1,2.5,<<\"bin\">>],#{k => 'v w'}}");

  auto bad_term =
      run({"send", beam.node_name(), "edist_test_evaluator", "{a, ]", "--cookie", cookie_});
  EXPECT_EQ(bad_term.status, 2) << bad_term.out;
  EXPECT_NE(bad_term.out.find("syntax error at 1:"), std::string::npos) << bad_term.out;

  auto unreachable = run({"send", "nobody_here@localhost", "x", "ok", "--cookie", cookie_});
  EXPECT_EQ(unreachable.status, 1) << unreachable.out;
  EXPECT_NE(unreachable.out.find("cannot connect to nobody_here@localhost"), std::string::npos)
      << unreachable.out;

  auto bad_cookie = run({"send", beam.node_name(), "x", "ok", "--cookie", "not_" + cookie_});
  EXPECT_EQ(bad_cookie.status, 1) << bad_cookie.out;
  EXPECT_NE(bad_cookie.out.find("cannot connect to " + beam.node_name()), std::string::npos)
      << bad_cookie.out;
}

TEST_P(NodeCommands, CallPrintsResultsAndFailsOnBadrpc) {
  auto& beam = start_beam();
  auto rev =
      run({"call", beam.node_name(), "lists", "reverse", "[[1, 2, 3]]", "--cookie", cookie_});
  EXPECT_EQ(rev.status, 0) << rev.out;
  EXPECT_EQ(rev.out, "[3,2,1]\n");
  auto ex = run({"call", "--elixir", beam.node_name(), "erlang", "list_to_tuple",
                 "[[a, <<\"x\">>]]", "--cookie", cookie_});
  EXPECT_EQ(ex.status, 0) << ex.out;
  EXPECT_EQ(ex.out, "{:a, \"x\"}\n");
  auto node = run({"call", beam.node_name(), "erlang", "node", "--cookie", cookie_});
  EXPECT_EQ(node.out, beam.node_name() + "\n");

  auto undef = run({"call", beam.node_name(), "no_such_module", "f", "[1]", "--cookie", cookie_});
  EXPECT_EQ(undef.status, 1) << undef.out;
  EXPECT_EQ(undef.out.rfind("{badrpc,{'EXIT',{undef,", 0), 0u) << undef.out;

  auto bad_args = run({"call", beam.node_name(), "lists", "reverse", "[1 |", "--cookie", cookie_});
  EXPECT_EQ(bad_args.status, 2) << bad_args.out;
  auto not_list = run({"call", beam.node_name(), "lists", "reverse", "{1}", "--cookie", cookie_});
  EXPECT_EQ(not_list.status, 2) << not_list.out;
}

TEST_P(NodeCommands, ServeContractFromLiveNode) {
  auto& beam = start_beam();
  const auto name = et::unique_name("serve") + "@localhost";
  std::string ready;
  auto serve =
      start_serve({"--sname", name, "--cookie", cookie_, "--connect", beam.node_name()}, ready);
  ASSERT_EQ(ready, "ready " + name);
  const std::string q = "'" + name + "'";
  // --connect made it a visible member of the BEAM node's cluster.
  EXPECT_EQ(beam.eval("lists:member(" + q + ", nodes())"), "true");

  EXPECT_EQ(beam.eval("{echo, " + q +
                      "} ! {self(), hi}, receive {echo, hi} -> ok after 10000 -> timeout end"),
            "ok");
  EXPECT_EQ(beam.eval("S = {sink, " + q +
                      "}, S ! {count, self(), 3}, S ! a, S ! {b, 1}, "
                      "S ! [c], receive {done, N} -> N after 10000 -> timeout end"),
            "3");

  const std::string kv = "{kv, " + q + "}";
  EXPECT_EQ(beam.eval("gen_server:call(" + kv + ", {put, k, [1, 2]})"), "ok");
  EXPECT_EQ(beam.eval("gen_server:call(" + kv + ", {get, k})"), "{ok,[1,2]}");
  EXPECT_EQ(beam.eval("gen_server:call(" + kv + ", {get, nothing})"), "error");
  EXPECT_EQ(
      beam.eval("gen_server:cast(" + kv + ", {put, c, 3}), gen_server:call(" + kv + ", {get, c})"),
      "{ok,3}");
  // stop: the caller gets ok, monitors see `normal`, and kv comes back under its name.
  EXPECT_EQ(beam.eval("R = monitor(process, " + kv + "), ok = gen_server:call(" + kv +
                      ", stop), receive {'DOWN', R, process, _, Why} -> Why after 10000 -> "
                      "timeout end"),
            "normal");
  EXPECT_EQ(beam.eval("W = fun W(0) -> gave_up; W(I) -> try gen_server:call(" + kv +
                      ", {get, k}) catch exit:_ -> timer:sleep(50), W(I - 1) end end, W(100)"),
            "error");

  // The rpc functions through rex, as rpc:call to a node without erpc spawning and
  // gen_server:call({rex, Node}, ...) reach them.
  const auto rex = [&](const std::string& mfa) {
    return beam.eval("gen_server:call({rex, " + q + "}, {call, " + mfa + ", group_leader()})");
  };
  EXPECT_EQ(rex("demo, add, [2, 3]"), "5");
  EXPECT_EQ(rex("demo, add, [1 bsl 100, -(1 bsl 99)]"), beam.eval("1 bsl 99"));
  EXPECT_EQ(rex("demo, add, [-7, 3]"), "-4");
  EXPECT_EQ(rex("demo, add, [-(1 bsl 64), 1 bsl 64]"), "0");
  EXPECT_EQ(rex("demo, echo, [{a, <<\"b\">>, [c]}]"), "{a,<<\"b\">>,[c]}");
  EXPECT_EQ(rex("demo, node, []"), name);
  EXPECT_EQ(rex("demo, add, [a, 1]").rfind("{badrpc,{'EXIT',{badarith,", 0), 0u);

  // `edist call` against it too.
  auto call = run({"call", name, "demo", "add", "[40, 2]", "--cookie", cookie_});
  EXPECT_EQ(call.status, 0) << call.out;
  EXPECT_EQ(call.out, "42\n");

  ASSERT_EQ(::kill(serve.pid(), SIGTERM), 0);
  EXPECT_EQ(serve.wait(15s), 0);
  auto names = run({"names"});
  EXPECT_EQ(names.out.find("name " + name.substr(0, name.find('@')) + " at"), std::string::npos)
      << names.out;
}

// The run options: two io threads that busy-wait before sleeping serve the same contract and
// stop as promptly; a client busy-waits too; out-of-range values are refused.
TEST_P(NodeCommands, ServeAndPingWithBusyWaitingIoThreads) {
  auto& beam = start_beam();
  const auto name = et::unique_name("serve_bw") + "@localhost";
  std::string ready;
  auto serve = start_serve({"--sname", name, "--cookie", cookie_, "--io-threads", "2",
                            "--busy-wait-us", "200", "--connect", beam.node_name()},
                           ready);
  ASSERT_EQ(ready, "ready " + name);
  const std::string q = "'" + name + "'";
  EXPECT_EQ(beam.eval("E = {echo, " + q +
                      "}, L = fun L(0) -> ok; L(I) -> E ! {self(), I}, "
                      "receive {echo, I} -> L(I - 1) after 10000 -> timeout end end, L(1000)"),
            "ok");
  EXPECT_EQ(beam.eval("S = {sink, " + q +
                      "}, S ! {count, self(), 10000}, [S ! {m, I} || I <- lists:seq(1, 10000)], "
                      "receive {done, N} -> N after 10000 -> timeout end"),
            "10000");
  auto pong = run({"ping", name, "--cookie", cookie_, "--busy-wait-us", "50"});
  EXPECT_EQ(pong.status, 0) << pong.out;
  EXPECT_EQ(pong.out, "pong\n");
  EXPECT_NE(run({"ping", name, "--cookie", cookie_, "--busy-wait-us", "-1"}).status, 0);
  EXPECT_NE(run({"ping", name, "--cookie", cookie_, "--busy-wait-us", "2000000"}).status, 0);

  const auto stop_started = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(serve.pid(), SIGTERM), 0);
  EXPECT_EQ(serve.wait(15s), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - stop_started, 5s);
}

TEST_P(NodeCommands, ServeNeedsANameAndEndsOnSigint) {
  auto nameless = run({"serve"});
  EXPECT_EQ(nameless.status, 2) << nameless.out;
  EXPECT_NE(nameless.out.find("--sname"), std::string::npos) << nameless.out;

  std::string ready;
  const auto name = et::unique_name("serve") + "@localhost";
  auto serve = start_serve({"--sname", name, "--cookie", cookie_}, ready);
  ASSERT_EQ(ready, "ready " + name);
  auto pong = run({"ping", name, "--cookie", cookie_});
  EXPECT_EQ(pong.out, "pong\n");
  ASSERT_EQ(::kill(serve.pid(), SIGINT), 0);
  EXPECT_EQ(serve.wait(15s), 0);
}

TEST_P(NodeCommands, ServeGlobalAndPgVisible) {
  check_global_and_pg(false);
}

// Without --connect: the name and the membership appear once a BEAM node connects to it.
TEST_P(NodeCommands, ServeGlobalWhenABeamNodeConnectsLater) {
  auto& beam = start_beam();
  EXPECT_EQ(beam.eval("{ok, _} = pg:start(pg), ok"), "ok");
  const auto name = et::unique_name("serve") + "@localhost";
  std::string ready;
  auto serve = start_serve(
      {"--sname", name, "--cookie", cookie_, "--global", "late_kv", "--pg", "late_group"}, ready);
  ASSERT_EQ(ready, "ready " + name);
  EXPECT_EQ(beam.eval("global:whereis_name(late_kv)"), "undefined");
  EXPECT_EQ(beam.eval("net_kernel:connect_node('" + name + "')"), "true");
  EXPECT_EQ(
      eval_until(beam,
                 "case global:whereis_name(late_kv) of P when is_pid(P) -> node(P); U -> U end",
                 name),
      name);
  EXPECT_EQ(
      eval_until(beam, "pg:get_members(late_group) =:= [global:whereis_name(late_kv)]", "true"),
      "true");
  EXPECT_EQ(beam.eval("gen_server:call({global, late_kv}, {put, a, 1})"), "ok");
  ASSERT_EQ(::kill(serve.pid(), SIGTERM), 0);
  EXPECT_EQ(serve.wait(15s), 0);
}

TEST_P(NodeCommands, ServeGlobalAndPgHidden) {
  check_global_and_pg(true);
}

TEST_P(NodeCommands, ServeGlobalNameHeldElsewhereVisible) {
  check_name_held_elsewhere(false);
}

TEST_P(NodeCommands, ServeGlobalNameHeldElsewhereHidden) {
  check_name_held_elsewhere(true);
}

EDIST_INSTANTIATE_OTP_TEST_SUITE(NodeCommands);

run_result run_demo(std::vector<std::pair<std::string, std::string>> env) {
  et::child_process::options o;
  o.argv = {cli_path(), "demo"};
  o.env = std::move(env);
  o.capture_stdout = true;
  o.stderr_to_stdout = true;
  auto p = et::child_process::spawn(o);
  run_result r;
  r.out = p.read_stdout(120s);
  r.status = p.wait(10s);
  return r;
}

// With erl on the PATH: the tour against a live BEAM node, on the demo's own private EPMD.
TEST(EdistDemo, AgainstLiveErlang) {
  EDIST_REQUIRE_ERLANG();
  auto r = run_demo({});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("a live BEAM node"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("received {shell,got,hello}"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("the BEAM node got 1180591620717411303425"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("BEAM's :global.whereis_name -> <"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(":global.send delivered via_global"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("C++ whereis_name({edist_demo,shell}) -> <"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("BEAM sees [<"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("all 11 steps worked"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("FAILED"), std::string::npos) << r.out;
}

// Without Erlang on the PATH: the same tour between two edist nodes in one process.
TEST(EdistDemo, WithoutErlangOnPath) {
  auto r = run_demo({{"PATH", "/nonexistent-edist-test-dir"}});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("no erl on the PATH"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("received {echo,hello}"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(",normal}"), std::string::npos) << r.out;
  // :global between the two edist nodes, through their own global_name_servers.
  EXPECT_EQ(r.out.find("not in this tour"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("resolves it to <"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("received {<"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("put -> ok, get -> {ok,cpp}; then unregister_name"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(":global.whereis_name -> undefined on "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("all 13 steps worked"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("FAILED"), std::string::npos) << r.out;
}

}  // namespace
