// global_name_server for a visible edist node, following kernel's global.erl of OTP 25 (kernel
// 8.5) and OTP 27 (kernel 10.2); both speak global protocol version 8, so one implementation
// serves both.
//
// Message shapes this server handles (casts arrive as {'$gen_cast', Msg}, calls as
// {'$gen_call', {Pid, Tag}, Req}; gen_server:multi_call of OTP 25 uses the tag {Ref, Node},
// that of OTP 27 [[alias | Alias] | Ref], gen:call of OTP 24+ [alias | Ref]: any tag is
// accepted and echoed, and the reply goes to the alias when the tag carries one):
//
//   Connect protocol, between the servers of two nodes that just connected (A is the peer):
//   cast  {init_connect, {Vsn, HisTag}, A, {locker, _NotAPid, _Known, HisLocker}}
//         sent by each side on nodeup; Vsn 8 on both releases. One that arrives before our
//         nodeup is kept (pre_connect) and replayed then.
//   info  {init_connect_ack, A, HisMyTag, HisHisTag}   (vsn >= 8) both sides confirm they run
//         the same session; on a mismatch: {cancel_connect, Me, HisTag} and a new session.
//   info  {cancel_connect, A, MyTag}                    the peer gave up this session.
//   cast  {lock_set, HisLocker, true|false, HisKnown, MyTag}  (4-tuple without the tag before
//         vsn 8) from the peer's locker, forwarded by the servers: its partition is locked
//         with LockId = {global, lists:sort([LockerA, LockerB])}. Our locker then locks our
//         own partition with the same id (A's locker has already locked this node with it
//         through {set_lock, LockId}) and answers {lock_set, OurLocker, Bool, OurKnown, HisTag}.
//         Towards BEAM this locker only answers: BEAM's locker starts every round (and retries
//         until both partitions are locked). Between two edist nodes the one with the smaller
//         name starts: it locks the boss, itself and the peer's node, then its partition, and
//         casts lock_set true; a lock_set false makes it release and retry after a pause. An
//         edist node marks its init_connect with `edist` in the placeholder second element of
//         the locker tuple (`no_longer_a_pid` on BEAM, ignored there).
//   cast  {lock_is_set, A, MyTag, LockId}   (local, from our locker) -> we send
//   cast  {exchange, Me, [{Name, Pid, Method}], NamesExt=[], HisTag}; both sides compare the
//         peer's names with their own (exchange_names; the smaller node resolves conflicts)
//   cast  {resolved, Me, Resolved, Known=[{Node, Vsn}], unused, NamesExt, HisTag}; on having
//         both our ops and the peer's resolved: apply them, connect to every node the peer
//         knows and cast {in_sync, Me, true} to each (sync_others), and have the locker cast
//         {new_nodes, Me, Ops, NamesExt, [{Node, Vsn}], [{vsn, V}, {lock, LockId}]} to every
//         node we knew before it releases the lock. The peer becomes known and synced.
//   cast  {new_nodes, A, Ops, NamesExt, Nodes, ExtraInfo}  a node we know met other nodes:
//         apply the ops, connect to the new nodes and cast in_sync to them.
//   cast  {in_sync, A, true}  A (from another partition) is in sync with us: synced, and any
//         session with A is dropped.
//
//   Prevent overlapping partitions (vsn >= 7, on by default since OTP 25):
//   info  {lost_connection, NodeA, XCreationA, OpIdA, NodeB}  NodeA lost NodeB: forward it once
//         to the nodes we know, then ask the one of NodeA/NodeB that is not us to disconnect
//         with {remove_connection, Me} and forget it. We send the same message to the nodes we
//         know when we lose a known node ourselves (not when stopping).
//   info  {remove_connection, A}  disconnect A and forget it.
//
//   Calls any node's registrar or locker makes to every known node (gen_server:multi_call):
//   {set_lock, {ResourceId, ReqId}} -> true|false;  {del_lock, Id} -> true;
//   {register, Name, Pid, Method} -> yes;  {register_ext, Name, Pid, Method, RegNode} -> yes;
//   {unregister, Name} -> ok;  get_known -> [Node];  get_protocol_version -> 8.
//
// Names and locks are monitored: a DOWN (the pid ended, or noconnection when its node went
// away) removes them. Unknown or malformed messages are ignored, as global.erl logs and drops
// them. Name conflicts between merging partitions are resolved with global's own methods
// (resolve_conflict in global_tables.hpp), here and, through an rpc function global:resolve_it/4,
// for BEAM nodes that resolve a conflict over a name one of our processes holds. Left out:
// global groups, lock_still_set's check of late registrations, running a user's Erlang closure
// as a resolve method (the default method is applied instead), and starting lock rounds towards
// BEAM nodes (they always start them).
#include "edist/node/global_server.hpp"

#include <algorithm>
#include <condition_variable>
#include <edist/node/error.hpp>
#include <map>
#include <random>
#include <set>
#include <span>

#include "edist/node/gen_server.hpp"
#include "edist/node/global_tables.hpp"
#include "edist/node/node.hpp"
#include "edist/node/rpc.hpp"
#include "edist/node/runtime.hpp"
#include "edist/node/service_error.hpp"

