// Subcommands of the `edist` program. Each add_*_command registers its subcommand (options,
// help text and callback) on the root application; the callback returns the process exit
// status through edist::tools::exit_with().
#pragma once

#include <CLI/CLI.hpp>

namespace edist::tools {

// Thrown by a subcommand callback to end the program with `status` after printing
// `message` (if any) to stderr. User mistakes never show a stack trace.
struct exit_request {
  int status;
  std::string message;
};

[[noreturn]] inline void exit_with(int status, std::string message = {}) {
  throw exit_request{status, std::move(message)};
}

void add_term_command(CLI::App& app);
void add_epmd_command(CLI::App& app);
void add_names_command(CLI::App& app);
void add_ping_command(CLI::App& app);
void add_send_command(CLI::App& app);
void add_call_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_demo_command(CLI::App& app);

}  // namespace edist::tools
