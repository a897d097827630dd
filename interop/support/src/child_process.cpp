#include "edist/testing/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>

#include "edist/testing/erlang_install.hpp"
#include "posix.hpp"

extern char** environ;

namespace edist::testing {
namespace {

using detail::unique_fd;

unique_fd make_pipe_end(int (&fds)[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0) detail::throw_errno("pipe2");
  return unique_fd(fds[0]);
}

int status_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Everything the child needs, prepared before fork: after fork only async-signal-safe calls
// are allowed (the test process may have other threads).
struct exec_plan {
  std::string program;
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
};

exec_plan make_plan(const child_process::options& opts) {
  if (opts.argv.empty()) throw std::invalid_argument("child_process: empty argv");
  exec_plan plan;
  auto resolved = find_on_path(opts.argv[0]);
  if (!resolved) {
    throw std::system_error(ENOENT, std::generic_category(),
                            "child_process: program not found: " + opts.argv[0]);
  }
  plan.program = resolved->string();
  plan.argv_storage = opts.argv;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    const std::string key = entry.substr(0, entry.find('='));
    const bool overridden = std::any_of(opts.env.begin(), opts.env.end(),
                                        [&](const auto& kv) { return kv.first == key; });
    if (!overridden) plan.env_storage.push_back(std::move(entry));
  }
  for (const auto& [k, v] : opts.env) plan.env_storage.push_back(k + "=" + v);
  for (auto& s : plan.argv_storage) plan.argv.push_back(s.data());
  plan.argv.push_back(nullptr);
  for (auto& s : plan.env_storage) plan.envp.push_back(s.data());
  plan.envp.push_back(nullptr);
  return plan;
}

[[noreturn]] void child_fail(int err_fd) {
  const int e = errno;
  ssize_t ignored = ::write(err_fd, &e, sizeof e);
  (void)ignored;
  ::_exit(127);
}

// The guard: the direct child of the test process and the parent of the program. It exists
// because PR_SET_PDEATHSIG only reaches a direct child: a program that forks (a shell script,
// a launcher) would leave its own children behind when the test process dies. The guard
// outlives the test process just long enough to kill the program's whole process group, and
// when the program exits it kills what the program left in its group, then exits with the
// program's status (128 + signal for a signal). Only async-signal-safe calls from here on:
// the test process may have other threads.
[[noreturn]] void run_guard(pid_t test_process, pid_t program, int report_fd) {
  // Report the program's pid (the test process reads it first), then hold nothing open: the
  // program's pipes and sockets must see EOF when the program and the test process close them.
  ssize_t ignored = ::write(report_fd, &program, sizeof program);
  (void)ignored;
  if (::syscall(SYS_close_range, 0U, ~0U, 0) != 0) {
    for (int fd = 0; fd < 65536; ++fd) ::close(fd);
  }
  sigset_t all;
  sigfillset(&all);
  for (;;) {
    siginfo_t info{};
    const int sig = ::sigwaitinfo(&all, &info);
    siginfo_t state{};
    if (::waitid(P_PID, static_cast<id_t>(program), &state, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        state.si_pid == program) {
      // The program ended; its zombie still holds the group id, so this cannot hit a stranger.
      ::kill(-program, SIGKILL);
      int status = 0;
      while (::waitpid(program, &status, 0) < 0 && errno == EINTR) {
      }
      ::_exit(status_code(status));
    }
    if (sig > 0 && sig != SIGCHLD && ::getppid() != test_process) {
      // The test process is gone (the death signal, or any signal after it died).
      ::kill(-program, SIGKILL);
      int status = 0;
      while (::waitpid(program, &status, 0) < 0 && errno == EINTR) {
      }
      ::_exit(128 + SIGKILL);
    }
    // Anything else (a terminal's SIGINT to the test's group, ...) is not the guard's business.
  }
}

}  // namespace

child_process child_process::spawn(options opts) {
  exec_plan plan = make_plan(opts);

  unique_fd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull) detail::throw_errno("open /dev/null");

  int fds[2];
  unique_fd stdin_read, stdin_write, stdout_read, stdout_write, out_file;
  if (opts.pipe_stdin) {
    stdin_read = make_pipe_end(fds);
    stdin_write.reset(fds[1]);
  }
  if (opts.capture_stdout) {
    stdout_read = make_pipe_end(fds);
    stdout_write.reset(fds[1]);
  } else if (opts.output_file) {
    out_file.reset(::open(opts.output_file->c_str(),
                          O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600));
    if (!out_file) detail::throw_errno("open " + opts.output_file->string());
  }
  // The guard writes the program's pid here, the program its errno if exec fails; EOF after
  // the pid means the exec succeeded.
  unique_fd err_read = make_pipe_end(fds);
  unique_fd err_write(fds[1]);

