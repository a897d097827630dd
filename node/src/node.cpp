#include "edist/node/node.hpp"

#include <unistd.h>

#include <boost/asio/post.hpp>
#include <edist/dist/node_name.hpp>
#include <edist/etf/encode.hpp>

#include "edist/node/cookie.hpp"
#include "edist/node/error.hpp"
#include "edist/node/global_server.hpp"

namespace edist::node {

using etf::term;

class node::gateway final : public remote_gateway {
 public:
  explicit gateway(node& n) : node_(n) {}
  bool route(const term& node_atom, remote_signal signal) override {
    return node_.route(node_atom, std::move(signal));
  }

 private:
  node& node_;
};

namespace {

std::error_code invalid(std::string* detail, std::string text) {
  if (detail != nullptr) *detail = std::move(text);
  return make_error_code(errc::invalid_option);
}

// The full node name for `options`, as erl -sname / -name would form it.
std::error_code resolve_name(const node_options& o, std::string& out, std::string* detail) {
  std::string full = o.name;
  if (full.find('@') == std::string::npos) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
      return invalid(detail, "cannot determine the host name; give the name as name@host");
    }
    std::string h(host);
    if (!o.long_names) {
      h = h.substr(0, h.find('.'));
    } else if (h.find('.') == std::string::npos) {
      return invalid(detail, "long names need a fully qualified host name; give name@host");
    }
    full += "@" + h;
  }
  const auto parts = dist::split_node_name(full);
  if (!parts) return invalid(detail, "invalid node name '" + full + "' (expected name@host)");
  const bool is_long = dist::host_name_type(parts->host) == dist::name_type::long_name;
  if (is_long != o.long_names) {
    return invalid(detail, o.long_names ? "long names need a fully qualified host, not '" +
                                              std::string(parts->host) + "'"
                                        : "short names cannot have a dotted host: '" +
                                              std::string(parts->host) + "' (use long names)");
  }
  out = std::move(full);
  return {};
}

}  // namespace

std::error_code node::resolve(node_options& options, std::string* detail) {
  std::string full;
  if (auto ec = resolve_name(options, full, detail)) return ec;
  if (options.cookie.empty()) {
    const auto path = options.cookie_file.empty() ? default_cookie_path() : options.cookie_file;
    if (auto ec = read_or_create_cookie(path, options.cookie, detail)) return ec;
  }
  options.name = std::move(full);
  return {};
}

std::shared_ptr<node> node::create(boost::asio::any_io_executor executor, node_options options,
                                   std::uint32_t creation, std::error_code& ec,
                                   std::string* detail) {
  if ((ec = resolve(options, detail))) return nullptr;
  std::string full = options.name;
  auto rt = runtime::create(std::move(executor), full, creation);
  auto n =
      std::make_shared<node>(private_tag{}, std::move(rt), std::move(options), std::move(full));
  n->start_services();
  if (!n->options_.hidden && n->options_.global_server) {
    n->global_ = global::server::start(n, {}, ec);
    if (ec) return nullptr;
  }
  ec.clear();
  return n;
}

node::node(private_tag, std::shared_ptr<runtime> rt, node_options options, std::string name)
    : runtime_(std::move(rt)),
      options_(std::move(options)),
      name_(std::move(name)),
      gateway_(std::make_unique<gateway>(*this)),
      cookie_(options_.cookie) {
  runtime_->set_gateway(gateway_.get());
}

node::~node() {
  shutdown();
}

