// `edist names [HOST]`: the names an EPMD knows, as `epmd -names` prints them.
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "edist/epmd/client.hpp"

namespace edist::tools {

void add_names_command(CLI::App& app) {
  struct settings {
    std::string host = "localhost";
    int port = -1;
  };
  auto s = std::make_shared<settings>();
  auto* cmd = app.add_subcommand("names", "List the node names registered with EPMD on HOST");
  cmd->add_option("host", s->host, "Where EPMD runs (default: localhost)");
  cmd->add_option("-p,--port", s->port, "EPMD port (default: $ERL_EPMD_PORT, else 4369)")
      ->check(CLI::Range(1, 65535));
  cmd->callback([s] {
    epmd::client_options o;
    o.host = s->host;
    if (s->port > 0) o.port = static_cast<std::uint16_t>(s->port);
    std::error_code ec;
    auto reply = epmd::names(o, ec);
    if (ec) {
      exit_with(1, "no EPMD at " + s->host + ":" + std::to_string(epmd::resolve_port(o.port)) +
                       ": " + ec.message());
    }
    std::cout << "epmd: up and running on port " << reply.epmd_port << " with data:\n";
    for (const auto& n : reply.nodes)
      std::cout << "name " << n.name << " at port " << n.port << '\n';
    std::cout.flush();
  });
}

}  // namespace edist::tools
