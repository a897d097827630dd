#include "edist/testing/beam_node.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "edist/testing/child_process.hpp"
#include "edist/testing/names.hpp"
#include "module_cache.hpp"
#include "posix.hpp"

namespace edist::testing {
namespace fs = std::filesystem;

namespace {

// Control channel codes; see beam/edist_test_control.erl.
enum request_type : std::uint8_t { req_eval = 1, req_eval_format = 2, req_apply = 3, req_stop = 4 };
enum reply_status : std::uint8_t {
  rep_ok = 0,
  rep_exception = 1,
  rep_bad_request = 2,
  rep_ready = 3
};

// A reply larger than this means a broken channel, not a result worth allocating for.
constexpr std::uint32_t max_frame = 256u << 20;

void put_u16(std::string& out, std::size_t v) {
  out += static_cast<char>((v >> 8) & 0xff);
  out += static_cast<char>(v & 0xff);
}

void put_u32(std::string& out, std::size_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

std::uint32_t get_u32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) | (std::uint32_t{u[2]} << 8) |
         std::uint32_t{u[3]};
}

struct reply {
  std::uint8_t status = 0;
  std::uint32_t id = 0;
  std::string payload;
};

std::string format_ms(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

constexpr const char* owner_file = "owner.pid";

// Node folders of test processes that died without cleaning up (SIGKILL, crash) are removed
// by the next node start of any test process of this user. A node folder records its owner.
void sweep_stale_node_dirs(const fs::path& root) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    if (entry.path().filename().string().rfind("node-", 0) != 0) continue;
    const std::string owner = detail::read_file(entry.path() / owner_file);
    if (owner.empty()) continue;  // being created right now
    const long pid = std::strtol(owner.c_str(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      detail::remove_tree(entry.path());
    }
  }
}

fs::path make_node_dir() {
  const fs::path root = detail::user_temp_root();
  if (root.empty()) return detail::make_private_temp_dir("edist-beam-");
  sweep_stale_node_dirs(root);
  fs::path dir = detail::make_private_temp_dir((root / "node-").string());
  detail::write_file(dir / owner_file, std::to_string(::getpid()));
  return dir;
}

}  // namespace

beam_error::beam_error(std::string error_class, std::string reason, std::string stacktrace)
    : std::runtime_error(error_class + ":" + reason),
      class_(std::move(error_class)),
      reason_(std::move(reason)),
      stack_(std::move(stacktrace)) {}

struct beam_node::impl {
  erlang_install otp;
  beam_options opts;
  std::string name;
  std::string host;
  std::string node_name;
  std::string cookie;
  fs::path dir;  // private folder: log, crash dumps, working directory
  fs::path log;
  child_process process;
  detail::unique_fd channel;
  std::string inbox;  // bytes read from the channel, not yet a whole frame
  bool channel_eof = false;
  std::uint32_t next_id = 1;
  bool stopped = false;
  std::string final_output;

  ~impl() {
    try {
      stop();
    } catch (...) {
    }
  }

  std::string output() const { return stopped ? final_output : detail::read_file(log); }

  [[noreturn]] void throw_died(const std::string& what) {
    const int status = process.wait(std::chrono::milliseconds(500));
    throw std::runtime_error("edist::testing: node " + node_name + " " + what +
                             (status >= 0 ? " (exit status " + std::to_string(status) + ")" : "") +
                             "; its output:\n" + output());
  }

  void send(std::uint8_t type, std::uint32_t id, std::string_view payload) {
    std::string frame;
    frame.reserve(payload.size() + 9);
    put_u32(frame, payload.size() + 5);
    frame += static_cast<char>(type);
    put_u32(frame, id);
    frame.append(payload);
    detail::write_all(channel.get(), frame.data(), frame.size());
  }

  enum class read_result { frame, eof, timeout };

  read_result read_frame(reply& r, detail::clock::time_point deadline) {
    for (;;) {
      if (inbox.size() >= 4) {
        const std::uint32_t len = get_u32(inbox.data());
        if (len < 5 || len > max_frame) {
          throw std::runtime_error("edist::testing: corrupt control frame (length " +
                                   std::to_string(len) + ") from " + node_name);
        }
        if (inbox.size() >= 4 + std::size_t{len}) {
          r.status = static_cast<std::uint8_t>(inbox[4]);
          r.id = get_u32(inbox.data() + 5);
          r.payload.assign(inbox, 9, len - 5);
          inbox.erase(0, 4 + std::size_t{len});
          return read_result::frame;
        }
      }
      // Frames that arrived just before the EOF (a reply, then the node halted) still count.
      if (channel_eof) return read_result::eof;
      if (!detail::wait_readable(channel.get(), deadline)) return read_result::timeout;
      if (!detail::read_available(channel.get(), inbox)) channel_eof = true;
    }
  }

