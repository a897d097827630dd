#include "module_cache.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

#include "edist/testing/child_process.hpp"
#include "edist_test_control_source.hpp"
#include "posix.hpp"

namespace edist::testing::detail {
namespace fs = std::filesystem;

namespace {

constexpr const char* module_name = "edist_test_control";

std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 14695981039346656037ULL) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string hex(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

fs::path compile_into(const erlang_install& otp, const fs::path& work) {
  const fs::path source = work / (std::string(module_name) + ".erl");
  write_file(source, edist_test_control_source);
  child_process::options o;
  o.argv = {otp.erlc().string(), "-o", work.string(), source.string()};
  o.capture_stdout = true;
  o.stderr_to_stdout = true;
  auto erlc = child_process::spawn(o);
  const std::string out = erlc.read_stdout(std::chrono::seconds(120));
  const int status = erlc.wait(std::chrono::seconds(120));
  if (status != 0 || !fs::exists(work / (std::string(module_name) + ".beam"))) {
    throw std::runtime_error("edist::testing: compiling " + std::string(module_name) +
                             ".erl with " + otp.erlc().string() + " failed (status " +
                             std::to_string(status) + "):\n" + out);
  }
  return work;
}

}  // namespace

fs::path control_module_dir(const erlang_install& otp) {
  static std::mutex mutex;
  static std::map<fs::path, fs::path> compiled;  // erlc -> folder
  std::lock_guard lock(mutex);
  if (auto it = compiled.find(otp.erlc()); it != compiled.end()) return it->second;

  const std::string key = hex(fnv1a(edist_test_control_source)) + "-" +
                          hex(fnv1a(otp.erlc().string() + "\n" + otp.release + "\n" + otp.version));
  fs::path dir;
  if (const fs::path root = user_temp_root(); !root.empty()) {
    const fs::path final_dir = root / ("control-" + key);
    if (!fs::exists(final_dir / (std::string(module_name) + ".beam"))) {
      const fs::path work = make_private_temp_dir((root / "build-").string());
      try {
        compile_into(otp, work);
      } catch (...) {
        remove_tree(work);
        throw;
      }
      // Atomic publication; if another process got there first, its result is as good.
      if (::rename(work.c_str(), final_dir.c_str()) != 0) remove_tree(work);
    }
    dir = final_dir;
  } else {
    dir = make_private_temp_dir("edist-testing-control-");
    compile_into(otp, dir);
  }
  compiled.emplace(otp.erlc(), dir);
  return dir;
}

}  // namespace edist::testing::detail
