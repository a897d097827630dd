// A child process for tests that cannot leak.
//
// The program runs in its own process group under a small guard process (a fork of the test
// process, no exec). The guard has PR_SET_PDEATHSIG, so when the thread that spawned the child
// dies (including a crash or SIGKILL of the test process) it kills the program's whole group;
// a plain PR_SET_PDEATHSIG on the program would miss the program's own children. When the
// program exits, whatever it left in its group is killed too. Programs that leave their group
// on purpose (setsid, daemons such as `epmd -daemon`) escape all of this.
// The destructor kills the group (SIGTERM, then SIGKILL after the grace period) and reaps.
//
// Ownership: the object owns the processes and the pipe ends it created (stdout_fd(),
// stdin_fd()); the destructor releases them. Not thread-safe: use one object from one thread
// at a time. Spawn from a long-lived thread (the death signal is tied to the spawning *thread*).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace edist::testing {

class child_process {
 public:
  struct fd_mapping {
    int parent_fd;  // open in the parent; still owned (and to be closed) by the caller
    int child_fd;   // the number it gets in the child (>= 3)
  };

  struct options {
    std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
    // Variables added to (or overriding) the parent's environment.
    std::vector<std::pair<std::string, std::string>> env;
    bool capture_stdout = false;  // stdout to a pipe readable through stdout_fd()/read_stdout()
    bool pipe_stdin = false;      // stdin from a pipe writable through stdin_fd(); else /dev/null
    // When set (and capture_stdout is false), stdout goes to this file (created/truncated, then
    // opened for appending so that several writers in the child never overwrite each other).
    std::optional<std::filesystem::path> output_file;
    // Stderr goes wherever stdout goes (pipe, file or the parent's stdout) instead of the
    // parent's stderr.
    bool stderr_to_stdout = false;
    // Extra descriptors passed to the child under fixed numbers.
    std::vector<fd_mapping> extra_fds;
    std::filesystem::path working_dir;           // empty: the parent's
    std::chrono::milliseconds kill_grace{2000};  // SIGTERM -> SIGKILL delay in terminate()
  };

  // Throws std::system_error when fork/exec fails (an exec failure, e.g. a missing program,
  // is reported here, not as an exit status).
  static child_process spawn(options opts);

  child_process() = default;  // an empty object: pid() == -1, running() == false
  child_process(child_process&& other) noexcept;
  child_process& operator=(child_process&& other) noexcept;
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process();

  // The program's pid (also its process group id).
  pid_t pid() const { return pid_; }
  // True until the child has exited (reaps it when it has).
  bool running();
  // Waits for the program to exit: the exit code, 128 + signal number when killed by a signal,
  // or -1 on timeout (the child keeps running). Returns the cached status once reaped.
  int wait(std::chrono::milliseconds timeout);
  // SIGTERM to the group, SIGKILL after kill_grace, then reaps. Idempotent.
  void terminate();
  // SIGKILL to the group at once, then reaps. Idempotent.
  void kill();

  // -1 unless capture_stdout / pipe_stdin. Owned by this object.
  int stdout_fd() const { return stdout_fd_; }
  int stdin_fd() const { return stdin_fd_; }
  void close_stdin();
  // Reads captured stdout until EOF or the timeout; returns what was read.
  std::string read_stdout(std::chrono::milliseconds timeout);

 private:
  void reset() noexcept;
  void signal_group(int sig) noexcept;
  bool guard_exited() noexcept;

  pid_t pid_ = -1;    // the program; also its process group id
  pid_t guard_ = -1;  // our direct child, the program's parent (see child_process.cpp)
  std::optional<int> status_;
  int stdout_fd_ = -1;
  int stdin_fd_ = -1;
  std::chrono::milliseconds kill_grace_{2000};
};

// Reads from `fd` one byte at a time (so nothing past the line is consumed) until a newline or
// the timeout; the line without its newline, or nullopt on timeout or EOF first. For a child's
// captured stdout: `read_line(p.stdout_fd(), 30s)` waits for its `ready` line.
std::optional<std::string> read_line(int fd, std::chrono::milliseconds timeout);

}  // namespace edist::testing
