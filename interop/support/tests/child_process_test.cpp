#include "edist/testing/child_process.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <system_error>
#include <thread>

#include "process_probe.hpp"

using edist::testing::child_process;
using namespace std::chrono_literals;

using edist::testing::selftest::alive;
using edist::testing::selftest::gone_within;

namespace {

child_process::options sh(std::string script) {
  child_process::options o;
  o.argv = {"sh", "-c", std::move(script)};
  return o;
}

}  // namespace

TEST(ChildProcess, ReportsExitStatus) {
  auto p = child_process::spawn(sh("exit 7"));
  EXPECT_EQ(p.wait(10s), 7);
  EXPECT_EQ(p.wait(0ms), 7);  // cached
  EXPECT_FALSE(p.running());
}

TEST(ChildProcess, ReportsDeathBySignalAs128PlusSignal) {
  auto p = child_process::spawn(sh("kill -USR1 $$; sleep 5"));
  EXPECT_EQ(p.wait(10s), 128 + SIGUSR1);
}

TEST(ChildProcess, CapturesStdoutAndPassesEnvironment) {
  auto o = sh("echo \"$EDIST_SELFTEST_VAR\"; echo to-stderr >&2");
  o.env = {{"EDIST_SELFTEST_VAR", "hello there"}};
  o.capture_stdout = true;
  o.stderr_to_stdout = true;
  auto p = child_process::spawn(o);
  EXPECT_EQ(p.read_stdout(10s), "hello there\nto-stderr\n");
  EXPECT_EQ(p.wait(10s), 0);
}

TEST(ChildProcess, PipesStdin) {
  auto o = sh("read line; echo \"got $line\"");
  o.capture_stdout = true;
  o.pipe_stdin = true;
  auto p = child_process::spawn(o);
  ASSERT_GE(p.stdin_fd(), 0);
  ASSERT_EQ(::write(p.stdin_fd(), "abc\n", 4), 4);
  p.close_stdin();
  EXPECT_EQ(p.read_stdout(10s), "got abc\n");
}

TEST(ChildProcess, MapsExtraDescriptors) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  auto o = sh("echo via-fd-5 >&5");
  o.extra_fds = {{fds[1], 5}};
  auto p = child_process::spawn(o);
  ::close(fds[1]);
  EXPECT_EQ(p.wait(10s), 0);
  char buf[64] = {};
  const ssize_t n = ::read(fds[0], buf, sizeof buf - 1);
  ::close(fds[0]);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0), "via-fd-5\n");
}

TEST(ChildProcess, DoesNotLeakOtherDescriptors) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);  // deliberately without O_CLOEXEC
  auto o = sh("ls /proc/self/fd | sort -n | tr '\\n' ' '");
  o.capture_stdout = true;
  auto p = child_process::spawn(o);
  const std::string out = p.read_stdout(10s);
  ::close(fds[0]);
  ::close(fds[1]);
  // 0, 1, 2 and the fd `ls` itself opens for /proc/self/fd.
  EXPECT_EQ(out, "0 1 2 3 ") << out;
}

TEST(ChildProcess, WaitTimesOut) {
  auto p = child_process::spawn(sh("sleep 30"));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(p.wait(100ms), -1);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
  EXPECT_TRUE(p.running());
}

TEST(ChildProcess, MissingProgramThrows) {
  child_process::options o;
  o.argv = {"edist-no-such-program-xyz"};
  EXPECT_THROW(child_process::spawn(o), std::system_error);
  o.argv = {"/nonexistent/edist-no-such-program"};
  EXPECT_THROW(child_process::spawn(o), std::system_error);
}

TEST(ChildProcess, TerminateKillsTheWholeGroup) {
  // The shell ignores SIGTERM, so this also proves the SIGKILL escalation.
  auto o = sh("trap '' TERM; sleep 60 & echo $!; wait");
  o.capture_stdout = true;
  o.kill_grace = 200ms;
  auto p = child_process::spawn(o);
  const pid_t leader = p.pid();
  std::string line;
  char c;
  while (::read(p.stdout_fd(), &c, 1) == 1 && c != '\n') line += c;
  const pid_t grandchild = static_cast<pid_t>(std::stol(line));
  ASSERT_TRUE(alive(grandchild));
  EXPECT_EQ(::getpgid(grandchild), leader);
  p.terminate();
  EXPECT_FALSE(p.running());
  EXPECT_TRUE(gone_within(leader, 5s));
  EXPECT_TRUE(gone_within(grandchild, 5s));
  p.terminate();  // idempotent
}

TEST(ChildProcess, DestructorKills) {
  pid_t pid;
  {
    auto p = child_process::spawn(sh("sleep 60"));
    pid = p.pid();
    ASSERT_TRUE(alive(pid));
  }
  EXPECT_TRUE(gone_within(pid, 5s));
}

TEST(ChildProcess, MovesOwnership) {
  auto a = child_process::spawn(sh("sleep 60"));
  const pid_t pid = a.pid();
  child_process b = std::move(a);
  EXPECT_EQ(a.pid(), -1);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  EXPECT_EQ(b.pid(), pid);
  child_process c;
  c = std::move(b);
  EXPECT_TRUE(c.running());
  c = child_process();
  EXPECT_TRUE(gone_within(pid, 5s));
}

TEST(ChildProcess, LeftoversInTheGroupDieWithTheProgram) {
  auto o = sh("sleep 60 & echo $!");
  o.capture_stdout = true;
  auto p = child_process::spawn(o);
  const std::string out = p.read_stdout(10s);
  EXPECT_EQ(p.wait(10s), 0);
  const pid_t background = static_cast<pid_t>(std::stol(out));
  EXPECT_TRUE(gone_within(background, 5s));
}

// Reads a line with a pid from fd.
static pid_t read_pid_line(int fd) {
  std::string line;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n') line += c;
  return line.empty() ? -1 : static_cast<pid_t>(std::stol(line));
}

TEST(ChildProcess, DiesWithItsParentIncludingGrandchildren) {
  // A middle process spawns a shell that starts a background sleeper, and is then SIGKILLed:
  // the shell and its sleeper must both go (PR_SET_PDEATHSIG alone would miss the sleeper).
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t middle = ::fork();
  ASSERT_GE(middle, 0);
  if (middle == 0) {
    ::close(fds[0]);
    try {
      auto o = sh("sleep 60 & echo $!; wait");
      o.capture_stdout = true;
      auto p = child_process::spawn(o);
      const pid_t pids[2] = {p.pid(), read_pid_line(p.stdout_fd())};
      if (::write(fds[1], pids, sizeof pids) != sizeof pids) ::_exit(2);
      ::pause();
    } catch (...) {
    }
    ::_exit(1);
  }
  ::close(fds[1]);
  pid_t pids[2] = {-1, -1};
  ASSERT_EQ(::read(fds[0], pids, sizeof pids), static_cast<ssize_t>(sizeof pids));
  ::close(fds[0]);
  ASSERT_TRUE(alive(pids[0]));
  ASSERT_TRUE(alive(pids[1]));
  ::kill(middle, SIGKILL);
  int status = 0;
  ::waitpid(middle, &status, 0);
  EXPECT_TRUE(gone_within(pids[0], 5s));
  EXPECT_TRUE(gone_within(pids[1], 5s));
}