namespace edist::node::global {

using etf::term;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t protocol_version = 8;
// Versions that introduced: prevent overlapping partitions and known-node versions (7), the
// verify-connect part (init_connect_ack, cancel_connect, tagged lock_set) (8).
constexpr std::int64_t pop_vsn = 7;
constexpr std::int64_t verify_connect_vsn = 8;
// How many early init_connects and lost_connection reports the server remembers at most.
constexpr std::size_t max_remembered = 4096;
// How long the locker keeps the partition locked for one connect session at most.
constexpr auto lock_hold_limit = std::chrono::seconds(120);

term atom(std::string_view s) {
  return term::atom(s);
}
const term& server_name() {
  static const term a = term::atom("global_name_server");
  return a;
}
const term& global_resource() {
  static const term a = term::atom("global");
  return a;
}

std::vector<term> elements(const term& list) {
  if (!list.is_proper_list() || list.is_nil()) return {};
  auto e = list.list_elements();
  return {e.begin(), e.end()};
}

// A known-node list entry: Node or {Node, Vsn}.
std::optional<std::pair<term, std::int64_t>> node_vsn_entry(const term& t) {
  if (t.is_atom()) return std::pair{t, std::int64_t{0}};
  if (t.is_tuple(2) && t[0].is_atom() && t[1].to_int64()) return std::pair{t[0], *t[1].to_int64()};
  return std::nullopt;
}

struct call_parts {
  term pid;
  term tag;
  term request;
};
std::optional<call_parts> parse_any_call(const term& m) {
  if (!m.is_tuple(3) || !m[0].is_atom("$gen_call") || !m[1].is_tuple(2) || !m[1][0].is_pid()) {
    return std::nullopt;
  }
  return call_parts{m[1][0], m[1][1], m[2]};
}

}  // namespace

struct session {
  term my_tag;
  term his_tag;  // nil until the peer's init_connect
  std::int64_t his_vsn = 0;
  enum class waiting { none, lock_set, exchange } wait_lock = waiting::none;
  term his_names;
  bool have_ops = false;
  std::vector<term> ops;
  bool have_his_resolved = false;
  term his_known, names_ext, his_resolved;
  term lock_id;
};

struct server::state {
  std::mutex mu;
  std::condition_variable changed;
  runtime* rt = nullptr;
  std::weak_ptr<node> owner;
  process* proc = nullptr;  // the server process (sends only)
  term self_node;
  term locker;
  bool stopping = false;

  name_table names;
  lock_table locks;
  std::map<term, std::int64_t> known;    // node -> protocol version
  std::map<term, std::int64_t> pending;  // node -> version, while a session runs
  std::set<term> removing;
  std::set<term> synced;
  std::set<term> connected;
  std::map<term, session> sessions;
  std::map<term, term> pre_connect;  // node -> its init_connect
  std::map<std::pair<term, term>, std::pair<term, std::int64_t>> lost_seen;
  std::int64_t next_tag = 1;
  std::int64_t next_op_id = 1;
  std::int64_t creation_extension = 0;
  std::function<void(const term&)> unexpected;  // the debug hook, called under mu

  // ---- sending ----
  term server_at(const term& n) const { return term::tuple({server_name(), n}); }
  void cast(const term& n, const term& req) {
    (void)proc->send(server_at(n), gen::cast_message(req));
  }
  void plain(const term& n, const term& msg) { (void)proc->send(server_at(n), msg); }
  // global.erl's gns_volatile_send: never brings a connection up.
  void volatile_send(const term& n, const term& msg) {
    if (connected.count(n)) plain(n, msg);
  }
  void to_locker(const term& msg) { (void)proc->send(locker, msg); }
  void reply(const call_parts& c, const term& r) {
    auto env = gen::reply_envelope({c.pid, c.tag}, r);
    // OTP 27's multi_call: [[alias | Alias] | Ref]; a reply after its timeout then vanishes.
    const term& t = c.tag;
    if (t.type() == etf::kind::list && t.list_elements().size() == 1) {
      const term& head = t.list_elements()[0];
      if (head.type() == etf::kind::list && head.list_elements().size() == 1 &&
          head.list_elements()[0].is_atom("alias") && head.list_tail().is_reference()) {
        env.to = head.list_tail();
      }
    }
    (void)proc->send(env.to, std::move(env.message));
  }

  std::int64_t vsn_of(const term& n) const {
    if (n == self_node) return protocol_version;
    if (auto it = known.find(n); it != known.end()) return it->second;
    if (auto it = pending.find(n); it != pending.end()) return it->second;
    return 0;
  }
  std::vector<term> known_atoms() const {
    std::vector<term> out;
    for (const auto& [n, v] : known) out.push_back(n);
    return out;
  }
  term known_with_vsn() const {
    std::vector<term> out;
    for (const auto& [n, v] : known) out.push_back(term::tuple({n, term(v)}));
    return term::list(std::move(out));
  }

  // ---- names and locks ----
  void insert_name(const term& name, const term& pid, const term& method) {
    term ref = proc->monitor(pid);
    if (auto old = names.insert(name, pid, method, ref)) proc->demonitor(*old, true);
  }
  void delete_name(const term& name) {
    if (auto e = names.erase(name)) proc->demonitor(e->monitor, true);
  }
  void do_ops(const term& ops_list) {
    for (const term& o : elements(ops_list)) apply_op(o);
  }
  void apply_op(const term& o) {
    auto op = parse_op(o);
    if (!op) return;
    if (op->insert) {
      insert_name(op->name, op->pid, op->method);
    } else {
      delete_name(op->name);
    }
  }
  term set_lock(const term& id, const term& pid) {
    if (!id.is_tuple(2)) return term::boolean(false);
    bool needs_monitor = false;
    if (!locks.try_set(id[0], id[1], pid, needs_monitor)) return term::boolean(false);
    if (needs_monitor) locks.add_holder(id[0], id[1], pid, proc->monitor(pid));
    return term::boolean(true);
  }
  void del_lock(const term& id, const term& pid) {
    if (!id.is_tuple(2)) return;
    if (auto ref = locks.release(id[0], id[1], pid)) proc->demonitor(*ref, true);
  }

