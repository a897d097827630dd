// `edist demo`: the distribution tour, step by step, with each result printed. With `erl` on
// the PATH it runs against a live BEAM node that it starts itself on a private EPMD port (the
// embedded EPMD of the demo node: no system epmd is needed); without Erlang it runs the same
// tour between two edist nodes in this process. Exit 0 only when every step worked.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdlib>
#include <edist/etf/text.hpp>
#include <edist/node/gen_server.hpp>
#include <edist/node/rpc.hpp>
#include <filesystem>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>

#include "commands.hpp"
#include "node_options.hpp"
#include "serve_services.hpp"

namespace edist::tools {

namespace {

using etf::atom;
using etf::term;
using namespace std::chrono_literals;

struct step_failed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string show(const term& t) {
  return etf::to_erlang_string(t);
}

void expect(bool ok, const std::string& what) {
  if (!ok) throw step_failed(what);
}

// Prints each step and its outcome; counts failures.
class tour {
 public:
  void step(const std::string& title, const std::function<std::string()>& body) {
    ++count_;
    std::cout << "[" << count_ << "] " << title << std::endl;
    try {
      std::cout << "    " << body() << std::endl;
    } catch (const std::exception& e) {
      ++failures_;
      std::cout << "    FAILED: " << e.what() << std::endl;
    }
  }
  int failures() const { return failures_; }
  int count() const { return count_; }

