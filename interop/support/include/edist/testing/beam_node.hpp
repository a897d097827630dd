// A live BEAM node for interop tests, driven through a private control channel.
//
// The control channel is NOT Erlang distribution, so it works before and independently of
// edist's own distribution code. The node runs the Erlang module edist_test_control (source in
// interop/support/beam/, embedded in this library and compiled with the install's erlc into a
// per-user cache on first use). It talks {packet,4} frames over two pipes the node inherits as
// file descriptors 3 (requests) and 4 (replies); the node's stdout and stderr (io:format output,
// logger, crash reports) go to a log file, so nothing the node prints can corrupt the channel.
// That log is output().
//
// Evaluation happens in one long-lived process registered as `edist_test_evaluator`: self() is
// the same pid for every eval/apply call of a node, so a test can send messages to
// {edist_test_evaluator, Node} (over distribution) and `receive` them in a later eval. Bindings
// are fresh for every call.
//
// If the test process dies, the node dies too: the control pipe closes (the node halts on EOF)
// and the node has PR_SET_PDEATHSIG (see child_process).
//
// Ownership and threads: a beam_node owns its OS process, its pipes and its private temporary
// folder (the log lives there); all are released by stop()/the destructor. Move-only. Calls
// on one beam_node must not overlap (not thread-safe); different nodes are independent.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "edist/testing/erlang_install.hpp"

namespace edist::testing {

struct beam_options {
  std::string name;                // node name part; empty = unique_name("beam")
  std::string host = "localhost";  // -sname name@host (short names)
  bool long_names = false;         // -name name@host instead; set host to e.g. "127.0.0.1"
  bool hidden = false;             // -hidden
  std::string cookie;              // empty = random_cookie()
  std::uint16_t epmd_port = 0;     // required: ERL_EPMD_PORT of the node
  bool start_epmd = false;         // -start_epmd false unless true
  bool elixir = false;  // start through `elixir --sname ...` (system Elixir + system OTP only)
  // Appended to erl's arguments (before the control module starts). For elixir they go through
  // --erl, which the elixir script splits at spaces: no spaces inside an argument there.
  std::vector<std::string> extra_args;
  // How long start() waits for the node to be up and distributed.
  std::chrono::milliseconds start_timeout{30000};
};

// An exception raised by the evaluated code inside the node (or a scan/parse error of the
// expression, reported as class "error").
class beam_error : public std::runtime_error {
 public:
  beam_error(std::string error_class, std::string reason, std::string stacktrace);
  // "error", "exit" or "throw".
  const std::string& error_class() const noexcept { return class_; }
  // The reason formatted with ~0tp.
  const std::string& reason() const noexcept { return reason_; }
  // The stack trace formatted with ~0tp.
  const std::string& stacktrace() const noexcept { return stack_; }

 private:
  std::string class_;
  std::string reason_;
  std::string stack_;
};

// A call did not answer in time. The node keeps running (its evaluator may still be busy).
class beam_timeout : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class beam_node {
 public:
  // Starts the node and waits until it is up and distributed (net_kernel running, registered
  // with epmd). Throws std::invalid_argument for bad options and std::runtime_error (with the
  // node's output) when the node does not come up.
  static beam_node start(const erlang_install& otp, beam_options opts);

  beam_node(beam_node&&) noexcept;
  beam_node& operator=(beam_node&&) noexcept;
  beam_node(const beam_node&) = delete;
  beam_node& operator=(const beam_node&) = delete;
  // Calls stop(), never throws.
  ~beam_node();

  const std::string& node_name() const;  // "name@host"
  const std::string& cookie() const;
  const std::string& name() const;  // the part before '@'
  const std::string& host() const;  // the part after '@'
  const erlang_install& otp() const;
  std::uint16_t epmd_port() const;
  pid_t pid() const;  // of the erl (or elixir) process; -1 after stop()
  bool running();

  // Evaluates Erlang expressions ("X = 1, X + 1." - the trailing dot is optional) with
  // erl_eval in the evaluator process. Returns term_to_binary(Result, [{minor_version, 2}]).
  // Throws beam_error on an exception in the node, beam_timeout on timeout, and
  // std::runtime_error (with output()) when the node died.
  std::vector<std::uint8_t> eval_binary(
      std::string_view expr, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // As eval_binary, the result formatted with io_lib:format("~0p").
  std::string eval(std::string_view expr,
                   std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // apply(Module, Function, [binary_to_term(A) || A <- args_as_etf]) in the evaluator process;
  // returns term_to_binary(Result, [{minor_version, 2}]). Errors as for eval_binary.
  std::vector<std::uint8_t> apply_binary(
      std::string_view module, std::string_view function,
      const std::vector<std::vector<std::uint8_t>>& args_as_etf,
      std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Everything the node printed on stdout/stderr so far. Still available after stop().
  std::string output() const;
  // The file output() reads, in the node's private folder; empty after stop(), which removes
  // the folder. (A folder left behind by a killed test process is removed by the next node
  // start of this user.)
  std::filesystem::path log_file() const;

  // Asks the node to halt and waits for it; kills it after a grace period. Idempotent.
  void stop();

 private:
  struct impl;
  explicit beam_node(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace edist::testing
