// `edist call NODE MOD FUN [ARGS]`: rpc:call(NODE, MOD, FUN, ARGS) through NODE's rex; prints
// the result in Erlang (or Elixir) syntax, exit 1 on {badrpc, Reason}.
#include <edist/etf/text.hpp>
#include <edist/node/rpc.hpp>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "node_options.hpp"

namespace edist::tools {

void add_call_command(CLI::App& app) {
  struct settings {
    node_flags flags;
    std::string peer;
    std::string module;
    std::string function;
    std::string args = "[]";
    bool elixir = false;
    long timeout_ms = 10000;
  };
  auto s = std::make_shared<settings>();
  auto* cmd = app.add_subcommand(
      "call", "Call MOD:FUN(ARGS...) on NODE (rpc:call) and print the result; exit 1 on badrpc");
  cmd->add_option("node", s->peer, "The node (name@host)")->required();
  cmd->add_option("module", s->module, "Module atom, e.g. lists or Elixir.String")->required();
  cmd->add_option("function", s->function, "Function atom")->required();
  cmd->add_option("args", s->args, "The arguments as an Erlang list, e.g. '[1, 2]' (default [])");
  cmd->add_flag("--elixir", s->elixir, "Print the result in Elixir syntax");
  add_node_flags(*cmd, s->flags);
  cmd->add_option("--timeout-ms", s->timeout_ms, "How long to wait for the connection and result")
      ->check(CLI::PositiveNumber);
  cmd->callback([s] {
    const auto args = parse_term_argument("argument list", s->args);
    if (!args.is_list() || (!args.is_nil() && !args.list_tail().is_nil()))
      exit_with(2, "bad argument list `" + s->args + "`: not a proper list");
    if (s->module.empty() || s->function.empty()) exit_with(2, "empty module or function name");
    const auto peer = full_node_name(s->peer);
    const std::chrono::milliseconds timeout(s->timeout_ms);
    auto n = running_node::start(s->flags, peer, false);
    connect_or_exit(*n, peer, timeout);
    auto self = n->get_node().spawn();
    const auto result = node::rpc::call(self, etf::atom(peer), etf::atom(s->module),
                                        etf::atom(s->function), args, timeout);
    const auto text = s->elixir ? etf::to_elixir_string(result) : etf::to_erlang_string(result);
    if (result.is_tuple(2) && result.tuple_elements()[0].is_atom("badrpc")) {
      std::cerr << text << std::endl;
      exit_with(1);
    }
    std::cout << text << std::endl;
  });
}

}  // namespace edist::tools
