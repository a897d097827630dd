// `edist send NODE NAME TERM`: NAME ! TERM on NODE, from a process of a node of our own.
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "node_options.hpp"

namespace edist::tools {

void add_send_command(CLI::App& app) {
  struct settings {
    node_flags flags;
    std::string peer;
    std::string name;
    std::string term;
    long timeout_ms = 10000;
  };
  auto s = std::make_shared<settings>();
  auto* cmd = app.add_subcommand(
      "send", "Send TERM (Erlang syntax) to the process registered as NAME on NODE");
  cmd->add_option("node", s->peer, "The node (name@host)")->required();
  cmd->add_option("name", s->name, "A registered name on NODE")->required();
  cmd->add_option("term", s->term, "The message, in Erlang syntax, e.g. '{hello, 42}'")->required();
  add_node_flags(*cmd, s->flags);
  cmd->add_option("--timeout-ms", s->timeout_ms, "How long to wait for the connection")
      ->check(CLI::PositiveNumber);
  cmd->callback([s] {
    // Bad input is reported before any network activity.
    const auto message = parse_term_argument("term", s->term);
    // NAME is the atom's text as is (echo, 'Elixir.MyServer' without quotes).
    if (s->name.empty()) exit_with(2, "empty name");
    const auto name = etf::atom(s->name);
    const auto peer = full_node_name(s->peer);
    const std::chrono::milliseconds timeout(s->timeout_ms);
    auto n = running_node::start(s->flags, peer, false);
    connect_or_exit(*n, peer, timeout);
    auto self = n->get_node().spawn();
    if (auto ec = self.send(etf::term::tuple({name, etf::atom(peer)}), message))
      exit_with(1, "cannot send: " + ec.message());
    // Stopping at once could drop the queued message with the connection.
    if (!flush_to(*n, peer, timeout)) exit_with(1, "the connection to " + peer + " was lost");
  });
}

}  // namespace edist::tools
