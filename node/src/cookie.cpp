#include "edist/node/cookie.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <random>

#include "edist/node/error.hpp"

namespace edist::node {

namespace fs = std::filesystem;

fs::path default_cookie_path() {
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') return {};
  return fs::path(home) / ".erlang.cookie";
}

std::string generate_cookie() {
  std::random_device rd;  // /dev/urandom on Linux
  std::string out(20, 'A');
  for (char& c : out) c = static_cast<char>('A' + rd() % 26);
  return out;
}

namespace {

std::error_code fail(std::string* detail, std::string text) {
  if (detail != nullptr) *detail = std::move(text);
  return make_error_code(errc::cookie_file);
}

}  // namespace

std::error_code read_or_create_cookie(const fs::path& path, std::string& cookie,
                                      std::string* detail) {
  if (path.empty()) return fail(detail, "no cookie file: HOME is not set");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return fail(detail, "cannot access cookie file " + path.string());
    // O_EXCL: if another process creates it at the same moment, read theirs instead.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0400);
    if (fd < 0) {
      if (errno != EEXIST) return fail(detail, "cannot create cookie file " + path.string());
    } else {
      const std::string fresh = generate_cookie();
      const bool ok = ::write(fd, fresh.data(), fresh.size()) == static_cast<ssize_t>(fresh.size());
      ::close(fd);
      if (!ok) return fail(detail, "cannot write cookie file " + path.string());
      cookie = fresh;
      return {};
    }
    if (::stat(path.c_str(), &st) != 0)
      return fail(detail, "cannot access cookie file " + path.string());
  }
  if (!S_ISREG(st.st_mode))
    return fail(detail, "cookie file " + path.string() + " is not a regular file");
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return fail(detail, "cookie file " + path.string() + " must be accessible by owner only");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(detail, "cannot read cookie file " + path.string());
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
    line.pop_back();
  }
  if (line.empty()) return fail(detail, "cookie file " + path.string() + " is empty");
  cookie = std::move(line);
  return {};
}

}  // namespace edist::node