  // ---- sessions ----
  void cancel_locker(const term& n, const term& tag, const term& action = term::atom("none")) {
    to_locker(term::tuple({atom("cancel"), n, tag, action}));
  }
  // Sends {cancel_connect, ...} when a session with a vsn-8 peer is dropped halfway.
  void send_cancel_connect(const term& n, const session& s) {
    auto p = pending.find(n);
    if (p == pending.end() || p->second < verify_connect_vsn || s.his_tag.is_nil()) return;
    volatile_send(n, term::tuple({atom("cancel_connect"), self_node, s.his_tag}));
  }
  // cancel_locker + reset_node_state of global.erl.
  void end_session(const term& n, bool tell_peer) {
    auto it = sessions.find(n);
    if (it == sessions.end()) return;
    if (tell_peer) send_cancel_connect(n, it->second);
    cancel_locker(n, it->second.my_tag);
    sessions.erase(it);
  }

  void handle_nodeup(const term& n) {
    if (stopping || known.count(n) || sessions.count(n)) return;
    session s;
    s.my_tag = term(next_tag++);
    const term init = term::tuple(
        {atom("init_connect"), term::tuple({term(protocol_version), s.my_tag}), self_node,
         // The second element is a placeholder that global.erl ignores (`no_longer_a_pid` on
         // BEAM); `edist` there tells another edist node that this side's locker is passive
         // towards BEAM, so that one of the two starts the lock round (see on_init_connect).
         term::tuple({atom("locker"), atom("edist"), term::list({}), locker})});
    sessions.emplace(n, std::move(s));
    cast(n, init);
    if (auto pc = pre_connect.find(n); pc != pre_connect.end()) {
      term saved = pc->second;
      pre_connect.erase(pc);
      on_init_connect(saved);
    }
  }

  void restart_connect(const term& n) {
    end_session(n, false);
    pending.erase(n);
    if (connected.count(n)) handle_nodeup(n);
  }

  void handle_nodedown(const term& n, bool remove_connection) {
    const bool was_known = known.count(n) || pending.count(n);
    end_session(n, false);
    pre_connect.erase(n);
    if (remove_connection) {
      removing.insert(n);
    } else if (removing.erase(n) == 0 && was_known) {
      inform_connection_loss(n);
    }
    pending.erase(n);
    known.erase(n);
    synced.erase(n);
    changed.notify_all();
  }

  void inform_connection_loss(const term& n) {
    if (stopping) return;
    const term msg = term::tuple(
        {atom("lost_connection"), self_node, term(creation_extension), term(next_op_id++), n});
    multicast(msg, n);
  }
  void multicast(const term& msg, const term& except) {
    for (const auto& [k, v] : known)
      if (!(k == except) && v >= pop_vsn) volatile_send(k, msg);
    for (const auto& [k, v] : pending)
      if (!(k == except) && v >= pop_vsn) volatile_send(k, msg);
  }

  // init_connect/6 of global.erl.
  void on_init_connect(const term& req) {
    // {init_connect, Vsn, Node, InitMsg}
    const term& vsn = req[1];
    const term& n = req[2];
    const term& init = req[3];
    if (!n.is_atom() || !vsn.is_tuple() || vsn.tuple_size() < 2 || !vsn[0].to_int64()) return;
    if (!init.is_tuple(4) || !init[0].is_atom("locker") || !init[3].is_pid()) return;
    const std::int64_t his_vsn = *vsn[0].to_int64();
    const term& his_tag = vsn[1];
    if (pending.count(n)) {
      // A second attempt while one is in progress: cancel both and start over.
      volatile_send(n, term::tuple({atom("cancel_connect"), self_node, his_tag}));
      restart_connect(n);
    }
    auto it = sessions.find(n);
    if (it == sessions.end()) {
      // Kept until our nodeup for that node; a peer naming other nodes cannot grow it without
      // bound.
      if (pre_connect.size() < max_remembered || pre_connect.count(n)) pre_connect[n] = req;
      return;
    }
    session& s = it->second;
    s.his_tag = his_tag;
    s.his_vsn = std::min(his_vsn, protocol_version);
    if (his_vsn >= verify_connect_vsn) {
      volatile_send(n, term::tuple({atom("init_connect_ack"), self_node, his_tag, s.my_tag}));
    }
    pending[n] = his_vsn;
    // A BEAM locker always starts lock rounds itself, so towards BEAM this side only answers.
    // Between two edist nodes the one with the smaller name starts them.
    if (init[1].is_atom("edist") && self_node < n) {
      to_locker(term::tuple({atom("select"), n, init[3], s.my_tag, s.his_tag}));
    }
  }

  void on_lock_set(const term& req) {
    // {lock_set, HisLocker, Bool, HisKnown[, MyTag]}
    const term& his_locker = req[1];
    if (!his_locker.is_pid()) return;
    const term n = his_locker.as_pid().node;
    auto it = sessions.find(n);
    if (it == sessions.end() || it->second.his_tag.is_nil()) return;
    if (req.tuple_size() == 5 && !(req[4] == it->second.my_tag)) return;
    if (!req[2].is_atom("true")) {
      // Only a locker that started a round waits for this; it releases and tries again.
      to_locker(term::tuple({atom("lock_refused"), n, it->second.my_tag}));
      return;
    }
    to_locker(
        term::tuple({atom("lock_request"), n, his_locker, it->second.my_tag, it->second.his_tag}));
  }

  void on_lock_is_set(const term& n, const term& tag, const term& lock_id) {
    auto it = sessions.find(n);
    if (it == sessions.end() || !(it->second.my_tag == tag)) {
      cancel_locker(n, tag);
      return;
    }
    session& s = it->second;
    cast(n, term::tuple(
                {atom("exchange"), self_node, names.exchange_list(), term::list({}), s.his_tag}));
    s.lock_id = lock_id;
    if (s.wait_lock == session::waiting::exchange) {
      s.wait_lock = session::waiting::none;
      resolve(n, s);
    } else {
      s.wait_lock = session::waiting::lock_set;
    }
  }

