// `edist demo`: the distribution tour, step by step, with each result printed. With `erl` on
// the PATH it runs against a live BEAM node that it starts itself on a private EPMD port (the
// embedded EPMD of the demo node: no system epmd is needed); without Erlang it runs the same
// tour between two edist nodes in this process (all but :global, which needs a BEAM node's
// global_name_server). Exit 0 only when every step worked.
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
#include <edist/node/global.hpp>
#include <edist/node/pg.hpp>
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
    // pg's default scope first (erl starts it only with -kernel start_pg true), so that it
    // exists by the time `shell` does, which is what the demo waits for.
    const std::string shell =
        "case pg:start(pg) of {ok, _} -> ok; {error, {already_started, _}} -> ok end, "
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

std::shared_ptr<node::pg::scope> start_pg_scope(running_node& n) {
  std::error_code ec;
  auto scope = node::pg::scope::start(n.get_node().local(), atom("pg"), ec);
  if (ec) exit_with(1, "cannot start the pg scope: " + ec.message());
  return scope;
}

// Polls `members` (up to 10 s) until it holds `pid`; membership travels asynchronously.
bool wait_for_member(const std::function<std::vector<term>()>& members, const term& pid) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    const auto m = members();
    if (std::find(m.begin(), m.end(), pid) != m.end()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
}

std::string show_all(const std::vector<term>& v) {
  return show(term::list(v));
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
  // Before connecting: the scope discovers the BEAM node's scope on nodeup.
  auto scope = start_pg_scope(*n);
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
  t.step("Node.spawn(:'" + beam + "', :timer, :sleep, [:infinity])", [&] {
    auto r = n->get_node().spawn_on(self, beam, atom("timer"), atom("sleep"),
                                    term::list({atom("infinity")}));
    expect(r.pid.is_pid(), "spawn failed: " + show(r.error));
    expect(r.pid.as_pid().node.is_atom(beam), "not a pid of " + beam + ": " + show(r.pid));
    spawned = r.pid;
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
  t.step(":global.register_name({:edist_demo, :cpp}, self()) through " + beam + ", then lookup",
         [&] {
           const auto name = term::tuple({atom("edist_demo"), atom("cpp")});
           node::global::client g(self, atom(beam));
           term failure;
           expect(g.register_name(name, self.pid(), &failure),
                  "registration refused " + show(failure));
           auto there = rpc_or_fail(self, beam, "global", "whereis_name", term::list({name}));
           expect(there == self.pid(), "the BEAM node resolves it to " + show(there));
           // The BEAM node sends through the name: the message comes here.
           rpc_or_fail(self, beam, "global", "send", term::list({name, atom("via_global")}));
           auto m = receive_or_fail(
               self, [](const term& x) { return x.is_atom("via_global"); },
               "message sent through the global name");
           g.unregister_name(name);
           return "BEAM's :global.whereis_name -> " + show(there) + "; :global.send delivered " +
                  show(m);
         });
  t.step(":pg.join(:demo_group, ...) on both sides, :pg.get_members(:demo_group) on the other",
         [&] {
           const auto group = atom("demo_group");
           const term ours[] = {self.pid()};
           if (auto ec = scope->join(group, ours)) throw step_failed("join: " + ec.message());
           auto theirs_get = [&] {
             auto r = rpc_or_fail(self, beam, "pg", "get_members", term::list({group}));
             auto e = r.list_elements();
             return std::vector<term>(e.begin(), e.end());
           };
           expect(wait_for_member(theirs_get, self.pid()), "the BEAM node never saw our member");
           auto shell = rpc_or_fail(self, beam, "erlang", "whereis", term::list({atom("shell")}));
           rpc_or_fail(self, beam, "pg", "join", term::list({group, shell}));
           expect(wait_for_member([&] { return scope->get_members(group); }, shell),
                  "we never saw the BEAM member");
           const auto on_beam = theirs_get();
           const auto here = scope->get_members(group);
           scope->leave(group, ours);
           return "BEAM sees " + show_all(on_beam) + ", C++ sees " + show_all(here);
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
  scope->stop();
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
  std::cout
      << "  (not in this tour: :global. edist's global::client registers names through a BEAM "
         "node's global_name_server, and neither node here is a BEAM node)"
      << std::endl;
  auto a = running_node::start(fa, {}, true, port);
  auto a_services = start_serve_services(a->net());
  auto b = running_node::start(fb, {}, true, port);
  auto b_services = start_serve_services(b->net());
  // Before connecting: each scope discovers the other on nodeup.
  auto a_scope = start_pg_scope(*a);
  auto b_scope = start_pg_scope(*b);
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
  t.step("Node.spawn_monitor(:'" + an + "', :demo, :echo, [:hi])", [&] {
    node::remote_spawn_options o;
    o.monitor = true;
    auto r =
        b->get_node().spawn_on(self, an, atom("demo"), atom("echo"), term::list({atom("hi")}), o);
    expect(r.pid.is_pid(), "spawn failed: " + show(r.error));
    expect(r.pid.as_pid().node.is_atom(an), "not a pid of " + an + ": " + show(r.pid));
    // demo:echo/1 returns at once, so the new process ends normally and the monitor fires.
    auto m = receive_or_fail(
        self,
        [&](const term& x) { return x.is_tuple(5) && x[0].is_atom("DOWN") && x[1] == r.req_id; },
        "'DOWN' message");
    expect(m[4].is_atom("normal"), "unexpected reason in " + show(m));
    return "spawned " + show(r.pid) + ", then " + show(m);
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
  t.step(":pg.join(:demo_group, pid) on " + an + ", :pg.get_members(:demo_group) on " + bn, [&] {
    const auto group = atom("demo_group");
    const term member[] = {a_self.pid()};
    if (auto ec = a_scope->join(group, member)) throw step_failed("join: " + ec.message());
    expect(wait_for_member([&] { return b_scope->get_members(group); }, a_self.pid()),
           bn + " never saw the member");
    return bn + " sees " + show_all(b_scope->get_members(group));
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
  a_scope->stop();
  b_scope->stop();
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