  const int child_stdin = opts.pipe_stdin ? stdin_read.get() : devnull.get();
  const int child_stdout = opts.capture_stdout ? stdout_write.get()
                           : out_file          ? out_file.get()
                                               : STDOUT_FILENO;
  const bool stderr_to_stdout = opts.stderr_to_stdout;
  int highest_target = 2;
  for (const auto& m : opts.extra_fds) {
    if (m.child_fd < 3) throw std::invalid_argument("child_process: extra fd numbers must be >= 3");
    highest_target = std::max(highest_target, m.child_fd);
  }
  const int base = highest_target + 1;
  std::vector<fd_mapping> extra = opts.extra_fds;
  std::vector<int> staged(extra.size() + 3, -1);
  const std::string working_dir = opts.working_dir.string();
  const pid_t test_process = ::getpid();

  const pid_t guard = ::fork();
  if (guard < 0) detail::throw_errno("fork");
  if (guard == 0) {
    // The guard. Every signal is blocked (and collected with sigwaitinfo); the death signal
    // tells it when the spawning thread is gone; check it did not go before the prctl.
    sigset_t all;
    sigfillset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGHUP);
    if (::getppid() != test_process) ::_exit(127);
    const pid_t guard_pid = ::getpid();
    const pid_t program = ::fork();
    if (program < 0) {
      const pid_t failed = -errno;
      ssize_t ignored = ::write(err_write.get(), &failed, sizeof failed);
      (void)ignored;
      ::_exit(127);
    }
    if (program > 0) {
      // Both sides set the group, so it exists before the test process learns the pid.
      ::setpgid(program, program);
      run_guard(test_process, program, err_write.get());
    }

    // The program. Its own process group, so that its whole tree can be signalled at once;
    // it dies with the guard.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != guard_pid) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::signal(SIGPIPE, SIG_DFL);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);

    // Stage every source above all target numbers first, so that dup2 into a target can
    // never clobber a source still to be used.
    const int err_fd = ::fcntl(err_write.get(), F_DUPFD_CLOEXEC, base);
    if (err_fd < 0) ::_exit(127);
    staged[0] = ::fcntl(child_stdin, F_DUPFD_CLOEXEC, base);
    staged[1] = ::fcntl(child_stdout, F_DUPFD_CLOEXEC, base);
    staged[2] = stderr_to_stdout ? -1 : ::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, base);
    for (std::size_t i = 0; i < extra.size(); ++i) {
      staged[i + 3] = ::fcntl(extra[i].parent_fd, F_DUPFD_CLOEXEC, base);
      if (staged[i + 3] < 0) child_fail(err_fd);
    }
    if (staged[0] < 0 || staged[1] < 0 || ::dup2(staged[0], 0) < 0 || ::dup2(staged[1], 1) < 0)
      child_fail(err_fd);
    if (::dup2(stderr_to_stdout ? 1 : staged[2], 2) < 0) child_fail(err_fd);
    for (std::size_t i = 0; i < extra.size(); ++i) {
      if (::dup2(staged[i + 3], extra[i].child_fd) < 0) child_fail(err_fd);
    }
    // Nothing else leaks into the program: fds between 3 and base that are not targets are
    // closed, everything from base on is close-on-exec.
    for (int fd = 3; fd < base; ++fd) {
      bool is_target = false;
      for (const auto& m : extra) is_target = is_target || m.child_fd == fd;
      if (!is_target) ::close(fd);
    }
    if (::syscall(SYS_close_range, base, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */) != 0) {
      for (int fd = base; fd < 65536; ++fd) {
        if (fd != err_fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
      }
    }
    if (!working_dir.empty() && ::chdir(working_dir.c_str()) != 0) child_fail(err_fd);
    ::execve(plan.program.c_str(), plan.argv.data(), plan.envp.data());
    child_fail(err_fd);
  }

  // The test process.
  err_write.reset();
  child_process child;
  child.guard_ = guard;
  child.kill_grace_ = opts.kill_grace;
  auto fail = [&](int err) -> void {
    int status = 0;
    while (::waitpid(guard, &status, 0) < 0 && errno == EINTR) {
    }
    child.guard_ = -1;
    child.pid_ = -1;
    throw std::system_error(err, std::generic_category(),
                            "child_process: cannot run " + plan.program);
  };
  pid_t program = 0;
  if (detail::read_exact(err_read.get(), &program, sizeof program,
                         detail::clock::time_point::max()) != detail::io_status::ok ||
      program <= 0) {
    fail(program < 0 ? -program : ECHILD);
  }
  child.pid_ = program;
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(err_read.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n > 0) fail(child_errno);
  child.stdin_fd_ = stdin_write.release();
  child.stdout_fd_ = stdout_read.release();
  return child;
}

