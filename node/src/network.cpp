#include "edist/node/network.hpp"

// GCC 12 reports a false -Wmismatched-new-delete on Asio's awaitable frames (its custom
// operator new/delete pair is matched, but GCC loses track once the coroutine is inlined).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <edist/dist/async_handshake.hpp>
#include <edist/dist/connection.hpp>
#include <edist/dist/control_message.hpp>
#include <edist/dist/error.hpp>
#include <edist/dist/node_name.hpp>
#include <edist/dist/tcp_transport.hpp>
#include <edist/epmd/client.hpp>
#include <edist/epmd/error.hpp>
#include <edist/epmd/server.hpp>
#include <map>
#include <mutex>
#include <vector>

#include "edist/node/error.hpp"

namespace edist::node {

namespace asio = boost::asio;
using asio::ip::tcp;
using etf::term;

namespace {

// What we advertise: the full edist set (atom cache header and fragments included; the dist
// connection handles both).
dist::dist_flags our_flags(bool hidden) {
  return dist::advertised_flags(hidden ? dist::visibility::hidden : dist::visibility::visible);
}

// One established connection: the dist layer's connection, adapted to what the node needs.
class dist_peer final : public peer_connection,
                        public dist::connection::handler,
                        public std::enable_shared_from_this<dist_peer> {
 public:
  dist_peer(std::weak_ptr<node> n, std::string peer)
      : node_(std::move(n)), peer_(std::move(peer)) {}

  void start(std::unique_ptr<dist::transport> tp, const dist::handshake_result& result,
             std::vector<std::uint8_t> leftover) {
    executor_ = tp->get_executor();
    self_ = shared_from_this();  // until on_closed: the connection refers to us as its handler
    conn_ = dist::connection::create(std::move(tp), result, *this, {}, std::move(leftover));
    conn_->start();
  }

  // Any thread. The typed message is built here; the connection is touched on its strand.
  bool send(const control_message& m) override {
    dist::control_message typed;
    if (dist::from_term(m.control, typed)) return false;
    // Signals of one sender keep their order (one lane per sender); different senders'
    // messages may interleave, as between BEAM processes.
    // A SPAWN_REPLY goes in the lane of the pid it announces, so that the new process's
    // exit or messages can never overtake it: until the reply, the requester does not know
    // the pid they come from.
    const bool is_spawn_reply =
        m.control.is_tuple(5) && m.control[0] == term(op::spawn_reply) && m.control[4].is_pid();
    // A SPAWN_REQUEST goes in its requester's lane, behind that process's earlier signals.
    const bool is_spawn_request = m.control.is_tuple(6) && m.control[0] == term(op::spawn_request);
    const std::uint64_t key = is_spawn_reply     ? static_cast<std::uint64_t>(m.control[4].hash())
                              : is_spawn_request ? static_cast<std::uint64_t>(m.control[2].hash())
                              : m.control.is_tuple() && m.control.tuple_size() > 1
                                  ? static_cast<std::uint64_t>(m.control[1].hash())
                                  : 0;
    // Queued here and handed over in batches: one post to the connection's strand carries
    // every message sent before it runs, instead of a post (an allocation and often a thread
    // wake-up) per message. Order is kept: one queue, drained in order, on the strand.
    bool schedule = false;
    {
      std::lock_guard lock(outbox_mu_);
      outbox_.push_back({dist::dist_message{std::move(typed), m.payload}, key});
      schedule = !drain_scheduled_;
      drain_scheduled_ = true;
    }
    if (schedule) asio::post(executor_, [self = shared_from_this()] { self->drain_outbox(); });
    return true;
  }

  // On the connection's strand.
  void drain_outbox() {
    {
      std::lock_guard lock(outbox_mu_);
      draining_.swap(outbox_);
      drain_scheduled_ = false;
    }
    for (auto& [msg, key] : draining_) {
      // send_queue_full drops the message: the bound is far above what a live peer lets pile up.
      if (conn_) conn_->send(std::move(msg), key);
    }
    draining_.clear();  // keeps its capacity for the next swap
  }

  void close() override {
    asio::post(executor_, [self = shared_from_this()] {
      if (self->conn_) self->conn_->close();
    });
  }

  void on_message(dist::dist_message&& m) override {
    auto n = node_.lock();
    if (!n) return;
    const term control = dist::to_term(m.control);
    n->on_control(peer_, control, m.payload ? &*m.payload : nullptr);
  }

  void on_closed(std::error_code ec) override {
    if (auto n = node_.lock()) n->on_connection_down(peer_, *this, ec);
    // Release ourselves after the connection's callback has returned.
    asio::post(executor_, [self = std::move(self_)]() mutable {
      self->conn_.reset();
      self.reset();
    });
  }

 private:
  std::weak_ptr<node> node_;
  std::string peer_;
  asio::any_io_executor executor_;
  std::shared_ptr<dist::connection> conn_;
  std::shared_ptr<dist_peer> self_;
  struct outgoing {
    dist::dist_message message;
    std::uint64_t order_key;
  };
  std::mutex outbox_mu_;
  std::vector<outgoing> outbox_;    // guarded by outbox_mu_
  bool drain_scheduled_ = false;    // guarded by outbox_mu_: a drain_outbox() is posted
  std::vector<outgoing> draining_;  // the strand's: the batch being handed over
};

}  // namespace

struct network::impl final : dialer, std::enable_shared_from_this<network::impl> {
  virtual ~impl() = default;

