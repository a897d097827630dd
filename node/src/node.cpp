#include "edist/node/node.hpp"

#include <unistd.h>

#include <boost/asio/post.hpp>
#include <edist/dist/node_name.hpp>

#include "edist/node/cookie.hpp"
#include "edist/node/error.hpp"

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

void node::send_locked(peer& p, const remote_signal& s) {
  if (auto m = to_control(s, p.features, net_kernel_pid_)) p.conn->send(*m);
}

bool node::route(const term& node_atom, remote_signal s) {
  std::string peer_name(node_atom.atom_name());
  std::lock_guard lock(mu_);
  if (stopped_) return false;
  auto it = peers_.find(peer_name);
  if (it != peers_.end()) {
    if (it->second.up) {
      send_locked(it->second, s);
    } else {
      it->second.queue.push_back(std::move(s));
    }
    return true;
  }
  if (dialer_ == nullptr || dist::check_node_names(name_, peer_name)) return false;
  peers_[peer_name].queue.push_back(std::move(s));
  dialer_->dial(peer_name);
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
    runtime_->node_down(term::atom(peer_node), false);
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

void node::on_connection_up(const connection_info& info, std::shared_ptr<peer_connection> conn) {
  std::vector<std::function<void(std::error_code)>> waiters;
  std::shared_ptr<peer_connection> replaced;
  bool replaced_hidden = false;
  bool stopped = false;
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
      }
      p.up = true;
      p.simultaneous = false;
      p.hidden = info.hidden;
      p.features = control_features::from_flags(info.flags);
      p.conn = std::move(conn);
      for (const auto& s : p.queue) send_locked(p, s);
      p.queue.clear();
      waiters = std::move(p.waiters);
      p.waiters.clear();
    }
  }
  const term peer_atom = term::atom(info.peer_node);
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
  runtime_->node_down(term::atom(peer_node), false);
}

void node::on_connection_down(const std::string& peer_node, const peer_connection& conn,
                              std::error_code) {
  bool hidden = false;
  {
    std::lock_guard lock(mu_);
    auto it = peers_.find(peer_node);
    if (it == peers_.end() || !it->second.up || it->second.conn.get() != &conn) return;
    hidden = it->second.hidden;
    peers_.erase(it);
  }
  runtime_->node_down(term::atom(peer_node), hidden);
}

void node::on_control(const std::string& peer_node, const term& control, const term* payload) {
  const auto in = from_control(control, payload);
  switch (in.kind) {
    case incoming_control::what::signal:
      runtime_->deliver(term::atom(peer_node), in.signal);
      return;
    case incoming_control::what::spawn_request: {
      // No spawning of C++ code by name: refuse at once so that erpc callers do not hang.
      std::lock_guard lock(mu_);
      auto it = peers_.find(peer_node);
      if (it != peers_.end() && it->second.up) {
        it->second.conn->send(spawn_reply(in.spawn.req_id, in.spawn.from, term::atom("notsup")));
      }
      return;
    }
    case incoming_control::what::ignored:
      return;
  }
}

void node::shutdown() {
  std::vector<std::shared_ptr<peer_connection>> conns;
  {
    std::lock_guard lock(mu_);
    if (stopped_ || shutting_down_) return;
    shutting_down_ = true;
    dialer_ = nullptr;
  }
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