  void on_exchange(const term& n, const term& his_names, const term& tag) {
    auto it = sessions.find(n);
    if (it == sessions.end() || !(it->second.my_tag == tag)) {
      cancel_locker(n, tag);
      return;
    }
    session& s = it->second;
    if (s.wait_lock == session::waiting::lock_set) {
      s.wait_lock = session::waiting::none;
      s.his_names = his_names;
      resolve(n, s);
    } else {
      s.wait_lock = session::waiting::exchange;
      s.his_names = his_names;
    }
  }

  // The resolver and exchange_ops of global.erl in one step (no rpc is needed here).
  void resolve(const term& n, session& s) {
    auto out = exchange_names(names, s.his_names, self_node, n);
    for (const term& p : out.kill) rt->exit(term(), p, atom("kill"));
    for (const auto& [to, msg] : out.notify) (void)proc->send(to, msg);
    cast(n, term::tuple({atom("resolved"), self_node, term::list(out.resolved),
                         s.his_vsn >= pop_vsn ? known_with_vsn() : term::list(known_atoms()),
                         atom("unused"), term::list({}), s.his_tag}));
    s.have_ops = true;
    s.ops = std::move(out.ops);
    if (s.have_his_resolved) resolved(n);
  }

  void on_resolved(const term& n, const term& his_resolved, const term& his_known,
                   const term& names_ext, const term& tag) {
    auto it = sessions.find(n);
    if (it == sessions.end() || !(it->second.my_tag == tag)) {
      cancel_locker(n, tag);
      return;
    }
    session& s = it->second;
    s.have_his_resolved = true;
    s.his_resolved = his_resolved;
    s.his_known = his_known;
    s.names_ext = names_ext;
    if (s.have_ops) resolved(n);
  }

  // resolved/5 of global.erl: both sides' operations are known; the peer joins our partition.
  void resolved(const term& n) {
    session s = std::move(sessions.at(n));
    sessions.erase(n);
    std::vector<term> ops = s.ops;
    for (const term& o : elements(s.his_resolved)) ops.push_back(o);
    const term ops_list = term::list(ops);
    std::vector<std::pair<term, std::int64_t>> new_nodes{{n, s.his_vsn}};
    std::vector<term> his_known_nodes;
    for (const term& k : elements(s.his_known)) {
      if (auto e = node_vsn_entry(k)) {
        new_nodes.push_back(*e);
        his_known_nodes.push_back(e->first);
      }
    }
    sync_others(his_known_nodes);
    for (const term& o : ops) apply_op(o);
    // Sessions with nodes of the peer's partition are moot now.
    for (const term& k : his_known_nodes) {
      pending.erase(k);
      end_session(k, false);
    }
    std::vector<term> nn;
    for (const auto& [k, v] : new_nodes) nn.push_back(term::tuple({k, term(v)}));
    const term extra = term::list(
        {term::tuple({atom("vsn"), term(s.his_vsn)}), term::tuple({atom("lock"), s.lock_id})});
    const term new_nodes_msg =
        term::tuple({atom("new_nodes"), self_node, ops_list,
                     s.names_ext.is_nil() ? term::list({}) : s.names_ext, term::list(nn), extra});
    // The locker that holds the lock casts new_nodes before releasing it, so that our known
    // nodes see new_nodes before del_lock.
    cancel_locker(n, s.my_tag,
                  term::tuple({atom("new_nodes"), gen::cast_message(new_nodes_msg),
                               term::list(known_atoms())}));
    pending.erase(n);
    add_to_known(new_nodes);
    synced.insert(n);
    changed.notify_all();
  }

  std::vector<term> add_to_known(const std::vector<std::pair<term, std::int64_t>>& nodes) {
    std::vector<term> added;
    for (const auto& [k, v] : nodes) {
      if (k == self_node) continue;
      auto it = known.find(k);
      if (it == known.end()) {
        known[k] = v;
        added.push_back(k);
      } else if (it->second < v) {
        it->second = v;
      }
    }
    return added;
  }

  // sync_others/1: connect to each node and cast {in_sync, Me, true} there once connected.
  void sync_others(const std::vector<term>& nodes) {
    auto n = owner.lock();
    if (!n) return;
    for (const term& k : nodes) {
      if (k == self_node || !k.is_atom()) continue;
      sync_other(n, k, self_node, proc->pid(), max_sync_connect_attempts);
    }
  }

  // global.erl tries a few times before it reports `extra_nodedown` (which makes a known node
  // a lost connection for the whole cluster): an attempt can fail only because the node is
  // dialling us at the same moment and its own connection wins (`nok`), which is up an
  // instant later.
  static constexpr int max_sync_connect_attempts = 4;
  static void sync_other(const std::shared_ptr<node>& n, const term& k, const term& me,
                         const term& server, int attempts_left) {
    std::weak_ptr<node> weak_node = n;
    std::weak_ptr<runtime> weak_rt = n->local_ptr();
    n->connect(std::string(k.atom_name()), [weak_node, weak_rt, k, me, server,
                                            attempts_left](std::error_code ec) {
      auto r = weak_rt.lock();
      if (!r) return;
      if (!ec) {
        (void)r->send(term::tuple({server_name(), k}),
                      gen::cast_message(term::tuple({atom("in_sync"), me, term::boolean(true)})));
        return;
      }
      if (attempts_left > 1) {
        if (auto again = weak_node.lock()) {
          return sync_other(again, k, me, server, attempts_left - 1);
        }
      }
      (void)r->send(server, term::tuple({atom("extra_nodedown"), k}));
    });
  }

  void on_new_nodes(const term& req) {
    // {new_nodes, Node, Ops, NamesExt, Nodes, ExtraInfo}
    std::vector<std::pair<term, std::int64_t>> nodes;
    for (const term& k : elements(req[4]))
      if (auto e = node_vsn_entry(k)) nodes.push_back(*e);
    auto added = add_to_known(nodes);
    sync_others(added);
    do_ops(req[2]);
    changed.notify_all();
  }