child_process::child_process(child_process&& o) noexcept
    : pid_(o.pid_),
      guard_(o.guard_),
      status_(o.status_),
      stdout_fd_(o.stdout_fd_),
      stdin_fd_(o.stdin_fd_),
      kill_grace_(o.kill_grace_) {
  o.pid_ = -1;
  o.guard_ = -1;
  o.status_.reset();
  o.stdout_fd_ = -1;
  o.stdin_fd_ = -1;
}

child_process& child_process::operator=(child_process&& o) noexcept {
  if (this != &o) {
    reset();
    pid_ = o.pid_;
    guard_ = o.guard_;
    status_ = o.status_;
    stdout_fd_ = o.stdout_fd_;
    stdin_fd_ = o.stdin_fd_;
    kill_grace_ = o.kill_grace_;
    o.pid_ = -1;
    o.guard_ = -1;
    o.status_.reset();
    o.stdout_fd_ = -1;
    o.stdin_fd_ = -1;
  }
  return *this;
}

child_process::~child_process() {
  reset();
}

void child_process::reset() noexcept {
  terminate();
  close_stdin();
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  stdout_fd_ = -1;
  pid_ = -1;
  guard_ = -1;
  status_.reset();
}

bool child_process::guard_exited() noexcept {
  siginfo_t info{};
  // WNOWAIT: look without reaping.
  if (::waitid(P_PID, static_cast<id_t>(guard_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    return true;  // ECHILD: nothing to wait for
  }
  return info.si_pid != 0;
}

void child_process::signal_group(int sig) noexcept {
  // While the guard runs, the program's group id is safe to use: the guard reaps the program
  // (freeing the id) only on its way out.
  if (guard_ > 0 && !status_ && !guard_exited()) ::kill(-pid_, sig);
}

bool child_process::running() {
  if (guard_ <= 0 || status_) return false;
  if (!guard_exited()) return true;
  wait(std::chrono::milliseconds(0));
  return false;
}

int child_process::wait(std::chrono::milliseconds timeout) {
  if (status_) return *status_;
  if (guard_ <= 0) return -1;
  const auto deadline = detail::clock::now() + timeout;
  auto nap = std::chrono::microseconds(200);
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(guard_, &status, WNOHANG);
    if (r == guard_) {
      // The guard passes on the program's status (already in the 128 + signal form).
      status_ = status_code(status);
      return *status_;
    }
    if (r < 0 && errno != EINTR) {
      status_ = -1;  // ECHILD: someone else reaped it
      return -1;
    }
    if (detail::clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, std::chrono::microseconds(20000));
  }
}

void child_process::terminate() {
  if (guard_ <= 0 || status_) return;
  signal_group(SIGTERM);
  if (wait(kill_grace_) >= 0 || status_) return;
  kill();
}

void child_process::kill() {
  if (guard_ <= 0 || status_) return;
  signal_group(SIGKILL);
  wait(std::chrono::hours(1));
}

void child_process::close_stdin() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
}

std::string child_process::read_stdout(std::chrono::milliseconds timeout) {
  std::string out;
  if (stdout_fd_ < 0) return out;
  const auto deadline = detail::clock::now() + timeout;
  char buf[4096];
  while (detail::wait_readable(stdout_fd_, deadline)) {
    ssize_t r = ::read(stdout_fd_, buf, sizeof buf);
    if (r > 0) {
      out.append(buf, static_cast<std::size_t>(r));
    } else if (r == 0) {
      break;
    } else if (errno != EINTR && errno != EAGAIN) {
      break;
    }
  }
  return out;
}

std::optional<std::string> read_line(int fd, std::chrono::milliseconds timeout) {
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const int r = ::poll(&p, 1, static_cast<int>(std::max<long>(left.count(), 0)));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    char c = 0;
    if (::read(fd, &c, 1) <= 0) break;
    if (c == '\n') return line;
    line += c;
  }
  return std::nullopt;
}

}  // namespace edist::testing
