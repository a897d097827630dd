// `edist serve`: a long-running node with the documented processes (serve_services.hpp).
// Prints `ready NAME@HOST` once it accepts connections and its processes are registered;
// serves until SIGINT/SIGTERM, then unregisters and exits 0.
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <future>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "node_options.hpp"
#include "serve_services.hpp"

namespace edist::tools {

void add_serve_command(CLI::App& app) {
  struct settings {
    node_flags flags;
    std::vector<std::string> connect;
    long timeout_ms = 10000;
  };
  auto s = std::make_shared<settings>();
  auto* cmd = app.add_subcommand(
      "serve",
      "Run a node with the processes echo, sink, kv (GenServer) and rpc functions demo:add/2, "
      "demo:echo/1, demo:node/0 until SIGINT/SIGTERM");
  add_node_flags(*cmd, s->flags);
  cmd->add_option("--connect", s->connect, "Connect to this node at start (repeatable)");
  cmd->add_option("--timeout-ms", s->timeout_ms, "How long each --connect may take")
      ->check(CLI::PositiveNumber);
  cmd->callback([s] {
    if (s->flags.sname.empty() && s->flags.name.empty())
      exit_with(2, "serve needs a node name: --sname NAME or --name NAME");
    auto n = running_node::start(s->flags, {}, true);
    std::promise<void> stop;
    boost::asio::signal_set signals(n->executor(), SIGINT, SIGTERM);
    signals.async_wait([&stop](const boost::system::error_code& ec, int) {
      if (!ec) stop.set_value();
    });
    auto services = start_serve_services(n->net());
    for (const auto& peer : s->connect)
      connect_or_exit(*n, full_node_name(peer), std::chrono::milliseconds(s->timeout_ms));
    std::cout << "ready " << n->get_node().name() << std::endl;
    stop.get_future().wait();
    services->stop();
    n->stop();
  });
}

}  // namespace edist::tools