  void on_in_sync(const term& n) {
    // Sent once the sender's connection to us is up: from anyone else it is noise.
    if (!connected.count(n)) {
      auto o = owner.lock();
      if (!o || !o->is_connected(std::string(n.atom_name()))) return;
    }
    synced.insert(n);
    pending.erase(n);
    end_session(n, false);
    changed.notify_all();
  }

  void on_lost_connection(const term& msg) {
    // {lost_connection, NodeA, XCreationA, OpIdA, NodeB}
    const term& a = msg[1];
    const term& b = msg[4];
    if (!a.is_atom() || !b.is_atom() || !msg[3].to_int64()) return;
    const std::int64_t op = *msg[3].to_int64();
    auto key = std::pair{a, b};
    if (auto seen = lost_seen.find(key);
        seen != lost_seen.end() && seen->second.first == msg[2] && op <= seen->second.second) {
      return;
    }
    multicast(msg, a);
    // global.erl forgets these after an hour; here the table is simply bounded.
    if (lost_seen.size() >= max_remembered) lost_seen.clear();
    lost_seen[key] = {msg[2], op};
    const term rm = b == self_node ? a : b;
    if (!known.count(rm) && !pending.count(rm)) return;
    volatile_send(rm, term::tuple({atom("remove_connection"), self_node}));
    handle_nodedown(rm, true);
  }

  void on_remove_connection(const term& n) {
    if (!known.count(n) && !pending.count(n)) return;
    handle_nodedown(n, true);
    if (auto o = owner.lock()) o->disconnect(std::string(n.atom_name()));
  }

  void on_call(const call_parts& c) {
    const term& r = c.request;
    if (r.is_tuple(2) && r[0].is_atom("set_lock")) return reply(c, set_lock(r[1], c.pid));
    if (r.is_tuple(2) && r[0].is_atom("del_lock")) {
      del_lock(r[1], c.pid);
      return reply(c, term::boolean(true));
    }
    if ((r.is_tuple(4) && r[0].is_atom("register")) ||
        (r.is_tuple(5) && r[0].is_atom("register_ext"))) {
      if (!r[2].is_pid()) return;
      insert_name(r[1], r[2], r[3]);
      changed.notify_all();
      return reply(c, atom("yes"));
    }
    if (r.is_tuple(2) && r[0].is_atom("unregister")) {
      delete_name(r[1]);
      return reply(c, atom("ok"));
    }
    if (r.is_atom("get_known")) return reply(c, term::list(known_atoms()));
    if (r.is_atom("get_synced"))
      return reply(c, term::list(std::vector<term>(synced.begin(), synced.end())));
    if (r.is_atom("get_protocol_version")) return reply(c, term(protocol_version));
    // Anything else (registrar funs, sync from another process) is not answered, as
    // global.erl logs and drops unexpected calls.
  }

  void on_cast(const term& r) {
    if (!r.is_tuple() || r.tuple_size() == 0 || !r[0].is_atom()) return;
    const auto tag = r[0].atom_name();
    const auto size = r.tuple_size();
    if (tag == "init_connect" && size == 4) return on_init_connect(r);
    if (tag == "lock_set" && (size == 4 || size == 5)) return on_lock_set(r);
    if (tag == "lock_is_set" && size == 4 && r[1].is_atom()) {
      return on_lock_is_set(r[1], r[2], r[3]);
    }
    if (tag == "exchange" && size == 5 && r[1].is_atom()) return on_exchange(r[1], r[2], r[4]);
    if (tag == "resolved" && size == 7 && r[1].is_atom()) {
      return on_resolved(r[1], r[2], r[3], r[5], r[6]);
    }
    if (tag == "new_nodes" && size == 6 && r[1].is_atom()) return on_new_nodes(r);
    if (tag == "in_sync" && size == 3 && r[1].is_atom()) return on_in_sync(r[1]);
  }

  void on_info(const term& m) {
    if (!m.is_tuple() || m.tuple_size() == 0 || !m[0].is_atom()) return;
    const auto tag = m[0].atom_name();
    const auto size = m.tuple_size();
    if (tag == "DOWN" && size == 5) {
      locks.release_by_monitor(m[1]);
      if (names.erase_by_monitor(m[1])) changed.notify_all();
      return;
    }
    if (tag == "nodeup" && size >= 2 && m[1].is_atom()) {
      connected.insert(m[1]);
      return handle_nodeup(m[1]);
    }
    if ((tag == "nodedown" || tag == "extra_nodedown") && size >= 2 && m[1].is_atom()) {
      if (tag == "nodedown") connected.erase(m[1]);
      return handle_nodedown(m[1], false);
    }
    if (tag == "init_connect_ack" && size == 4 && m[1].is_atom()) {
      auto it = sessions.find(m[1]);
      if (it == sessions.end()) return;
      if (it->second.my_tag == m[2] && it->second.his_tag == m[3]) return;
      volatile_send(m[1], term::tuple({atom("cancel_connect"), self_node, m[3]}));
      return restart_connect(m[1]);
    }
    if (tag == "cancel_connect" && size == 3 && m[1].is_atom()) {
      auto it = sessions.find(m[1]);
      if (it == sessions.end() || !(it->second.my_tag == m[2])) return;
      return restart_connect(m[1]);
    }
    if (tag == "lost_connection" && size == 5) return on_lost_connection(m);
    if (tag == "remove_connection" && size == 2 && m[1].is_atom()) {
      return on_remove_connection(m[1]);
    }
  }

  void handle(const term& m) {
    if (!recognized(m) && unexpected) unexpected(m);
    if (auto c = parse_any_call(m)) return on_call(*c);
    if (auto r = gen::parse_cast(m)) return on_cast(*r);
    on_info(m);
  }

