// `edist serve`: a long-running node with the documented processes (serve_services.hpp), kv
// optionally under a :global name and in a :pg group (kv_publisher.hpp).
// Prints `ready NAME@HOST` once it accepts connections and its processes are registered;
// serves until SIGINT/SIGTERM, then unregisters and exits 0.
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <future>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "kv_publisher.hpp"
#include "node_options.hpp"
#include "serve_services.hpp"

namespace edist::tools {

void add_serve_command(CLI::App& app) {
  struct settings {
    node_flags flags;
    std::vector<std::string> connect;
    std::string global_name;
    std::string pg_group;
    long timeout_ms = 10000;
  };
  auto s = std::make_shared<settings>();
  auto* cmd = app.add_subcommand(
      "serve",
      "Run a node with the processes echo, sink, kv (GenServer) and rpc functions demo:add/2, "
      "demo:echo/1, demo:node/0 until SIGINT/SIGTERM");
  add_node_flags(*cmd, s->flags);
  cmd->add_option("--connect", s->connect, "Connect to this node at start (repeatable)");
  cmd->add_option("--global", s->global_name,
                  "Register kv under this :global name (Erlang syntax), through a connected BEAM "
                  "node, again after every restart");
  cmd->add_option("--pg", s->pg_group,
                  "Make kv a member of this group (Erlang syntax) in the pg scope `pg`");
  cmd->add_option("--timeout-ms", s->timeout_ms, "How long each --connect may take")
      ->check(CLI::PositiveNumber);
  cmd->callback([s] {
    if (s->flags.sname.empty() && s->flags.name.empty())
      exit_with(2, "serve needs a node name: --sname NAME or --name NAME");
    publish_options publish;
    if (!s->global_name.empty())
      publish.global_name = parse_term_argument("--global name", s->global_name);
    if (!s->pg_group.empty()) publish.pg_group = parse_term_argument("--pg group", s->pg_group);
    for (const auto& peer : s->connect) publish.via_nodes.push_back(full_node_name(peer));
    auto n = running_node::start(s->flags, {}, true);
    std::promise<void> stop;
    boost::asio::signal_set signals(n->executor(), SIGINT, SIGTERM);
    signals.async_wait([&stop](const boost::system::error_code& ec, int) {
      if (!ec) stop.set_value();
    });
    std::unique_ptr<kv_publisher> publisher;
    if (publish.global_name || publish.pg_group)
      publisher = std::make_unique<kv_publisher>(n->net(), publish);
    auto on_kv_started = [p = publisher.get()](const etf::term& pid) {
      if (p) p->kv_started(pid);
    };
    auto services = start_serve_services(n->net(), on_kv_started);
    for (const auto& peer : publish.via_nodes)
      connect_or_exit(*n, peer, std::chrono::milliseconds(s->timeout_ms));
    std::cout << "ready " << n->get_node().name() << std::endl;
    stop.get_future().wait();
    services->stop();
    if (publisher) publisher->stop();
    n->stop();
  });
}

}  // namespace edist::tools