  asio::any_io_executor ex;
  network_options opts;
  std::shared_ptr<node> n;
  std::optional<tcp::acceptor> acceptor;
  std::unique_ptr<epmd::server> embedded_epmd;
  epmd::registration registration;
  std::uint16_t port = 0;
  bool hidden = false;

  mutable std::mutex mu;
  std::map<std::string, std::string> failures;
  bool stopped = false;

  dist::handshake_config config(const std::string& cookie) const {
    dist::handshake_config c;
    c.this_node = n->name();
    c.cookie = cookie;
    c.flags = our_flags(hidden);
    c.creation = registration.creation();
    return c;
  }

  void record_failure(const std::string& peer, const std::string& what) {
    std::lock_guard lock(mu);
    failures[peer] = what;
  }

  void established(const dist::handshake_outcome& out, std::unique_ptr<dist::transport> tp) {
    auto conn = std::make_shared<dist_peer>(n, out.result.peer_node);
    connection_info info{out.result.peer_node, out.result.flags,
                         hidden || out.result.peer_is_hidden(), out.result.peer_creation};
    conn->start(std::move(tp), out.result, out.leftover);
    n->on_connection_up(info, conn);
  }

  void accept_loop() {
    acceptor->async_accept(asio::make_strand(ex), [self = shared_from_this()](
                                                      boost::system::error_code ec, tcp::socket s) {
      if (ec) {
        if (ec == asio::error::operation_aborted) return;
      } else {
        self->start_accepted(std::move(s));
      }
      if (self->acceptor && self->acceptor->is_open()) self->accept_loop();
    });
  }

  void start_accepted(tcp::socket s) {
    // The transport must outlive the handshake and then move into the connection.
    auto tp =
        std::make_shared<std::unique_ptr<dist::transport>>(dist::tcp_transport::make(std::move(s)));
    dist::handshake_options ho;
    ho.net_setuptime = opts.net_setuptime;
    std::weak_ptr<node> wn = n;
    ho.hooks.on_peer = [wn](const std::string& peer, dist::dist_flags) {
      auto sn = wn.lock();
      return sn ? sn->decide_incoming(peer) : dist::accept_decision::not_allowed;
    };
    ho.hooks.cookie_for = [wn](const std::string& peer) {
      auto sn = wn.lock();
      return sn ? sn->cookie_for(peer) : std::string();
    };
    dist::async_handshake_accept(
        **tp, config(n->cookie()), ho,
        [self = shared_from_this(), tp](std::error_code ec, dist::handshake_outcome out) mutable {
          if (ec) {
            if (!out.result.peer_node.empty()) {
              self->record_failure(out.result.peer_node, ec.message() + ": " + out.detail);
            }
            return;
          }
          self->established(out, std::move(*tp));
        });
  }

  void dial(const std::string& peer) override {
    // Called under the node's lock: do everything later.
    asio::co_spawn(ex, dial_coro(shared_from_this(), peer), asio::detached);
  }

