// The `edist` program: a command-line front end to the library's layers.
#include <cstdio>
#include <exception>
#include <iostream>

#include "commands.hpp"
#include "edist/node/heap_tuning.hpp"

int main(int argc, char** argv) {
  // Before any thread starts: a node that receives streams of messages should not hand its
  // heap back to the kernel after every read (edist/node/heap_tuning.hpp).
  edist::node::tune_heap_for_messaging();
  CLI::App app{"edist: a C++ node of an Erlang/Elixir cluster"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "edist 0.1.0");
  edist::tools::add_term_command(app);
  edist::tools::add_epmd_command(app);
  edist::tools::add_names_command(app);
  edist::tools::add_ping_command(app);
  edist::tools::add_send_command(app);
  edist::tools::add_call_command(app);
  edist::tools::add_serve_command(app);
  edist::tools::add_demo_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const edist::tools::exit_request& request) {
    if (!request.message.empty()) std::cerr << "edist: " << request.message << '\n';
    return request.status;
  } catch (const std::exception& e) {
    std::cerr << "edist: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