void node::start_services() {
  // net_kernel: answers is_auth (ping) and, so that no caller hangs, every other call with an
  // error tuple.
  const term gen_call = term::atom("$gen_call");
  const term is_auth = term::atom("is_auth");
  const term yes = term::atom("yes");
  const term unsupported = term::tuple({term::atom("error"), term::atom("not_supported")});
  net_kernel_pid_ = runtime_->spawn_actor([=](process& self, const term& msg) {
    if (!msg.is_tuple(3) || !(msg[0] == gen_call) || !msg[1].is_tuple(2) || !msg[1][0].is_pid()) {
      return;
    }
    // The tag may be a reference or [alias | Ref]: echo it exactly as received.
    const term& from = msg[1][0];
    const term& tag = msg[1][1];
    const term& request = msg[2];
    const bool auth = request.is_tuple(2) && request[0] == is_auth;
    self.send(from, term::tuple({tag, auth ? yes : unsupported}));
  });
  runtime_->register_name(term::atom("net_kernel"), net_kernel_pid_);

  // The group leader of processes this node spawns elsewhere. BEAM sends every io request of
  // such a process here and waits for the answer (io:format has no timeout), so each one is
  // answered: output succeeds and is dropped, input is at its end, anything else is an error,
  // as the io protocol allows.
  const term io_request = term::atom("io_request");
  const term io_reply = term::atom("io_reply");
  io_sink_pid_ = runtime_->spawn_actor([=](process& self, const term& msg) {
    if (!msg.is_tuple(4) || !(msg[0] == io_request) || !msg[1].is_pid()) return;
    const term& req = msg[3];
    auto answer = [](const term& r) -> term {
      const term tag = r.is_tuple() && r.tuple_size() > 0 ? r[0] : r;
      if (tag.is_atom("put_chars") || tag.is_atom("requests") || tag.is_atom("setopts")) {
        return term::atom("ok");
      }
      if (tag.is_atom("get_chars") || tag.is_atom("get_line") || tag.is_atom("get_until") ||
          tag.is_atom("get_password")) {
        return term::atom("eof");
      }
      if (tag.is_atom("getopts")) return term::list({});
      return term::tuple({term::atom("error"), term::atom("request")});
    };
    self.send(msg[1], term::tuple({io_reply, msg[2], answer(req)}));
  });
}

std::string node::cookie() const {
  std::lock_guard lock(mu_);
  return cookie_;
}

void node::set_cookie(std::string c) {
  std::lock_guard lock(mu_);
  cookie_ = std::move(c);
}

void node::set_cookie(const std::string& peer_node, std::string c) {
  std::lock_guard lock(mu_);
  peer_cookies_[peer_node] = std::move(c);
}

std::string node::cookie_for(const std::string& peer_node) const {
  std::lock_guard lock(mu_);
  auto it = peer_cookies_.find(peer_node);
  return it != peer_cookies_.end() ? it->second : cookie_;
}

void node::set_dialer(dialer* d) {
  std::lock_guard lock(mu_);
  dialer_ = d;
}

void node::send_locked(peer& p, remote_signal&& s) {
  if (auto m = to_control(std::move(s), p.features, net_kernel_pid_)) p.conn->send(std::move(*m));
}

bool node::route(const term& node_atom, remote_signal&& s) {
  const std::string_view peer_name = node_atom.atom_name();
  std::lock_guard lock(mu_);
  if (stopped_) return false;
  auto it = peers_.find(peer_name);
  if (it != peers_.end() && it->second.up) {
    send_locked(it->second, std::move(s));
    return true;
  }
  const bool dialing = it != peers_.end();
  if (!dialing && (dialer_ == nullptr || dist::check_node_names(name_, peer_name))) return false;
  // As dist::estimated_size: the control message's share plus the payload.
  const std::size_t bytes = 256 + (s.payload.is_nil() ? 0 : etf::encoded_size(s.payload, true));
  auto& p = dialing ? it->second : peers_[std::string(peer_name)];
  if (p.queue_bytes + bytes > options_.max_connecting_queue_bytes) {
    if (!dialing) peers_.erase(std::string(peer_name));
    return false;
  }
  p.queue_bytes += bytes;
  p.queue.push_back(std::move(s));
  if (!dialing) dialer_->dial(std::string(peer_name));
  return true;
}

void node::connect(const std::string& peer_node, std::function<void(std::error_code)> done) {
  std::error_code result;
  {
    std::lock_guard lock(mu_);
    auto it = peers_.find(peer_node);
    if (peer_node == name_) {
      result = {};
    } else if (it != peers_.end()) {
      if (!it->second.up) {
        if (done) it->second.waiters.push_back(std::move(done));
        return;
      }
    } else if (stopped_) {
      result = make_error_code(errc::node_stopped);
    } else if (dialer_ == nullptr) {
      result = make_error_code(errc::no_connection);
    } else if (auto ec = dist::check_node_names(name_, peer_node)) {
      result = ec;
    } else {
      auto& p = peers_[peer_node];
      if (done) p.waiters.push_back(std::move(done));
      dialer_->dial(peer_node);
      return;
    }
  }
  if (done) done(result);
}

