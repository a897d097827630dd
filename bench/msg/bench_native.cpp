// edist to edist, beside raw TCP on loopback, and resource figures.
//
//   edist_bench_native [--quick] [--results FILE] [--edist PATH] [--io-threads N] [--small-only N]
//                      [--bandwidth-only BYTES]
//
// Messaging: this program is the driver node (the library, one io thread by default, like the
// `edist` program) and `edist serve` in a child process is the peer, on an EPMD embedded in the
// driver at a free port. The same figures as with the BEAM driver: round trips of a small tuple
// through echo (from a process driven by an ordinary thread with blocking receives, and from a
// coroutine on the node's io threads with co_await async_receive), one-way small messages and
// binaries of a sweep of sizes into sink; the round trips also between other pairs of a driver
// and `edist serve`: run by the other thread count (two io threads each by default), and with
// io threads that busy-wait 50 µs before sleeping (`--busy-wait-us 50`). Raw TCP is
// the same pattern over a plain socket to a server thread, frames of a 4-byte length and the
// payload, written through a 256 KiB buffer: what the loopback can do with no protocol at all.
//
// Resources, inside this process (RSS deltas): an idle distribution connection, an idle
// process (mailbox), 100,000 of them, and a small message queued in a mailbox.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <edist/node/heap_tuning.hpp>
#include <edist/node/io_runner.hpp>
#include <edist/node/network.hpp>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"
#include "edist/testing/child_process.hpp"
#include "edist/testing/names.hpp"

namespace et = edist::testing;
namespace asio = boost::asio;
using edist::etf::atom;
using edist::etf::term;
using namespace std::chrono_literals;

