#include "net.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace edist::testing::detail {

namespace {
sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}
}  // namespace

std::uint16_t pick_free_port() {
  unique_fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) throw_errno("socket");
  sockaddr_in a = loopback(0);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw_errno("bind");
  socklen_t len = sizeof a;
  if (::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw_errno("getsockname");
  return ntohs(a.sin_port);
}

unique_fd connect_loopback(std::uint16_t port) {
  unique_fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) throw_errno("socket");
  sockaddr_in a = loopback(port);
  int r;
  do {
    r = ::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  } while (r != 0 && errno == EINTR);
  if (r != 0) return unique_fd();
  return s;
}

std::string exchange(std::uint16_t port, const std::string& request, clock::time_point deadline) {
  unique_fd s = connect_loopback(port);
  if (!s) throw_errno("connect to 127.0.0.1:" + std::to_string(port));
  write_all(s.get(), request.data(), request.size());
  std::string out;
  char buf[4096];
  while (wait_readable(s.get(), deadline)) {
    ssize_t r = ::read(s.get(), buf, sizeof buf);
    if (r > 0) {
      out.append(buf, static_cast<std::size_t>(r));
    } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
      break;
    }
  }
  return out;
}

}  // namespace edist::testing::detail