void node::disconnect(const std::string& peer_node) {
  std::shared_ptr<peer_connection> conn;
  std::vector<std::function<void(std::error_code)>> waiters;
  bool was_pending = false;
  {
    std::lock_guard lock(mu_);
    auto it = peers_.find(peer_node);
    if (it == peers_.end()) return;
    if (it->second.up) {
      conn = it->second.conn;
    } else {
      waiters = std::move(it->second.waiters);
      peers_.erase(it);
      was_pending = true;
    }
  }
  if (conn) conn->close();  // on_connection_down follows from the connection layer
  if (was_pending) {
    for (auto& w : waiters) w(make_error_code(errc::no_connection));
    runtime_->node_down(term::atom(peer_node), false, false);
  }
}

std::vector<std::string> node::nodes(node_list which) const {
  std::vector<std::string> out;
  if (which.this_node) out.push_back(name_);
  std::lock_guard lock(mu_);
  for (const auto& [n, p] : peers_) {
    if (p.up && (p.hidden ? which.hidden : which.visible)) out.push_back(n);
  }
  return out;
}

bool node::is_connected(const std::string& peer_node) const {
  std::lock_guard lock(mu_);
  auto it = peers_.find(peer_node);
  return it != peers_.end() && it->second.up;
}

void node::ping(const std::string& peer_node, std::chrono::milliseconds timeout,
                std::function<void(bool)> done) {
  if (!dist::split_node_name(peer_node)) {
    boost::asio::post(runtime_->get_executor(), [done = std::move(done)] { done(false); });
    return;
  }
  auto proc = std::make_shared<process>(runtime_->spawn());
  const term tag = runtime_->make_ref();
  const term target = term::tuple({term::atom("net_kernel"), term::atom(peer_node)});
  const term mon = proc->monitor(target);
  proc->send(target, term::tuple({term::atom("$gen_call"), term::tuple({proc->pid(), tag}),
                                  term::tuple({term::atom("is_auth"), name_atom()})}));
  const term down = term::atom("DOWN");
  auto answer = [tag, mon, down](const term& m) {
    return (m.is_tuple(2) && m[0] == tag) || (m.is_tuple(5) && m[0] == down && m[1] == mon);
  };
  proc->async_receive_if(answer, timeout,
                         [proc, tag, mon, done = std::move(done)](std::error_code ec, term m) {
                           proc->demonitor(mon, true);
                           done(!ec && m.is_tuple(2) && m[0] == tag && m[1] == term::atom("yes"));
                         });
}

dist::accept_decision node::decide_incoming(const std::string& peer_node) {
  std::lock_guard lock(mu_);
  if (stopped_ || dist::check_node_names(name_, peer_node)) {
    return dist::accept_decision::not_allowed;
  }
  auto it = peers_.find(peer_node);
  if (it == peers_.end()) return dist::accept_decision::ok;
  if (it->second.up) return dist::accept_decision::alive;
  // Both sides dial at once: as net_kernel does, the node with the greater name keeps its own
  // attempt and refuses the other.
  if (name_ > peer_node) return dist::accept_decision::nok;
  it->second.simultaneous = true;
  return dist::accept_decision::ok_simultaneous;
}

bool node::keep_dial_on_alive(const std::string& peer_node) {
  std::lock_guard lock(mu_);
  if (stopped_) return false;
  auto it = peers_.find(peer_node);
  return it != peers_.end() && !it->second.up && !it->second.simultaneous;
}

void node::on_connection_up(const connection_info& info, std::shared_ptr<peer_connection> conn) {
  std::vector<std::function<void(std::error_code)>> waiters;
  std::shared_ptr<peer_connection> replaced;
  bool replaced_hidden = false;
  bool stopped = false;
  std::map<term, term> lost_spawns;
  {
    std::lock_guard lock(mu_);
    stopped = stopped_;
    if (stopped) {
      replaced = std::move(conn);
    } else {
      auto& p = peers_[info.peer_node];
      if (p.up && p.conn != conn) {
        replaced = std::move(p.conn);
        replaced_hidden = p.hidden;
        // The old connection will never carry their answers.
        lost_spawns = std::move(p.pending_spawns);
        p.pending_spawns.clear();
      }
      p.up = true;
      p.simultaneous = false;
      p.hidden = info.hidden;
      p.features = control_features::from_flags(info.flags);
      p.conn = std::move(conn);
      for (auto& s : p.queue) send_locked(p, std::move(s));
      p.queue.clear();
      p.queue_bytes = 0;
      waiters = std::move(p.waiters);
      p.waiters.clear();
    }
  }
  const term peer_atom = term::atom(info.peer_node);
  for (const auto& [req_id, requester] : lost_spawns) {
    fail_spawn(requester, req_id, term::atom("noconnection"));
  }
  if (replaced) {
    replaced->close();
    if (!stopped) runtime_->node_down(peer_atom, replaced_hidden);
  }
  if (stopped) return;
  for (auto& w : waiters) w({});
  runtime_->node_up(peer_atom, info.hidden);
}

