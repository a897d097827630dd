#include "posix.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

namespace edist::testing::detail {

void unique_fd::reset(int fd) noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

bool wait_readable(int fd, clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    pollfd p{fd, POLLIN, 0};
    // Round up so that a sub-millisecond remainder does not spin.
    int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count() + 1, 1 << 30)));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) throw_errno("poll");
    if (r == 0 && clock::now() >= deadline) return false;
  }
}

io_status read_exact(int fd, void* buf, std::size_t n, clock::time_point deadline) {
  auto* p = static_cast<char*>(buf);
  std::size_t got = 0;
  while (got < n) {
    if (!wait_readable(fd, deadline)) return io_status::timeout;
    ssize_t r = ::read(fd, p + got, n - got);
    if (r > 0) {
      got += static_cast<std::size_t>(r);
    } else if (r == 0) {
      return io_status::eof;
    } else if (errno == ECONNRESET) {
      return io_status::eof;
    } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      throw_errno("read");
    }
  }
  return io_status::ok;
}

void write_all(int fd, const void* data, std::size_t n) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t r = ::send(fd, p, n, MSG_NOSIGNAL);
    if (r < 0 && errno == ENOTSOCK) r = ::write(fd, p, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        pollfd pf{fd, POLLOUT, 0};
        ::poll(&pf, 1, 100);
        continue;
      }
      throw_errno("write");
    }
    p += r;
    n -= static_cast<std::size_t>(r);
  }
}

bool read_available(int fd, std::string& out) {
  char buf[4096];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r > 0) {
      out.append(buf, static_cast<std::size_t>(r));
    } else if (r == 0) {
      return false;
    } else if (errno == EINTR) {
      continue;
    } else {
      return true;  // EAGAIN: nothing more for now
    }
  }
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::filesystem::path& p, std::string_view content) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

std::filesystem::path make_private_temp_dir(std::string_view prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / std::string(prefix)).string();
  tmpl += "XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) throw_errno("mkdtemp " + tmpl);
  return std::filesystem::path(buf.data());
}

std::filesystem::path user_temp_root() {
  const std::filesystem::path root =
      std::filesystem::temp_directory_path() / ("edist-testing-" + std::to_string(::getuid()));
  ::mkdir(root.c_str(), 0700);
  struct stat st {};
  if (::lstat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::getuid() ||
      (st.st_mode & 0077) != 0) {
    return {};
  }
  return root;
}

void remove_tree(const std::filesystem::path& p) noexcept {
  if (p.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(p, ec);
}

std::string getenv_string(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

}  // namespace edist::testing::detail
