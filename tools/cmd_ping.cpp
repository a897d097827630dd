// `edist ping NODE`: net_adm:ping from a node of our own; prints pong or pang, exit 0 or 1.
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "node_options.hpp"

namespace edist::tools {

void add_ping_command(CLI::App& app) {
  struct settings {
    node_flags flags;
    std::string peer;
    long timeout_ms = 10000;
  };
  auto s = std::make_shared<settings>();
  auto* cmd = app.add_subcommand("ping", "Ping NODE: prints pong (exit 0) or pang (exit 1)");
  cmd->add_option("node", s->peer, "The node to ping (name@host)")->required();
  add_node_flags(*cmd, s->flags);
  cmd->add_option("--timeout-ms", s->timeout_ms, "How long to wait for an answer")
      ->check(CLI::PositiveNumber);
  cmd->callback([s] {
    const auto peer = full_node_name(s->peer);
    std::unique_ptr<running_node> n;
    try {
      n = running_node::start(s->flags, peer, false);
    } catch (const exit_request&) {
      // Without a node of our own nothing can be reached: that is a pang, with the reason.
      std::cout << "pang" << std::endl;
      throw;
    }
    const std::chrono::milliseconds timeout(s->timeout_ms);
    const bool pong = flush_to(*n, peer, timeout);
    std::cout << (pong ? "pong" : "pang") << std::endl;
    if (!pong) {
      const auto why = n->net().failure_detail(peer);
      n.reset();
      exit_with(1, why.empty() ? std::string() : peer + ": " + why);
    }
  });
}

}  // namespace edist::tools