  std::string call(std::uint8_t type, std::string_view payload, std::chrono::milliseconds timeout,
                   std::string_view what) {
    if (stopped) throw std::logic_error("edist::testing: beam_node used after stop()");
    std::uint32_t id = next_id++;
    if (id == 0) id = next_id++;
    try {
      send(type, id, payload);
    } catch (const std::system_error&) {
      throw_died("is gone (control channel closed)");
    }
    const auto deadline = detail::clock::now() + timeout;
    for (;;) {
      reply r;
      switch (read_frame(r, deadline)) {
        case read_result::timeout:
          throw beam_timeout("edist::testing: " + std::string(what) + " on " + node_name +
                             " did not answer within " + format_ms(timeout));
        case read_result::eof:
          throw_died("exited during " + std::string(what));
        case read_result::frame:
          break;
      }
      if (r.id != id) continue;  // the late answer of a call that timed out
      if (r.status == rep_ok) return std::move(r.payload);
      if (r.status == rep_exception) throw parse_exception(r.payload);
      throw std::runtime_error("edist::testing: " + node_name + " rejected " + std::string(what) +
                               ": " + r.payload);
    }
  }

  static beam_error parse_exception(const std::string& p) {
    std::string parts[3];
    std::size_t pos = 0;
    for (auto& part : parts) {
      if (p.size() < pos + 4) break;
      const std::uint32_t len = get_u32(p.data() + pos);
      pos += 4;
      if (p.size() < pos + len) break;
      part = p.substr(pos, len);
      pos += len;
    }
    return beam_error(parts[0], parts[1], parts[2]);
  }

  void stop() {
    if (stopped) return;
    if (process.running() && channel) {
      try {
        send(req_stop, 0, {});
      } catch (const std::system_error&) {
        // Already gone; the wait below notices.
      }
    }
    // EOF on the channel halts the node as well, should the stop request not get through.
    channel.reset();
    if (process.wait(std::chrono::seconds(5)) < 0) process.terminate();
    final_output = detail::read_file(log);
    stopped = true;
    detail::remove_tree(dir);
  }
};

beam_node::beam_node(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

namespace {
template <class Impl>
Impl& checked(const std::unique_ptr<Impl>& p) {
  if (!p) throw std::logic_error("edist::testing: beam_node used after being moved from");
  return *p;
}
}  // namespace
beam_node::beam_node(beam_node&&) noexcept = default;
beam_node& beam_node::operator=(beam_node&&) noexcept = default;
beam_node::~beam_node() = default;

beam_node beam_node::start(const erlang_install& otp, beam_options opts) {
  if (!otp.present()) throw std::invalid_argument("beam_node::start: no Erlang installation");
  if (opts.epmd_port == 0) throw std::invalid_argument("beam_node::start: epmd_port is required");
  std::optional<fs::path> elixir;
  if (opts.elixir) {
    const auto sys = system_otp();
    if (!sys || sys->root_dir != otp.root_dir) {
      throw std::invalid_argument("beam_node::start: elixir runs on the system OTP only");
    }
    elixir = system_elixir();
    if (!elixir) throw std::invalid_argument("beam_node::start: no elixir on PATH");
  }
  if (opts.host.empty()) throw std::invalid_argument("beam_node::start: empty host");

  auto p = std::make_unique<impl>();
  p->otp = otp;
  p->name = opts.name.empty() ? unique_name("beam") : opts.name;
  p->host = opts.host;
  p->cookie = opts.cookie.empty() ? random_cookie() : opts.cookie;
  p->node_name = p->name + "@" + p->host;
  const fs::path module_dir = detail::control_module_dir(otp);
  p->dir = make_node_dir();
  p->log = p->dir / "output.log";

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    detail::remove_tree(p->dir);
    detail::throw_errno("socketpair");
  }
  p->channel.reset(sv[0]);
  // Non-blocking: reads take what is there (see read_frame) and never hang past a deadline.
  ::fcntl(sv[0], F_SETFL, ::fcntl(sv[0], F_GETFL) | O_NONBLOCK);
  detail::unique_fd theirs(sv[1]);

  // Scheduler busy-waiting only burns the CPU that concurrent tests share.
  const std::vector<std::string> vm_flags = {"+sbwt", "none",     "+sbwtdcpu",
                                             "none",  "+sbwtdio", "none"};
  child_process::options o;
  if (!opts.elixir) {
    o.argv = {otp.erl().string(),
              "-noshell",
              "-noinput",
              opts.long_names ? "-name" : "-sname",
              p->node_name,
              "-setcookie",
              p->cookie,
              "-start_epmd",
              opts.start_epmd ? "true" : "false"};
    if (opts.hidden) o.argv.push_back("-hidden");
    o.argv.insert(o.argv.end(), vm_flags.begin(), vm_flags.end());
    o.argv.insert(o.argv.end(), {"-pa", module_dir.string()});
    o.argv.insert(o.argv.end(), opts.extra_args.begin(), opts.extra_args.end());
    o.argv.insert(o.argv.end(), {"-s", "edist_test_control", "start"});
  } else {
    // elixir passes --erl on to erl through the shell: the words are split at spaces.
    std::string erl_flags =
        std::string("-noinput -start_epmd ") + (opts.start_epmd ? "true" : "false");
    for (const auto& f : vm_flags) erl_flags += " " + f;
    for (const auto& a : opts.extra_args) erl_flags += " " + a;
    o.argv = {elixir->string(), opts.long_names ? "--name" : "--sname", p->node_name, "--cookie",
              p->cookie};
    if (opts.hidden) o.argv.push_back("--hidden");
    o.argv.insert(o.argv.end(), {"--erl", erl_flags, "-pa", module_dir.string(), "--no-halt", "-e",
                                 ":edist_test_control.start()"});
  }
  o.env = {{"ERL_EPMD_PORT", std::to_string(opts.epmd_port)},
           {"ERL_CRASH_DUMP", (p->dir / "erl_crash.dump").string()}};
  o.output_file = p->log;
  o.stderr_to_stdout = true;
  o.extra_fds = {{theirs.get(), 3}, {theirs.get(), 4}};
  o.working_dir = p->dir;
  o.kill_grace = std::chrono::milliseconds(2000);
  try {
    p->process = child_process::spawn(o);
  } catch (...) {
    detail::remove_tree(p->dir);
    throw;
  }
  theirs.reset();
  p->opts = std::move(opts);

  reply r;
  const auto deadline = detail::clock::now() + p->opts.start_timeout;
  const auto result = p->read_frame(r, deadline);
  if (result != impl::read_result::frame || r.status != rep_ready) {
    const std::string why = result == impl::read_result::timeout
                                ? "did not come up within " + format_ms(p->opts.start_timeout)
                            : result == impl::read_result::eof ? "exited while starting"
                                                               : "sent a wrong first frame";
    p->channel.reset();
    p->process.terminate();
    p->final_output = detail::read_file(p->log);
    p->stopped = true;
    detail::remove_tree(p->dir);
    throw std::runtime_error("edist::testing: node " + p->node_name + " (" + otp.erl().string() +
                             ") " + why + "; its output:\n" + p->final_output);
  }
  p->node_name = r.payload;
  return beam_node(std::move(p));
}