 private:
  int count_ = 0;
  int failures_ = 0;
};

term receive_or_fail(const node::process& p, const std::function<bool(const term&)>& pred,
                     const std::string& what) {
  auto accept = [&pred](const term& t) { return pred(t); };
  auto r = p.receive_if(accept, std::chrono::seconds(10));
  if (!r) throw step_failed("no " + what + " within 10 s");
  return *r;
}

std::string random_token() {
  std::random_device rd;
  std::uniform_int_distribution<unsigned> d(0, 25);
  std::string s;
  for (int i = 0; i < 16; ++i) s += static_cast<char>('a' + d(rd));
  return s;
}

// A port no one listens on right now, for the demo's private EPMD.
std::uint16_t free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
  return a.local_endpoint().port();
}

std::optional<std::filesystem::path> find_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return std::nullopt;
  std::string_view rest(path);
  while (!rest.empty()) {
    const auto colon = rest.find(':');
    const auto dir = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    if (dir.empty()) continue;
    auto candidate = std::filesystem::path(dir) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

// The live BEAM node of the demo. It dies with this program (PR_SET_PDEATHSIG), and the
// destructor stops it.
class beam_child {
 public:
  beam_child(const std::filesystem::path& erl, const std::string& name, const std::string& cookie,
             std::uint16_t epmd_port) {
    // The shell's registered process: answers {From, Msg} with {shell, got, Msg} and ends
    // on {From, stop}, so that a monitor can watch it end.
    const std::string shell =
        "register(shell, spawn(fun Loop() -> receive {From, stop} -> From ! {shell, stopping}; "
        "{From, Msg} -> From ! {shell, got, Msg}, Loop() end end)).";
    std::vector<std::string> args = {erl.string(), "-sname",      name,    "-setcookie", cookie,
                                     "-noinput",   "-start_epmd", "false", "-eval",      shell};
    const std::string port = std::to_string(epmd_port);
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      ::setpgid(0, 0);
      ::setenv("ERL_EPMD_PORT", port.c_str(), 1);
      // BEAM's own output would interleave with the tour; it is not part of it.
      if (auto fd = ::open("/dev/null", O_RDWR); fd >= 0) {
        ::dup2(fd, 0);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~beam_child() {
    if (pid_ <= 0) return;
    // The whole group: erl is a script, and beam.smp starts helper processes.
    ::kill(-pid_, SIGTERM);
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 50; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(100ms);
    }
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  beam_child(const beam_child&) = delete;
  beam_child& operator=(const beam_child&) = delete;

 private:
  pid_t pid_ = -1;
};

std::error_code connect_until(node::node& n, const std::string& peer,
                              std::chrono::seconds patience) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  std::error_code last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto done = std::make_shared<std::promise<std::error_code>>();
    n.connect(peer, [done](std::error_code ec) { done->set_value(ec); });
    auto f = done->get_future();
    if (f.wait_for(15s) != std::future_status::ready) return make_error_code(node::errc::timeout);
    last = f.get();
    if (!last) return {};
    std::this_thread::sleep_for(200ms);
  }
  return last;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string join(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out + "]";
}

term rpc_or_fail(const node::process& self, const std::string& peer, const char* m, const char* f,
                 const term& args) {
  auto r = node::rpc::call(self, atom(peer), atom(m), atom(f), args, std::chrono::seconds(10));
  if (r.is_tuple(2) && r[0].is_atom("badrpc")) throw step_failed("rpc: " + show(r));
  return r;
}

int run_with_erlang(const std::filesystem::path& erl) {
  const auto token = random_token();
  const auto cookie = "demo_" + token;
  const auto port = free_port();
  node_flags flags;
  flags.sname = "edist_demo_" + token.substr(0, 6) + "@localhost";
  flags.cookie = cookie;
  std::cout << "edist demo: a C++ node and a live BEAM node (" << erl.string()
            << "), private EPMD on port " << port << std::endl;
  auto n = running_node::start(flags, {}, true, port);
  auto services = start_serve_services(n->net());
  const std::string me = n->get_node().name();
  const std::string beam = "beam_demo_" + token.substr(0, 6) + "@localhost";
  beam_child child(erl, beam, cookie, port);
  auto self = n->get_node().spawn();
  tour t;

  t.step("Node.connect(:'" + beam + "')", [&] {
    if (auto ec = connect_until(n->get_node(), beam, 30s)) {
      const auto why = n->net().failure_detail(beam);
      throw step_failed(why.empty() ? ec.message() : why);
    }
    // The node is reachable before its -eval has registered `shell`, and a message to a name
    // nobody holds yet is dropped: wait until the shell is there.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!rpc_or_fail(self, beam, "erlang", "whereis", term::list({atom("shell")})).is_pid()) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw step_failed("the BEAM node did not register shell within 10 s");
      }
      std::this_thread::sleep_for(50ms);
    }
    return std::string("connected: ") + me + " <-> " + beam;
  });
  t.step("Node.list() on both sides", [&] {
    const auto ours = n->get_node().nodes();
    const auto theirs = rpc_or_fail(self, beam, "erlang", "nodes", term::list({}));
    expect(contains(ours, beam), beam + " missing from our node list");
    bool found = false;
    for (const auto& e : theirs.list_elements()) found = found || e.is_atom(me);
    expect(found, me + " missing from the BEAM node's nodes()");
    return "C++: " + join(ours) + "   BEAM: " + show(theirs);
  });
  t.step("send {self(), :hello} to the shell's registered process {:shell, :'" + beam + "'}", [&] {
    self.send(term::tuple({atom("shell"), atom(beam)}), term::tuple({self.pid(), atom("hello")}));
    auto m = receive_or_fail(
        self, [](const term& x) { return x.is_tuple(3) && x[0].is_atom("shell"); },
        "answer from shell");
    expect(m[2].is_atom("hello"), "unexpected answer " + show(m));
    return "received " + show(m);
  });
  term spawned;
  t.step("Node.spawn on the BEAM node (erlang:spawn(timer, sleep, [infinity]) through rpc)", [&] {
    spawned =
        rpc_or_fail(self, beam, "erlang", "spawn",
                    term::list({atom("timer"), atom("sleep"), term::list({atom("infinity")})}));
    expect(spawned.is_pid() && spawned.as_pid().node.is_atom(beam),
           "not a pid of " + beam + ": " + show(spawned));
    return "spawned " + show(spawned) + " on " + beam;
  });
  t.step("a link firing: link to that process, then it is killed", [&] {
    expect(spawned.is_pid(), "no process from the previous step");
    self.trap_exit(true);
    self.link(spawned);
    rpc_or_fail(self, beam, "erlang", "exit", term::list({spawned, atom("kill")}));
    auto m = receive_or_fail(
        self,
        [&](const term& x) { return x.is_tuple(3) && x[0].is_atom("EXIT") && x[1] == spawned; },
        "'EXIT' message");
    self.trap_exit(false);
    expect(m[2].is_atom("killed"), "unexpected reason in " + show(m));
    return "received " + show(m);
  });
  t.step("a monitor firing: monitor {:shell, node}, then ask it to stop", [&] {
    auto ref = self.monitor(term::tuple({atom("shell"), atom(beam)}));
    self.send(term::tuple({atom("shell"), atom(beam)}), term::tuple({self.pid(), atom("stop")}));
    auto m = receive_or_fail(
        self, [&](const term& x) { return x.is_tuple(5) && x[0].is_atom("DOWN") && x[1] == ref; },
        "'DOWN' message");
    expect(m[4].is_atom("normal"), "unexpected reason in " + show(m));
    return "received " + show(m);
  });
  t.step("rpc from C++ into BEAM: :erlang.system_info(:otp_release)", [&] {
    auto r = rpc_or_fail(self, beam, "erlang", "system_info", term::list({atom("otp_release")}));
    return "OTP release " + show(r);
  });
  t.step("rpc from BEAM into C++: :rpc.call(:'" + me + "', :demo, :add, [2^70, 1])", [&] {
    const auto big = *term::integer_from_decimal("1180591620717411303424");
    auto r = rpc_or_fail(self, beam, "rpc", "call",
                         term::list({atom(me), atom("demo"), atom("add"),
                                     term::list({big, term::integer(std::int64_t{1})})}));
    expect(show(r) == "1180591620717411303425", "wrong sum " + show(r));
    return "the BEAM node got " + show(r);
  });
  t.step("GenServer.call({:kv, :'" + me + "'}, {:put, :lang, :cpp}) from BEAM", [&] {
    const auto kv = term::tuple({atom("kv"), atom(me)});
    auto put = rpc_or_fail(self, beam, "gen_server", "call",
                           term::list({kv, term::tuple({atom("put"), atom("lang"), atom("cpp")})}));
    auto get = rpc_or_fail(self, beam, "gen_server", "call",
                           term::list({kv, term::tuple({atom("get"), atom("lang")})}));
    expect(put.is_atom("ok") && show(get) == "{ok,cpp}", "got " + show(put) + ", " + show(get));
    return "put -> " + show(put) + ", get -> " + show(get);
  });
  std::cout << (t.failures() == 0 ? "all " + std::to_string(t.count()) + " steps worked"
                                  : std::to_string(t.failures()) + " of " +
                                        std::to_string(t.count()) + " steps failed")
            << std::endl;
  services->stop();
  return t.failures() == 0 ? 0 : 1;
}

int run_in_process() {
  const auto token = random_token();
  const auto port = free_port();
  node_flags fa;
  fa.sname = "edist_demo_a_" + token.substr(0, 6) + "@localhost";
  fa.cookie = "demo_" + token;
  node_flags fb = fa;
  fb.sname = "edist_demo_b_" + token.substr(0, 6) + "@localhost";
  std::cout << "edist demo: no erl on the PATH; two edist nodes in this process, private EPMD "
               "on port "
            << port << std::endl;
  auto a = running_node::start(fa, {}, true, port);
  auto a_services = start_serve_services(a->net());
  auto b = running_node::start(fb, {}, true, port);
  auto b_services = start_serve_services(b->net());
  const std::string an = a->get_node().name();
  const std::string bn = b->get_node().name();
  auto self = b->get_node().spawn();
  auto a_self = a->get_node().spawn();
  tour t;
  t.step("connect " + bn + " to " + an, [&] {
    if (auto ec = connect_until(b->get_node(), an, 15s)) throw step_failed(ec.message());
    return "connected: " + bn + " <-> " + an;
  });
  t.step("node lists on both sides", [&] {
    // The accepting side records the connection a moment after the dialling side: poll.
    auto on_a = a->get_node().nodes();
    auto on_b = b->get_node().nodes();
    for (int i = 0; i < 100 && !(contains(on_a, bn) && contains(on_b, an)); ++i) {
      std::this_thread::sleep_for(50ms);
      on_a = a->get_node().nodes();
      on_b = b->get_node().nodes();
    }
    expect(contains(on_a, bn) && contains(on_b, an), "nodes missing from the lists");
    return an + ": " + join(on_a) + "   " + bn + ": " + join(on_b);
  });
  t.step("send {self(), :hello} to the registered process {:echo, :'" + an + "'}", [&] {
    self.send(term::tuple({atom("echo"), atom(an)}), term::tuple({self.pid(), atom("hello")}));
    auto m = receive_or_fail(
        self, [](const term& x) { return x.is_tuple(2) && x[0].is_atom("echo"); }, "echo");
    expect(m[1].is_atom("hello"), "unexpected answer " + show(m));
    return "received " + show(m);
  });
  t.step("a link firing: link to a process of " + an + ", which is then killed", [&] {
    auto victim = a->get_node().spawn();
    const auto pid = victim.pid();
    self.trap_exit(true);
    self.link(pid);
    // The link is set up on the far side before the kill goes out, as in Erlang: signals from
    // one process to another keep their order, and both travel on the same connection.
    expect(flush_to(*b, an, 10s), "connection lost");
    a_self.exit(pid, atom("kill"));
    auto m = receive_or_fail(
        self, [&](const term& x) { return x.is_tuple(3) && x[0].is_atom("EXIT") && x[1] == pid; },
        "'EXIT' message");
    self.trap_exit(false);
    expect(m[2].is_atom("killed"), "unexpected reason in " + show(m));
    return "received " + show(m);
  });
  t.step("a monitor firing: monitor {:kv, node}, then GenServer.call(kv, :stop)", [&] {
    const auto kv = term::tuple({atom("kv"), atom(an)});
    auto ref = self.monitor(kv);
    auto r = node::gen::call(self, kv, atom("stop"));
    expect(static_cast<bool>(r), "call failed: " + r.error.message());
    auto m = receive_or_fail(
        self, [&](const term& x) { return x.is_tuple(5) && x[0].is_atom("DOWN") && x[1] == ref; },
        "'DOWN' message");
    expect(m[4].is_atom("normal"), "unexpected reason in " + show(m));
    return "stop -> " + show(r.reply) + ", then " + show(m);
  });
  t.step("rpc " + bn + " -> " + an + ": demo:add(2^70, 1)", [&] {
    const auto big = *term::integer_from_decimal("1180591620717411303424");
    auto r =
        rpc_or_fail(self, an, "demo", "add", term::list({big, term::integer(std::int64_t{1})}));
    expect(show(r) == "1180591620717411303425", "wrong sum " + show(r));
    return "result " + show(r);
  });
  t.step("rpc " + an + " -> " + bn + ": demo:node()", [&] {
    auto r = rpc_or_fail(a_self, bn, "demo", "node", term::list({}));
    expect(r.is_atom(bn), "wrong node " + show(r));
    return "result " + show(r);
  });
  std::cout << (t.failures() == 0 ? "all " + std::to_string(t.count()) + " steps worked"
                                  : std::to_string(t.failures()) + " of " +
                                        std::to_string(t.count()) + " steps failed")
            << std::endl;
  a_services->stop();
  b_services->stop();
  return t.failures() == 0 ? 0 : 1;
}

}  // namespace

void add_demo_command(CLI::App& app) {
  struct settings {
    bool without_erlang = false;
  };
  auto s = std::make_shared<settings>();
  auto* cmd = app.add_subcommand(
      "demo",
      "A tour of distribution: against a live BEAM node when erl is on the PATH, else between "
      "two edist nodes; exit 0 when every step worked");
  cmd->add_flag("--without-erlang", s->without_erlang,
                "Run the tour between two edist nodes even when erl is installed");
  cmd->callback([s] {
    auto erl = s->without_erlang ? std::nullopt : find_on_path("erl");
    const int status = erl ? run_with_erlang(*erl) : run_in_process();
    if (status != 0) exit_with(status);
  });
}

}  // namespace edist::tools
