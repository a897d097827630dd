// The programs in examples/ run as a user runs them, against a live iex node (an erl node when
// Elixir is missing, except for rpc_elixir) started with edist::testing::live_node: each one
// prints what its header comment promises and the BEAM side sees what it should.
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "edist/testing/child_process.hpp"
#include "edist/testing/gtest.hpp"
#include "edist/testing/live_node.hpp"

namespace {

namespace et = edist::testing;
using et::read_line;
using namespace std::chrono_literals;

class Examples : public ::testing::Test {
 protected:
  void SetUp() override {
    EDIST_REQUIRE_ERLANG();
    et::live_node_options o;
    o.elixir = et::system_elixir().has_value();
    beam_.emplace(et::live_node::start(o));
  }

  et::child_process start(const std::string& program, std::vector<std::string> args) {
    et::child_process::options o;
    o.argv = {program, beam_->node_name(), beam_->cookie()};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.env = beam_->environment();
    o.capture_stdout = true;
    o.stderr_to_stdout = true;
    return et::child_process::spawn(o);
  }

  // The line starting with "ready " (the lines before it are kept in `before`).
  std::string ready_line(et::child_process& p) {
    for (int i = 0; i < 10; ++i) {
      auto line = read_line(p.stdout_fd(), 30s);
      if (!line) break;
      if (line->rfind("ready ", 0) == 0) return *line;
      before_ += *line + "\n";
    }
    return "";
  }

  // A process registered as `shell` that answers {hello*, From, ...} with {reply, Answer} and
  // reports what it got to the mailbox.
  void register_shell(const std::string& answer) {
    ASSERT_EQ(beam_->eval("register(shell, spawn(fun() -> receive M when element(1, M) =:= "
                          "hello; element(1, M) =:= hello_from_coroutine -> element(2, M) ! "
                          "{reply, " +
                          answer + "}, " + beam_->mailbox_name() + " ! {got, M} end end)), ok"),
              "ok");
  }

  std::optional<et::live_node> beam_;
  std::string before_;
};

TEST_F(Examples, HelloIexMessagesTheShell) {
  register_shell("<<\"hi C++\">>");
  auto p = start(EDIST_EXAMPLE_HELLO_IEX, {});
  const auto out = p.read_stdout(60s);
  EXPECT_EQ(p.wait(10s), 0) << out;
  EXPECT_NE(out.find("connected; nodes(): " + beam_->node_name()), std::string::npos) << out;
  EXPECT_NE(out.find("reply: {:reply, \"hi C++\"}"), std::string::npos) << out;
  const auto got = beam_->receive();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->rfind("{got,{hello,<", 0), 0u) << *got;
  EXPECT_NE(got->find(",<<\"from C++\">>}}"), std::string::npos) << *got;
}

TEST_F(Examples, CounterServerAnswersGenServerCalls) {
  const std::string name = "counter_cpp@localhost";
  auto p = start(EDIST_EXAMPLE_COUNTER_SERVER, {});
  ASSERT_EQ(ready_line(p).rfind("ready " + name + " counter is <", 0), 0u) << before_;
  const std::string server = "{counter, '" + name + "'}";
  EXPECT_EQ(beam_->eval("gen_server:call(" + server + ", {add, 5})"), "5");
  EXPECT_EQ(beam_->eval("gen_server:call(" + server + ", {add, 37})"), "42");
  EXPECT_EQ(
      beam_->eval("gen_server:cast(" + server + ", reset), gen_server:call(" + server + ", get)"),
      "0");
  EXPECT_EQ(beam_->eval("gen_server:call(" + server + ", {add, 2})"), "2");
  EXPECT_EQ(beam_->eval("gen_server:call(" + server + ", stop)"), "ok");
  const auto out = p.read_stdout(30s);
  EXPECT_EQ(p.wait(10s), 0) << out;
  EXPECT_NE(out.find("stopped with total 2"), std::string::npos) << out;
}