  // Whether the message is of a kind this server acts on (by its tag; the handlers check the
  // rest). Everything else is dropped, and shown to the debug hook.
  static bool recognized(const term& m) {
    static const std::set<std::string_view> calls{
        "set_lock",   "del_lock",  "register",   "register_ext",
        "unregister", "get_known", "get_synced", "get_protocol_version"};
    static const std::set<std::string_view> casts{
        "init_connect", "lock_set", "lock_is_set",    "exchange",      "resolved",
        "new_nodes",    "in_sync",  "async_del_name", "async_del_lock"};
    static const std::set<std::string_view> infos{"DOWN",
                                                  "nodeup",
                                                  "nodedown",
                                                  "extra_nodedown",
                                                  "init_connect_ack",
                                                  "cancel_connect",
                                                  "lost_connection",
                                                  "remove_connection"};
    auto tag_of = [](const term& t) -> std::string_view {
      if (t.is_atom()) return t.atom_name();
      if (t.is_tuple() && t.tuple_size() > 0 && t[0].is_atom()) return t[0].atom_name();
      return {};
    };
    if (auto c = parse_any_call(m)) return calls.count(tag_of(c->request)) != 0;
    if (auto r = gen::parse_cast(m)) return casts.count(tag_of(*r)) != 0;
    return infos.count(tag_of(m)) != 0;
  }

  std::optional<term> where(const term& name) const {
    const name_entry* e = names.find(name);
    if (e == nullptr) return std::nullopt;
    if (rt->is_local(e->pid) && !rt->is_alive(e->pid)) return std::nullopt;
    return e->pid;
  }
};

// ---- server -----------------------------------------------------------------------------------

server::server(private_tag, const std::shared_ptr<node>& owner, server_options options)
    : node_(owner),
      runtime_(owner->local_ptr()),
      options_(options),
      state_(std::make_unique<state>()) {}

server::~server() {
  stop();
}

std::shared_ptr<server> server::start(const std::shared_ptr<node>& owner, server_options options,
                                      std::error_code& ec) {
  ec.clear();
  auto s = std::make_shared<server>(private_tag{}, owner, options);
  runtime& rt = *s->runtime_;
  s->server_proc_ = rt.spawn();
  if ((ec = s->server_proc_.register_name(server_name()))) return nullptr;
  s->server_pid_ = s->server_proc_.pid();
  s->registrar_ = rt.spawn();
  process locker = rt.spawn();
  s->locker_pid_ = locker.pid();
  state& st = *s->state_;
  st.rt = &rt;
  st.owner = owner;
  st.proc = &s->server_proc_;
  st.self_node = rt.node();
  st.locker = s->locker_pid_;
  std::random_device rd;
  // global.erl's creation extension: tells the lost_connection reports of this incarnation
  // from an earlier one of the same name.
  st.creation_extension = static_cast<std::int64_t>((std::uint64_t{rd()} << 24) ^ rd()) +
                          static_cast<std::int64_t>(rt.creation());
  // global:resolve_it/4: a BEAM node that resolves a name conflict calls it by rpc on the node
  // of the pid that holds the name with the method given at registration.
  std::weak_ptr<runtime> weak_rt = s->runtime_;
  owner->rpc_functions()->add(
      "global", "resolve_it",
      [weak_rt](std::span<const term> a) -> term {
        auto d = resolve_conflict(a[0], a[1], a[2], a[3]);
        if (auto r = weak_rt.lock()) {
          for (const term& p : d.kill) r->exit(term(), p, atom("kill"));
          for (const auto& [to, msg] : d.notify) (void)r->send(to, msg);
        }
        return d.winner.is_pid() ? d.winner : atom("none");
      },
      4);
  s->server_proc_.monitor_nodes(true);
  s->arm();
  s->locker_thread_ = std::thread([self = s.get(), p = std::move(locker)]() mutable {
    self->locker_proc_ = std::move(p);
    self->locker_loop();
  });
  return s;
}

void server::arm() {
  std::weak_ptr<server> weak = weak_from_this();
  server_proc_.async_receive([weak](std::error_code ec, term msg) {
    auto self = weak.lock();
    if (!self || ec) return;
    {
      std::lock_guard lock(self->state_->mu);
      try {
        if (!self->state_->stopping) self->state_->handle(msg);
      } catch (const std::exception&) {
        // A message of an unexpected shape that slipped past the checks: ignored, as
        // global.erl drops what it does not understand. The server keeps running.
        if (self->state_->unexpected) self->state_->unexpected(msg);
      }
    }
    self->arm();
  });
}

void server::stop() {
  std::lock_guard stop_lock(stop_mu_);
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
  }
  // Killing the processes wakes every blocking receive of the locker and registrar at once.
  for (const term& p : {server_pid_, locker_pid_, registrar_.valid() ? registrar_.pid() : term()})
    if (p.is_pid()) runtime_->exit(term(), p, atom("kill"));
  if (locker_thread_.joinable() && locker_thread_.get_id() != std::this_thread::get_id()) {
    locker_thread_.join();
  }
}

// ---- calls to global_name_servers (the locker's and the registrar's multi_call) ----------------

namespace {

struct caller {
  const process& self;
  term self_node;
  std::chrono::milliseconds timeout;

