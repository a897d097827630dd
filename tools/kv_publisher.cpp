#include "kv_publisher.hpp"

#include <algorithm>
#include <chrono>
#include <edist/etf/text.hpp>
#include <edist/node/global.hpp>
#include <iostream>

#include "commands.hpp"

namespace edist::tools {

namespace {

using etf::atom;
using etf::term;
using namespace std::chrono_literals;

// Messages the publisher's own process understands besides {nodeup, Node}. The leading '$'
// keeps them apart from anything a peer could plausibly send to this unregistered process.
const char* const kv_started_tag = "$edist_kv_started";
const char* const stop_tag = "$edist_publisher_stop";

// How often a refused :global registration is retried, and after how many attempts the
// operator is told that someone else seems to hold the name.
constexpr auto retry_interval = 250ms;
constexpr int attempts_before_warning = 40;

}  // namespace

kv_publisher::kv_publisher(node::network& net, publish_options options)
    : node_(net.node_ptr()), options_(std::move(options)) {
  if (options_.pg_group) {
    std::error_code ec;
    scope_ = node::pg::scope::start(node_->local(), atom("pg"), ec);
    if (ec) exit_with(1, "cannot start the pg scope: " + ec.message());
  }
  self_ = node_->spawn();
  self_pid_ = self_.pid();
  // Hidden peers too: a hidden node is exactly the case where nobody discovers us by nodeup.
  self_.monitor_nodes(true, true);
  thread_ = std::thread([this] { run(); });
}

kv_publisher::~kv_publisher() {
  stop();
}

void kv_publisher::kv_started(const term& pid) {
  // From any thread: straight into the mailbox, which is thread-safe; the process handle is
  // the publisher thread's alone.
  node_->local().send(self_pid_, term::tuple({atom(kv_started_tag), pid}));
}

void kv_publisher::stop() {
  if (!thread_.joinable()) return;
  node_->local().send(self_pid_, atom(stop_tag));
  thread_.join();
  if (scope_) scope_->stop();
}

std::vector<std::string> kv_publisher::candidates() const {
  std::vector<std::string> out;
  const auto connected = node_->nodes(node::node_list::connected());
  for (const auto& n : options_.via_nodes)
    if (std::find(connected.begin(), connected.end(), n) != connected.end()) out.push_back(n);
  for (const auto& n : connected)
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  return out;
}

bool kv_publisher::publish_global() {
  if (!kv_pid_.is_pid()) return true;
  for (const auto& via : candidates()) {
    node::global::client g(self_, atom(via), 5s);
    if (auto holder = g.whereis_name(*options_.global_name)) {
      if (*holder == kv_pid_) {
        refusals_ = 0;
        warned_ = false;
        return true;
      }
      // An ended incarnation until the BEAM nodes' monitors of it fire, or someone else.
      if (!warned_ && ++refusals_ > attempts_before_warning) {
        std::cerr << "edist serve: the global name " << etf::to_erlang_string(*options_.global_name)
                  << " is held by " << etf::to_erlang_string(*holder) << "; still trying"
                  << std::endl;
        warned_ = true;
      }
      return false;
    }
    term failure;
    if (g.register_name(*options_.global_name, kv_pid_, &failure)) {
      refusals_ = 0;
      warned_ = false;
      return true;
    }
    // {badrpc, _}: not a node with `global` (another edist node, say); try the next one.
    // Otherwise the name was taken between the two calls: try again shortly.
    if (failure.is_tuple(2)) continue;
    return false;
  }
  // No node to register through yet: the next nodeup brings one.
  return true;
}

void kv_publisher::run() {
  bool global_pending = options_.global_name.has_value();
  for (;;) {
    const node::receive_timeout wait =
        global_pending ? node::receive_timeout(retry_interval) : std::nullopt;
    auto r = self_.receive(wait);
    if (r) {
      const term& m = *r;
      if (m.is_atom(stop_tag)) return;
      if (m.is_tuple(2) && m[0].is_atom(kv_started_tag)) {
        kv_pid_ = m[1];
        if (scope_) {
          const term pids[] = {kv_pid_};
          scope_->join(*options_.pg_group, pids);
        }
      } else if (m.is_tuple(2) && m[0].is_atom("nodeup")) {
        if (scope_) scope_->discover(m[1]);
      } else {
        continue;  // nodedown, or a late rpc reply after a timeout
      }
      global_pending = options_.global_name.has_value();
    } else if (r.error == node::errc::process_exited) {
      return;
    }
    if (global_pending) global_pending = !publish_global();
  }
}

}  // namespace edist::tools
