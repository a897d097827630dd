// Messaging driven by a BEAM node (the system OTP) against three peers serving the same
// echo/sink protocol: another BEAM node, an erl_interface C node and `edist serve`.
//
//   edist_bench_beam [--quick] [--results FILE] [--edist PATH] [--ei-peer PATH]
//
// Everything runs on a private EPMD with unique names and one random cookie; every process it
// starts is stopped when it ends, on failure too (edist::testing). The driver node runs
// edist_bench_driver.erl; this program calls it once per figure, peer and repetition, peers
// interleaved within each repetition so that the noise of a shared machine spreads over all
// of them alike, and reads the CPU time of the peer's and the driver's OS processes around the
// one-way runs. Medians of the repetitions go to the results file (bench_common.hpp).
#include <algorithm>
#include <cstdlib>
#include <edist/etf/decode.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "edist/testing/beam_node.hpp"
#include "edist/testing/child_process.hpp"
#include "edist/testing/epmd_instance.hpp"
#include "edist/testing/erlang_install.hpp"
#include "edist/testing/names.hpp"
#include "edist_bench_driver_source.hpp"
#include "edist_bench_peer_source.hpp"

namespace et = edist::testing;
using namespace std::chrono_literals;

namespace {

struct settings {
  bool quick = false;
  std::string results = "bench-beam.tsv";
  std::string edist_program = EDIST_BENCH_EDIST_PROGRAM;
  std::string ei_peer_program = EDIST_BENCH_EI_PEER;
};

// Compiles `source` (an embedded module) in the node and loads it.
void load_module(et::beam_node& node, const std::string& module, std::string_view source) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / et::unique_name("edist_bench");
  fs::create_directories(dir);
  const fs::path file = dir / (module + ".erl");
  std::ofstream(file, std::ios::binary) << source;
  const std::string path = file.string();
  std::error_code ignored;
  try {
    node.eval("{ok, M, B} = compile:file(\"" + path + "\", [binary, return_errors]), " +
              "{module, M} = code:load_binary(M, \"" + path + "\", B), ok.");
  } catch (...) {
    fs::remove_all(dir, ignored);
    throw;
  }
  fs::remove_all(dir, ignored);
}

// BEAM nodes sleep when idle instead of spinning: on two cores a spinning scheduler would take
// CPU from whichever peer runs beside it.
std::vector<std::string> beam_args() {
  return {"+sbwt", "none", "+sbwtdcpu", "none", "+sbwtdio", "none"};
}

struct peer {
  std::string impl;  // "beam", "ei", "edist"
  std::string node;  // name@host
  pid_t pid = -1;    // its OS process, for CPU time
  std::optional<et::beam_node> beam;
  std::optional<et::child_process> program;
};

peer start_program_peer(const std::string& impl, std::vector<std::string> argv,
                        std::uint16_t epmd_port) {
  et::child_process::options o;
  o.argv = std::move(argv);
  o.env = {{"ERL_EPMD_PORT", std::to_string(epmd_port)}};
  o.capture_stdout = true;
  peer p;
  p.impl = impl;
  p.program = et::child_process::spawn(std::move(o));
  const std::string line = edist::bench::wait_for_ready_line(p.program->stdout_fd(), 30s);
  p.node = line.substr(6);
  p.pid = p.program->pid();
  return p;
}

std::int64_t eval_integer(et::beam_node& node, const std::string& expr,
                          std::chrono::milliseconds timeout = 300s) {
  return std::stoll(node.eval(expr, timeout));
}

