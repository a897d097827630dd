#include "edist/node/network.hpp"

// GCC 12 reports a false -Wmismatched-new-delete on Asio's awaitable frames (its custom
// operator new/delete pair is matched, but GCC loses track once the coroutine is inlined).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <condition_variable>
#include <edist/dist/async_handshake.hpp>
#include <edist/dist/connection.hpp>
#include <edist/dist/control_message.hpp>
#include <edist/dist/error.hpp>
#include <edist/dist/node_name.hpp>
#include <edist/dist/tcp_transport.hpp>
#include <edist/epmd/client.hpp>
#include <edist/epmd/error.hpp>
#include <edist/epmd/server.hpp>
#include <functional>
#include <map>
#include <mutex>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "completion_batch.hpp"
#include "edist/node/error.hpp"
#include "send_gate.hpp"

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

// The lane of the connection's sender a message goes in. Signals of one sender keep their
// order (one lane per sender); different senders' messages may interleave, as between BEAM
// processes.
std::uint64_t lane_of(const term& sender) {
  if (sender.is_pid()) {
    // Cheaper than hash() and as good: a lane shared by two senders only orders them more.
    const auto& p = sender.as_pid();
    return (std::uint64_t{p.serial} << 32) | p.id;
  }
  return sender.hash();
}

std::uint64_t order_key(const dist::control_message& m) {
  return std::visit(
      [](const auto& c) -> std::uint64_t {
        using T = std::decay_t<decltype(c)>;
        namespace ctrl = dist::ctrl;
        if constexpr (std::is_same_v<T, ctrl::spawn_reply>) {
          // In the lane of the pid it announces, so that the new process's exit or messages
          // can never overtake it: until the reply, the requester does not know the pid they
          // come from.
          return lane_of(c.result.is_pid() ? c.result : c.req_id);
        } else if constexpr (std::is_same_v<T, ctrl::send> || std::is_same_v<T, ctrl::node_link>) {
          return 0;  // no sender
        } else if constexpr (std::is_same_v<T, ctrl::monitor_p_exit> ||
                             std::is_same_v<T, ctrl::payload_monitor_p_exit>) {
          return lane_of(c.from_proc);
        } else {
          // SPAWN_REQUEST too: in its requester's lane, behind that process's earlier signals.
          return lane_of(c.from);
        }
      },
      m);
}

// Whether the calling thread runs the context behind `ex` (then it must never block): an
// io_context or a thread_pool, or a strand of one. For any other kind of executor we cannot
// tell, and answer "yes" so as never to block.
template <class Inner>
bool runs_inner(const asio::any_io_executor& ex, bool& known) {
  if (const auto* e = ex.target<Inner>()) {
    known = true;
    return e->running_in_this_thread();
  }
  if (const auto* s = ex.target<asio::strand<Inner>>()) {
    known = true;
    return s->get_inner_executor().running_in_this_thread();
  }
  return false;
}

bool runs_context_of(const asio::any_io_executor& ex) {
  bool known = false;
  bool running = runs_inner<asio::io_context::executor_type>(ex, known);
  if (!known) running = runs_inner<asio::thread_pool::executor_type>(ex, known);
  return known ? running : true;
}

struct backlog_limits {
  asio::any_io_executor context;  // the network's: its threads never block
  std::size_t max_send_queue = 0;
  std::size_t busy = 0;
  std::size_t max_backlog = 0;
};