  static asio::awaitable<void> dial_coro(std::shared_ptr<impl> self, std::string peer) {
    std::error_code ec;
    std::string why;
    auto parts = dist::split_node_name(peer);
    if (!parts) {
      self->n->on_connection_failed(peer, make_error_code(dist::errc::invalid_node_name));
      co_return;
    }
    epmd::client_options co;
    co.host = std::string(parts->host);
    co.port = self->opts.epmd_port;
    epmd::client client(self->ex, co);
    auto [lec, info] = co_await client.async_lookup(std::string(parts->name), asio::use_awaitable);
    if (lec) {
      self->record_failure(peer, "EPMD at " + co.host + ": " + lec.message());
      self->n->on_connection_failed(peer, lec);
      co_return;
    }
    tcp::resolver resolver(self->ex);
    boost::system::error_code bec;
    auto endpoints = co_await resolver.async_resolve(
        co.host, std::to_string(info.port), asio::redirect_error(asio::use_awaitable, bec));
    tcp::socket socket(asio::make_strand(self->ex));
    if (!bec) {
      co_await asio::async_connect(socket, endpoints,
                                   asio::redirect_error(asio::use_awaitable, bec));
    }
    if (bec) {
      self->record_failure(peer, "connect: " + bec.message());
      self->n->on_connection_failed(peer, bec);
      co_return;
    }
    auto tp = dist::tcp_transport::make(std::move(socket));
    dist::handshake_options ho;
    ho.net_setuptime = self->opts.net_setuptime;
    auto [hec, out] = co_await dist::async_handshake_initiate(
        *tp, self->config(self->n->cookie_for(peer)), peer, ho, asio::use_awaitable);
    if (hec) {
      self->record_failure(peer, hec.message() + (out.detail.empty() ? "" : ": " + out.detail));
      self->n->on_connection_failed(peer, hec);
      co_return;
    }
    self->established(out, std::move(tp));
  }

  void stop() {
    {
      std::lock_guard lock(mu);
      if (stopped) return;
      stopped = true;
    }
    n->shutdown();
    asio::post(ex, [self = shared_from_this()] {
      if (self->acceptor) self->acceptor->close();
    });
    registration.close();
    if (embedded_epmd) embedded_epmd->stop();
  }
};

std::shared_ptr<network> network::start(asio::any_io_executor executor, node_options nopts,
                                        network_options options, std::error_code& ec,
                                        std::string* detail) {
  auto fail = [&](std::error_code e, std::string text) -> std::shared_ptr<network> {
    ec = e;
    if (detail != nullptr) *detail = std::move(text);
    return nullptr;
  };
  auto p = std::make_shared<impl>();
  p->ex = executor;
  p->opts = options;
  p->hidden = nopts.hidden;

  boost::system::error_code bec;
  auto address = asio::ip::make_address(options.listen_address, bec);
  if (bec) return fail(make_error_code(errc::invalid_option), "bad listen address");
  p->acceptor.emplace(asio::make_strand(executor));
  tcp::endpoint ep(address, options.listen_port);
  p->acceptor->open(ep.protocol(), bec);
  if (!bec) p->acceptor->set_option(tcp::acceptor::reuse_address(true), bec);
  if (!bec) p->acceptor->bind(ep, bec);
  if (!bec) p->acceptor->listen(asio::socket_base::max_listen_connections, bec);
  if (bec) return fail(bec, "cannot listen on " + options.listen_address);
  p->port = p->acceptor->local_endpoint().port();

  // The full name and the cookie first: the name is what EPMD registers.
  std::error_code nec;
  std::string why;
  if ((nec = node::resolve(nopts, &why))) return fail(nec, why);
  const auto parts = dist::split_node_name(nopts.name);
  epmd::client_options co;
  co.port = options.epmd_port;
  epmd::node_info info;
  info.name = std::string(parts->name);
  info.port = p->port;
  std::error_code rec;
  p->registration = epmd::register_node(co, info, rec);
  if (rec == epmd::errc::unreachable && options.start_embedded_epmd) {
    epmd::server_options so;
    so.port = epmd::resolve_port(options.epmd_port);
    p->embedded_epmd = std::make_unique<epmd::server>(executor, so);
    if (auto sec = p->embedded_epmd->start()) {
      return fail(sec, "no EPMD answers and the embedded one cannot start");
    }
    p->registration = epmd::register_node(co, info, rec);
  }
  if (rec) return fail(rec, "EPMD registration of " + info.name + ": " + rec.message());

  p->n = node::create(executor, nopts, p->registration.creation(), nec, &why);
  if (nec) return fail(nec, why);
  p->n->set_dialer(p.get());
  p->accept_loop();
  ec.clear();
  return std::shared_ptr<network>(new network(std::move(p)));
}

network::~network() {
  stop();
}
node& network::get_node() noexcept {
  return *impl_->n;
}
std::shared_ptr<node> network::node_ptr() noexcept {
  return impl_->n;
}
std::uint16_t network::listen_port() const noexcept {
  return impl_->port;
}
std::uint32_t network::creation() const noexcept {
  return impl_->registration.creation();
}

std::string network::failure_detail(const std::string& peer_node) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->failures.find(peer_node);
  return it == impl_->failures.end() ? std::string() : it->second;
}

void network::stop() {
  impl_->stop();
}

}  // namespace edist::node
