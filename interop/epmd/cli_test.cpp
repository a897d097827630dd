// `edist epmd` as a standalone program: real BEAM nodes and the real epmd tool use it, and it
// stops cleanly on SIGTERM. The program is the build's `edist` (EDIST_CLI_PATH), or the one
// named by $EDIST_CLI when set (to test an installed binary).
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "edist/epmd/client.hpp"
#include "edist/epmd/port.hpp"
#include "edist/testing/beam_node.hpp"
#include "edist/testing/child_process.hpp"
#include "edist/testing/epmd_instance.hpp"
#include "edist/testing/gtest.hpp"
#include "edist/testing/names.hpp"

namespace {

namespace ep = edist::epmd;
namespace et = edist::testing;
using et::read_line;
using namespace std::chrono_literals;

std::string cli_path() {
  if (const char* p = std::getenv("EDIST_CLI")) return p;
  return EDIST_CLI_PATH;
}

// `edist epmd ARGS...` running, with the port it announced.
struct running_cli {
  et::child_process process;
  std::uint16_t port = 0;
  std::string first_line;
};

running_cli start_cli(std::vector<std::string> args,
                      std::vector<std::pair<std::string, std::string>> env = {}) {
  et::child_process::options o;
  o.argv = {cli_path(), "epmd"};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.env = std::move(env);
  o.capture_stdout = true;
  running_cli r;
  r.process = et::child_process::spawn(o);
  auto line = read_line(r.process.stdout_fd(), 10s);
  if (!line) return r;
  r.first_line = *line;
  const std::string prefix = "epmd listening on ";
  if (line->rfind(prefix, 0) == 0) r.port = ep::parse_port(line->substr(prefix.size())).value_or(0);
  return r;
}

std::pair<int, std::string> run_epmd_tool(const et::erlang_install& otp,
                                          std::vector<std::string> args, std::uint16_t port) {
  et::child_process::options o;
  o.argv = {otp.epmd().string()};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.env = {{"ERL_EPMD_PORT", std::to_string(port)}};
  o.capture_stdout = true;
  o.stderr_to_stdout = true;
  auto p = et::child_process::spawn(o);
  auto out = p.read_stdout(10s);
  return {p.wait(5s), out};
}

class EdistEpmdCli : public et::otp_test {};

TEST_P(EdistEpmdCli, BeamNodesUseItAndSigtermEndsIt) {
  auto cli = start_cli({"--port", "0", "--loopback-only"});
  ASSERT_NE(cli.port, 0) << "first line: " << cli.first_line;

  const auto cookie = et::random_cookie();
  et::beam_options o;
  o.epmd_port = cli.port;
  o.cookie = cookie;
  auto a = et::beam_node::start(otp(), o);
  auto b = et::beam_node::start(otp(), o);
  EXPECT_EQ(a.eval("net_adm:ping('" + b.node_name() + "')"), "pong");

  auto [names_rc, names_out] = run_epmd_tool(otp(), {"-names"}, cli.port);
  EXPECT_EQ(names_rc, 0);
  EXPECT_NE(names_out.find("epmd: up and running on port " + std::to_string(cli.port)),
            std::string::npos)
      << names_out;
  EXPECT_NE(names_out.find("name " + a.name() + " at port "), std::string::npos) << names_out;
  EXPECT_NE(names_out.find("name " + b.name() + " at port "), std::string::npos) << names_out;

  auto [kill_rc, kill_out] = run_epmd_tool(otp(), {"-kill"}, cli.port);
  EXPECT_EQ(kill_rc, 1);
  EXPECT_NE(kill_out.find("Killing not allowed"), std::string::npos) << kill_out;
  EXPECT_TRUE(cli.process.running());

  ASSERT_EQ(::kill(cli.process.pid(), SIGTERM), 0);
  EXPECT_EQ(cli.process.wait(10s), 0);
}

TEST_P(EdistEpmdCli, PortFromEnvironmentAndPortInUse) {
  // A real epmd holds a port: ours must refuse to start there, with a message and status 1.
  auto real = et::epmd_instance::start(otp());
  et::child_process::options o;
  o.argv = {cli_path(), "epmd", "--loopback-only"};
  o.env = {{"ERL_EPMD_PORT", std::to_string(real.port())}};
  o.capture_stdout = true;
  o.stderr_to_stdout = true;
  auto busy = et::child_process::spawn(o);
  const auto out = busy.read_stdout(10s);
  EXPECT_EQ(busy.wait(5s), 1) << out;
  EXPECT_NE(out.find("cannot listen on port " + std::to_string(real.port())), std::string::npos)
      << out;

  // On a free port given through ERL_EPMD_PORT only, it listens there.
  const std::uint16_t free_port = real.port();
  real.stop();
  auto cli = start_cli({"--loopback-only"}, {{"ERL_EPMD_PORT", std::to_string(free_port)}});
  EXPECT_EQ(cli.port, free_port) << cli.first_line;
  ASSERT_EQ(::kill(cli.process.pid(), SIGINT), 0);
  EXPECT_EQ(cli.process.wait(10s), 0);
}

TEST_P(EdistEpmdCli, RelaxedCommandCheckLetsEpmdKillStopIt) {
  auto cli = start_cli({"--port", "0", "--loopback-only", "--relaxed-command-check"});
  ASSERT_NE(cli.port, 0) << cli.first_line;
  ep::client_options co;
  co.port = cli.port;
  auto reg = ep::register_node(co, [] {
    ep::node_info n;
    n.name = et::unique_name("gone");
    n.port = 1234;
    return n;
  }());
  auto [stop_rc, stop_out] = run_epmd_tool(otp(), {"-stop", reg.node().name}, cli.port);
  EXPECT_EQ(stop_rc, 0);
  EXPECT_NE(stop_out.find("STOPPED"), std::string::npos) << stop_out;
  std::error_code ec;
  ep::lookup(co, reg.node().name, ec);
  EXPECT_EQ(ec, ep::errc::name_not_found);

  auto [kill_rc, kill_out] = run_epmd_tool(otp(), {"-kill"}, cli.port);
  EXPECT_EQ(kill_rc, 0) << kill_out;
  EXPECT_NE(kill_out.find("Killed"), std::string::npos) << kill_out;
  EXPECT_EQ(cli.process.wait(10s), 0);
}

EDIST_INSTANTIATE_OTP_TEST_SUITE(EdistEpmdCli);

}  // namespace
