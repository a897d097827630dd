// One object for a test against a live BEAM node: a private EPMD, an `erl` (or `elixir`) node
// registered with it under a unique name and a random cookie, an rpc handle into the node, and
// a mailbox on the node that the test reads.
//
//   auto beam = edist::testing::live_node::start();          // throws when it cannot start
//   setenv("ERL_EPMD_PORT", ...beam.epmd_port()...);         // or pass beam.environment()
//   ... your C++ node connects to beam.node_name() with beam.cookie() and sends to
//       {beam.mailbox_name(), beam.node_name()} ...
//   EXPECT_EQ(beam.receive(), "{hello,<<\"world\">>}");     // what the BEAM node got
//   EXPECT_EQ(beam.call("lists", "reverse", "[[1, 2, 3]]"), "[3,2,1]");
//   EXPECT_EQ(beam.eval("length(nodes(connected))"), "1");
//
// Results and messages come back as text in Erlang syntax (io_lib:format "~0p"), or as External
// Term Format bytes from the *_binary variants (decode them with edist::etf::binary_to_term).
//
// The mailbox is a process registered on the node as mailbox_name(): it keeps whatever is sent
// to it, in order, until receive() takes the oldest message.
//
// Cleanup: the destructor (or stop()) halts the node and then its EPMD, also when the test
// failed or threw; if the test process itself dies, both die with it (see beam_node and
// child_process). No system epmd is used or touched.
//
// Ownership and threads: the object owns both OS processes and the node's private folder.
// Move-only. Calls on one live_node must not overlap (one thread at a time); separate objects
// are independent, so tests may run in parallel.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "edist/testing/beam_node.hpp"
#include "edist/testing/epmd_instance.hpp"
#include "edist/testing/erlang_install.hpp"

namespace edist::testing {

struct live_node_options {
  // Which Erlang/OTP runs the node; empty: the one on PATH (system_otp()).
  std::optional<erlang_install> otp;
  // Start the node through `elixir` (system Elixir on the system OTP) instead of `erl`.
  bool elixir = false;
  bool hidden = false;
  std::string name_prefix = "beam";  // the node is unique_name(name_prefix)@localhost
  std::string cookie;                // empty: random_cookie()
  std::string mailbox_name = "test_mailbox";
  // More arguments for erl (see beam_options::extra_args), e.g. {"-kernel", "start_pg", "true"}.
  std::vector<std::string> extra_args;
  std::chrono::milliseconds start_timeout{30000};
};

class live_node {
 public:
  // Starts EPMD, then the node, then its mailbox process; returns once the node is
  // registered with EPMD and answers. Throws std::runtime_error (with what the node printed)
  // when Erlang is missing or the node does not come up; nothing is left running then.
  static live_node start(live_node_options options = {});

  live_node(live_node&&) noexcept;
  live_node& operator=(live_node&&) noexcept;
  live_node(const live_node&) = delete;
  live_node& operator=(const live_node&) = delete;
  ~live_node();  // stop(); never throws

  const std::string& node_name() const;  // "name@localhost"
  const std::string& cookie() const;
  std::uint16_t epmd_port() const;
  const std::string& mailbox_name() const;
  // {"ERL_EPMD_PORT", "<port>"}: the environment a program needs to find this node.
  std::vector<std::pair<std::string, std::string>> environment() const;

  // Evaluates Erlang expressions in the node ("X = 2, X * 21." - the final dot is optional).
  // Throws beam_error for an exception raised in the node, beam_timeout on timeout.
  std::string eval(std::string_view expressions,
                   std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // apply(Module, Function, Args): `args` is an Erlang list in text ("[1, <<\"x\">>]").
  // Elixir modules are spelled as Erlang sees them: call("Elixir.String", "upcase", ...).
  std::string call(std::string_view module, std::string_view function, std::string_view args = "[]",
                   std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // The same with arguments and result in External Term Format.
  std::vector<std::uint8_t> call_binary(
      std::string_view module, std::string_view function,
      const std::vector<std::vector<std::uint8_t>>& args_as_etf,
      std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // The oldest message the mailbox process holds, waiting up to `timeout` for one; nullopt
  // when none came.
  std::optional<std::string> receive(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::optional<std::vector<std::uint8_t>> receive_binary(
      std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Everything the node printed (stdout, stderr, crash reports): worth showing on a failure.
  std::string output() const;
  // The parts, for what the helpers above do not cover.
  beam_node& beam();
  epmd_instance& epmd();

  // Halts the node, then EPMD. Idempotent.
  void stop();

 private:
  struct impl;
  explicit live_node(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace edist::testing