  // gen_server:call of one node's global_name_server; nullopt when it did not answer (a bad
  // node of multi_call, which global.erl ignores).
  std::optional<term> call(const term& n, const term& request) const {
    gen::call_options o;
    o.timeout = timeout;
    const term target = n == self_node ? server_name() : term::tuple({server_name(), n});
    auto r = gen::call(self, target, request, o);
    if (!r) return std::nullopt;
    return r.reply;
  }
  std::vector<term> multi_call(const std::vector<term>& nodes, const term& request) const {
    std::vector<term> replied_true;
    for (const term& n : nodes) {
      auto r = call(n, request);
      if (r && r->is_atom("true")) replied_true.push_back(n);
    }
    return replied_true;
  }
  // set_lock_on_nodes/2: all or nothing.
  bool set_lock(const term& id, const std::vector<term>& nodes) const {
    const term req = term::tuple({atom("set_lock"), id});
    std::vector<term> ok;
    bool all = true;
    for (const term& n : nodes) {
      auto r = call(n, req);
      if (r && r->is_atom("false")) {
        all = false;
        break;
      }
      ok.push_back(n);
    }
    if (!all) del_lock(id, ok);
    return all;
  }
  void del_lock(const term& id, const std::vector<term>& nodes) const {
    const term req = term::tuple({atom("del_lock"), id});
    for (const term& n : nodes) (void)call(n, req);
  }
  // delete_global_lock/2: the boss last.
  void delete_global_lock(const term& id, std::vector<term> nodes) const {
    if (nodes.empty()) return;
    auto boss = std::max_element(nodes.begin(), nodes.end());
    term b = *boss;
    nodes.erase(boss);
    del_lock(id, nodes);
    del_lock(id, {b});
  }
};

std::vector<term> minus(std::vector<term> a, const std::vector<term>& b) {
  a.erase(
      std::remove_if(a.begin(), a.end(),
                     [&](const term& x) { return std::find(b.begin(), b.end(), x) != b.end(); }),
      a.end());
  return a;
}

}  // namespace

void server::locker_loop() {
  while (!stopping_) {
    auto r = locker_proc_.receive(200ms);
    if (r.error == errc::timeout) continue;
    if (r.error) break;
    try {
      if (!lock_round(r.message)) break;
    } catch (const std::exception&) {
      // Ignored like any malformed message; the locker keeps serving.
    }
  }
}

bool server::lock_round(const term& m) {
  const process& self = locker_proc_;
  caller c{self, runtime_->node(), options_.call_timeout};
  // {lock_request, Node, HisLocker, MyTag, HisTag}: the peer's partition is locked, lock ours
  // and answer (the_locker_message({lock_set, ...}) of global.erl).
  // {select, Node, HisLocker, MyTag, HisTag}: start a round with an edist peer (select_node).
  // Stale cancels and refusals are dropped here.
  if (!m.is_tuple(5) || !(m[0].is_atom("lock_request") || m[0].is_atom("select"))) return true;
  const bool starting = m[0].is_atom("select");
  const term n = m[1], his_locker = m[2], my_tag = m[3], his_tag = m[4];
  std::vector<term> known;
  term lock_id;
  {
    std::lock_guard lock(state_->mu);
    auto it = state_->sessions.find(n);
    if (state_->stopping || it == state_->sessions.end() || !(it->second.my_tag == my_tag)) {
      return true;
    }
    known = state_->known_atoms();
    // locker_lock_id/2: both lockers, in term order, so both sides build the same id. The
    // peer's locker has already locked this node with it: take its id from our table if the
    // orders ever disagreed.
    std::vector<term> pair{self.pid(), his_locker};
    std::sort(pair.begin(), pair.end());
    lock_id = term::tuple({global_resource(), term::list(pair)});
    const term held = state_->locks.requester(global_resource());
    std::vector<term> swapped{pair[1], pair[0]};
    if (held == term::list(swapped)) lock_id = term::tuple({global_resource(), held});
  }
  // lock_nodes_safely/3: the boss first, then this node (and the peer's node when starting,
  // which keeps two rounds from deadlocking), then the rest of our partition.
  std::vector<term> all = known;
  all.push_back(c.self_node);
  const term boss = *std::max_element(all.begin(), all.end());
  std::vector<term> second = minus({c.self_node}, {boss});
  if (starting) second.push_back(n);
  bool locked = c.set_lock(lock_id, {boss});
  std::vector<term> held{boss};
  if (locked) {
    locked = c.set_lock(lock_id, second);
    if (locked) held.insert(held.end(), second.begin(), second.end());
  }
  if (locked) {
    auto rest = minus(known, {boss});
    locked = c.set_lock(lock_id, rest);
    if (locked) held.insert(held.end(), rest.begin(), rest.end());
  }
  if (!locked) c.del_lock(lock_id, held);
  // A starting locker that could not lock tries again later (loop_the_locker's timeout).
  auto retry_later = [&] {
    std::minstd_rand rng(std::random_device{}());
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(200 + rng() % 800);
    while (!stopping_ && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(20ms);
    }
    (void)self.send(self.pid(), m);
  };
  if (!locked && starting) {
    retry_later();
    return true;
  }
  // send_lock_set/5 through the peer's server (vsn 6+), with the peer's tag (vsn 8).
  (void)self.send(
      term::tuple({server_name(), n}),
      gen::cast_message(term::tuple(
          {atom("lock_set"), self.pid(), term::boolean(locked), term::list(known), his_tag})));
  if (!locked) return true;
  // global.erl waits forever for the steps below (a nodedown ends the session); a peer that
  // stays connected but never finishes must not keep this node's `global` lock for good, so
  // after lock_hold_limit the lock goes and the session is restarted as if the peer had
  // cancelled.
  const auto give_up = std::chrono::steady_clock::now() + lock_hold_limit;
  auto wait = [&](auto pred) {
    receive_result r;
    do {
      r = self.receive_if(pred, 200ms);
    } while (r.error == errc::timeout && !stopping_ && std::chrono::steady_clock::now() < give_up);
    return r;
  };
  auto abandon = [&] {
    c.delete_global_lock(lock_id, held);
    (void)self.send(server_pid_, term::tuple({atom("cancel_connect"), n, my_tag}));
  };
  if (starting) {
    // lock_is_set/5 of the locker: the peer answers with its own lock_set.
    auto is_answer = [&](const term& x) {
      return (x.is_tuple(5) && x[0].is_atom("lock_request") && x[1] == n && x[3] == my_tag) ||
             (x.is_tuple(3) && x[0].is_atom("lock_refused") && x[1] == n && x[2] == my_tag) ||
             (x.is_tuple(4) && x[0].is_atom("cancel") && x[1] == n && x[2] == my_tag);
    };
    auto answer = wait(is_answer);
    if (answer.error == errc::timeout && !stopping_) {
      abandon();
      return true;
    }
    if (answer.error) return false;
    if (!answer.message[0].is_atom("lock_request")) {
      c.delete_global_lock(lock_id, held);
      if (answer.message[0].is_atom("lock_refused")) retry_later();
      return true;
    }
  }
  (void)self.send(server_pid_,
                  gen::cast_message(term::tuple({atom("lock_is_set"), n, my_tag, lock_id})));
  // wait_cancel_lock/6: hold the lock until the server ends the session.
  auto cancel = wait([&](const term& x) {
    return x.is_tuple(4) && x[0].is_atom("cancel") && x[1] == n && x[2] == my_tag;
  });
  if (cancel.error == errc::timeout && !stopping_) {
    abandon();
    return true;
  }
  if (cancel.error) return false;
  const term& action = cancel.message[3];
  if (action.is_tuple(3) && action[0].is_atom("new_nodes")) {
    for (const term& k : elements(action[2])) {
      (void)self.send(term::tuple({server_name(), k}), action[1]);
    }
  }
  c.delete_global_lock(lock_id, held);
  return true;
}

