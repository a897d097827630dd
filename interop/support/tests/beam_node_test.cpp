#include "edist/testing/beam_node.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <optional>
#include <thread>
#include <vector>

#include "edist/testing/epmd_instance.hpp"
#include "edist/testing/gtest.hpp"
#include "edist/testing/names.hpp"
#include "process_probe.hpp"

namespace et = edist::testing;
using et::selftest::alive;
using et::selftest::gone_within;
using namespace std::chrono_literals;

namespace {

using bytes = std::vector<std::uint8_t>;

// The node writes its output asynchronously (io goes through the `user` process).
bool output_shows(const et::beam_node& node, const std::string& text,
                  std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (node.output().find(text) != std::string::npos) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(20ms);
  }
}

class BeamNode : public et::otp_test {
 protected:
  void SetUp() override {
    et::otp_test::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    epmd_.emplace(et::epmd_instance::start(otp()));
  }

  et::beam_node start(et::beam_options o = {}) {
    o.epmd_port = epmd_->port();
    const auto t0 = std::chrono::steady_clock::now();
    auto node = et::beam_node::start(otp(), std::move(o));
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - t0);
    std::cout << "[ timing   ] OTP " << otp().release << " node start: " << ms.count() << " ms\n";
    return node;
  }

  std::optional<et::epmd_instance> epmd_;
};

TEST_P(BeamNode, EvaluatesExpressions) {
  auto node = start();
  EXPECT_EQ(node.eval("1 + 2"), "3");
  EXPECT_EQ(node.eval("X = 20, Y = 22, X + Y."), "42");
  EXPECT_EQ(node.eval("{ok, [a, <<\"b\">>, 1.5]}"), "{ok,[a,<<\"b\">>,1.5]}");
  EXPECT_EQ(node.eval("erlang:system_info(otp_release)"), "\"" + otp().release + "\"");
  EXPECT_EQ(node.eval("node()"), node.node_name());
  // Bindings do not survive between calls.
  EXPECT_EQ(node.eval("X = 1"), "1");
  EXPECT_EQ(node.eval("X = 2"), "2");
  // term_to_binary(3) = 131, SMALL_INTEGER_EXT 97, 3; an atom with minor_version 2 is
  // SMALL_ATOM_UTF8_EXT (119).
  EXPECT_EQ(node.eval_binary("1 + 2"), (bytes{131, 97, 3}));
  EXPECT_EQ(node.eval_binary("ok."), (bytes{131, 119, 2, 'o', 'k'}));
}

TEST_P(BeamNode, ExceptionsBecomeBeamErrors) {
  auto node = start();
  try {
    node.eval("1 + a");
    FAIL() << "no exception";
  } catch (const et::beam_error& e) {
    EXPECT_EQ(e.error_class(), "error");
    EXPECT_NE(e.reason().find("badarith"), std::string::npos) << e.reason();
    EXPECT_FALSE(e.stacktrace().empty());
  }
  try {
    node.eval_binary("throw({my, ball})");
    FAIL() << "no exception";
  } catch (const et::beam_error& e) {
    EXPECT_EQ(e.error_class(), "throw");
    EXPECT_EQ(e.reason(), "{my,ball}");
  }
  try {
    node.eval("exit(bye)");
    FAIL() << "no exception";
  } catch (const et::beam_error& e) {
    EXPECT_EQ(e.error_class(), "exit");
    EXPECT_EQ(e.reason(), "bye");
  }
  // Syntax errors too, and the channel stays usable after all of them.
  EXPECT_THROW(node.eval("1 +"), et::beam_error);
  EXPECT_THROW(node.eval("\"unterminated"), et::beam_error);
  EXPECT_EQ(node.eval("ok"), "ok");
}

