#include "edist/node/global_tables.hpp"

#include <algorithm>

namespace edist::node::global {

using etf::term;

std::optional<term> name_table::insert(const term& name, const term& pid, const term& method,
                                       const term& monitor) {
  std::optional<term> displaced;
  auto it = names_.find(name);
  if (it != names_.end()) {
    displaced = it->second.monitor;
    by_monitor_.erase(it->second.monitor);
    names_.erase(it);
  }
  names_.emplace(name, name_entry{pid, method, monitor});
  by_monitor_[monitor] = name;
  return displaced;
}

std::optional<name_entry> name_table::erase(const term& name) {
  auto it = names_.find(name);
  if (it == names_.end()) return std::nullopt;
  name_entry e = it->second;
  by_monitor_.erase(e.monitor);
  names_.erase(it);
  return e;
}

std::optional<term> name_table::erase_by_monitor(const term& monitor) {
  auto it = by_monitor_.find(monitor);
  if (it == by_monitor_.end()) return std::nullopt;
  term name = it->second;
  by_monitor_.erase(it);
  names_.erase(name);
  return name;
}

const name_entry* name_table::find(const term& name) const {
  auto it = names_.find(name);
  return it == names_.end() ? nullptr : &it->second;
}

bool name_table::pid_has_name(const term& pid) const {
  return std::any_of(names_.begin(), names_.end(),
                     [&](const auto& kv) { return kv.second.pid == pid; });
}

std::vector<term> name_table::names() const {
  std::vector<term> out;
  out.reserve(names_.size());
  for (const auto& [n, e] : names_) out.push_back(n);
  return out;
}

term name_table::exchange_list() const {
  std::vector<term> out;
  out.reserve(names_.size());
  for (const auto& [n, e] : names_) out.push_back(term::tuple({n, e.pid, e.method}));
  return term::list(std::move(out));
}

bool lock_table::can_set(const term& resource, const term& requester) const {
  auto it = locks_.find(resource);
  return it == locks_.end() || it->second.requester == requester;
}

bool lock_table::try_set(const term& resource, const term& requester, const term& pid,
                         bool& needs_monitor) const {
  needs_monitor = false;
  auto it = locks_.find(resource);
  if (it == locks_.end()) {
    needs_monitor = true;
    return true;
  }
  if (!(it->second.requester == requester)) return false;
  const auto& hs = it->second.holders;
  needs_monitor = std::none_of(hs.begin(), hs.end(), [&](const auto& h) { return h.first == pid; });
  return true;
}

void lock_table::add_holder(const term& resource, const term& requester, const term& pid,
                            const term& monitor) {
  auto& l = locks_[resource];
  if (l.holders.empty()) l.requester = requester;
  l.holders.emplace_back(pid, monitor);
}

std::optional<term> lock_table::release(const term& resource, const term& requester,
                                        const term& pid) {
  auto it = locks_.find(resource);
  if (it == locks_.end() || !(it->second.requester == requester)) return std::nullopt;
  auto& hs = it->second.holders;
  auto h = std::find_if(hs.begin(), hs.end(), [&](const auto& x) { return x.first == pid; });
  if (h == hs.end()) return std::nullopt;
  term monitor = h->second;
  hs.erase(h);
  if (hs.empty()) locks_.erase(it);
  return monitor;
}

bool lock_table::release_by_monitor(const term& monitor) {
  bool any = false;
  for (auto it = locks_.begin(); it != locks_.end();) {
    auto& hs = it->second.holders;
    auto before = hs.size();
    hs.erase(
        std::remove_if(hs.begin(), hs.end(), [&](const auto& h) { return h.second == monitor; }),
        hs.end());
    any = any || hs.size() != before;
    it = hs.empty() ? locks_.erase(it) : std::next(it);
  }
  return any;
}

term lock_table::requester(const term& resource) const {
  auto it = locks_.find(resource);
  return it == locks_.end() ? term() : it->second.requester;
}

namespace {

term node_of(const term& pid) {
  return pid.as_pid().node;
}

term insert_op(const term& name, const term& pid, const term& method) {
  return term::tuple({term::atom("insert"), term::tuple({name, pid, method})});
}

}  // namespace

exchange_outcome exchange_names(const name_table& ours, const term& his_names,
                                const term& this_node, const term& his_node) {
  exchange_outcome out;
  if (!his_names.is_proper_list() || his_names.is_nil()) return out;
  for (const term& e : his_names.list_elements()) {
    if (!e.is_tuple(3) || !e[1].is_pid()) continue;
    const term& name = e[0];
    const term& pid = e[1];
    const term& method = e[2];
    const name_entry* mine = ours.find(name);
    if (mine == nullptr) {
      out.ops.push_back(insert_op(name, pid, method));
      continue;
    }
    if (mine->pid == pid) continue;
    // The node with the smaller name resolves; the other one waits for {resolved, ...}.
    if (!(this_node < his_node)) continue;
    auto d = resolve_conflict(mine->method, name, pid, mine->pid);
    out.kill.insert(out.kill.end(), d.kill.begin(), d.kill.end());
    out.notify.insert(out.notify.end(), d.notify.begin(), d.notify.end());
    if (d.winner == pid) {
      out.ops.push_back(insert_op(name, pid, method));
    } else if (d.winner == mine->pid) {
      out.resolved.push_back(insert_op(name, mine->pid, mine->method));
    } else {
      const term del = term::tuple({term::atom("delete"), name});
      out.ops.push_back(del);
      out.resolved.push_back(del);
    }
  }
  return out;
}

conflict_decision resolve_conflict(const term& method, const term& name, const term& pid1,
                                   const term& pid2) {
  term function;
  if (method.is_fun() && method.as_fun().is_export && method.as_fun().module.is_atom("global")) {
    function = method.as_fun().function;
  } else if (method.is_tuple(2) && method[0].is_atom("global")) {
    function = method[1];
  }
  conflict_decision d;
  if (!pid1.is_pid() || !pid2.is_pid()) return d;
  // minmax/2 of global.erl: by node, the second pid when both are on one node.
  const bool first_is_min = node_of(pid1) < node_of(pid2);
  const term& min = first_is_min ? pid1 : pid2;
  const term& max = first_is_min ? pid2 : pid1;
  const term conflict = term::atom("global_name_conflict");
  if (function.is_atom("notify_all_name")) {
    d.notify.emplace_back(pid1, term::tuple({conflict, name, pid2}));
    d.notify.emplace_back(pid2, term::tuple({conflict, name, pid1}));
    return d;
  }
  d.winner = min;
  if (function.is_atom("random_notify_name")) {
    d.notify.emplace_back(max, term::tuple({conflict, name}));
  } else {
    d.kill.push_back(max);
  }
  return d;
}

std::optional<name_op> parse_op(const term& op) {
  if (!op.is_tuple(2)) return std::nullopt;
  if (op[0].is_atom("delete")) return name_op{false, op[1], {}, {}};
  if (op[0].is_atom("insert") && op[1].is_tuple(3) && op[1][1].is_pid()) {
    return name_op{true, op[1][0], op[1][1], op[1][2]};
  }
  return std::nullopt;
}

}  // namespace edist::node::global