const std::string& beam_node::node_name() const {
  return checked(impl_).node_name;
}
const std::string& beam_node::cookie() const {
  return checked(impl_).cookie;
}
const std::string& beam_node::name() const {
  return checked(impl_).name;
}
const std::string& beam_node::host() const {
  return checked(impl_).host;
}
const erlang_install& beam_node::otp() const {
  return checked(impl_).otp;
}
std::uint16_t beam_node::epmd_port() const {
  return checked(impl_).opts.epmd_port;
}

pid_t beam_node::pid() const {
  return (impl_ && !impl_->stopped) ? impl_->process.pid() : -1;
}

bool beam_node::running() {
  return impl_ && !impl_->stopped && impl_->process.running();
}

std::vector<std::uint8_t> beam_node::eval_binary(std::string_view expr,
                                                 std::chrono::milliseconds timeout) {
  const std::string out = checked(impl_).call(req_eval, expr, timeout, "eval");
  return {out.begin(), out.end()};
}

std::string beam_node::eval(std::string_view expr, std::chrono::milliseconds timeout) {
  return checked(impl_).call(req_eval_format, expr, timeout, "eval");
}

std::vector<std::uint8_t> beam_node::apply_binary(
    std::string_view module, std::string_view function,
    const std::vector<std::vector<std::uint8_t>>& args_as_etf, std::chrono::milliseconds timeout) {
  if (module.size() > 0xffff || function.size() > 0xffff) {
    throw std::invalid_argument("beam_node::apply_binary: name too long");
  }
  std::string payload;
  put_u16(payload, module.size());
  payload.append(module);
  put_u16(payload, function.size());
  payload.append(function);
  put_u32(payload, args_as_etf.size());
  for (const auto& a : args_as_etf) {
    put_u32(payload, a.size());
    payload.append(a.begin(), a.end());
  }
  const std::string out = checked(impl_).call(req_apply, payload, timeout, "apply");
  return {out.begin(), out.end()};
}

std::string beam_node::output() const {
  return impl_ ? impl_->output() : std::string();
}

std::filesystem::path beam_node::log_file() const {
  return (impl_ && !impl_->stopped) ? impl_->log : std::filesystem::path();
}

void beam_node::stop() {
  if (impl_) impl_->stop();
}

}  // namespace edist::testing
