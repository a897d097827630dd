// A test process that dies half-way (SIGKILL: no destructors, no atexit) must not leave epmd
// or BEAM processes behind.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include "edist/testing/beam_node.hpp"
#include "edist/testing/child_process.hpp"
#include "edist/testing/epmd_instance.hpp"
#include "edist/testing/gtest.hpp"
#include "edist/testing/names.hpp"
#include "process_probe.hpp"

namespace et = edist::testing;
using namespace std::chrono_literals;

namespace {

struct report {
  pid_t epmd = -1;
  pid_t node = -1;
  char name[128] = {};
  char log[1024] = {};
};

// pgrep's exit status: 0 when some process's command line contains `pattern`, 1 when none.
int pgrep(const std::string& pattern) {
  et::child_process::options o;
  o.argv = {"pgrep", "-f", pattern};
  o.capture_stdout = true;
  auto p = et::child_process::spawn(o);
  p.read_stdout(10s);
  return p.wait(10s);
}

class CrashCleanup : public et::otp_test {};

TEST_P(CrashCleanup, KilledTestProcessLeavesNoProcesses) {
  if (!et::find_on_path("pgrep")) GTEST_SKIP() << "no pgrep";
  const std::string name = et::unique_name("crash");
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t test_process = ::fork();
  ASSERT_GE(test_process, 0);
  if (test_process == 0) {
    // The doomed "test process": starts epmd and a node, reports, then waits to be killed.
    ::close(fds[0]);
    try {
      auto epmd = et::epmd_instance::start(otp());
      et::beam_options o;
      o.name = name;
      o.epmd_port = epmd.port();
      auto node = et::beam_node::start(otp(), o);
      report r;
      r.epmd = epmd.pid();
      r.node = node.pid();
      std::strncpy(r.name, node.node_name().c_str(), sizeof r.name - 1);
      std::strncpy(r.log, node.log_file().c_str(), sizeof r.log - 1);
      if (::write(fds[1], &r, sizeof r) != static_cast<ssize_t>(sizeof r)) ::_exit(2);
      ::pause();
    } catch (...) {
    }
    ::_exit(1);
  }
  ::close(fds[1]);
  report r;
  const ssize_t n = ::read(fds[0], &r, sizeof r);
  ::close(fds[0]);
  if (n != static_cast<ssize_t>(sizeof r)) {
    ::kill(test_process, SIGKILL);
    ::waitpid(test_process, nullptr, 0);
    FAIL() << "the child test process could not start epmd and a node";
  }
  EXPECT_EQ(std::string(r.name), name + "@localhost");
  EXPECT_TRUE(et::selftest::alive(r.epmd));
  EXPECT_TRUE(et::selftest::alive(r.node));
  EXPECT_EQ(pgrep(name), 0) << "the node should be visible to pgrep before the crash";

  ::kill(test_process, SIGKILL);
  ::waitpid(test_process, nullptr, 0);

  EXPECT_TRUE(et::selftest::gone_within(r.node, 10s));
  EXPECT_TRUE(et::selftest::gone_within(r.epmd, 10s));
  const auto end = std::chrono::steady_clock::now() + 10s;
  int status = 0;
  while ((status = pgrep(name)) == 0 && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(status, 1) << "processes named " << name << " survived the crash";

  // The dead process's node folder is swept by the next node start: ours below, or already
  // that of a test running in parallel (ctest -j), so it is not required to exist here.
  const std::filesystem::path dead_dir = std::filesystem::path(r.log).parent_path();
  ASSERT_FALSE(dead_dir.empty());
  auto epmd = et::epmd_instance::start(otp());
  et::beam_options o;
  o.epmd_port = epmd.port();
  auto node = et::beam_node::start(otp(), o);
  EXPECT_FALSE(std::filesystem::exists(dead_dir)) << dead_dir;
  EXPECT_TRUE(std::filesystem::exists(node.log_file()));
}

EDIST_INSTANTIATE_OTP_TEST_SUITE(CrashCleanup);

}  // namespace
