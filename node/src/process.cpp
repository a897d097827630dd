#include "edist/node/process.hpp"

#include <mutex>
#include <stdexcept>

#include "edist/node/runtime.hpp"
#include "runtime_core.hpp"
#include "send_gate.hpp"

namespace edist::node {

using etf::term;

namespace {
const term& nil_term() {
  static const term t;
  return t;
}
}  // namespace

process& process::operator=(process&& other) noexcept {
  if (this != &other) {
    if (state_ && state_->alive.load()) exit(term::atom("normal"));
    runtime_ = std::move(other.runtime_);
    state_ = std::move(other.state_);
  }
  return *this;
}

process::~process() {
  if (state_ && state_->alive.load()) {
    try {
      exit(term::atom("normal"));
    } catch (...) {  // NOLINT(bugprone-empty-catch): nothing sensible to do in a destructor
    }
  }
}

const term& process::pid() const {
  return state_ ? state_->pid : nil_term();
}

bool process::alive() const {
  return state_ && state_->alive.load(std::memory_order_acquire);
}

std::optional<term> process::exit_reason() const {
  if (!state_ || state_->alive.load(std::memory_order_acquire)) return std::nullopt;
  auto& c = owner().core_;
  std::shared_lock lock(c->mu);
  return state_->reason;
}

runtime& process::owner() const {
  if (!runtime_) throw std::logic_error("edist::node::process: empty process handle");
  return *runtime_;
}

std::shared_ptr<mailbox> process::mailbox_ptr() const {
  return state_ ? state_->box : nullptr;
}

mailbox& process::box() const {
  if (!state_) throw std::logic_error("edist::node::process: empty process handle");
  return *state_->box;
}

std::error_code process::send(const term& to, term message) const {
  if (!state_) return make_error_code(errc::process_exited);
  detail::forget_busy_connection();
  const auto ec = owner().core_->send(state_->pid, to, std::move(message));
  detail::wait_for_busy_connection();  // backpressure from a busy connection (network.hpp)
  return ec;
}

receive_result process::receive(receive_timeout timeout) const {
  return box().receive(timeout);
}

void process::start_async_receive(
    std::function<bool(const term&)> pred, receive_timeout timeout,
    boost::asio::any_completion_handler<receive_signature> handler) const {
  box().async_wait(std::move(pred), timeout, owner().get_executor(), std::move(handler));
}

void process::link(const term& pid) const {
  if (!state_ || !pid.is_pid() || pid == state_->pid) return;
  auto& c = *owner().core_;
  auto self = state_;
  c.apply([&](detail::effects& fx) {
    if (!self->alive.load(std::memory_order_relaxed)) return;
    const auto& pf = pid.as_pid();
    if (c.is_this_node(pf.node)) {
      auto peer = c.lookup(pid);
      if (!peer) {
        c.exit_signal_locked(self, pid, c.a.noproc, detail::exit_kind::forced_link, fx);
        return;
      }
      self->links[pid] = {};
      peer->links[self->pid] = {};
      return;
    }
    auto [it, inserted] = self->links.try_emplace(pid);
    const bool was_active = !inserted && it->second.unlink_id == 0;
    it->second.unlink_id = 0;
    if (!was_active) fx.remote.push_back({pf.node, {signal_kind::link, self->pid, pid, {}, {}, 0}});
  });
}

void process::unlink(const term& pid) const {
  if (!state_ || !pid.is_pid()) return;
  auto& c = *owner().core_;
  auto self = state_;
  c.apply([&](detail::effects& fx) {
    auto it = self->links.find(pid);
    if (it == self->links.end()) return;
    const auto& pf = pid.as_pid();
    if (c.is_this_node(pf.node)) {
      self->links.erase(it);
      if (auto peer = c.lookup(pid)) peer->links.erase(self->pid);
      return;
    }
    if (it->second.unlink_id != 0) return;  // already unlinking
    const std::uint64_t id = c.next_unlink.fetch_add(1, std::memory_order_relaxed);
    it->second.unlink_id = id;
    fx.remote.push_back({pf.node, {signal_kind::unlink_id, self->pid, pid, {}, {}, id}});
  });
}

term process::monitor(const term& target) const {
  if (!state_) return term();
  auto& c = *owner().core_;
  // Normalise: a name alone means {Name, node()}.
  term name, node;
  term pid;
  if (target.is_pid()) {
    pid = target;
  } else if (target.is_atom()) {
    name = target;
    node = c.node;
  } else if (target.is_tuple(2) && target[0].is_atom() && target[1].is_atom()) {
    name = target[0];
    node = target[1];
  } else {
    return term();
  }
  term ref = c.make_ref();
  auto self = state_;
  c.apply([&](detail::effects& fx) {
    if (!self->alive.load(std::memory_order_relaxed)) return;
    const bool by_name = name.is_atom();
    const term item = by_name ? term::tuple({name, node}) : pid;
    const term& target_node = by_name ? node : pid.as_pid().node;
    if (c.is_this_node(target_node)) {
      auto t = by_name ? c.lookup_name(name) : c.lookup(pid);
      if (!t) {
        c.push_down(*self, ref, item, c.a.noproc);
        return;
      }
      t->monitors_in[ref] = {self->pid, by_name ? name : term()};
      self->monitors_out[ref] = {t->pid, item, term()};
      return;
    }
    const term& remote_target = by_name ? name : pid;
    self->monitors_out[ref] = {remote_target, item, target_node};
    fx.remote.push_back(
        {target_node, {signal_kind::monitor, self->pid, remote_target, ref, {}, 0}});
  });
  return ref;
}

bool process::demonitor(const term& ref, bool flush) const {
  if (!state_) return false;
  auto& c = *owner().core_;
  auto self = state_;
  bool was_active = false;
  c.apply([&](detail::effects& fx) {
    auto it = self->monitors_out.find(ref);
    if (it == self->monitors_out.end()) return;
    was_active = true;
    if (it->second.node.is_atom()) {
      fx.remote.push_back(
          {it->second.node, {signal_kind::demonitor, self->pid, it->second.target, ref, {}, 0}});
    } else if (auto t = c.lookup(it->second.target)) {
      t->monitors_in.erase(ref);
    }
    self->monitors_out.erase(it);
  });
  if (flush) {
    const term& down = c.a.down;
    auto is_down = [&](const term& m) { return m.is_tuple(5) && m[0] == down && m[1] == ref; };
    self->box->remove_if(is_down);
  }
  return was_active;
}

void process::trap_exit(bool on) const {
  if (!state_) return;
  auto& c = *owner().core_;
  std::unique_lock lock(c.mu);
  state_->trap_exit = on;
}

bool process::trapping_exit() const {
  if (!state_) return false;
  auto& c = *owner().core_;
  std::shared_lock lock(c.mu);
  return state_->trap_exit;
}

void process::exit(const term& to, const term& reason) const {
  if (!state_) return;
  owner().exit(state_->pid, to, reason);
}

void process::exit(const term& reason) const {
  if (!state_) return;
  auto& c = *owner().core_;
  auto self = state_;
  c.apply([&](detail::effects& fx) { c.kill_locked(self, reason, fx); });
}

std::error_code process::register_name(const term& name) const {
  if (!state_) return make_error_code(errc::process_exited);
  return owner().register_name(name, state_->pid);
}

term process::make_alias() const {
  if (!state_) return term();
  auto& c = *owner().core_;
  term ref = c.make_ref();
  std::unique_lock lock(c.mu);
  if (!state_->alive.load(std::memory_order_relaxed)) return ref;
  state_->aliases.push_back(ref);
  c.aliases.emplace(ref, state_);
  return ref;
}

bool process::unalias(const term& alias) const {
  if (!state_) return false;
  auto& c = *owner().core_;
  std::unique_lock lock(c.mu);
  auto it = c.aliases.find(alias);
  if (it == c.aliases.end() || it->second != state_) return false;
  c.aliases.erase(it);
  std::erase(state_->aliases, alias);
  return true;
}

void process::monitor_nodes(bool on, bool include_hidden) const {
  if (!state_) return;
  auto& c = *owner().core_;
  std::unique_lock lock(c.mu);
  state_->monitors_nodes = on;
  state_->monitors_hidden_nodes = on && include_hidden;
}

void process::monitor_node(const term& node, bool on) const {
  if (!state_ || !node.is_atom()) return;
  auto& c = *owner().core_;
  std::unique_lock lock(c.mu);
  if (on) {
    ++state_->node_monitors[node];
  } else if (auto it = state_->node_monitors.find(node); it != state_->node_monitors.end()) {
    if (--it->second == 0) state_->node_monitors.erase(it);
  }
}

}  // namespace edist::node
