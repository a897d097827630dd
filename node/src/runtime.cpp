#include "edist/node/runtime.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/strand.hpp>
#include <exception>
#include <functional>
#include <mutex>

#include "completion_batch.hpp"
#include "runtime_core.hpp"
#include "send_gate.hpp"

namespace edist::node {

namespace asio = boost::asio;
using etf::term;

std::string_view to_string(signal_kind k) noexcept {
  switch (k) {
    case signal_kind::send:
      return "send";
    case signal_kind::reg_send:
      return "reg_send";
    case signal_kind::alias_send:
      return "alias_send";
    case signal_kind::link:
      return "link";
    case signal_kind::unlink_id:
      return "unlink_id";
    case signal_kind::unlink_id_ack:
      return "unlink_id_ack";
    case signal_kind::exit:
      return "exit";
    case signal_kind::exit2:
      return "exit2";
    case signal_kind::monitor:
      return "monitor";
    case signal_kind::demonitor:
      return "demonitor";
    case signal_kind::monitor_exit:
      return "monitor_exit";
  }
  return "unknown";
}

namespace detail {

std::shared_ptr<process_state> runtime_core::lookup(const term& pid) const {
  if (!pid.is_pid()) return nullptr;
  const auto& f = pid.as_pid();
  if (f.creation != creation || !is_this_node(f.node)) return nullptr;
  auto it = procs.find(key_of(f.id, f.serial));
  return it == procs.end() ? nullptr : it->second;
}

std::shared_ptr<process_state> runtime_core::lookup_name(const term& name) const {
  auto it = names.find(name);
  return it == names.end() ? nullptr : it->second;
}

process_state* runtime_core::find(const term& pid) const {
  if (!pid.is_pid()) return nullptr;
  const auto& f = pid.as_pid();
  if (f.creation != creation || !is_this_node(f.node)) return nullptr;
  auto it = procs.find(key_of(f.id, f.serial));
  return it == procs.end() ? nullptr : it->second.get();
}

process_state* runtime_core::find_name(const term& name) const {
  auto it = names.find(name);
  return it == names.end() ? nullptr : it->second.get();
}

void runtime_core::send_to_name(const term& name, term message) {
  std::shared_lock lock(mu);
  if (auto* p = find_name(name)) p->box->push(std::move(message));
}

term runtime_core::make_ref() {
  const std::uint64_t n = next_ref.fetch_add(1, std::memory_order_relaxed);
  // BEAM keeps the first word to 18 bits; doing the same keeps our refs printable and
  // comparable in the same way on the peer.
  const std::uint32_t words[3] = {static_cast<std::uint32_t>(n & 0x3ffff),
                                  static_cast<std::uint32_t>(n >> 18),
                                  static_cast<std::uint32_t>(n >> 50)};
  return term::reference(node, creation, words);
}

std::error_code runtime_core::send(const term& from, const term& to, term message) {
  term dest_node;
  remote_signal sig;
  switch (to.type()) {
    case etf::kind::pid: {
      const auto& f = to.as_pid();
      if (is_this_node(f.node)) {
        std::shared_lock lock(mu);
        if (auto* p = find(to)) p->box->push(std::move(message));
        return {};
      }
      dest_node = f.node;
      sig = remote_signal{signal_kind::send, from, to, {}, std::move(message), 0};
      break;
    }
    case etf::kind::atom: {
      std::shared_lock lock(mu);
      auto* p = find_name(to);
      if (p == nullptr) return make_error_code(errc::not_registered);
      p->box->push(std::move(message));
      return {};
    }
    case etf::kind::tuple: {
      if (!to.is_tuple(2) || !to[0].is_atom() || !to[1].is_atom()) {
        return make_error_code(errc::invalid_target);
      }
      if (is_this_node(to[1])) {
        send_to_name(to[0], std::move(message));
        return {};
      }
      dest_node = to[1];
      sig = remote_signal{signal_kind::reg_send, from, to[0], {}, std::move(message), 0};
      break;
    }
    case etf::kind::reference: {
      const auto& f = to.as_reference();
      if (is_this_node(f.node)) {
        std::shared_lock lock(mu);
        auto it = aliases.find(to);
        if (it != aliases.end()) it->second->box->push(std::move(message));
        return {};
      }
      dest_node = f.node;
      sig = remote_signal{signal_kind::alias_send, from, to, {}, std::move(message), 0};
      break;
    }
    default:
      return make_error_code(errc::invalid_target);
  }
  std::shared_lock lock(gateway_mu);
  if (gateway != nullptr) gateway->route(dest_node, std::move(sig));
  return {};
}

void runtime_core::kill_locked(const std::shared_ptr<process_state>& p, const term& reason,
                               effects& fx) {
  if (!p->alive.load(std::memory_order_relaxed)) return;
  p->reason = reason;
  p->alive.store(false, std::memory_order_release);
  fx.dying.push_back(p);
}

void runtime_core::exit_signal_locked(const std::shared_ptr<process_state>& p, const term& from,
                                      const term& reason, exit_kind kind, effects& fx) {
  if (!p || !p->alive.load(std::memory_order_relaxed)) return;
  if (kind == exit_kind::link) {
    auto it = p->links.find(from);
    if (it == p->links.end()) return;
    // While our UNLINK_ID is unacknowledged the link no longer counts for us.
    const bool active = it->second.unlink_id == 0;
    p->links.erase(it);
    if (!active) return;
  }
  if (kind == exit_kind::exit2 && reason == a.kill) {
    kill_locked(p, a.killed, fx);
  } else if (p->trap_exit) {
    p->box->push(term::tuple({a.exit_tag, from, reason}));
  } else if (reason == a.normal) {
    // A normal exit signal is ignored, unless a process sends it to itself with exit/2.
    if (kind == exit_kind::exit2 && from == p->pid) kill_locked(p, reason, fx);
  } else {
    kill_locked(p, reason, fx);
  }
}

void runtime_core::push_down(process_state& watcher, const term& ref, const term& item,
                             const term& reason) {
  watcher.box->push(term::tuple({a.down, ref, a.process, item, reason}));
}

void runtime_core::drain_locked(effects& fx) {
  // A worklist rather than recursion: a long chain of linked processes must not exhaust the
  // stack.
  while (!fx.dying.empty()) {
    auto p = std::move(fx.dying.back());
    fx.dying.pop_back();
    cleanup_locked(*p, fx);
  }
}

void runtime_core::cleanup_locked(process_state& p, effects& fx) {
  p.box->close();
  procs.erase(p.key);
  if (p.named) {
    names.erase(p.name);
    p.named = false;
  }
  for (const auto& al : p.aliases) aliases.erase(al);
  p.aliases.clear();
  const term& reason = p.reason;

  auto links = std::move(p.links);
  p.links.clear();
  for (const auto& [peer, entry] : links) {
    if (entry.unlink_id != 0) continue;
    const auto& pf = peer.as_pid();
    if (is_this_node(pf.node)) {
      exit_signal_locked(lookup(peer), p.pid, reason, exit_kind::link, fx);
    } else {
      fx.remote.push_back({pf.node, {signal_kind::exit, p.pid, peer, {}, reason, 0}});
    }
  }

  auto in = std::move(p.monitors_in);
  p.monitors_in.clear();
  for (const auto& [ref, m] : in) {
    const auto& wf = m.watcher.as_pid();
    if (is_this_node(wf.node)) {
      auto w = lookup(m.watcher);
      if (w && w->monitors_out.erase(ref) > 0) {
        push_down(*w, ref, m.by_name.is_atom() ? term::tuple({m.by_name, node}) : p.pid, reason);
      }
    } else {
      fx.remote.push_back({wf.node,
                           {signal_kind::monitor_exit, m.by_name.is_atom() ? m.by_name : p.pid,
                            m.watcher, ref, reason, 0}});
    }
  }

  auto out = std::move(p.monitors_out);
  p.monitors_out.clear();
  for (const auto& [ref, m] : out) {
    if (m.node.is_atom()) {
      fx.remote.push_back({m.node, {signal_kind::demonitor, p.pid, m.target, ref, {}, 0}});
    } else if (auto t = lookup(m.target)) {
      t->monitors_in.erase(ref);
    }
  }
  p.node_monitors.clear();
  p.monitors_nodes = false;
}

void runtime_core::flush(effects& fx) {
  while (!fx.remote.empty()) {
    auto batch = std::move(fx.remote);
    fx.remote.clear();
    std::vector<remote_signal> failed;
    {
      std::shared_lock lock(gateway_mu);
      for (auto& [dest, sig] : batch) {
        const bool reachable = gateway != nullptr && gateway->route(dest, sig);
        if (!reachable && (sig.kind == signal_kind::link || sig.kind == signal_kind::monitor)) {
          failed.push_back(std::move(sig));
        }
      }
    }
    if (failed.empty()) return;
    std::unique_lock lock(mu);
    for (auto& sig : failed) {
      auto p = lookup(sig.from);
      if (!p) continue;
      if (sig.kind == signal_kind::link) {
        exit_signal_locked(p, sig.to, a.noconnection, exit_kind::link, fx);
      } else {
        auto it = p->monitors_out.find(sig.ref);
        if (it != p->monitors_out.end()) {
          push_down(*p, sig.ref, it->second.item, a.noconnection);
          p->monitors_out.erase(it);
        }
      }
    }
    drain_locked(fx);
  }
}

// Drives an actor: one pending receive at a time, handled on a strand.
struct actor_runner : std::enable_shared_from_this<actor_runner> {
  process self;
  runtime::message_handler on_message;
  runtime::exit_handler on_exit;
  asio::strand<asio::any_io_executor> strand;
  // Keeps the executor's context running (outstanding work) while the actor lives, as a
  // pending receive would: run() must not return under an actor waiting for messages.
  asio::any_io_executor alive_work;