// ---- the native API ----------------------------------------------------------------------------

namespace {

// set_lock_known/2 of global.erl: `global` on the boss, then on every known node, retried
// with a random back-off until the known nodes did not change meanwhile or the deadline passed.
std::optional<std::vector<term>> lock_known(const caller& c, const term& id,
                                            const std::function<std::vector<term>()>& get_known,
                                            std::chrono::steady_clock::time_point deadline) {
  std::minstd_rand rng(std::random_device{}());
  for (int times = 0; std::chrono::steady_clock::now() < deadline; ++times) {
    auto known = get_known();
    std::vector<term> nodes = known;
    nodes.insert(nodes.begin(), c.self_node);
    const term boss = *std::max_element(nodes.begin(), nodes.end());
    if (c.set_lock(id, {boss})) {
      if (c.set_lock(id, nodes)) {
        auto now_known = get_known();
        if (minus(now_known, known).empty()) return nodes;
        c.del_lock(id, nodes);
      } else {
        c.del_lock(id, {boss});
      }
    }
    const int cap_ms = times > 5 ? 8000 : ((1 << times) * 1000) / 8;
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + rng() % cap_ms));
  }
  return std::nullopt;
}

}  // namespace

bool server::register_name(const term& name, const term& pid) {
  if (!pid.is_pid() || stopping_) return false;
  std::lock_guard reg(registrar_mu_);
  caller c{registrar_, runtime_->node(), options_.call_timeout};
  auto get_known = [this] {
    std::lock_guard lock(state_->mu);
    return state_->known_atoms();
  };
  auto taken = [&] {
    std::lock_guard lock(state_->mu);
    return state_->where(name).has_value() || state_->names.pid_has_name(pid);
  };
  if (taken()) return false;
  const term id = term::tuple({global_resource(), registrar_.pid()});
  auto nodes =
      lock_known(c, id, get_known, std::chrono::steady_clock::now() + options_.operation_timeout);
  if (!nodes) return false;
  bool ok = !taken();
  if (ok) {
    const term method = term::export_fun(atom("global"), atom("random_exit_name"), 3);
    const term req = term::tuple({atom("register"), name, pid, method});
    for (const term& n : *nodes) (void)c.call(n, req);
  }
  c.delete_global_lock(id, *nodes);
  return ok;
}

void server::unregister_name(const term& name) {
  if (stopping_ || !whereis_name(name)) return;
  std::lock_guard reg(registrar_mu_);
  caller c{registrar_, runtime_->node(), options_.call_timeout};
  auto get_known = [this] {
    std::lock_guard lock(state_->mu);
    return state_->known_atoms();
  };
  const term id = term::tuple({global_resource(), registrar_.pid()});
  auto nodes =
      lock_known(c, id, get_known, std::chrono::steady_clock::now() + options_.operation_timeout);
  if (!nodes) return;
  const term req = term::tuple({atom("unregister"), name});
  for (const term& n : *nodes) (void)c.call(n, req);
  c.delete_global_lock(id, *nodes);
}

std::optional<term> server::whereis_name(const term& name) const {
  std::lock_guard lock(state_->mu);
  return state_->where(name);
}

std::vector<term> server::registered_names() const {
  std::lock_guard lock(state_->mu);
  return state_->names.names();
}

std::error_code server::send(const process& from, const term& name, term message) const {
  auto pid = whereis_name(name);
  if (!pid) return service_errc::noproc;
  return from.send(*pid, std::move(message));
}

std::function<std::optional<term>(const term&)> server::resolver() const {
  std::weak_ptr<const server> weak = weak_from_this();
  return [weak](const term& name) -> std::optional<term> {
    auto s = weak.lock();
    if (!s) return std::nullopt;
    return s->whereis_name(name);
  };
}

void server::set_debug_hook(std::function<void(const term&)> hook) {
  std::lock_guard lock(state_->mu);
  state_->unexpected = std::move(hook);
}

std::vector<term> server::known_nodes() const {
  std::lock_guard lock(state_->mu);
  return state_->known_atoms();
}

std::vector<term> server::synced_nodes() const {
  std::lock_guard lock(state_->mu);
  return {state_->synced.begin(), state_->synced.end()};
}

bool server::sync(std::chrono::milliseconds timeout) {
  auto n = node_.lock();
  if (!n) return false;
  // Connections come up without telling this server's state, so the peers are read again on
  // every wake-up, at least every 50 ms.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(state_->mu);
  for (;;) {
    const auto peers = n->nodes();
    const bool all = std::all_of(peers.begin(), peers.end(), [&](const std::string& peer) {
      return state_->synced.count(term::atom(peer)) != 0;
    });
    if (all) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    state_->changed.wait_for(lock, 50ms);
  }
}

}  // namespace edist::node::global