TEST_F(Examples, RpcIntoElixir) {
  EDIST_REQUIRE_ELIXIR();
  auto p = start(EDIST_EXAMPLE_RPC_ELIXIR, {});
  const auto out = p.read_stdout(60s);
  EXPECT_EQ(p.wait(10s), 0) << out;
  EXPECT_NE(out.find("Elixir.String.upcase -> \"HELLO FROM C++\""), std::string::npos) << out;
  EXPECT_NE(out.find("Elixir.Enum.sum -> 55"), std::string::npos) << out;
  EXPECT_NE(out.find("Elixir.Map.new -> %{lang: :cpp}"), std::string::npos) << out;
  EXPECT_NE(out.find("erlang.system_info -> '" + et::system_otp()->release + "'"),
            std::string::npos)
      << out;
}

TEST_F(Examples, GlobalNameAndPgGroup) {
  const std::string mailbox = beam_->mailbox_name();
  ASSERT_EQ(beam_->eval("{ok, _} = pg:start(pg), pg:join(workers, whereis(" + mailbox + "))"),
            "ok");
  auto p = start(EDIST_EXAMPLE_GLOBAL_PG, {});
  const std::string name = "global_cpp@localhost";
  ASSERT_EQ(ready_line(p).rfind("ready " + name + " cpp_worker is <", 0), 0u) << before_;
  EXPECT_EQ(beam_->eval("node(global:whereis_name(cpp_worker))"), name);
  // The program prints the group as it sees it: the mailbox of the BEAM node and its worker.
  const auto members = read_line(p.stdout_fd(), 30s).value_or("");
  EXPECT_EQ(members.rfind("members of workers: [<", 0), 0u) << members;
  EXPECT_EQ(std::count(members.begin(), members.end(), '<'), 2) << members;
  // Membership travels asynchronously (join, or the sync after discovery): wait for it.
  EXPECT_EQ(
      beam_->eval("Want = lists:sort([node(), '" + name +
                  "']), W = fun W(0) -> lists:sort([node(P) || P <- pg:get_members(workers)]); "
                  "W(I) -> case lists:sort([node(P) || P <- pg:get_members(workers)]) of "
                  "Want -> Want; _ -> timer:sleep(50), W(I - 1) end end, W(200)"),
      "[" + beam_->node_name() + "," + name + "]");
  EXPECT_EQ(beam_->eval("global:send(cpp_worker, {ping, whereis(" + mailbox + ")}), ok"), "ok");
  EXPECT_EQ(beam_->receive(), "{pong," + name + "}");
  EXPECT_EQ(beam_->eval("global:send(cpp_worker, stop), ok"), "ok");
  const auto out = p.read_stdout(30s);
  EXPECT_EQ(p.wait(10s), 0) << out;
  EXPECT_NE(out.find("stopped"), std::string::npos) << out;
  // The name ends with the process.
  EXPECT_EQ(beam_->eval("W = fun W(0) -> still_there; W(I) -> case global:whereis_name(cpp_worker) "
                        "of undefined -> gone; _ -> timer:sleep(50), W(I - 1) end end, W(100)"),
            "gone");
}

TEST_F(Examples, CoroutinesServeAndConverse) {
  register_shell("42");
  auto p = start(EDIST_EXAMPLE_COROUTINES, {});
  const std::string name = "co_cpp@localhost";
  ASSERT_EQ(ready_line(p), "ready " + name) << before_;
  const auto got = beam_->receive();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->rfind("{got,{hello_from_coroutine,<", 0), 0u) << *got;
  const std::string echo = "{co_echo, '" + name + "'}";
  EXPECT_EQ(beam_->eval(echo + " ! {whereis(" + beam_->mailbox_name() + "), hi}, ok"), "ok");
  EXPECT_EQ(beam_->receive(), "{echo,hi}");
  EXPECT_EQ(beam_->eval(echo + " ! stop, ok"), "ok");
  const auto out = p.read_stdout(30s);
  EXPECT_EQ(p.wait(10s), 0) << out;
  EXPECT_NE(out.find("greeter: got {reply,42}"), std::string::npos) << out;
  EXPECT_NE(out.find("co_echo: stop"), std::string::npos) << out;
}

}  // namespace
