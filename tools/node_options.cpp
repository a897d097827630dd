#include "node_options.hpp"

#include <unistd.h>

#include <array>
#include <edist/etf/text.hpp>
#include <edist/node/io_runner.hpp>
#include <future>
#include <random>
#include <thread>

namespace edist::tools {

namespace {

std::string short_host_name() {
  std::array<char, 256> buf{};
  if (::gethostname(buf.data(), buf.size() - 1) != 0) return "localhost";
  std::string host(buf.data());
  if (auto dot = host.find('.'); dot != std::string::npos) host.resize(dot);
  return host.empty() ? "localhost" : host;
}

// Unique among clients started at the same time on this host: the pid alone is not enough
// across containers sharing one EPMD, hence the random suffix.
std::string unique_client_name() {
  std::random_device rd;
  std::uniform_int_distribution<unsigned> digit(0, 35);
  std::string suffix;
  for (int i = 0; i < 6; ++i) {
    const auto d = digit(rd);
    suffix += static_cast<char>(d < 10 ? '0' + d : 'a' + (d - 10));
  }
  return "edist_" + std::to_string(::getpid()) + "_" + suffix;
}

}  // namespace

void add_node_flags(CLI::App& cmd, node_flags& flags) {
  auto* sname = cmd.add_option("--sname", flags.sname, "Short node name (name or name@host)");
  auto* name = cmd.add_option("--name", flags.name, "Long node name (name or name@host.domain)");
  sname->excludes(name);
  cmd.add_option("--cookie", flags.cookie, "Magic cookie (default: ~/.erlang.cookie)");
  cmd.add_flag("--hidden", flags.hidden, "Hidden node: not listed by nodes() of its peers");
  cmd.add_option("--io-threads", flags.io_threads,
                 "Threads running the node's network and processes (1, the default, costs "
                 "the least per message; more spread the work of many connections over cores)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 64u));
  cmd.add_option("--busy-wait-us", flags.busy_wait_us,
                 "Microseconds an io thread keeps polling after its last piece of work before "
                 "it sleeps, as the BEAM's +sbwt: lower latency, paid in CPU (default 0)")
      ->capture_default_str()
      ->check(CLI::Range(0u, 1000000u));
}

std::string full_node_name(const std::string& text) {
  if (text.empty()) exit_with(2, "empty node name");
  if (text.find('@') != std::string::npos) return text;
  return text + "@" + short_host_name();
}

etf::term parse_term_argument(const std::string& what, const std::string& text) {
  auto parsed = etf::parse_erlang(text);
  if (!parsed) exit_with(2, "bad " + what + " `" + text + "`: " + parsed.describe());
  return *parsed.value;
}

std::unique_ptr<running_node> running_node::start(const node_flags& flags, const std::string& peer,
                                                  bool embedded_epmd,
                                                  std::optional<std::uint16_t> epmd_port) {
  std::string error;
  auto n = try_start(flags, peer, embedded_epmd, epmd_port, error);
  if (!n) exit_with(1, error);
  return n;
}

std::unique_ptr<running_node> running_node::try_start(const node_flags& flags,
                                                      const std::string& peer, bool embedded_epmd,
                                                      std::optional<std::uint16_t> epmd_port,
                                                      std::string& error) {
  node::node_options no;
  no.cookie = flags.cookie;
  no.hidden = flags.hidden;
  if (!flags.name.empty()) {
    no.name = flags.name;
    no.long_names = true;
  } else if (!flags.sname.empty()) {
    no.name = flags.sname;
  } else {
    // A client: hidden, so that it does not join the peer's cluster (global, pg, nodes()).
    const auto at = peer.find('@');
    const std::string host = at == std::string::npos ? short_host_name() : peer.substr(at + 1);
    no.name = unique_client_name() + "@" + host;
    no.long_names = host.find('.') != std::string::npos || host.find(':') != std::string::npos;
    no.hidden = true;
  }
  node::network_options net;
  net.start_embedded_epmd = embedded_epmd;
  net.epmd_port = epmd_port;

  std::unique_ptr<running_node> n(new running_node(flags.io_threads));
  for (unsigned i = 0; i < n->io_threads_; ++i) {
    n->threads_.emplace_back([io = &n->io_, wait = flags.busy_wait_us] {
      node::run_io(*io, {.busy_wait = std::chrono::microseconds(wait)});
    });
  }
  std::error_code ec;
  std::string why;
  n->net_ = node::network::start(n->io_.get_executor(), no, net, ec, &why);
  if (!n->net_) {
    n.reset();
    error = "cannot start node " + no.name + ": " + ec.message() +
            (why.empty() ? "" : " (" + why + ")");
  }
  return n;
}

void running_node::stop() {
  if (net_) net_->stop();
  work_.reset();
  // The network closes its connections with handlers posted to io_; running them is what
  // breaks the connection <-> peer ownership cycle. Stop hard only if work remains after a
  // grace period (a process still waiting on a receive, say).
  for (int i = 0; i < 100 && !io_.stopped(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  io_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

running_node::~running_node() {
  stop();
}

void connect_or_exit(running_node& n, const std::string& peer, std::chrono::milliseconds timeout) {
  auto done = std::make_shared<std::promise<std::error_code>>();
  n.get_node().connect(peer, [done](std::error_code ec) { done->set_value(ec); });
  auto f = done->get_future();
  if (f.wait_for(timeout) != std::future_status::ready)
    exit_with(1, "cannot connect to " + peer + ": no answer within " +
                     std::to_string(timeout.count()) + " ms");
  if (auto ec = f.get()) {
    const auto detail = n.net().failure_detail(peer);
    exit_with(1, "cannot connect to " + peer + ": " + (detail.empty() ? ec.message() : detail));
  }
}

bool flush_to(running_node& n, const std::string& peer, std::chrono::milliseconds timeout) {
  auto done = std::make_shared<std::promise<bool>>();
  n.get_node().ping(peer, timeout, [done](bool pong) { done->set_value(pong); });
  return done->get_future().get();
}

}  // namespace edist::tools