void node::on_connection_failed(const std::string& peer_node, std::error_code ec) {
  std::vector<std::function<void(std::error_code)>> waiters;
  {
    std::lock_guard lock(mu_);
    auto it = peers_.find(peer_node);
    if (it == peers_.end() || it->second.up) return;
    if (it->second.simultaneous) {
      // Our dial lost to theirs, which we accepted: its on_connection_up is coming.
      it->second.simultaneous = false;
      return;
    }
    waiters = std::move(it->second.waiters);
    peers_.erase(it);
  }
  for (auto& w : waiters) w(ec ? ec : make_error_code(errc::no_connection));
  runtime_->node_down(term::atom(peer_node), false, false);
}

void node::on_connection_down(const std::string& peer_node, const peer_connection& conn,
                              std::error_code) {
  bool hidden = false;
  std::map<term, term> pending;
  {
    std::lock_guard lock(mu_);
    auto it = peers_.find(peer_node);
    if (it == peers_.end() || !it->second.up || it->second.conn.get() != &conn) return;
    hidden = it->second.hidden;
    pending = std::move(it->second.pending_spawns);
    peers_.erase(it);
  }
  // As BEAM does for requests the lost node never answered.
  for (const auto& [req_id, requester] : pending) {
    fail_spawn(requester, req_id, term::atom("noconnection"));
  }
  runtime_->node_down(term::atom(peer_node), hidden);
}

void node::on_control(const term& peer_node, dist::dist_message&& message) {
  auto in = from_control(std::move(message));
  switch (in.kind) {
    case incoming_control::what::signal:
      runtime_->deliver(peer_node, std::move(in.signal));
      return;
    case incoming_control::what::spawn_request:
      answer_spawn(std::string(peer_node.atom_name()), in.spawn);
      return;
    case incoming_control::what::spawn_reply: {
      const auto& r = in.reply;
      {
        // Only an answer to a request we sent counts; the rest is a confused peer.
        std::lock_guard lock(mu_);
        auto it = peers_.find(peer_node.atom_name());
        if (it == peers_.end()) return;
        auto p = it->second.pending_spawns.find(r.req_id);
        if (p == it->second.pending_spawns.end() || !(p->second == r.to)) return;
        it->second.pending_spawns.erase(p);
      }
      runtime_->spawn_reply(peer_node, r.to, r.req_id,
                            (r.flags & dist::ctrl::spawn_reply::flag_link) != 0,
                            (r.flags & dist::ctrl::spawn_reply::flag_monitor) != 0, r.result);
      return;
    }
    case incoming_control::what::ignored:
      return;
  }
}

term node::start_rex(std::error_code& ec) {
  return rpc::start_rex(*runtime_, rpc_functions_, ec);
}

void node::answer_spawn(const std::string& peer_node, const edist::node::spawn_request& r) {
  // Every request gets a SPAWN_REPLY: the requester (erpc:call, spawn_request/5) waits for it
  // with no timeout of its own.
  rpc::spawn_decision d;
  if (r.bad_options) {
    d.error = term::atom("badarg");
  } else {
    d = rpc::erpc_spawn(*runtime_, rpc_functions_, {r.req_id, r.from, r.mfa, r.args});
  }
  std::uint32_t flags = 0;
  if (d.job) {
    if (r.link) flags |= dist::ctrl::spawn_reply::flag_link;
    if (r.monitor) flags |= dist::ctrl::spawn_reply::flag_monitor;
  }
  {
    std::lock_guard lock(mu_);
    auto it = peers_.find(peer_node);
    // Without the connection the requester is gone too; the unstarted process ends `normal`.
    if (it == peers_.end() || !it->second.up) return;
    it->second.conn->send(spawn_reply(r.req_id, r.from, d.job ? d.job->pid : d.error, flags));
  }
  if (!d.job) return;
  // The requester's side set up its half of the link and the monitor (with the request id as
  // reference) when it sent the request; ours is set up before the process can run, so that
  // its exit, whenever it comes, reaches the requester after the reply.
  const term peer_atom = term::atom(peer_node);
  if (r.link)
    runtime_->deliver(peer_atom, remote_signal{signal_kind::link, r.from, d.job->pid, {}, {}, 0});
  if (r.monitor) {
    runtime_->deliver(peer_atom,
                      remote_signal{signal_kind::monitor, r.from, d.job->pid, r.req_id, {}, 0});
  }
  d.job->start();
}

