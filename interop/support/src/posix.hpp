// Small POSIX helpers shared by the edist::testing sources (not installed, not public).
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace edist::testing::detail {

using clock = std::chrono::steady_clock;

// Owns one file descriptor.
class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(o.release()) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  int release() noexcept {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

[[noreturn]] void throw_errno(const std::string& what);

enum class io_status { ok, eof, timeout };

// Waits until fd is readable (or has hung up); false on timeout.
bool wait_readable(int fd, clock::time_point deadline);
// Reads exactly n bytes unless EOF or the deadline comes first. Throws on read errors.
io_status read_exact(int fd, void* buf, std::size_t n, clock::time_point deadline);
// Writes everything; on a socket without raising SIGPIPE. Throws std::system_error (EPIPE when
// the peer is gone).
void write_all(int fd, const void* data, std::size_t n);
// Reads what is available now from a non-blocking fd, appending to out; false at EOF.
bool read_available(int fd, std::string& out);

std::string read_file(const std::filesystem::path& p);
void write_file(const std::filesystem::path& p, std::string_view content);

// A new folder only this user can read: prefix + random characters, under the temporary folder
// ($TMPDIR or the system's) unless the prefix is an absolute path.
std::filesystem::path make_private_temp_dir(std::string_view prefix);
// This user's folder for edist::testing under the temporary folder (created 0700), or empty
// when that path exists but cannot be trusted (not a private folder of this user).
std::filesystem::path user_temp_root();
// Best-effort recursive removal (never throws).
void remove_tree(const std::filesystem::path& p) noexcept;

std::string getenv_string(const char* name);

}  // namespace edist::testing::detail