  actor_runner(process p, runtime::message_handler m, runtime::exit_handler e,
               asio::any_io_executor ex)
      : self(std::move(p)),
        on_message(std::move(m)),
        on_exit(std::move(e)),
        strand(asio::make_strand(ex)),
        alive_work(asio::prefer(std::move(ex), asio::execution::outstanding_work.tracked)) {}

  void deliver(const term& msg) {
    try {
      on_message(self, msg);
    } catch (const std::exception& e) {
      self.exit(term::tuple({term::atom("cpp_exception"), term::binary(e.what())}));
    } catch (...) {
      self.exit(term::tuple({term::atom("cpp_exception"), term::binary("unknown")}));
    }
  }

  // Waits for the next message (or the end of the process) without an asynchronous receive:
  // the mailbox calls back the push or close that ends the wait, which schedules a turn.
  void wait_for_message() {
    std::function<void()> wake = [r = shared_from_this()] { r->schedule_turn(); };
    if (!self.mailbox_ptr()->notify_when_ready(wake)) schedule_turn();
  }

  // On the strand, never inside the caller: posted, or, inside a completion batch (the read
  // that brought the message, another actor's turn), run when that work is over.
  void schedule_turn() {
    asio::any_completion_handler<void()> turn = [r = shared_from_this()] { r->take_turn(); };
    if (!completion_batch::defer(strand, turn)) asio::post(strand, std::move(turn));
  }

