// Decode and encode speed of edist::etf against the BEAM, on the same corpus.
//
// A live node (system OTP, or OTP 27 with EDIST_BENCH_OTP=27) compiles edist_etf_corpus.erl and
// hands over its benchmark corpus: ~335 varied terms as term_to_binary(T, [{minor_version, 2}])
// (everything of the interop corpus up to 64 KiB per term: integers, bignums, floats, atoms,
// binaries, strings, lists, tuples, maps, pids, ports, references, funs, nested and realistic
// messages). The node times binary_to_term/1 and term_to_binary/2 over the corpus with
// timer:tc; then Google Benchmark times our decode and encode over the same bytes and terms. The
// result is a Markdown table of nanoseconds per term and the ratio ours/BEAM, printed at the end
// and written to $EDIST_BENCH_ETF_REPORT when set.
//
// Standard Google Benchmark flags work (--benchmark_filter, --benchmark_min_time, ...).
#include <benchmark/benchmark.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <edist/etf/decode.hpp>
#include <edist/etf/encode.hpp>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "corpus_module.hpp"
#include "edist/testing/beam_node.hpp"
#include "edist/testing/epmd_instance.hpp"
#include "edist/testing/erlang_install.hpp"

namespace {

namespace et = edist::testing;
using namespace edist::etf;

struct corpus {
  std::vector<std::vector<std::uint8_t>> encoded;
  std::vector<shared_bytes> shared;
  std::vector<term> terms;
  std::size_t total_bytes = 0;
};

corpus& the_corpus() {
  static corpus c;
  return c;
}

struct times {
  double wall = 0;  // ns per term
  double cpu = 0;   // ns per term
};

struct beam_times {
  times decode;
  times encode;
};

void BM_Decode(benchmark::State& state) {
  const corpus& c = the_corpus();
  for (auto _ : state) {
    for (const auto& bytes : c.encoded) {
      decode_result r = decode(bytes);
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(c.encoded.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(c.total_bytes));
}

void BM_DecodeShared(benchmark::State& state) {
  const corpus& c = the_corpus();
  for (auto _ : state) {
    for (const auto& bytes : c.shared) {
      decode_result r = decode(bytes);
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(c.shared.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(c.total_bytes));
}

// Decoding alone: the decoded terms are dropped outside the timed region. The BEAM frees its
// decoded terms by garbage collection, whose cost for dead data is close to nothing, so this is
// the closer analogue of what the node's loop measures; BM_Decode includes freeing.
void BM_DecodeKeep(benchmark::State& state) {
  const corpus& c = the_corpus();
  std::vector<term> kept(c.encoded.size());
  for (auto _ : state) {
    for (std::size_t i = 0; i < c.encoded.size(); ++i) kept[i] = decode(c.encoded[i]).value;
    state.PauseTiming();
    for (auto& t : kept) t = term();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(c.encoded.size()));
}

void BM_Encode(benchmark::State& state) {
  const corpus& c = the_corpus();
  encode_buffer buffer(1 << 16);
  for (auto _ : state) {
    for (const auto& t : c.terms) {
      buffer.clear();
      encode(t, buffer);
      benchmark::DoNotOptimize(buffer.data());
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(c.terms.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(c.total_bytes));
}

void BM_EncodeToNewVector(benchmark::State& state) {
  const corpus& c = the_corpus();
  for (auto _ : state) {
    for (const auto& t : c.terms) {
      std::vector<std::uint8_t> bytes = term_to_binary(t);
      benchmark::DoNotOptimize(bytes.data());
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(c.terms.size()));
}

// Keeps the fastest repetition of each benchmark, per term, in wall and CPU time (the machine
// may be shared; the minimum is the least disturbed measurement).
class collecting_reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    benchmark::ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.run_type != Run::RT_Iteration || r.error_occurred) continue;
      double terms = static_cast<double>(the_corpus().terms.size());
      double wall = r.GetAdjustedRealTime() * unit_to_ns(r.time_unit) / terms;
      double cpu = r.GetAdjustedCPUTime() * unit_to_ns(r.time_unit) / terms;
      std::string name = r.run_name.function_name;
      auto [it, fresh] = best_.try_emplace(name, times{wall, cpu});
      if (!fresh) {
        it->second.wall = std::min(it->second.wall, wall);
        it->second.cpu = std::min(it->second.cpu, cpu);
      }
    }
  }
  std::optional<times> best(const std::string& name) const {
    auto it = best_.find(name);
    if (it == best_.end()) return std::nullopt;
    return it->second;
  }

 private:
  static double unit_to_ns(benchmark::TimeUnit u) {
    switch (u) {
      case benchmark::kSecond:
        return 1e9;
      case benchmark::kMillisecond:
        return 1e6;
      case benchmark::kMicrosecond:
        return 1e3;
      default:
        return 1;
    }
  }
  std::map<std::string, times> best_;
};

term decode_or_die(const std::vector<std::uint8_t>& bytes, const char* what) {
  auto r = decode(bytes);
  if (!r) {
    std::cerr << "cannot decode " << what << ": " << r.error.message() << "\n";
    std::exit(2);
  }
  return r.value;
}

// Asks the node to time binary_to_term/term_to_binary over the corpus; the fastest of a few
// runs of about a second each.
beam_times time_beam(et::beam_node& node, const term& bins, double seconds = 1.5, int runs = 3) {
  auto run = [&](std::int64_t iterations) {
    auto reply = node.apply_binary("edist_etf_corpus", "bench",
                                   {term_to_binary(bins), term_to_binary(term(iterations))},
                                   std::chrono::minutes(5));
    term t = decode_or_die(reply, "the node's timings");
    double terms = static_cast<double>(t[4].as_int64() * iterations);
    auto per_term = [&](std::size_t i) { return static_cast<double>(t[i].as_int64()) / terms; };
    return beam_times{{per_term(0), per_term(1)}, {per_term(2), per_term(3)}};
  };
  beam_times probe = run(5);
  double per_iteration_ns =
      (probe.decode.wall + probe.encode.wall) * static_cast<double>(bins.list_elements().size());
  auto iterations =
      std::max<std::int64_t>(10, static_cast<std::int64_t>(seconds * 1e9 / per_iteration_ns));
  double inf = std::numeric_limits<double>::max();
  beam_times best{{inf, inf}, {inf, inf}};
  for (int i = 0; i < runs; ++i) {
    beam_times t = run(iterations);
    best.decode.wall = std::min(best.decode.wall, t.decode.wall);
    best.decode.cpu = std::min(best.decode.cpu, t.decode.cpu);
    best.encode.wall = std::min(best.encode.wall, t.encode.wall);
    best.encode.cpu = std::min(best.encode.cpu, t.encode.cpu);
  }
  return best;
}

double thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// Our decode (from a span) and encode (reused buffer) over some corpus terms: CPU time per term,
// fastest of `runs` runs of about `seconds` each.
std::pair<double, double> time_ours(const std::vector<std::size_t>& which, double seconds,
                                    int runs) {
  const corpus& c = the_corpus();
  encode_buffer buffer(1 << 16);
  auto decode_pass = [&] {
    for (std::size_t i : which) benchmark::DoNotOptimize(decode(c.encoded[i]));
  };
  auto encode_pass = [&] {
    for (std::size_t i : which) {
      buffer.clear();
      encode(c.terms[i], buffer);
      benchmark::DoNotOptimize(buffer.data());
    }
  };
  double t0 = thread_cpu_ns();
  decode_pass();
  encode_pass();
  double pass_ns = std::max(1.0, thread_cpu_ns() - t0);
  auto passes = std::max<std::int64_t>(3, static_cast<std::int64_t>(seconds * 1e9 / pass_ns));
  double best_decode = std::numeric_limits<double>::max(), best_encode = best_decode;
  for (int r = 0; r < runs; ++r) {
    double a = thread_cpu_ns();
    for (std::int64_t k = 0; k < passes; ++k) decode_pass();
    double b = thread_cpu_ns();
    for (std::int64_t k = 0; k < passes; ++k) encode_pass();
    double e = thread_cpu_ns();
    double terms = static_cast<double>(passes) * static_cast<double>(which.size());
    best_decode = std::min(best_decode, (b - a) / terms);
    best_encode = std::min(best_encode, (e - b) / terms);
  }
  return {best_decode, best_encode};
}

std::string fixed(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  const char* which = std::getenv("EDIST_BENCH_OTP");
  std::optional<et::erlang_install> otp =
      which != nullptr && std::string(which) == "27" ? et::otp27() : et::system_otp();
  if (!otp) {
    std::cerr << "no Erlang/OTP found (erl on PATH, or OTP 27 through EDIST_OTP27_ROOT)\n";
    return 2;
  }
  auto epmd = et::epmd_instance::start(*otp);
  et::beam_options options;
  options.epmd_port = epmd.port();
  // One scheduler that sleeps instead of spinning when idle: the node's CPU time is then the
  // work of the timed loop, comparable with our single thread.
  options.extra_args = {"+S", "1:1", "+sbwt", "none", "+sbwtdcpu", "none", "+sbwtdio", "none"};
  auto node = et::beam_node::start(*otp, options);
  et::load_etf_corpus_module(node);

  // [{Name, Bytes}]
  term entries = decode_or_die(node.eval_binary("edist_etf_corpus:bench_corpus()"), "the corpus");
  corpus& c = the_corpus();
  std::vector<term> bins;
  std::map<std::string, std::vector<std::size_t>> categories;  // by the first word of the name
  for (const term& e : entries.list_elements()) {
    std::string name(e[0].binary_string_view());
    categories[name.substr(0, name.find(' '))].push_back(c.terms.size());
    auto bytes = e[1].binary_bytes();
    c.encoded.emplace_back(bytes.begin(), bytes.end());
    c.shared.push_back(shared_bytes::copy_of(bytes));
    c.terms.push_back(decode_or_die(c.encoded.back(), "a corpus term"));
    c.total_bytes += bytes.size();
    bins.push_back(e[1]);
  }
  std::cerr << "corpus: " << c.terms.size() << " terms, " << c.total_bytes << " bytes, from OTP "
            << otp->release << "\n";

  // Where the time goes: each kind of term on its own, both sides timed the same way (CPU
  // time, fastest of 3 runs of about half a second).
  std::ostringstream breakdown;
  breakdown << "| terms | count | decode edist | decode BEAM | ratio | encode edist | encode BEAM "
               "| ratio |\n|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& [category, members] : categories) {
    std::vector<term> subset;
    for (std::size_t i : members) subset.push_back(bins[i]);
    beam_times b = time_beam(node, term::list(subset), 0.5, 3);
    auto [decode_ns, encode_ns] = time_ours(members, 0.2, 3);
    breakdown << "| " << category << " | " << members.size() << " | " << fixed(decode_ns, 1)
              << " | " << fixed(b.decode.cpu, 1) << " | " << fixed(decode_ns / b.decode.cpu, 3)
              << " | " << fixed(encode_ns, 1) << " | " << fixed(b.encode.cpu, 1) << " | "
              << fixed(encode_ns / b.encode.cpu, 3) << " |\n";
    std::cerr << "category " << category << " done\n";
  }

  beam_times beam = time_beam(node, term::list(bins));
  node.stop();
  epmd.stop();

  benchmark::RegisterBenchmark("BM_Decode", BM_Decode)
      ->Unit(benchmark::kMicrosecond)
      ->Repetitions(5);
  benchmark::RegisterBenchmark("BM_DecodeShared", BM_DecodeShared)
      ->Unit(benchmark::kMicrosecond)
      ->Repetitions(5);
  benchmark::RegisterBenchmark("BM_DecodeKeep", BM_DecodeKeep)
      ->Unit(benchmark::kMicrosecond)
      ->Repetitions(5);
  benchmark::RegisterBenchmark("BM_Encode", BM_Encode)
      ->Unit(benchmark::kMicrosecond)
      ->Repetitions(5);
  benchmark::RegisterBenchmark("BM_EncodeToNewVector", BM_EncodeToNewVector)
      ->Unit(benchmark::kMicrosecond)
      ->Repetitions(5);
  collecting_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  std::ostringstream md;
  md << "Corpus: " << c.terms.size() << " terms, " << c.total_bytes
     << " bytes (edist_etf_corpus:bench_corpus/0), OTP " << otp->release << " (" << otp->version
     << "). Nanoseconds per term; fastest of 5 repetitions (edist) and of 3 "
     << "runs (BEAM). CPU time: Google Benchmark's for edist, statistics(runtime) for the "
     << "BEAM. Ratio = edist/BEAM (below 0.5 means more than twice as fast).\n\n"
     << "| operation | edist CPU | BEAM CPU | ratio CPU | edist wall | BEAM wall | ratio wall |\n"
     << "|---|---:|---:|---:|---:|---:|---:|\n";
  auto row = [&](const char* label, const char* bench, const times& beam_ns) {
    auto ours = reporter.best(bench);
    if (!ours) return;
    md << "| " << label << " | " << fixed(ours->cpu, 1) << " | " << fixed(beam_ns.cpu, 1) << " | "
       << fixed(ours->cpu / beam_ns.cpu, 3) << " | " << fixed(ours->wall, 1) << " | "
       << fixed(beam_ns.wall, 1) << " | " << fixed(ours->wall / beam_ns.wall, 3) << " |\n";
  };
  row("decode (binaries copied)", "BM_Decode", beam.decode);
  row("decode (binaries zero-copy)", "BM_DecodeShared", beam.decode);
  row("decode, freeing not timed (as GC'd by the BEAM)", "BM_DecodeKeep", beam.decode);
  row("encode (reused buffer)", "BM_Encode", beam.encode);
  row("encode (new vector per term)", "BM_EncodeToNewVector", beam.encode);
  md << "\nPer kind of term (CPU ns/term, the same loops on both sides):\n\n" << breakdown.str();
  std::cout << "\n" << md.str();
  if (const char* path = std::getenv("EDIST_BENCH_ETF_REPORT")) {
    std::ofstream out(path);
    out << md.str();
    std::cerr << "report written to " << path << "\n";
  }
  return 0;
}
