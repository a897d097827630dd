// live_node: EPMD and node together, eval/call, and the mailbox process's order and timeout.
#include "edist/testing/live_node.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "edist/testing/gtest.hpp"

namespace {

namespace et = edist::testing;
using namespace std::chrono_literals;

class LiveNode : public et::otp_test {};

TEST_P(LiveNode, EvaluatesCallsAndReadsItsMailboxInOrder) {
  et::live_node_options o;
  o.otp = otp();
  auto beam = et::live_node::start(o);
  EXPECT_EQ(
      beam.epmd().names().find("name " + beam.node_name().substr(0, beam.node_name().find('@'))),
      0u);
  EXPECT_EQ(beam.eval("X = 20, X + 22"), "42");
  EXPECT_EQ(beam.call("lists", "reverse", "[[1, 2, 3]]"), "[3,2,1]");
  EXPECT_EQ(beam.eval("atom_to_list(node())"), "\"" + beam.node_name() + "\"");
  ASSERT_EQ(beam.environment().size(), 1u);
  EXPECT_EQ(beam.environment()[0].second, std::to_string(beam.epmd_port()));

  // Messages come back oldest first; the atom `timeout` is a message like any other.
  EXPECT_EQ(beam.eval("M = " + beam.mailbox_name() +
                      ", M ! first, M ! {second, <<\"x\">>}, M ! timeout, ok"),
            "ok");
  EXPECT_EQ(beam.receive(), "first");
  EXPECT_EQ(beam.receive(), "{second,<<\"x\">>}");
  EXPECT_EQ(beam.receive(), "timeout");
  const auto before = std::chrono::steady_clock::now();
  EXPECT_EQ(beam.receive(300ms), std::nullopt);
  EXPECT_GE(std::chrono::steady_clock::now() - before, 300ms);

  // A message sent later, while the test waits, arrives too; binary form is its encoding.
  EXPECT_EQ(
      beam.eval("spawn(fun() -> timer:sleep(200), " + beam.mailbox_name() + " ! [1] end), ok"),
      "ok");
  const auto bytes = beam.receive_binary(5s);
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(*bytes, (std::vector<std::uint8_t>{131, 107, 0, 1, 1}));  // STRING_EXT [1]

  EXPECT_THROW(beam.eval("error(on_purpose)"), et::beam_error);
  beam.stop();
  beam.stop();
}

TEST_P(LiveNode, StartsAnElixirNodeOnTheSystemOtp) {
  if (!et::system_otp() || otp().bin_dir != et::system_otp()->bin_dir)
    GTEST_SKIP() << "Elixir runs on the system OTP";
  EDIST_REQUIRE_ELIXIR();
  et::live_node_options o;
  o.elixir = true;
  auto beam = et::live_node::start(o);
  EXPECT_EQ(beam.call("Elixir.String", "upcase", "[<<\"iex\">>]"), "<<\"IEX\">>");
  EXPECT_EQ(beam.eval(beam.mailbox_name() + " ! hi, ok"), "ok");
  EXPECT_EQ(beam.receive(), "hi");
}

EDIST_INSTANTIATE_OTP_TEST_SUITE(LiveNode);

}  // namespace