// One established connection: the dist layer's connection, adapted to what the node needs,
// with the node-side backlog that keeps what the connection's bounded send queue refuses.
class dist_peer final : public peer_connection,
                        public dist::connection::handler,
                        public detail::send_gate,
                        public std::enable_shared_from_this<dist_peer> {
 public:
  // `report` tells the network about a connection we close on our own (any thread).
  using reporter = std::function<void(const std::string& peer, const std::string& what)>;

  dist_peer(std::weak_ptr<node> n, std::string peer, backlog_limits limits, reporter report)
      : node_(std::move(n)),
        peer_(std::move(peer)),
        peer_atom_(term::atom(peer_)),
        limits_(limits),
        report_(std::move(report)) {}

  void start(std::unique_ptr<dist::transport> tp, const dist::handshake_result& result,
             std::vector<std::uint8_t> leftover) {
    executor_ = tp->get_executor();
    self_ = shared_from_this();  // until on_closed: the connection refers to us as its handler
    dist::connection_options co;
    co.max_send_queue = limits_.max_send_queue;
    conn_ = dist::connection::create(std::move(tp), result, *this, co, std::move(leftover));
    conn_->start();
  }

  // Any thread (often under the node's lock: never blocks). The connection is touched on its
  // strand.
  bool send(dist::dist_message message) override {
    const std::uint64_t key = order_key(message.control);
    // The connection's own accounting, computed once: drain_outbox() hands it over.
    const std::size_t bytes = dist::estimated_size(message);
    // Queued here and handed over in batches: one post to the connection's strand carries
    // every message sent before it runs, instead of a post (an allocation and often a thread
    // wake-up) per message. Order is kept: one queue, drained in order, on the strand; what
    // the connection refuses stays at the front of it.
    bool schedule = false;
    bool busy = false;
    std::size_t overflow = 0;
    {
      std::lock_guard lock(mu_);
      if (closed_) return false;
      if (backlog_ != 0 && backlog_ + bytes > limits_.max_backlog) {
        // Closing discards the backlog at once: memory stays bounded, and the node sees the
        // connection lost (links and monitors fire) instead of a message vanishing.
        overflow = backlog_ + bytes;
        close_locked(make_error_code(errc::send_queue_overflow));
      } else {
        outbox_.push_back({std::move(message), key, bytes});
        backlog_ += bytes;
        peak_ = std::max(peak_, backlog_);
        if (backlog_ > limits_.busy) busy_ = true;
        busy = busy_;
        schedule = !drain_scheduled_ && !parked_;
        drain_scheduled_ = drain_scheduled_ || schedule;
      }
    }
    if (overflow != 0) {
      report_(peer_, "closed: " + make_error_code(errc::send_queue_overflow).message() + " (" +
                         std::to_string(overflow) + " bytes queued, max_send_backlog " +
                         std::to_string(limits_.max_backlog) + ")");
      close();
      return true;
    }
    if (schedule) {
      // From an io thread inside a completion batch (an actor's turn, a read from a
      // connection) the drain runs when that work is done, on this thread if the strand is
      // free: a reply then leaves without a hand-off to another thread.
      asio::any_completion_handler<void()> drain = [self = shared_from_this()] {
        self->drain_outbox();
      };
      if (!detail::completion_batch::defer(executor_, drain))
        asio::post(executor_, std::move(drain));
    }
    if (busy && !runs_context_of(limits_.context)) detail::note_busy_connection(weak_from_this());
    return true;
  }

  // Any thread; blocks. See send_gate.
  void wait_until_not_busy() override {
    std::unique_lock lock(mu_);
    ++blocked_senders_;
    not_busy_.wait(lock, [this] { return closed_ || !busy_; });
    --blocked_senders_;
  }

  // Any thread: `ready` is posted to the connection's executor once not busy.
  void when_not_busy(std::function<void()> ready) {
    {
      std::lock_guard lock(mu_);
      if (!closed_ && busy_) {
        not_busy_callbacks_.push_back(std::move(ready));
        return;
      }
    }
    asio::post(executor_, std::move(ready));
  }

  send_backlog_info backlog() const {
    std::lock_guard lock(mu_);
    return {backlog_, peak_, busy_};
  }

  // On the connection's strand: hands the queued messages over until the connection's send
  // queue is full, then waits (parked) for on_send_ready().
  void drain_outbox() {
    {
      std::lock_guard lock(mu_);
      drain_scheduled_ = false;
      if (parked_ || closed_) return;
      if (next_ == draining_.size()) {
        draining_.clear();  // keeps its capacity for the swap
        next_ = 0;
        draining_.swap(outbox_);
      }
      // Else the rest of a batch the connection refused goes first; the outbox follows.
    }
    std::size_t accepted = 0;
    bool full = false;
    while (next_ < draining_.size()) {
      auto& o = draining_[next_];
      // The connection takes the message only on success: a refused one stays here, in order.
      const auto ec = conn_->send(std::move(o.message), o.order_key, o.bytes);
      if (ec == dist::errc::send_queue_full) {
        full = true;
        break;
      }
      // Taken, or the connection is closed (on_closed then discards the backlog).
      accepted += o.bytes;
      ++next_;
    }
    bool more = false;
    std::vector<std::function<void()>> ready;
    {
      std::lock_guard lock(mu_);
      backlog_ = closed_ ? 0 : backlog_ - accepted;  // closing has discarded the backlog
      if (full) parked_ = true;
      if (busy_ && backlog_ <= limits_.busy / 2) {
        busy_ = false;
        ready.swap(not_busy_callbacks_);
        if (blocked_senders_ != 0) not_busy_.notify_all();
      }
      more = !full && !outbox_.empty() && !drain_scheduled_ && !closed_;
      drain_scheduled_ = drain_scheduled_ || more;
    }
    for (auto& r : ready) asio::post(executor_, std::move(r));
    // Once more per post, not in a loop: the strand also reads from the socket.
    if (more) asio::post(executor_, [self = shared_from_this()] { self->drain_outbox(); });
  }

  void close() override {
    asio::post(executor_, [self = shared_from_this()] {
      if (self->conn_) self->conn_->close();
    });
  }

  void on_message(dist::dist_message&& m) override {
    // The work these messages cause (actors' turns, replies) runs after the read's last
    // message, on this thread (completion_batch.hpp).
    if (!receive_batch_open_) {
      detail::completion_batch::enter();
      receive_batch_open_ = true;
    }
    auto n = node_.lock();
    if (!n) return;
    n->on_control(peer_atom_, std::move(m));
  }

  void on_messages_end() override {
    if (std::exchange(receive_batch_open_, false)) detail::completion_batch::leave();
  }

  // The connection's send queue has room again.
  void on_send_ready() override {
    bool schedule = false;
    {
      std::lock_guard lock(mu_);
      parked_ = false;
      schedule = !drain_scheduled_ && !closed_;
      drain_scheduled_ = drain_scheduled_ || schedule;
    }
    // Posted, not called: this runs inside the connection's own send path.
    if (schedule) asio::post(executor_, [self = shared_from_this()] { self->drain_outbox(); });
  }

  void on_closed(std::error_code ec) override {
    {
      std::lock_guard lock(mu_);
      close_locked(ec);
      ec = close_reason_;
    }
    draining_.clear();
    next_ = 0;
    if (auto n = node_.lock()) n->on_connection_down(peer_, *this, ec);
    // Release ourselves after the connection's callback has returned.
    asio::post(executor_, [self = std::move(self_)]() mutable {
      self->conn_.reset();
      self.reset();
    });
  }

 private:
  // Under mu_: no more sends; the backlog is discarded, blocked senders and waiters released.
  void close_locked(std::error_code reason) {
    if (closed_) return;
    closed_ = true;
    close_reason_ = reason;
    outbox_.clear();
    backlog_ = 0;
    busy_ = false;
    not_busy_.notify_all();
    for (auto& r : not_busy_callbacks_) asio::post(executor_, std::move(r));
    not_busy_callbacks_.clear();
  }

  struct outgoing {
    dist::dist_message message;
    std::uint64_t order_key;
    std::size_t bytes;  // dist::estimated_size(message)
  };

  std::weak_ptr<node> node_;
  std::string peer_;
  term peer_atom_;  // peer_ as an atom, for every incoming message
  backlog_limits limits_;
  reporter report_;
  asio::any_io_executor executor_;
  std::shared_ptr<dist::connection> conn_;
  std::shared_ptr<dist_peer> self_;

  mutable std::mutex mu_;
  std::condition_variable not_busy_;
  // Guarded by mu_:
  std::vector<outgoing> outbox_;  // sent, not yet taken for handing over
  std::size_t backlog_ = 0;       // bytes in outbox_ and draining_ not taken by the connection
  std::size_t peak_ = 0;
  bool busy_ = false;             // above limits_.busy, until drained to half of it
  bool drain_scheduled_ = false;  // a drain_outbox() is posted
  bool parked_ = false;           // the connection refused; waiting for on_send_ready()
  bool closed_ = false;
  std::error_code close_reason_;  // why we closed it ourselves, else the connection's reason
  int blocked_senders_ = 0;
  std::vector<std::function<void()>> not_busy_callbacks_;
  // The strand's: the batch being handed over, and the first message not yet taken.
  std::vector<outgoing> draining_;
  std::size_t next_ = 0;
  bool receive_batch_open_ = false;  // between a read's first message and its end
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
  // The latest connection to each peer (for send_backlog and async_wait_not_busy).
  std::map<std::string, std::weak_ptr<dist_peer>> peers;
  bool stopped = false;

  std::shared_ptr<dist_peer> find_peer(const std::string& peer) const {
    std::lock_guard lock(mu);
    auto it = peers.find(peer);
    return it == peers.end() ? nullptr : it->second.lock();
  }

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
    backlog_limits limits{ex, opts.max_send_queue, opts.send_busy_limit, opts.max_send_backlog};
    // Weak: a connection outliving the network must not keep it alive.
    std::weak_ptr<impl> weak_self = shared_from_this();
    auto report = [weak_self](const std::string& peer, const std::string& what) {
      auto self = weak_self.lock();
      if (!self) return;
      self->record_failure(peer, what);
      if (self->opts.log) self->opts.log("edist: connection to " + peer + " " + what);
    };
    auto conn = std::make_shared<dist_peer>(n, out.result.peer_node, limits, std::move(report));
    {
      std::lock_guard lock(mu);
      std::erase_if(peers, [](const auto& entry) { return entry.second.expired(); });
      peers[out.result.peer_node] = conn;
    }
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
    std::weak_ptr<node> wn = self->n;
    ho.hooks.on_alive = [wn](const std::string& peer_node) {
      auto sn = wn.lock();
      return sn && sn->keep_dial_on_alive(peer_node);
    };
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

std::optional<send_backlog_info> network::send_backlog(const std::string& peer_node) const {
  auto peer = impl_->find_peer(peer_node);
  if (!peer) return std::nullopt;
  return peer->backlog();
}

void network::start_wait_not_busy(const std::string& peer_node,
                                  asio::any_completion_handler<void()> handler) {
  // `ready` always runs from a post, never inside this call; from there the handler is
  // dispatched to its associated executor (else ours).
  auto ready = [h = std::make_shared<asio::any_completion_handler<void()>>(std::move(handler))] {
    asio::dispatch(std::move(*h));
  };
  if (auto peer = impl_->find_peer(peer_node)) {
    peer->when_not_busy(std::move(ready));
  } else {
    asio::post(impl_->ex, std::move(ready));
  }
}

void network::stop() {
  impl_->stop();
}

}  // namespace edist::node
