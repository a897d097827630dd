#include "edist/node/pg.hpp"

#include <algorithm>
#include <edist/node/error.hpp>

#include "edist/node/gen_server.hpp"

namespace edist::node::pg {

using etf::term;

namespace {

term atom(std::string_view s) {
  return term::atom(s);
}

// PidOrPids as pg sends it: one pid or a proper list of pids; empty when malformed.
std::vector<term> pid_list(const term& t) {
  if (t.is_pid()) return {t};
  if (!t.is_proper_list()) return {};
  std::vector<term> out;
  if (t.is_nil()) return out;
  for (const term& p : t.list_elements()) {
    if (!p.is_pid()) return {};
    out.push_back(p);
  }
  return out;
}

std::vector<term> term_list(const term& t) {
  if (!t.is_proper_list() || t.is_nil()) return {};
  auto e = t.list_elements();
  return {e.begin(), e.end()};
}

bool erase_one(std::vector<term>& v, const term& x) {
  auto it = std::find(v.begin(), v.end(), x);
  if (it == v.end()) return false;
  v.erase(it);
  return true;
}

// A single pid goes out as a pid, several as a list, as pg:join/leave pass them on.
term pid_or_pids(std::span<const term> pids) {
  return pids.size() == 1 ? pids[0] : term::list(pids);
}

}  // namespace

scope_state::scope_state(term self, term name) : self_(std::move(self)), name_(std::move(name)) {}

bool scope_state::is_local(const term& pid) const {
  return pid.is_pid() && pid.as_pid().node == self_.as_pid().node;
}

void scope_state::broadcast(const term& message, std::vector<action>& out) const {
  for (const auto& [peer, groups] : remote_) out.push_back({action::what::send, peer, message});
}

std::vector<action> scope_state::join(const term& group, std::span<const term> pids) {
  std::vector<action> out;
  if (pids.empty()) return out;
  for (const term& p : pids) {
    auto& gs = joined_[p];
    if (gs.empty()) out.push_back({action::what::monitor, p, {}});
    gs.push_back(group);
    local_[group].push_back(p);
  }
  broadcast(term::tuple({atom("join"), self_, group, pid_or_pids(pids)}), out);
  return out;
}

bool scope_state::leave(const term& group, std::span<const term> pids, std::vector<action>& out) {
  std::vector<term> left;
  for (const term& p : pids) {
    auto j = joined_.find(p);
    if (j == joined_.end() || !erase_one(j->second, group)) continue;
    erase_one(local_[group], p);
    if (local_[group].empty()) local_.erase(group);
    if (j->second.empty()) {
      joined_.erase(j);
      out.push_back({action::what::demonitor, p, {}});
    }
    left.push_back(p);
  }
  if (left.empty()) return false;
  broadcast(term::tuple({atom("leave"), self_, pid_or_pids(left), term::list({group})}), out);
  return true;
}

std::vector<action> scope_state::discover(const term& node) const {
  if (!node.is_atom() || node == self_.as_pid().node) return {};
  return {{action::what::send, term::tuple({name_, node}), term::tuple({atom("discover"), self_})}};
}

term scope_state::sync_message() const {
  std::vector<term> groups;
  for (const auto& [g, pids] : local_) groups.push_back(term::tuple({g, term::list(pids)}));
  return gen::cast_message(term::tuple({atom("sync"), self_, term::list(std::move(groups))}));
}

std::vector<action> scope_state::member_down(const term& pid) {
  std::vector<action> out;
  auto j = joined_.find(pid);
  if (j == joined_.end()) return out;
  std::vector<term> groups = std::move(j->second);
  joined_.erase(j);
  for (const term& g : groups) {
    auto it = local_.find(g);
    if (it == local_.end()) continue;
    erase_one(it->second, pid);
    if (it->second.empty()) local_.erase(it);
  }
  // As pg does: one leave with the group list, repeats included.
  broadcast(term::tuple({atom("leave"), self_, pid, term::list(std::move(groups))}), out);
  return out;
}

void scope_state::peer_join(const term& peer, const term& group, std::span<const term> pids) {
  auto& v = remote_[peer][group];
  v.insert(v.end(), pids.begin(), pids.end());
}

void scope_state::peer_leave(const term& peer, std::span<const term> pids,
                             std::span<const term> groups) {
  auto& gs = remote_[peer];
  for (const term& g : groups) {
    auto it = gs.find(g);
    if (it == gs.end()) continue;
    for (const term& p : pids) erase_one(it->second, p);
    if (it->second.empty()) gs.erase(it);
  }
}

std::vector<action> scope_state::handle(const term& m) {
  std::vector<action> out;
  // {discover, Peer} and OTP 27's {discover, Peer, Vsn}.
  if ((m.is_tuple(2) || m.is_tuple(3)) && m[0].is_atom("discover") && m[1].is_pid()) {
    const term& peer = m[1];
    if (peer == self_) return out;
    out.push_back({action::what::send, peer, sync_message()});
    if (!remote_.contains(peer)) {
      remote_[peer];
      out.push_back({action::what::monitor, peer, {}});
      out.push_back({action::what::send, peer, term::tuple({atom("discover"), self_})});
    }
    return out;
  }
  if (auto cast = gen::parse_cast(m)) {
    const term& s = *cast;
    if (!s.is_tuple(3) || !s[0].is_atom("sync") || !s[1].is_pid() || !s[2].is_proper_list())
      return out;
    const term& peer = s[1];
    if (peer == self_) return out;
    std::map<term, std::vector<term>> groups;
    for (const term& e : term_list(s[2])) {
      if (!e.is_tuple(2)) continue;
      auto pids = pid_list(e[1]);
      if (!pids.empty()) groups[e[0]] = std::move(pids);
    }
    if (!remote_.contains(peer)) out.push_back({action::what::monitor, peer, {}});
    remote_[peer] = std::move(groups);
    return out;
  }
  if (m.is_tuple(4) && m[0].is_atom("join") && m[1].is_pid()) {
    // Only from peers we know, as pg ignores the others.
    if (!remote_.contains(m[1])) return out;
    auto pids = pid_list(m[3]);
    if (!pids.empty()) peer_join(m[1], m[2], pids);
    return out;
  }
  if (m.is_tuple(4) && m[0].is_atom("leave") && m[1].is_pid()) {
    if (!remote_.contains(m[1])) return out;
    auto pids = pid_list(m[2]);
    auto groups = term_list(m[3]);
    peer_leave(m[1], pids, groups);
    return out;
  }
  if (m.is_tuple(5) && m[0].is_atom("DOWN") && m[3].is_pid()) {
    const term& pid = m[3];
    if (is_local(pid)) return member_down(pid);
    remote_.erase(pid);
    return out;
  }
  if (m.is_tuple(2) && m[0].is_atom("nodeup")) return discover(m[1]);
  return out;
}

std::vector<term> scope_state::members(const term& group) const {
  std::vector<term> out = local_members(group);
  for (const auto& [peer, groups] : remote_) {
    if (auto it = groups.find(group); it != groups.end())
      out.insert(out.end(), it->second.begin(), it->second.end());
  }
  return out;
}

std::vector<term> scope_state::local_members(const term& group) const {
  auto it = local_.find(group);
  return it == local_.end() ? std::vector<term>{} : it->second;
}

std::vector<term> scope_state::groups() const {
  std::vector<term> out;
  for (const auto& [g, pids] : local_) out.push_back(g);
  for (const auto& [peer, groups] : remote_)
    for (const auto& [g, pids] : groups)
      if (!pids.empty() && std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
  return out;
}

std::vector<term> scope_state::peers() const {
  std::vector<term> out;
  for (const auto& [p, g] : remote_) out.push_back(p);
  return out;
}

// ---- scope ------------------------------------------------------------------------------------

scope::scope(private_tag, runtime& rt, process proc, term name)
    : rt_(rt), pid_(proc.pid()), proc_(std::move(proc)), state_(pid_, std::move(name)) {}

scope::~scope() {
  stop();
}

std::shared_ptr<scope> scope::start(runtime& rt, term name, std::error_code& ec) {
  ec.clear();
  process proc = rt.spawn();
  if ((ec = proc.register_name(name))) return nullptr;
  auto s = std::make_shared<scope>(private_tag{}, rt, std::move(proc), name);
  s->proc_.monitor_nodes(true);
  s->arm();
  return s;
}

void scope::arm() {
  std::weak_ptr<scope> weak = weak_from_this();
  proc_.async_receive([weak](std::error_code ec, term msg) {
    auto self = weak.lock();
    if (!self || ec) return;  // stopped, or the process ended
    {
      std::lock_guard lock(self->mu_);
      self->run(self->state_.handle(msg));
    }
    self->arm();
  });
}

void scope::run(const std::vector<action>& actions) {
  for (const action& a : actions) {
    switch (a.kind) {
      case action::what::send:
        (void)proc_.send(a.to, a.message);
        break;
      case action::what::monitor: {
        term ref = proc_.monitor(a.to);
        if (ref.is_reference() && rt_.is_local(a.to)) monitors_[a.to] = ref;
        break;
      }
      case action::what::demonitor: {
        auto it = monitors_.find(a.to);
        if (it != monitors_.end()) {
          proc_.demonitor(it->second, true);
          monitors_.erase(it);
        }
        break;
      }
    }
  }
}

std::error_code scope::join(const term& group, std::span<const term> pids) {
  for (const term& p : pids)
    if (!p.is_pid() || !rt_.is_local(p)) return errc::not_local;
  std::lock_guard lock(mu_);
  run(state_.join(group, pids));
  return {};
}

bool scope::leave(const term& group, std::span<const term> pids) {
  std::lock_guard lock(mu_);
  std::vector<action> out;
  const bool ok = state_.leave(group, pids, out);
  run(out);
  return ok;
}

void scope::discover(const term& node) {
  std::lock_guard lock(mu_);
  run(state_.discover(node));
}

std::vector<term> scope::get_members(const term& group) const {
  std::lock_guard lock(mu_);
  return state_.members(group);
}

std::vector<term> scope::get_local_members(const term& group) const {
  std::lock_guard lock(mu_);
  return state_.local_members(group);
}

std::vector<term> scope::which_groups() const {
  std::lock_guard lock(mu_);
  return state_.groups();
}

void scope::stop() {
  std::lock_guard lock(mu_);
  if (proc_.valid() && proc_.alive()) proc_.exit(atom("shutdown"));
}

}  // namespace edist::node::pg
