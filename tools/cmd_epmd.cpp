// `edist epmd`: the embedded EPMD server as a standalone program, a drop-in for the real epmd
// (BEAM nodes started with ERL_EPMD_PORT pointing at it register and find each other through
// it). Runs in the foreground until SIGINT or SIGTERM, then exits 0.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "edist/epmd/port.hpp"
#include "edist/epmd/server.hpp"

namespace edist::tools {
namespace {

namespace asio = boost::asio;

struct epmd_settings {
  int port = -1;  // -1: $ERL_EPMD_PORT or 4369
  std::vector<std::string> addresses;
  bool loopback_only = false;
  bool relaxed_command_check = false;
  bool verbose = false;
  std::size_t max_registrations = epmd::server_limits{}.max_registrations;
  std::size_t max_connections = epmd::server_limits{}.max_connections;
  long request_timeout_ms = epmd::server_limits{}.request_timeout.count();
};

void run_epmd(const epmd_settings& s) {
  epmd::server_options options;
  if (s.port >= 0) options.port = static_cast<std::uint16_t>(s.port);
  for (const auto& text : s.addresses) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(text, ec);
    if (ec) exit_with(2, "not an IP address: " + text);
    options.addresses.push_back(address);
  }
  options.loopback_only = s.loopback_only;
  options.relaxed_command_check = s.relaxed_command_check;
  options.limits.max_registrations = s.max_registrations;
  options.limits.max_connections = s.max_connections;
  options.limits.request_timeout = std::chrono::milliseconds(s.request_timeout_ms);
  if (s.verbose)
    options.log = [](std::string_view line) { std::cerr << "epmd: " << line << std::endl; };

  asio::io_context io(1);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  epmd::server server(io.get_executor(), [&] {
    auto o = options;
    // A granted KILL_REQ (only with --relaxed-command-check) ends the program like a signal.
    o.on_killed = [&signals] { signals.cancel(); };
    return o;
  }());
  if (auto ec = server.start()) {
    exit_with(1, "cannot listen on port " + std::to_string(epmd::resolve_port(options.port)) +
                     ": " + ec.message());
  }
  std::cout << "epmd listening on " << server.port() << std::endl;
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    server.stop();
  });
  // Returns once the server has closed every connection and the signal wait is over.
  io.run();
}

}  // namespace

void add_epmd_command(CLI::App& app) {
  auto settings = std::make_shared<epmd_settings>();
  auto* cmd = app.add_subcommand(
      "epmd", "Run an EPMD (Erlang port mapper) in the foreground until SIGINT/SIGTERM");
  cmd->add_option("-p,--port", settings->port,
                  "TCP port (default: $ERL_EPMD_PORT, else 4369; 0 picks a free port)")
      ->check(CLI::Range(0, 65535));
  auto* address =
      cmd->add_option("-a,--address", settings->addresses,
                      "Listen on these addresses (comma-separated, IPv4 or IPv6) besides loopback; "
                      "default: all addresses")
          ->delimiter(',');
  cmd->add_flag("--loopback-only", settings->loopback_only, "Listen on 127.0.0.1 and ::1 only")
      ->excludes(address);
  cmd->add_flag("--relaxed-command-check", settings->relaxed_command_check,
                "Accept `epmd -kill` and `epmd -stop NAME` from local clients");
  cmd->add_option("--max-registrations", settings->max_registrations,
                  "Most names registered at once")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-connections", settings->max_connections, "Most client connections")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--request-timeout-ms", settings->request_timeout_ms,
                  "Close a connection that has not sent its request within this time")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("-v,--verbose", settings->verbose,
                "Log registrations and refused connections to stderr");
  cmd->callback([settings] { run_epmd(*settings); });
}

}  // namespace edist::tools
