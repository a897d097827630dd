#include "edist/testing/erlang_install.hpp"

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <system_error>

#include "posix.hpp"

#ifndef EDIST_TESTING_DEFAULT_OTP27_ROOT
#define EDIST_TESTING_DEFAULT_OTP27_ROOT ""
#endif

namespace edist::testing {
namespace fs = std::filesystem;

namespace {

bool is_executable_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])) != 0) ++i;
  return s.substr(i);
}

// Describes the OTP whose erl is `erl` (a path in bin_dir), reading the release from the OTP
// root on disk instead of starting a BEAM: discovery stays instantaneous.
std::optional<erlang_install> describe(const fs::path& erl) {
  if (!is_executable_file(erl)) return std::nullopt;
  erlang_install otp;
  otp.bin_dir = erl.parent_path();
  std::error_code ec;
  const fs::path real_erl = fs::canonical(erl, ec);
  if (ec) return std::nullopt;
  otp.root_dir = real_erl.parent_path().parent_path();
  // releases/start_erl.data holds "<erts version> <release>".
  std::istringstream data(detail::read_file(otp.root_dir / "releases" / "start_erl.data"));
  std::string erts_version;
  std::string release;
  data >> erts_version >> release;
  if (release.empty()) {
    for (const auto& entry : fs::directory_iterator(otp.root_dir / "releases", ec)) {
      if (entry.is_directory() && fs::exists(entry.path() / "OTP_VERSION")) {
        release = entry.path().filename().string();
        break;
      }
    }
  }
  if (release.empty()) return std::nullopt;
  otp.release = release;
  otp.version = trim(detail::read_file(otp.root_dir / "releases" / release / "OTP_VERSION"));
  return otp;
}

std::optional<erlang_install> find_otp27() {
  const char* env = std::getenv("EDIST_OTP27_ROOT");
  // The environment wins even when it points nowhere: silently using another folder than the
  // one asked for would test the wrong thing.
  const fs::path root =
      (env != nullptr && *env != '\0') ? fs::path(env) : fs::path(EDIST_TESTING_DEFAULT_OTP27_ROOT);
  if (root.empty()) return std::nullopt;
  for (const fs::path& candidate :
       {root / "usr" / "lib" / "erlang" / "bin" / "erl", root / "bin" / "erl"}) {
    if (auto otp = describe(candidate)) return otp;
  }
  return std::nullopt;
}

}  // namespace

fs::path erlang_install::erl() const {
  return bin_dir / "erl";
}

fs::path erlang_install::erlc() const {
  return bin_dir / "erlc";
}

fs::path erlang_install::epmd() const {
  if (is_executable_file(bin_dir / "epmd")) return bin_dir / "epmd";
  std::error_code ec;
  fs::path root = root_dir;
  if (root.empty()) root = fs::canonical(erl(), ec).parent_path().parent_path();
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    if (entry.path().filename().string().rfind("erts-", 0) == 0 &&
        is_executable_file(entry.path() / "bin" / "epmd")) {
      return entry.path() / "bin" / "epmd";
    }
  }
  return bin_dir / "epmd";
}

std::optional<fs::path> find_on_path(const std::string& program) {
  if (program.find('/') != std::string::npos) {
    if (is_executable_file(program)) return fs::path(program);
    return std::nullopt;
  }
  std::string path = detail::getenv_string("PATH");
  if (path.empty()) path = "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = path.find(':', start);
    std::string dir =
        path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (dir.empty()) dir = ".";
    const fs::path candidate = fs::path(dir) / program;
    if (is_executable_file(candidate)) return candidate;
    if (end == std::string::npos) return std::nullopt;
    start = end + 1;
  }
}

std::optional<erlang_install> system_otp() {
  static const std::optional<erlang_install> cached = []() -> std::optional<erlang_install> {
    auto erl = find_on_path("erl");
    if (!erl) return std::nullopt;
    return describe(*erl);
  }();
  return cached;
}

std::optional<erlang_install> otp27() {
  static const std::optional<erlang_install> cached = find_otp27();
  return cached;
}

std::vector<erlang_install> available_otps() {
  std::vector<erlang_install> out;
  if (auto s = system_otp()) out.push_back(*s);
  if (auto o = otp27()) {
    if (out.empty() || out.front().root_dir != o->root_dir) out.push_back(*o);
  }
  return out;
}

std::optional<fs::path> system_elixir() {
  static const std::optional<fs::path> cached = find_on_path("elixir");
  return cached;
}

}  // namespace edist::testing