namespace {

struct settings {
  bool quick = false;
  std::string results = "bench-native.tsv";
  std::string edist_program = EDIST_BENCH_EDIST_PROGRAM;
  unsigned io_threads = 1;  // of the driver node and of `edist serve`, as the `edist` default
  // Profiling mode: only this many small messages to sink after the connection is set up,
  // nothing else (run under callgrind twice with two counts; the difference divided by the
  // difference of the counts is the cost per message, without the start-up).
  std::int64_t small_only = 0;
  // Experiment mode: only one-way binaries of this size, edist and raw TCP interleaved in
  // each repetition, printed as MiB/s and their ratio (no results file).
  std::uint64_t bandwidth_only = 0;
  // node::run_options::busy_wait of the driver nodes and `edist serve` (--busy-wait-us).
  unsigned busy_wait_us = 0;
  // Experiment mode: only round trips, this many per repetition, from a blocking thread, from
  // a coroutine and over raw TCP, interleaved (no results file).
  int round_trip_only = 0;
};

const std::vector<std::uint64_t> sweep_sizes = {16, 256, 4096, 65536, 1048576, 4194304};

// Messages per window of a one-way run. edist's sends have no backpressure: a process's send
// never waits, and a message that would take a connection's queue beyond its bound (64 MiB,
// counted as 256 bytes + the encoded size per message) is dropped. So the driver keeps at most
// 16 MiB of that estimate in flight: it announces W messages, sends them and waits for the
// sink's {done, W}. One round trip per 16 MiB; raw TCP runs the same windows.
std::int64_t window_for(std::uint64_t message_size) {
  return std::max<std::int64_t>(
      1, static_cast<std::int64_t>((std::uint64_t{16} << 20) / (message_size + 300)));
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("no free port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// An io_context with its threads and a started node on it.
class driver_node {
 public:
  driver_node(const std::string& name, const std::string& cookie, std::uint16_t epmd_port,
              unsigned io_threads, bool hidden = false, unsigned busy_wait_us = 0)
      : io_(static_cast<int>(io_threads)) {
    // The registration runs on the io threads, which start() waits for.
    for (unsigned i = 0; i < io_threads; ++i) {
      threads_.emplace_back([this, busy_wait_us] {
        edist::node::run_io(io_, {.busy_wait = std::chrono::microseconds(busy_wait_us)});
      });
    }
    std::error_code ec;
    std::string why;
    edist::node::network_options o;
    o.listen_address = "127.0.0.1";
    o.epmd_port = epmd_port;
    o.start_embedded_epmd = true;
    net_ = edist::node::network::start(
        io_.get_executor(), {.name = name, .cookie = cookie, .hidden = hidden}, o, ec, &why);
    if (ec) {
      stop_threads();
      throw std::runtime_error("cannot start " + name + ": " + ec.message() + " " + why);
    }
  }
  ~driver_node() {
    net_->stop();
    stop_threads();
  }
  edist::node::node& node() { return net_->get_node(); }
  asio::io_context::executor_type executor() { return io_.get_executor(); }
  void connect(const std::string& peer) {
    std::promise<std::error_code> done;
    node().connect(peer, [&done](std::error_code ec) { done.set_value(ec); });
    auto f = done.get_future();
    if (f.wait_for(30s) != std::future_status::ready) throw std::runtime_error("connect timeout");
    if (auto ec = f.get())
      throw std::runtime_error("cannot connect to " + peer + ": " + ec.message());
  }

 private:
  void stop_threads() {
    work_.reset();
    for (auto& t : threads_) t.join();
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::shared_ptr<edist::node::network> net_;
  std::vector<std::thread> threads_;
};

term receive_or_throw(const edist::node::process& p) {
  auto r = p.receive(120s);
  if (!r) throw std::runtime_error("no answer from the peer");
  return *r;
}

// ---- edist to edist ----------------------------------------------------------------------------

struct one_way_result {
  double seconds = 0;
  double driver_cpu = 0;
  double peer_cpu = 0;
};

struct edist_peer_run {
  driver_node& driver;
  edist::node::process self;
  term echo, sink;
  pid_t peer_pid;

  // {Self, {hello, 42, <<"abc">>}}: what echo answers with {echo, Msg}.
  term echo_request() const {
    return term::tuple({self.pid(), term::tuple({atom("hello"), term::integer(std::int64_t{42}),
                                                 term::binary("abc")})});
  }

  double round_trips(int rounds) {
    const term msg = echo_request();
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < rounds; ++i) {
      self.send(echo, msg);
      receive_or_throw(self);
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  // The same from a coroutine on the node's io threads: what an actor or a coroutine of a
  // user's sees, with no thread of its own to wake up.
  double round_trips_async(int rounds) {
    std::promise<double> result;
    asio::co_spawn(
        driver.executor(),
        [&]() -> asio::awaitable<void> {
          const term msg = echo_request();
          const auto start = std::chrono::steady_clock::now();
          for (int i = 0; i < rounds; ++i) {
            self.send(echo, msg);
            auto [ec, reply] = co_await self.async_receive(120s, asio::use_awaitable);
            if (ec) throw std::runtime_error("no answer from the peer");
          }
          result.set_value(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        },
        [&](std::exception_ptr e) {
          if (e) result.set_exception(e);
        });
    return result.get_future().get();
  }

  // `count` messages in windows of `window` (see window_for), each announced to the sink
  // with {count, Self, W} and closed by its {done, W}.
  one_way_result one_way(const term& msg, std::int64_t count, std::int64_t window) {
    one_way_result r;
    const double cpu0 = edist::bench::self_cpu_seconds();
    const double peer0 = edist::bench::process_cpu_seconds(peer_pid);
    const auto start = std::chrono::steady_clock::now();
    for (std::int64_t sent = 0; sent < count;) {
      const std::int64_t w = std::min(window, count - sent);
      self.send(sink, term::tuple({atom("count"), self.pid(), term::integer(w)}));
      for (std::int64_t i = 0; i < w; ++i) self.send(sink, msg);
      const term done = receive_or_throw(self);
      if (!done.is_tuple(2) || !done[0].is_atom("done"))
        throw std::runtime_error("unexpected answer from sink");
      sent += w;
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.driver_cpu = edist::bench::self_cpu_seconds() - cpu0;
    r.peer_cpu = edist::bench::process_cpu_seconds(peer_pid) - peer0;
    return r;
  }
};

// ---- raw TCP -----------------------------------------------------------------------------------

void write_all(int fd, const std::uint8_t* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w <= 0) throw std::runtime_error("raw tcp: write failed");
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Frames: u32 length (big-endian), then `length` bytes whose first byte says what it is:
// 'E' echo (answered with the same frame), 'C' + u64 count (the next count frames are
// counted, then a 'D' frame answers), anything else is a message.
void raw_server(int listen_fd) {
  const int fd = ::accept(listen_fd, nullptr, nullptr);
  if (fd < 0) return;
  set_nodelay(fd);
  std::vector<std::uint8_t> buf(1 << 18);
  std::size_t have = 0;
  std::uint64_t left = 0;
  for (;;) {
    if (have == buf.size()) buf.resize(buf.size() * 2);
    const ssize_t got = ::read(fd, buf.data() + have, buf.size() - have);
    if (got <= 0) break;
    have += static_cast<std::size_t>(got);
    std::size_t at = 0;
    while (have - at >= 4) {
      std::uint32_t len;
      std::memcpy(&len, buf.data() + at, 4);
      len = ntohl(len);
      if (have - at < 4 + std::size_t{len}) {
        if (4 + std::size_t{len} > buf.size()) buf.resize(4 + std::size_t{len});
        break;
      }
      const std::uint8_t* frame = buf.data() + at + 4;
      if (left > 0) {
        if (--left == 0) {
          const std::uint8_t done[5] = {0, 0, 0, 1, 'D'};
          write_all(fd, done, sizeof done);
        }
      } else if (len > 0 && frame[0] == 'E') {
        write_all(fd, buf.data() + at, 4 + std::size_t{len});
      } else if (len == 9 && frame[0] == 'C') {
        std::memcpy(&left, frame + 1, 8);
      }
      at += 4 + std::size_t{len};
    }
    std::memmove(buf.data(), buf.data() + at, have - at);
    have -= at;
  }
  ::close(fd);
}

class raw_client {
 public:
  raw_client() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 1) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("raw tcp: cannot listen");
    server_ = std::thread([fd = listen_fd_] { raw_server(fd); });
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("raw tcp: cannot connect");
    set_nodelay(fd_);
    out_.reserve(1 << 18);
  }
  ~raw_client() {
    ::close(fd_);
    server_.join();
    ::close(listen_fd_);
  }

  double round_trips(int rounds) {
    const std::uint8_t frame[8] = {0, 0, 0, 4, 'E', 'a', 'b', 'c'};
    std::uint8_t reply[8];
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < rounds; ++i) {
      write_all(fd_, frame, sizeof frame);
      read_exact(reply, sizeof reply);
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  // The same windows as the edist run.
  double one_way(std::size_t size, std::uint64_t count, std::uint64_t window) {
    std::vector<std::uint8_t> payload(std::max<std::size_t>(size, 1), 'x');
    const std::uint32_t len = htonl(static_cast<std::uint32_t>(payload.size()));
    const auto start = std::chrono::steady_clock::now();
    for (std::uint64_t sent = 0; sent < count;) {
      const std::uint64_t w = std::min(window, count - sent);
      std::uint8_t control[13] = {0, 0, 0, 9, 'C'};
      std::memcpy(control + 5, &w, 8);
      append(control, sizeof control);
      for (std::uint64_t i = 0; i < w; ++i) {
        append(reinterpret_cast<const std::uint8_t*>(&len), 4);
        append(payload.data(), payload.size());
      }
      flush();
      std::uint8_t done[5];
      read_exact(done, sizeof done);
      sent += w;
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

 private:
  // Small frames gather in the buffer; a large payload goes out directly after it.
  void append(const std::uint8_t* p, std::size_t n) {
    if (out_.size() + n > out_.capacity()) flush();
    if (n >= out_.capacity()) {
      write_all(fd_, p, n);
      return;
    }
    out_.insert(out_.end(), p, p + n);
  }
  void flush() {
    if (!out_.empty()) write_all(fd_, out_.data(), out_.size());
    out_.clear();
  }
  void read_exact(std::uint8_t* p, std::size_t n) {
    while (n > 0) {
      const ssize_t r = ::read(fd_, p, n);
      if (r <= 0) throw std::runtime_error("raw tcp: read failed");
      p += r;
      n -= static_cast<std::size_t>(r);
    }
  }

  int listen_fd_ = -1;
  int fd_ = -1;
  std::thread server_;
  std::vector<std::uint8_t> out_;
};

// ---- the run -----------------------------------------------------------------------------------

int run(const settings& s) {
  edist::bench::results_file out(s.results);
  const int reps = s.quick ? 3 : 7;
  const int rounds = s.quick ? 5000 : 20000;
  const std::int64_t small_count = s.quick ? 200000 : 1000000;
  const std::uint64_t budget = s.quick ? (64ull << 20) : (512ull << 20);
  auto count_for = [&](std::uint64_t size) {
    return std::clamp<std::int64_t>(static_cast<std::int64_t>(budget / size), 16, small_count);
  };

  const std::uint16_t epmd_port = free_port();
  const std::string cookie = et::random_cookie();
  driver_node driver(et::unique_name("bench_native_driver") + "@localhost", cookie, epmd_port,
                     s.io_threads, false, s.busy_wait_us);
  // `edist serve` with `threads` io threads, connected to `d`.
  auto start_peer = [&](driver_node& d, unsigned threads, unsigned busy_wait_us) {
    et::child_process::options po;
    po.argv = {s.edist_program,  "serve",
               "--sname",        et::unique_name("bench_native_peer") + "@localhost",
               "--cookie",       cookie,
               "--io-threads",   std::to_string(threads),
               "--busy-wait-us", std::to_string(busy_wait_us)};
    po.env = {{"ERL_EPMD_PORT", std::to_string(epmd_port)}};
    po.capture_stdout = true;
    auto program = et::child_process::spawn(po);
    const std::string node = edist::bench::wait_for_ready_line(program.stdout_fd(), 30s).substr(6);
    d.connect(node);
    return std::pair{std::move(program), node};
  };
  auto [peer_program, peer_node] = start_peer(driver, s.io_threads, s.busy_wait_us);
  edist_peer_run e{driver, driver.node().spawn(), term::tuple({atom("echo"), atom(peer_node)}),
                   term::tuple({atom("sink"), atom(peer_node)}), peer_program.pid()};
  if (s.small_only > 0) {
    const auto r = e.one_way(term::tuple({atom("msg"), term::integer(std::int64_t{1})}),
                             s.small_only, window_for(16));
    std::cout << "small_only\t" << s.small_only << "\t" << r.seconds << " s\n";
    peer_program.terminate();
    return 0;
  }
  if (s.round_trip_only > 0) {
    raw_client raw;
    const int n = s.round_trip_only;
    e.round_trips(100);
    e.round_trips_async(100);
    raw.round_trips(100);
    std::vector<double> blocking, coroutine, raw_tcp;
    // CPU per round trip (µs) of the driver process and of `edist serve`, around each run.
    auto cpu_of = [&](auto&& run) {
      const double self0 = edist::bench::self_cpu_seconds();
      const double peer0 = edist::bench::process_cpu_seconds(e.peer_pid);
      const double us = run() / n * 1e6;
      return std::tuple{us, (edist::bench::self_cpu_seconds() - self0) / n * 1e6,
                        (edist::bench::process_cpu_seconds(e.peer_pid) - peer0) / n * 1e6};
    };
    for (int rep = 0; rep < reps; ++rep) {
      const auto [b, b_self, b_peer] = cpu_of([&] { return e.round_trips(n); });
      const auto [c, c_self, c_peer] = cpu_of([&] { return e.round_trips_async(n); });
      const auto [r, r_self, r_peer] = cpu_of([&] { return raw.round_trips(n); });
      blocking.push_back(b);
      coroutine.push_back(c);
      raw_tcp.push_back(r);
      std::cout << "round_trip\tblocking " << b << " us (CPU " << b_self << " + " << b_peer
                << ")\tcoroutine " << c << " us (CPU " << c_self << " + " << c_peer << ")\traw "
                << r << " us (CPU " << r_self << ")\n";
    }
    std::cout << "median\tblocking " << edist::bench::median(blocking) << " us\tcoroutine "
              << edist::bench::median(coroutine) << " us\traw " << edist::bench::median(raw_tcp)
              << " us\n";
    peer_program.terminate();
    return 0;
  }
  if (s.bandwidth_only > 0) {
    raw_client raw;
    const auto size = s.bandwidth_only;
    const auto n = count_for(size);
    const auto w = window_for(size);
    const double mib = static_cast<double>(n) * static_cast<double>(size) / 1048576.0;
    const term binary = term::binary(std::string(size, 'x'));
    e.one_way(binary, std::min<std::int64_t>(n, 64), w);  // warm-up
    std::vector<double> edist_rates, raw_rates, ratios, driver_cpu, peer_cpu;
    for (int rep = 0; rep < reps; ++rep) {
      const auto r = e.one_way(binary, n, w);
      edist_rates.push_back(mib / r.seconds);
      driver_cpu.push_back(r.driver_cpu / mib * 1e3);
      peer_cpu.push_back(r.peer_cpu / mib * 1e3);
      raw_rates.push_back(
          mib / raw.one_way(size, static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(w)));
      ratios.push_back(edist_rates.back() / raw_rates.back());
      std::cout << "bandwidth\t" << size << "\tedist " << edist_rates.back() << " MiB/s\traw "
                << raw_rates.back() << " MiB/s\t" << ratios.back() << "\tCPU ms/MiB driver "
                << driver_cpu.back() << " peer " << peer_cpu.back() << '\n';
    }
    std::cout << "median\t" << size << "\tedist " << edist::bench::median(edist_rates)
              << " MiB/s\traw " << edist::bench::median(raw_rates) << " MiB/s\t"
              << edist::bench::median(ratios) << "\tCPU ms/MiB driver "
              << edist::bench::median(driver_cpu) << " peer " << edist::bench::median(peer_cpu)
              << '\n';
    peer_program.terminate();
    return 0;
  }
  // The round trips again between other pairs of a driver and `edist serve`: run by the other
  // thread count (two when the default pair runs one, else one), and busy-waiting 50 µs
  // before sleeping (--busy-wait-us 50, the BEAM's +sbwt), beside the default pair's.
  struct extra_pair {
    std::string impl;
    std::unique_ptr<driver_node> driver;
    std::optional<et::child_process> program;
    std::optional<edist_peer_run> run;
  };
  std::vector<extra_pair> extra;
  auto add_pair = [&](std::string impl, unsigned threads, unsigned busy_wait_us) {
    auto& x = extra.emplace_back();
    x.impl = std::move(impl);
    x.driver = std::make_unique<driver_node>(et::unique_name("bench_native_driver") + "@localhost",
                                             cookie, epmd_port, threads, false, busy_wait_us);
    auto [program, node] = start_peer(*x.driver, threads, busy_wait_us);
    x.program.emplace(std::move(program));
    x.run.emplace(edist_peer_run{*x.driver, x.driver->node().spawn(),
                                 term::tuple({atom("echo"), atom(node)}),
                                 term::tuple({atom("sink"), atom(node)}), x.program->pid()});
  };
  const unsigned other_threads = s.io_threads == 1 ? 2 : 1;
  add_pair(
      other_threads == 1 ? "edist_1thread" : "edist_" + std::to_string(other_threads) + "threads",
      other_threads, s.busy_wait_us);
  if (s.busy_wait_us == 0) add_pair("edist_busywait", s.io_threads, 50);
  raw_client raw;
  // Warm-up: connection buffers, allocator pools, the peer's code in cache.
  e.round_trips(100);
  e.round_trips_async(100);
  for (auto& x : extra) {
    x.run->round_trips(100);
    x.run->round_trips_async(100);
  }
  e.one_way(term::tuple({atom("msg"), term::integer(std::int64_t{1})}), 10000, window_for(16));
  raw.round_trips(100);

  std::map<std::string, std::map<std::uint64_t, std::map<std::string, std::vector<double>>>> v;
  double small_driver_cpu = 0, small_peer_cpu = 0, small_messages = 0;
  const term small = term::tuple({atom("msg"), term::integer(std::int64_t{1})});
  std::map<std::uint64_t, term> binaries;
  for (auto size : sweep_sizes) binaries[size] = term::binary(std::string(size, 'x'));

  for (int rep = 0; rep < reps; ++rep) {
    std::cerr << "repetition " << rep + 1 << "/" << reps << '\n';
    v["round_trip"][0]["edist"].push_back(e.round_trips(rounds) / rounds * 1e6);
    v["round_trip"][0]["raw_tcp"].push_back(raw.round_trips(rounds) / rounds * 1e6);
    v["round_trip_async"][0]["edist"].push_back(e.round_trips_async(rounds) / rounds * 1e6);
    for (auto& x : extra) {
      v["round_trip"][0][x.impl].push_back(x.run->round_trips(rounds) / rounds * 1e6);
      v["round_trip_async"][0][x.impl].push_back(x.run->round_trips_async(rounds) / rounds * 1e6);
    }
    const auto r = e.one_way(small, small_count, window_for(16));
    small_driver_cpu += r.driver_cpu;
    small_peer_cpu += r.peer_cpu;
    small_messages += static_cast<double>(small_count);
    v["small_msgs"][0]["edist"].push_back(static_cast<double>(small_count) / r.seconds);
    v["small_msgs"][0]["raw_tcp"].push_back(
        static_cast<double>(small_count) / raw.one_way(16, static_cast<std::uint64_t>(small_count),
                                                       static_cast<std::uint64_t>(window_for(16))));
    for (auto size : sweep_sizes) {
      const auto n = count_for(size);
      const double mib = static_cast<double>(n) * static_cast<double>(size) / 1048576.0;
      const auto w = window_for(size);
      v["sweep"][size]["edist"].push_back(mib / e.one_way(binaries[size], n, w).seconds);
      v["sweep"][size]["raw_tcp"].push_back(
          mib / raw.one_way(size, static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(w)));
    }
  }
  const auto runs = static_cast<std::size_t>(reps);
  for (const std::string impl : {"edist", "raw_tcp"}) {
    out.add("native", "round_trip", 0, impl, edist::bench::median(v["round_trip"][0][impl]), "us",
            runs);
    out.add("native", "small_msgs", 0, impl, edist::bench::median(v["small_msgs"][0][impl]),
            "msg/s", runs);
    out.add("native", "bandwidth_1MiB", 1048576, impl,
            edist::bench::median(v["sweep"][1048576][impl]), "MiB/s", runs);
    for (auto size : sweep_sizes) {
      const double mib_s = edist::bench::median(v["sweep"][size][impl]);
      out.add("native", "sweep_msgs", size, impl, mib_s * 1048576.0 / static_cast<double>(size),
              "msg/s", runs);
      out.add("native", "sweep_bandwidth", size, impl, mib_s, "MiB/s", runs);
    }
  }
  out.add("native", "round_trip_async", 0, "edist",
          edist::bench::median(v["round_trip_async"][0]["edist"]), "us", runs);
  for (auto& x : extra) {
    out.add("native", "round_trip", 0, x.impl, edist::bench::median(v["round_trip"][0][x.impl]),
            "us", runs);
    out.add("native", "round_trip_async", 0, x.impl,
            edist::bench::median(v["round_trip_async"][0][x.impl]), "us", runs);
  }
  out.add("native", "cpu_per_msg_driver", 0, "edist", small_driver_cpu / small_messages * 1e9, "ns",
          runs);
  out.add("native", "cpu_per_msg_peer", 0, "edist", small_peer_cpu / small_messages * 1e9, "ns",
          runs);

  // ---- resources ----
  const pid_t self = ::getpid();
  {
    // Idle connections: client nodes of this process connect to the driver; the delta of
    // RSS between "nodes started" and "all connected" is both ends of each connection. The
    // clients are hidden: visible ones would join :global and connect to each other too.
    const int count = s.quick ? 10 : 40;
    std::vector<std::unique_ptr<driver_node>> clients;
    for (int i = 0; i < count; ++i)
      clients.push_back(std::make_unique<driver_node>(et::unique_name("bench_idle") + "@localhost",
                                                      cookie, epmd_port, 2, true));
    std::this_thread::sleep_for(500ms);
    const auto before = edist::bench::resident_bytes(self);
    for (auto& c : clients) c->connect(driver.node().name());
    std::this_thread::sleep_for(500ms);
    const auto after = edist::bench::resident_bytes(self);
    out.add("resources", "memory_per_connection", 0, "edist",
            static_cast<double>(after - std::min(after, before)) / count / 2.0 / 1024.0, "KiB", 1);
  }
  {
    const int count = 100000;
    const auto before = edist::bench::resident_bytes(self);
    std::vector<edist::node::process> processes;
    processes.reserve(count);
    for (int i = 0; i < count; ++i) processes.push_back(driver.node().spawn());
    const auto spawned = edist::bench::resident_bytes(self);
    for (auto& p : processes) p.send(p.pid(), small);
    const auto queued = edist::bench::resident_bytes(self);
    const double total = static_cast<double>(spawned - std::min(spawned, before));
    out.add("resources", "memory_100k_processes", 0, "edist", total / 1048576.0, "MiB", 1);
    out.add("resources", "memory_per_process", 0, "edist", total / count, "B", 1);
    out.add("resources", "memory_per_queued_msg", 0, "edist",
            static_cast<double>(queued - std::min(queued, spawned)) / count, "B", 1);
  }
  peer_program.terminate();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // The driver is a program using the library as its README recommends, as `edist serve` is.
  edist::node::tune_heap_for_messaging();
  settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      s.quick = true;
    } else if (a == "--results" && i + 1 < argc) {
      s.results = argv[++i];
    } else if (a == "--edist" && i + 1 < argc) {
      s.edist_program = argv[++i];
    } else if (a == "--io-threads" && i + 1 < argc) {
      s.io_threads = static_cast<unsigned>(std::clamp(std::atoi(argv[++i]), 1, 64));
    } else if (a == "--small-only" && i + 1 < argc) {
      s.small_only = std::stoll(argv[++i]);
    } else if (a == "--busy-wait-us" && i + 1 < argc) {
      s.busy_wait_us = static_cast<unsigned>(std::clamp(std::atoi(argv[++i]), 0, 1000000));
    } else if (a == "--bandwidth-only" && i + 1 < argc) {
      s.bandwidth_only = std::stoull(argv[++i]);
    } else if (a == "--round-trip-only" && i + 1 < argc) {
      s.round_trip_only = std::clamp(std::atoi(argv[++i]), 1, 10000000);
    } else {
      std::cerr << "usage: edist_bench_native [--quick] [--results FILE] [--edist PATH] "
                   "[--io-threads N] [--busy-wait-us N] [--small-only N] "
                   "[--bandwidth-only BYTES] [--round-trip-only ROUNDS]\n";
      return 2;
    }
  }
  try {
    return run(s);
  } catch (const std::exception& e) {
    std::cerr << "edist_bench_native: " << e.what() << '\n';
    return 1;
  }
}