void node::fail_spawn(const term& requester, const term& req_id, const term& reason) {
  runtime_->send(requester,
                 term::tuple({term::atom("spawn_reply"), req_id, term::atom("error"), reason}));
}

term node::request_spawn(const process& requester, const std::string& peer_node, const term& module,
                         const term& function, const term& args, remote_spawn_options options) {
  const term req_id = runtime_->make_ref();
  const term from = requester.pid();
  if (!module.is_atom() || !function.is_atom() || !args.is_proper_list() ||
      !dist::split_node_name(peer_node)) {
    fail_spawn(from, req_id, term::atom("badarg"));
    return req_id;
  }
  if (peer_node == name_) {
    // Spawning C++ code by name on this node has no meaning beyond the rpc registry.
    fail_spawn(from, req_id, term::atom("notsup"));
    return req_id;
  }
  auto message = spawn_request_message(req_id, from, io_sink_pid_, module, function, args,
                                       options.link, options.monitor);
  std::weak_ptr<node> weak = weak_from_this();
  connect(peer_node, [weak, peer_node, message = std::move(message), from,
                      req_id](std::error_code ec) mutable {
    auto self = weak.lock();
    if (!self) return;
    if (ec) {
      self->fail_spawn(from, req_id, term::atom("noconnection"));
      return;
    }
    self->send_spawn_request(peer_node, std::move(message));
  });
  return req_id;
}

void node::send_spawn_request(const std::string& peer_node, dist::dist_message message) {
  const auto& request = std::get<dist::ctrl::spawn_request>(message.control);
  const term req_id = request.req_id;
  const term from = request.from;
  term error;
  {
    std::lock_guard lock(mu_);
    auto it = peers_.find(peer_node);
    if (it == peers_.end() || !it->second.up) {
      error = term::atom("noconnection");
    } else if (!it->second.features.spawn) {
      error = term::atom("notsup");
    } else {
      it->second.pending_spawns[req_id] = from;
      it->second.conn->send(std::move(message));
      return;
    }
  }
  fail_spawn(from, req_id, error);
}

remote_spawn_result node::spawn_on(const process& requester, const std::string& peer_node,
                                   const term& module, const term& function, const term& args,
                                   remote_spawn_options options, receive_timeout timeout) {
  remote_spawn_result out;
  out.req_id = request_spawn(requester, peer_node, module, function, args, options);
  const term tag = term::atom("spawn_reply");
  const term req_id = out.req_id;
  auto reply = requester.receive_if(
      [&](const term& m) { return m.is_tuple(4) && m[0] == tag && m[1] == req_id; }, timeout);
  if (!reply) {
    out.error = term::atom("timeout");
  } else if ((*reply)[2].is_atom("ok")) {
    out.pid = (*reply)[3];
  } else {
    out.error = (*reply)[3];
  }
  return out;
}

void node::shutdown() {
  std::vector<std::shared_ptr<peer_connection>> conns;
  {
    std::lock_guard lock(mu_);
    if (stopped_ || shutting_down_) return;
    shutting_down_ = true;
    dialer_ = nullptr;
  }
  // Before the processes end: a stopping server sends no lost_connection reports for the
  // connections that close next.
  if (global_) global_->stop();
  // Processes end while connections still work, so that linked and monitoring peers learn the
  // real reason (`shutdown`) rather than `noconnection`.
  runtime_->shutdown(term::atom("shutdown"));
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    for (auto& [n, p] : peers_) {
      if (p.conn) conns.push_back(p.conn);
    }
    peers_.clear();
  }
  runtime_->set_gateway(nullptr);
  for (auto& c : conns) c->close();
}

}  // namespace edist::node