  // Messages an actor handles per turn when more are queued: the bound lets the other actors
  // sharing the threads take their turn.
  static constexpr int batch = 64;

  void take_turn() {
    // What this turn causes (other actors' turns, this one's next turn, a connection's send)
    // runs on this thread when the turn is over, instead of being posted to another.
    completion_batch turn_work;
    bool ended = false;
    for (int n = 0; n < batch; ++n) {
      auto next = self.mailbox_ptr()->try_receive([](const term&) { return true; });
      if (!next) {
        ended = next.error == errc::process_exited;
        break;
      }
      deliver(*next);
      if (!self.alive()) {
        ended = true;
        break;
      }
    }
    if (ended || !self.alive()) {
      if (on_exit) {
        auto reason = self.exit_reason();
        on_exit(reason ? *reason : term::atom("normal"));
      }
      alive_work = asio::any_io_executor();
    } else {
      wait_for_message();
    }
    turn_work.finish();
  }
};

}  // namespace detail

// ---- runtime -------------------------------------------------------------------------------

runtime::runtime(private_tag, asio::any_io_executor executor, std::string_view node_name,
                 std::uint32_t creation)
    : core_(std::make_unique<detail::runtime_core>()) {
  auto& c = *core_;
  c.executor = std::move(executor);
  c.node = term::atom(node_name);
  c.creation = creation;
  c.a = {term::atom("EXIT"),     term::atom("DOWN"),         term::atom("process"),
         term::atom("normal"),   term::atom("kill"),         term::atom("killed"),
         term::atom("noproc"),   term::atom("noconnection"), term::atom("nodeup"),
         term::atom("nodedown"), term::atom("undefined"),    term::atom("shutdown")};
}

std::shared_ptr<runtime> runtime::create(asio::any_io_executor executor, std::string_view node_name,
                                         std::uint32_t creation) {
  return std::make_shared<runtime>(private_tag{}, std::move(executor), node_name, creation);
}

runtime::~runtime() {
  shutdown(core_->a.shutdown);
}

const term& runtime::node() const noexcept {
  return core_->node;
}
std::uint32_t runtime::creation() const noexcept {
  return core_->creation;
}
const asio::any_io_executor& runtime::get_executor() const noexcept {
  return core_->executor;
}

void runtime::set_gateway(remote_gateway* gateway) {
  std::unique_lock lock(core_->gateway_mu);
  core_->gateway = gateway;
}

process runtime::spawn() {
  auto& c = *core_;
  auto st = std::make_shared<detail::process_state>();
  const std::uint64_t n = c.next_pid.fetch_add(1, std::memory_order_relaxed);
  const auto id = static_cast<std::uint32_t>(n & 0x0fffffff);
  const auto serial = static_cast<std::uint32_t>(n >> 28);
  st->pid = term::pid(c.node, id, serial, c.creation);
  st->key = detail::runtime_core::key_of(id, serial);
  {
    std::unique_lock lock(c.mu);
    if (c.stopped) {
      st->alive = false;
      st->reason = c.a.noproc;
      st->box->close();
    } else {
      c.procs.emplace(st->key, st);
    }
  }
  return process(shared_from_this(), std::move(st));
}

term runtime::spawn_actor(message_handler on_message, exit_handler on_exit) {
  process p = spawn();
  term pid = p.pid();
  auto runner = std::make_shared<detail::actor_runner>(std::move(p), std::move(on_message),
                                                       std::move(on_exit), core_->executor);
  runner->wait_for_message();
  return pid;
}

term runtime::make_ref() {
  return core_->make_ref();
}

std::error_code runtime::send(const term& to, term message) {
  detail::forget_busy_connection();
  const auto ec = core_->send(term(), to, std::move(message));
  detail::wait_for_busy_connection();  // backpressure from a busy connection (network.hpp)
  return ec;
}

void runtime::exit(const term& from, const term& to, const term& reason) {
  auto& c = *core_;
  if (!to.is_pid()) return;
  const auto& tf = to.as_pid();
  if (c.is_this_node(tf.node)) {
    c.apply([&](detail::effects& fx) {
      c.exit_signal_locked(c.lookup(to), from, reason, detail::exit_kind::exit2, fx);
    });
    return;
  }
  detail::effects fx;
  fx.remote.push_back({tf.node, {signal_kind::exit2, from, to, {}, reason, 0}});
  c.flush(fx);
}

std::error_code runtime::register_name(const term& name, const term& pid) {
  auto& c = *core_;
  if (!name.is_atom() || name == c.a.undefined) return make_error_code(errc::invalid_name);
  if (!pid.is_pid()) return make_error_code(errc::invalid_target);
  if (!is_local(pid)) return make_error_code(errc::not_local);
  std::unique_lock lock(c.mu);
  auto p = c.lookup(pid);
  if (!p) return make_error_code(errc::no_such_process);
  if (c.names.count(name) != 0) return make_error_code(errc::name_in_use);
  if (p->named) return make_error_code(errc::already_registered);
  p->named = true;
  p->name = name;
  c.names.emplace(name, std::move(p));
  return {};
}

std::error_code runtime::unregister_name(const term& name) {
  auto& c = *core_;
  std::unique_lock lock(c.mu);
  auto it = c.names.find(name);
  if (it == c.names.end()) return make_error_code(errc::not_registered);
  it->second->named = false;
  it->second->name = term();
  c.names.erase(it);
  return {};
}

std::optional<term> runtime::whereis(const term& name) const {
  auto& c = *core_;
  std::shared_lock lock(c.mu);
  auto p = c.lookup_name(name);
  if (!p) return std::nullopt;
  return p->pid;
}

std::vector<term> runtime::registered() const {
  auto& c = *core_;
  std::shared_lock lock(c.mu);
  std::vector<term> out;
  out.reserve(c.names.size());
  for (const auto& [name, p] : c.names) out.push_back(name);
  return out;
}

bool runtime::is_local(const term& pid) const noexcept {
  return pid.is_pid() && core_->is_this_node(pid.as_pid().node);
}

bool runtime::is_alive(const term& pid) const {
  auto& c = *core_;
  std::shared_lock lock(c.mu);
  return c.lookup(pid) != nullptr;
}

std::size_t runtime::process_count() const {
  auto& c = *core_;
  std::shared_lock lock(c.mu);
  return c.procs.size();
}

void runtime::spawn_reply(const term& from_node, const term& requester, const term& req_id,
                          bool link, bool monitor, const term& result) {
  auto& c = *core_;
  if (!req_id.is_reference()) return;
  const bool ok = result.is_pid();
  // A peer may only announce its own processes.
  if (ok && !(result.as_pid().node == from_node)) return;
  bool delivered = false;
  c.apply([&](detail::effects& fx) {
    auto p = c.lookup(requester);
    if (!p) {
      if (ok && link) {
        fx.remote.push_back({from_node, {signal_kind::exit, requester, result, {}, c.a.noproc, 0}});
      }
      if (ok && monitor) {
        fx.remote.push_back(
            {from_node, {signal_kind::demonitor, requester, result, req_id, {}, 0}});
      }
      return;
    }
    if (ok && link) p->links.try_emplace(result);
    if (ok && monitor) p->monitors_out[req_id] = {result, result, from_node};
    delivered = true;
  });
  // The peer sends the child's exit or DOWN after its reply on the same connection, so they
  // find the link and monitor in place and reach the mailbox after this message.
  if (delivered) {
    c.send(
        term(), requester,
        term::tuple({term::atom("spawn_reply"), req_id, term::atom(ok ? "ok" : "error"), result}));
  }
}

void runtime::deliver(const term& from_node, remote_signal s) {
  auto& c = *core_;
  // A peer may only speak for its own processes.
  if (s.from.is_pid() && !(s.from.as_pid().node == from_node)) return;
  switch (s.kind) {
    case signal_kind::send:
      if (s.to.is_pid() && is_local(s.to)) c.send(s.from, s.to, std::move(s.payload));
      return;
    case signal_kind::reg_send:
      if (s.to.is_atom()) c.send_to_name(s.to, std::move(s.payload));
      return;
    case signal_kind::alias_send:
      if (s.to.is_reference() && c.is_this_node(s.to.as_reference().node)) {
        c.send(s.from, s.to, std::move(s.payload));
      }
      return;
    default:
      break;
  }
  if (!s.from.is_pid() && s.kind != signal_kind::monitor_exit) return;
  c.apply([&](detail::effects& fx) {
    switch (s.kind) {
      case signal_kind::link: {
        auto p = c.lookup(s.to);
        if (!p) {
          if (s.to.is_pid()) {
            fx.remote.push_back({from_node, {signal_kind::exit, s.to, s.from, {}, c.a.noproc, 0}});
          }
          return;
        }
        // An entry in unlinking state stays: the peer's LINK crossed our UNLINK_ID, which it
        // will apply next, so the link must end up absent.
        p->links.try_emplace(s.from);
        return;
      }
      case signal_kind::unlink_id: {
        if (auto p = c.lookup(s.to)) {
          auto it = p->links.find(s.from);
          if (it != p->links.end() && it->second.unlink_id == 0) p->links.erase(it);
        }
        if (s.to.is_pid()) {
          fx.remote.push_back(
              {from_node, {signal_kind::unlink_id_ack, s.to, s.from, {}, {}, s.id}});
        }
        return;
      }
      case signal_kind::unlink_id_ack: {
        if (auto p = c.lookup(s.to)) {
          auto it = p->links.find(s.from);
          if (it != p->links.end() && it->second.unlink_id == s.id) p->links.erase(it);
        }
        return;
      }
      case signal_kind::exit:
        c.exit_signal_locked(c.lookup(s.to), s.from, s.payload, detail::exit_kind::link, fx);
        return;
      case signal_kind::exit2:
        c.exit_signal_locked(c.lookup(s.to), s.from, s.payload, detail::exit_kind::exit2, fx);
        return;
      case signal_kind::monitor: {
        if (!s.ref.is_reference()) return;
        auto p = s.to.is_atom() ? c.lookup_name(s.to) : c.lookup(s.to);
        if (!p) {
          if (s.to.is_atom() || s.to.is_pid()) {
            fx.remote.push_back(
                {from_node, {signal_kind::monitor_exit, s.to, s.from, s.ref, c.a.noproc, 0}});
          }
          return;
        }
        p->monitors_in[s.ref] = {s.from, s.to.is_atom() ? s.to : term()};
        return;
      }
      case signal_kind::demonitor: {
        auto p = s.to.is_atom() ? c.lookup_name(s.to) : c.lookup(s.to);
        if (p && p->monitors_in.erase(s.ref) > 0) return;
        // The name may have moved on since the monitor was set up: find it by reference.
        for (auto& [key, q] : c.procs) {
          if (q->monitors_in.erase(s.ref) > 0) return;
        }
        return;
      }
      case signal_kind::monitor_exit: {
        auto p = c.lookup(s.to);
        if (!p) return;
        auto it = p->monitors_out.find(s.ref);
        if (it == p->monitors_out.end() || !(it->second.node == from_node)) return;
        c.push_down(*p, s.ref, it->second.item, s.payload);
        p->monitors_out.erase(it);
        return;
      }
      default:
        return;
    }
  });
}

void runtime::node_up(const term& node, bool hidden) {
  auto& c = *core_;
  std::shared_lock lock(c.mu);
  for (auto& [key, p] : c.procs) {
    if (p->monitors_nodes && (!hidden || p->monitors_hidden_nodes)) {
      p->box->push(term::tuple({c.a.nodeup, node}));
    }
  }
}

void runtime::node_down(const term& node, bool hidden, bool was_up) {
  auto& c = *core_;
  c.apply([&](detail::effects& fx) {
    std::vector<std::shared_ptr<detail::process_state>> all;
    all.reserve(c.procs.size());
    for (auto& [key, p] : c.procs) all.push_back(p);
    for (auto& p : all) {
      std::vector<term> peers;
      for (auto& [peer, entry] : p->links) {
        if (peer.as_pid().node == node) peers.push_back(peer);
      }
      for (auto& peer : peers) {
        c.exit_signal_locked(p, peer, c.a.noconnection, detail::exit_kind::link, fx);
      }
      for (auto it = p->monitors_out.begin(); it != p->monitors_out.end();) {
        if (it->second.node == node) {
          c.push_down(*p, it->first, it->second.item, c.a.noconnection);
          it = p->monitors_out.erase(it);
        } else {
          ++it;
        }
      }
      std::erase_if(p->monitors_in,
                    [&](const auto& kv) { return kv.second.watcher.as_pid().node == node; });
      if (auto it = p->node_monitors.find(node); it != p->node_monitors.end()) {
        for (unsigned i = 0; i < it->second; ++i) p->box->push(term::tuple({c.a.nodedown, node}));
        p->node_monitors.erase(it);
      }
      if (was_up && p->monitors_nodes && (!hidden || p->monitors_hidden_nodes)) {
        p->box->push(term::tuple({c.a.nodedown, node}));
      }
    }
  });
}

void runtime::shutdown(const term& reason) {
  auto& c = *core_;
  c.apply([&](detail::effects& fx) {
    c.stopped = true;
    std::vector<std::shared_ptr<detail::process_state>> all;
    for (auto& [key, p] : c.procs) all.push_back(p);
    for (auto& p : all) c.kill_locked(p, reason, fx);
  });
}

}  // namespace edist::node