int run(const settings& s) {
  const auto otp = et::system_otp();
  if (!otp) {
    std::cerr << "edist_bench_beam: no Erlang/OTP (erl on PATH); skipped\n";
    return 3;
  }
  edist::bench::results_file out(s.results);
  auto epmd = et::epmd_instance::start(*otp);
  const std::string cookie = et::random_cookie();

  std::vector<peer> peers;
  {
    et::beam_options o;
    o.name = et::unique_name("bench_beam_peer");
    o.cookie = cookie;
    o.epmd_port = epmd.port();
    o.extra_args = beam_args();
    peer p;
    p.impl = "beam";
    p.beam = et::beam_node::start(*otp, o);
    load_module(*p.beam, "edist_bench_peer", edist::testing::detail::edist_bench_peer_source);
    p.beam->eval("edist_bench_peer:start().");
    p.node = p.beam->node_name();
    p.pid = p.beam->pid();
    peers.push_back(std::move(p));
  }
  if (!s.ei_peer_program.empty()) {
    peers.push_back(start_program_peer(
        "ei", {s.ei_peer_program, et::unique_name("bench_ei_peer") + "@localhost", cookie},
        epmd.port()));
  } else {
    std::cerr << "edist_bench_beam: erl_interface peer not built; measuring without it\n";
  }
  peers.push_back(
      start_program_peer("edist",
                         {s.edist_program, "serve", "--sname",
                          et::unique_name("bench_edist_peer") + "@localhost", "--cookie", cookie},
                         epmd.port()));

  et::beam_options o;
  o.name = et::unique_name("bench_driver");
  o.cookie = cookie;
  o.epmd_port = epmd.port();
  o.extra_args = beam_args();
  auto driver = et::beam_node::start(*otp, o);
  load_module(driver, "edist_bench_driver", edist::testing::detail::edist_bench_driver_source);
  for (auto& p : peers) driver.eval("edist_bench_driver:connect('" + p.node + "').", 60s);
  std::cerr << "driver " << driver.node_name() << " (OTP " << otp->release << "), peers:";
  for (auto& p : peers) std::cerr << ' ' << p.impl << '=' << p.node;
  std::cerr << '\n';

  const int reps = s.quick ? 3 : 7;
  const int rounds = s.quick ? 5000 : 20000;
  const std::int64_t small_count = s.quick ? 50000 : 200000;
  const std::uint64_t budget = s.quick ? (32ull << 20) : (256ull << 20);
  const std::vector<std::uint64_t> sizes = {16, 256, 4096, 65536, 1048576, 4194304};
  auto count_for = [&](std::uint64_t size) {
    return std::clamp<std::int64_t>(static_cast<std::int64_t>(budget / size), 16, small_count);
  };

  struct series {
    std::vector<double> values;
    double peer_cpu = 0, driver_cpu = 0, messages = 0, packets = 0;
  };
  std::map<std::string, std::map<std::uint64_t, std::map<std::string, series>>> data;
  auto one_way = [&](peer& p, const std::string& metric, std::uint64_t size,
                     const std::string& call, std::int64_t count, bool as_bytes) {
    const double peer_before = edist::bench::process_cpu_seconds(p.pid);
    const double driver_before = edist::bench::process_cpu_seconds(driver.pid());
    const double packets_before = edist::bench::loopback_packets();
    const double ns = static_cast<double>(eval_integer(driver, call));
    series& x = data[metric][size][p.impl];
    x.packets += edist::bench::loopback_packets() - packets_before;
    x.peer_cpu += edist::bench::process_cpu_seconds(p.pid) - peer_before;
    x.driver_cpu += edist::bench::process_cpu_seconds(driver.pid()) - driver_before;
    x.messages += static_cast<double>(count);
    const double per_second = static_cast<double>(count) * 1e9 / ns;
    x.values.push_back(as_bytes ? per_second * static_cast<double>(size) / 1048576.0 : per_second);
  };

  for (int rep = 0; rep < reps; ++rep) {
    std::cerr << "repetition " << rep + 1 << "/" << reps << '\n';
    // A different peer goes first in each repetition.
    std::rotate(peers.begin(), peers.begin() + 1, peers.end());
    for (auto& p : peers) {
      const std::string node = "'" + p.node + "'";
      const double ns = static_cast<double>(eval_integer(
          driver, "edist_bench_driver:round_trips(" + node + ", " + std::to_string(rounds) + ")."));
      data["round_trip"][0][p.impl].values.push_back(ns / rounds / 1000.0);
      one_way(
          p, "small_msgs", 0,
          "edist_bench_driver:one_way(" + node + ", " + std::to_string(small_count) + ", small).",
          small_count, false);
      for (auto size : sizes) {
        const auto n = count_for(size);
        one_way(p, "sweep", size,
                "edist_bench_driver:one_way_binary(" + node + ", " + std::to_string(n) + ", " +
                    std::to_string(size) + ").",
                n, true);
      }
    }
  }

  const auto runs = static_cast<std::size_t>(reps);
  for (auto& p : peers) {
    out.add("beam_driver", "round_trip", 0, p.impl,
            edist::bench::median(data["round_trip"][0][p.impl].values), "us", runs);
    const series& small = data["small_msgs"][0][p.impl];
    out.add("beam_driver", "small_msgs", 0, p.impl, edist::bench::median(small.values), "msg/s",
            runs);
    out.add("beam_driver", "cpu_per_msg_peer", 0, p.impl, small.peer_cpu / small.messages * 1e9,
            "ns", runs);
    out.add("beam_driver", "cpu_per_msg_driver", 0, p.impl, small.driver_cpu / small.messages * 1e9,
            "ns", runs);
    out.add("beam_driver", "packets_per_msg", 0, p.impl, small.packets / small.messages, "packets",
            runs);
    const series& mib = data["sweep"][1048576][p.impl];
    out.add("beam_driver", "bandwidth_1MiB", 1048576, p.impl, edist::bench::median(mib.values),
            "MiB/s", runs);
    for (auto size : sizes) {
      const series& x = data["sweep"][size][p.impl];
      const double mib_s = edist::bench::median(x.values);
      out.add("beam_driver", "sweep_msgs", size, p.impl,
              mib_s * 1048576.0 / static_cast<double>(size), "msg/s", runs);
      out.add("beam_driver", "sweep_bandwidth", size, p.impl, mib_s, "MiB/s", runs);
      out.add("beam_driver", "sweep_packets_per_msg", size, p.impl, x.packets / x.messages,
              "packets", runs);
    }
  }

  // 100,000 idle processes on the driver node: the growth of its OS process (RSS), as
  // edist_bench_native measures edist's, and of what the BEAM's allocators report.
  const auto rss_before = edist::bench::resident_bytes(driver.pid());
  const double allocated =
      static_cast<double>(eval_integer(driver, "edist_bench_driver:spawn_idle(100000)."));
  const auto rss_after = edist::bench::resident_bytes(driver.pid());
  driver.eval("edist_bench_driver:stop_idle().");
  out.add("resources", "memory_100k_processes", 0, "beam",
          static_cast<double>(rss_after - std::min(rss_after, rss_before)) / 1048576.0, "MiB", 1);
  out.add("resources", "memory_100k_processes_allocated", 0, "beam", allocated / 1048576.0, "MiB",
          1);

  driver.stop();
  for (auto& p : peers) {
    if (p.beam) p.beam->stop();
    if (p.program) p.program->terminate();
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--quick")
      s.quick = true;
    else if (a == "--results")
      s.results = value();
    else if (a == "--edist")
      s.edist_program = value();
    else if (a == "--ei-peer")
      s.ei_peer_program = value();
    else {
      std::cerr << "usage: edist_bench_beam [--quick] [--results FILE] [--edist PATH] "
                   "[--ei-peer PATH]\n";
      return 2;
    }
  }
  try {
    return run(s);
  } catch (const std::exception& e) {
    std::cerr << "edist_bench_beam: " << e.what() << '\n';
    return 1;
  }
}