TEST_P(BeamNode, PrintedOutputDoesNotCorruptTheChannel) {
  auto node = start();
  // (erlang:display first: OTP 25 can drop its direct write while a large io write is in flight,
  // which is the emulator's business, not the channel's.)
  EXPECT_EQ(node.eval("erlang:display(displayed), "
                      "io:format(\"hello from the node~n\"), "
                      "io:format(standard_error, \"to stderr~n\", []), "
                      "io:put_chars(lists:duplicate(200000, $x)), 42"),
            "42");
  // Output from other processes (their group leader is `user` as well) and from logger.
  EXPECT_EQ(node.eval("spawn(fun() -> io:format(\"from a spawned process~n\") end), "
                      "logger:error(\"a logged error\"), timer:sleep(100), done"),
            "done");
  EXPECT_EQ(node.eval_binary("7"), (bytes{131, 97, 7}));
  EXPECT_TRUE(output_shows(node, "hello from the node", 5s)) << node.output().substr(0, 2000);
  node.stop();
  const std::string out = node.output();
  EXPECT_NE(out.find("hello from the node"), std::string::npos) << out.substr(0, 2000);
  EXPECT_NE(out.find("to stderr"), std::string::npos);
  EXPECT_NE(out.find("displayed"), std::string::npos);
  EXPECT_NE(out.find(std::string(200000, 'x')), std::string::npos);
  EXPECT_NE(out.find("from a spawned process"), std::string::npos);
  EXPECT_NE(out.find("a logged error"), std::string::npos);
}

TEST_P(BeamNode, EvaluatorIsOneProcessWithAMailbox) {
  auto node = start();
  const std::string self = node.eval("self()");
  EXPECT_EQ(node.eval("self()"), self);
  EXPECT_EQ(node.eval("whereis(edist_test_evaluator) =:= self()"), "true");
  EXPECT_EQ(node.eval("self() ! hello, ok"), "ok");
  EXPECT_EQ(node.eval("receive M -> M after 1000 -> timeout end"), "hello");
  // If evaluated code kills the evaluator, a new one takes over under the same name.
  try {
    node.eval("exit(self(), kill)");
    FAIL() << "no exception";
  } catch (const et::beam_error& e) {
    EXPECT_EQ(e.error_class(), "exit");
    EXPECT_EQ(e.reason(), "killed");
  }
  EXPECT_EQ(node.eval("whereis(edist_test_evaluator) =:= self()"), "true");
}

TEST_P(BeamNode, AppliesFunctionsToExternalTerms) {
  auto node = start();
  // erlang:'+'(1, 2)
  EXPECT_EQ(node.apply_binary("erlang", "+", {{131, 97, 1}, {131, 97, 2}}), (bytes{131, 97, 3}));
  // lists:reverse([1, 2]) -> [2, 1]: LIST_EXT 108, length 2, elements, NIL_EXT 106.
  EXPECT_EQ(node.apply_binary("lists", "reverse", {{131, 108, 0, 0, 0, 2, 97, 1, 97, 2, 106}}),
            (bytes{131, 107, 0, 2, 2, 1}));  // a list of bytes is STRING_EXT (107)
  EXPECT_EQ(node.apply_binary("erlang", "self", {}), node.eval_binary("self()"));
  EXPECT_THROW(node.apply_binary("erlang", "+", {{131, 97, 1}, {131, 119, 1, 'a'}}),
               et::beam_error);
  EXPECT_THROW(node.apply_binary("no_such_module_xyz", "f", {}), et::beam_error);
  // Not external term format: rejected, and the channel still works.
  EXPECT_THROW(node.apply_binary("erlang", "abs", {{1, 2, 3}}), std::runtime_error);
  EXPECT_EQ(node.eval("ok"), "ok");
}

TEST_P(BeamNode, TimeoutLeavesTheChannelUsable) {
  auto node = start();
  EXPECT_THROW(node.eval("timer:sleep(500), late", 50ms), et::beam_timeout);
  // The late answer of the timed-out call is skipped.
  EXPECT_EQ(node.eval("on_time", 10s), "on_time");
}

