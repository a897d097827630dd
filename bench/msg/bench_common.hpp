// What the messaging benchmarks share: medians, CPU time of a process, the `ready NAME` line
// of a peer program, and the results file that scripts/bench-all turns into RESULTS.md.
#pragma once

#include <poll.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace edist::bench {

inline double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const std::size_t mid = v.size() / 2;
  return v.size() % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2.0;
}

// User + system CPU seconds a process has used so far (its threads included), from
// /proc/PID/stat; 0 when it cannot be read. Resolution: one clock tick (usually 10 ms), which
// is why callers add it up over every repetition before dividing by the messages.
inline double process_cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces; the fields after its closing ')' are plain.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return 0.0;
  std::istringstream fields(text.substr(close + 2));
  std::string skip;
  for (int field = 3; field < 14; ++field) fields >> skip;
  unsigned long long utime = 0, stime = 0;
  fields >> utime >> stime;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Packets sent through the loopback interface so far, system-wide, from /proc/net/dev; 0 when
// it cannot be read. Around a one-way run it tells how the sender's writes left: one TCP
// segment per message (a receiver that keeps up) or merged ones (a receiver behind).
inline double loopback_packets() {
  std::ifstream in("/proc/net/dev");
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const auto name_start = line.find_first_not_of(' ');
    if (line.compare(name_start, colon - name_start, "lo") != 0) continue;
    // Receive: bytes packets errs drop fifo frame compressed multicast; then transmit:
    // bytes packets ...
    std::istringstream fields(line.substr(colon + 1));
    unsigned long long value = 0;
    for (int field = 0; field < 10; ++field) fields >> value;
    return static_cast<double>(value);
  }
  return 0.0;
}

// CPU seconds of this process (every thread), from getrusage.
inline double self_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

// Resident set size of a process in bytes (VmRSS of /proc/PID/status); 0 when unknown.
inline std::uint64_t resident_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

// Reads a peer program's stdout until it prints `ready ...`; returns that line. Throws with
// what was printed when the program says nothing of the kind within the timeout.
inline std::string wait_for_ready_line(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string seen;
  for (;;) {
    const auto pos = seen.find("ready ");
    if (pos != std::string::npos) {
      const auto end = seen.find('\n', pos);
      if (end != std::string::npos) return seen.substr(pos, end - pos);
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("no ready line; output: " + seen);
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[512];
    const ssize_t got = ::read(fd, buf, sizeof buf);
    if (got <= 0) throw std::runtime_error("peer exited before ready; output: " + seen);
    seen.append(buf, static_cast<std::size_t>(got));
  }
}

// One line per figure, tab-separated: group, metric, message size in bytes (0 when none),
// implementation, value, unit, repetitions. scripts/bench-report reads it.
class results_file {
 public:
  explicit results_file(const std::string& path) : out_(path, std::ios::app) {
    if (!out_) throw std::runtime_error("cannot write " + path);
  }
  void add(const std::string& group, const std::string& metric, std::uint64_t size,
           const std::string& impl, double value, const std::string& unit, std::size_t runs) {
    out_ << group << '\t' << metric << '\t' << size << '\t' << impl << '\t' << value << '\t' << unit
         << '\t' << runs << '\n';
    out_.flush();
    std::cerr << "  " << group << ' ' << metric;
    if (size != 0) std::cerr << " [" << size << " B]";
    std::cerr << ' ' << impl << ": " << value << ' ' << unit << '\n';
  }

 private:
  std::ofstream out_;
};

}  // namespace edist::bench