TEST_P(BeamNode, NodesPingThroughThePrivateEpmd) {
  auto a = start();
  et::beam_options ob;
  ob.cookie = a.cookie();
  auto b = start(ob);
  EXPECT_TRUE(epmd_->wait_for_name(a.name(), 5s)) << epmd_->names();
  EXPECT_TRUE(epmd_->wait_for_name(b.name(), 5s)) << epmd_->names();
  EXPECT_EQ(a.eval("net_adm:ping('" + b.node_name() + "')"), "pong");
  EXPECT_EQ(b.eval("lists:member('" + a.node_name() + "', nodes())"), "true");
  // Messages to the evaluator's registered name arrive over distribution.
  EXPECT_EQ(b.eval("{edist_test_evaluator, '" + a.node_name() + "'} ! {from, node()}, sent"),
            "sent");
  EXPECT_EQ(a.eval("receive {from, N} -> N after 5000 -> timeout end"), b.node_name());
}

TEST_P(BeamNode, DifferentCookiesGivePang) {
  auto a = start();
  auto b = start();  // its own random cookie
  ASSERT_NE(a.cookie(), b.cookie());
  EXPECT_EQ(a.eval("net_adm:ping('" + b.node_name() + "')"), "pang");
}

TEST_P(BeamNode, HiddenAndLongNamedNodes) {
  auto a = start();
  et::beam_options oh;
  oh.cookie = a.cookie();
  oh.hidden = true;
  auto hidden = start(oh);
  EXPECT_EQ(hidden.eval("net_adm:ping('" + a.node_name() + "')"), "pong");
  EXPECT_EQ(a.eval("{nodes(), nodes(hidden)}"), "{[],[" + hidden.node_name() + "]}");

  et::beam_options ol;
  ol.long_names = true;
  ol.host = "127.0.0.1";
  auto l1 = start(ol);
  ol.cookie = l1.cookie();
  auto l2 = start(ol);
  EXPECT_EQ(l1.node_name(), l1.name() + "@127.0.0.1");
  EXPECT_EQ(l1.eval("net_kernel:longnames()"), "true");
  EXPECT_EQ(l1.eval("net_adm:ping('" + l2.node_name() + "')"), "pong");
}

TEST_P(BeamNode, ProcessesAreGoneAfterDestructionAndStop) {
  pid_t pid;
  {
    auto node = start();
    pid = node.pid();
    ASSERT_TRUE(alive(pid));
  }
  EXPECT_TRUE(gone_within(pid, 5s));

  auto node = start();
  pid = node.pid();
  const std::string name = node.name();
  EXPECT_TRUE(epmd_->wait_for_name(name, 5s));
  node.eval("io:format(\"last words~n\")");
  node.stop();
  node.stop();  // idempotent
  EXPECT_FALSE(node.running());
  EXPECT_EQ(node.pid(), -1);
  EXPECT_TRUE(gone_within(pid, 5s));
  EXPECT_NE(node.output().find("last words"), std::string::npos);
  EXPECT_THROW(node.eval("1"), std::logic_error);
  // The registration went with the node.
  EXPECT_FALSE(epmd_->wait_for_name(name, 0ms)) << epmd_->names();
}

TEST_P(BeamNode, MovesOwnership) {
  auto a = start();
  const pid_t pid = a.pid();
  et::beam_node b = std::move(a);
  EXPECT_EQ(b.pid(), pid);
  EXPECT_EQ(b.eval("ok"), "ok");
  EXPECT_EQ(a.pid(), -1);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  EXPECT_THROW(a.eval("ok"), std::logic_error);
  a.stop();  // harmless
  EXPECT_TRUE(b.running());
  b = start();  // the first node is stopped by the assignment
  EXPECT_TRUE(gone_within(pid, 5s));
  EXPECT_EQ(b.eval("ok"), "ok");
}

TEST_P(BeamNode, NodeDeathIsReportedWithItsOutput) {
  auto node = start();
  try {
    node.eval("io:format(\"about to halt~n\"), erlang:halt(3)");
    FAIL() << "no exception";
  } catch (const et::beam_error&) {
    FAIL() << "halt is not an exception";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("exit status 3"), std::string::npos) << what;
    EXPECT_NE(what.find("about to halt"), std::string::npos) << what;
  }
  EXPECT_FALSE(node.running());
}

TEST_P(BeamNode, NodeDeathBetweenCallsIsReported) {
  auto node = start();
  // The halt waits long enough for this eval's reply to leave the node even on a loaded
  // machine (at 50 ms it sometimes raced the reply).
  EXPECT_EQ(node.eval("spawn(fun() -> timer:sleep(1000), erlang:halt(5) end), ok"), "ok");
  EXPECT_EQ(node.otp().release, otp().release);
  const pid_t pid = node.pid();
  EXPECT_TRUE(gone_within(pid, 10s));
  try {
    node.eval("ok");
    FAIL() << "no exception";
  } catch (const et::beam_error&) {
    FAIL() << "not an exception in the node";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("exit status 5"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(node.running());
  node.stop();
}

TEST_P(BeamNode, FailedStartThrowsWithTheNodeOutput) {
  auto a = start();
  et::beam_options same;
  same.name = a.name();  // taken: epmd refuses the second registration
  try {
    start(same);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(a.name()), std::string::npos) << what;
    EXPECT_NE(what.find("in use"), std::string::npos) << what;
  }
  EXPECT_EQ(a.eval("ok"), "ok");
  et::beam_options no_epmd;
  EXPECT_THROW(et::beam_node::start(otp(), no_epmd), std::invalid_argument);
}

TEST_P(BeamNode, EpmdInstanceIsPrivateAndStops) {
  const std::uint16_t port = epmd_->port();
  EXPECT_NE(port, 4369);
  EXPECT_EQ(epmd_->names(), "");
  auto other = et::epmd_instance::start(otp());
  EXPECT_NE(other.port(), port);
  const pid_t pid = other.pid();
  other.stop();
  EXPECT_TRUE(gone_within(pid, 5s));
  EXPECT_THROW(other.names(), std::system_error);  // nothing listens any more
}

EDIST_INSTANTIATE_OTP_TEST_SUITE(BeamNode);

// Elixir on the system OTP.
TEST(ElixirNode, StartsAndJoinsErlangNodes) {
  EDIST_REQUIRE_ELIXIR();
  const auto otp = *et::system_otp();
  auto epmd = et::epmd_instance::start(otp);
  et::beam_options oe;
  oe.elixir = true;
  oe.epmd_port = epmd.port();
  const auto t0 = std::chrono::steady_clock::now();
  auto ex = et::beam_node::start(otp, oe);
  std::cout << "[ timing   ] Elixir node start: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - t0)
                   .count()
            << " ms\n";
  EXPECT_EQ(ex.eval("is_binary('Elixir.System':version())"), "true");
  EXPECT_EQ(ex.eval("'Elixir.Enum':sum([1, 2, 3])"), "6");
  et::beam_options oa;
  oa.cookie = ex.cookie();
  oa.epmd_port = epmd.port();
  auto erl = et::beam_node::start(otp, oa);
  EXPECT_EQ(erl.eval("net_adm:ping('" + ex.node_name() + "')"), "pong");
  EXPECT_EQ(ex.eval("io:format(\"elixir says hi~n\"), 'Elixir.IO':puts(<<\"puts works\">>), ok"),
            "ok");
  const pid_t pid = ex.pid();
  ex.stop();
  EXPECT_TRUE(gone_within(pid, 5s));
  EXPECT_NE(ex.output().find("puts works"), std::string::npos) << ex.output();

  et::beam_options bad = oe;
  if (auto o27 = et::otp27()) {
    EXPECT_THROW(et::beam_node::start(*o27, bad), std::invalid_argument);
  }
}

// An OTP 27 node and a system OTP node share one epmd and talk.
TEST(MixedOtp, Otp27AndSystemNodesPingEachOther) {
  EDIST_REQUIRE_ERLANG();
  EDIST_REQUIRE_OTP27();
  auto epmd = et::epmd_instance::start(*et::system_otp());
  et::beam_options o;
  o.epmd_port = epmd.port();
  auto old_node = et::beam_node::start(*et::system_otp(), o);
  o.cookie = old_node.cookie();
  auto new_node = et::beam_node::start(*et::otp27(), o);
  EXPECT_EQ(new_node.eval("net_adm:ping('" + old_node.node_name() + "')"), "pong");
  EXPECT_EQ(
      old_node.eval("rpc:call('" + new_node.node_name() + "', erlang, system_info, [otp_release])"),
      "\"" + et::otp27()->release + "\"");
}

}  // namespace
