// Our handshake and packet stream against live BEAM nodes: we dial them and they dial us,
// hidden and visible, short and long names; wrong cookies both ways; a name-type mismatch;
// silent peers on both sides.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "edist/dist/async_handshake.hpp"
#include "edist/dist/error.hpp"
#include "edist/dist/packet_stream.hpp"
#include "edist/dist/tcp_transport.hpp"
#include "edist/epmd/client.hpp"
#include "edist/testing/beam_node.hpp"
#include "edist/testing/epmd_instance.hpp"
#include "edist/testing/gtest.hpp"
#include "edist/testing/names.hpp"

namespace {

namespace asio = boost::asio;
namespace dist = edist::dist;
namespace ep = edist::epmd;
namespace et = edist::testing;
using asio::ip::tcp;
using namespace std::chrono_literals;

// Collects what a packet_stream reports; callbacks run on the I/O thread.
class recorder final : public dist::packet_stream::handler {
 public:
  void on_packet(std::span<const std::uint8_t> p) override {
    std::lock_guard lock(mu_);
    packets_.emplace_back(p.begin(), p.end());
    cv_.notify_all();
  }
  void on_closed(std::error_code ec) override {
    std::lock_guard lock(mu_);
    closed_ = ec;
    cv_.notify_all();
  }
  std::optional<std::error_code> wait_closed(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return closed_.has_value(); });
    return closed_;
  }
  std::optional<std::vector<std::uint8_t>> wait_packet(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return !packets_.empty(); });
    if (packets_.empty()) return std::nullopt;
    return packets_.front();
  }
  std::vector<std::vector<std::uint8_t>> wait_packets(std::size_t n,
                                                      std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return packets_.size() >= n; });
    return packets_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::vector<std::uint8_t>> packets_;
  std::optional<std::error_code> closed_;
};

struct handshake_done {
  std::error_code ec;
  dist::handshake_outcome outcome;
};

// Our side of the test: an io_context on a background thread, the connection it makes or
// accepts, and the packet stream that keeps it alive afterwards.
class our_node {
 public:
  our_node() : guard_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~our_node() {
    bool had_stream = false;
    run([&] {
      had_stream = stream_ != nullptr;
      if (stream_) stream_->close();
      if (acceptor_) acceptor_->close();
    });
    // Let the stream deliver on_closed before the recorder goes away.
    if (had_stream) recorder_.wait_closed(2s);
    guard_.reset();
    io_.stop();
    thread_.join();
  }

  // Runs f on the I/O thread and waits for it.
  void run(std::function<void()> f) {
    std::promise<void> done;
    asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  // Dials `peer` at 127.0.0.1:port; on success starts the packet stream.
  handshake_done dial(std::uint16_t port, dist::handshake_config cfg, std::string peer,
                      dist::packet_stream_options sopts = {}) {
    std::promise<handshake_done> result;
    tcp::socket socket(io_);
    boost::system::error_code ec;
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    if (ec) return {ec, {}};
    auto tp = dist::tcp_transport::make(std::move(socket));
    auto* raw = tp.get();
    run([&] {
      dist::async_handshake_initiate(
          *raw, std::move(cfg), std::move(peer), {},
          [this, &result, sopts, tp = std::shared_ptr<dist::transport>(std::move(tp))](
              std::error_code e, dist::handshake_outcome out) mutable {
            if (!e) start_stream(std::move(tp), sopts, out.leftover);
            result.set_value({e, std::move(out)});
          });
    });
    return result.get_future().get();
  }

  // Listens on 127.0.0.1 (any port) and accepts one connection in the background.
  std::uint16_t listen(dist::handshake_config cfg, dist::packet_stream_options sopts = {}) {
    acceptor_.emplace(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = acceptor_->local_endpoint().port();
    run([this, cfg = std::move(cfg), sopts] {
      acceptor_->async_accept([this, cfg, sopts](boost::system::error_code ec, tcp::socket s) {
        if (ec) return;
        auto tp = std::shared_ptr<dist::transport>(dist::tcp_transport::make(std::move(s)));
        auto* raw = tp.get();
        dist::async_handshake_accept(
            *raw, cfg, {},
            [this, sopts, tp](std::error_code e, dist::handshake_outcome out) mutable {
              if (!e) start_stream(std::move(tp), sopts, out.leftover);
              std::lock_guard lock(mu_);
              accepted_ = handshake_done{e, std::move(out)};
              cv_.notify_all();
            });
      });
    });
    return port;
  }

  std::optional<handshake_done> wait_accepted(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return accepted_.has_value(); });
    return accepted_;
  }

  void freeze() {
    run([this] {
      if (stream_) stream_->freeze();
    });
  }

  recorder& packets() { return recorder_; }

 private:
  void start_stream(std::shared_ptr<dist::transport> tp, dist::packet_stream_options sopts,
                    std::vector<std::uint8_t> leftover) {
    // The stream takes the transport over; the handshake's shared owner is gone by now.
    struct forwarding final : dist::transport {
      explicit forwarding(std::shared_ptr<dist::transport> t) : t_(std::move(t)) {}
      executor_type get_executor() const override { return t_->get_executor(); }
      dist::length_prefix handshake_prefix() const noexcept override {
        return t_->handshake_prefix();
      }
      void close() noexcept override { t_->close(); }
      bool is_open() const noexcept override { return t_->is_open(); }
      std::string remote_endpoint_text() const override { return t_->remote_endpoint_text(); }

     protected:
      void do_read_some(const mutable_buffers& b, io_handler h) override {
        t_->async_read_some(b, std::move(h));
      }
      void do_write_some(const const_buffers& b, io_handler h) override {
        t_->async_write_some(b, std::move(h));
      }

     private:
      std::shared_ptr<dist::transport> t_;
    };
    stream_ = dist::packet_stream::create(std::make_unique<forwarding>(std::move(tp)), recorder_,
                                          sopts, std::move(leftover));
    stream_->start();
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
  std::optional<tcp::acceptor> acceptor_;
  std::shared_ptr<dist::packet_stream> stream_;
  recorder recorder_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<handshake_done> accepted_;
};

bool eventually(const std::function<bool()>& f, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return f();
}

class DistHandshakeInterop : public et::otp_test {
 protected:
  void SetUp() override {
    et::otp_test::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    epmd_.emplace(et::epmd_instance::start(otp()));
    cookie_ = et::random_cookie();
  }

  et::beam_node start_beam(bool long_names = false, std::vector<std::string> extra = {}) {
    et::beam_options o;
    o.epmd_port = epmd_->port();
    o.cookie = cookie_;
    o.long_names = long_names;
    if (long_names) o.host = "127.0.0.1";
    o.extra_args = std::move(extra);
    return et::beam_node::start(otp(), std::move(o));
  }

  ep::client_options epmd_client() const {
    ep::client_options o;
    o.host = "127.0.0.1";
    o.port = epmd_->port();
    return o;
  }

  std::uint16_t beam_port(const et::beam_node& beam) {
    return ep::lookup(epmd_client(), beam.name()).port;
  }

  dist::handshake_config config(std::string host = "localhost",
                                dist::visibility v = dist::visibility::hidden) {
    dist::handshake_config c;
    c.this_node = et::unique_name("cpp") + "@" + host;
    c.cookie = cookie_;
    c.flags = dist::advertised_flags(v);
    c.creation = 0x5eed;
    return c;
  }

  std::optional<et::epmd_instance> epmd_;
  std::string cookie_;
};

std::string member(const std::string& node, const char* list) {
  return "lists:member('" + node + "', " + list + ")";
}

TEST_P(DistHandshakeInterop, WeDialHiddenAndStayConnected) {
  auto beam = start_beam();
  our_node us;
  auto cfg = config();
  const std::string me = cfg.this_node;
  auto r = us.dial(beam_port(beam), cfg, beam.node_name());
  ASSERT_FALSE(r.ec) << r.ec.message() << ": " << r.outcome.detail;
  EXPECT_EQ(r.outcome.result.peer_node, beam.node_name());
  EXPECT_NE(r.outcome.result.peer_creation, 0u);
  // What OTP 25+ sends and we rely on.
  const auto flags = r.outcome.result.peer_flags;
  EXPECT_EQ(flags & dist::mandatory_otp26, dist::mandatory_otp26);
  EXPECT_NE(flags & dist::dflag::published, 0u);
  EXPECT_NE(flags & dist::dflag::fragments, 0u);
  EXPECT_TRUE(r.outcome.result.peer_is_hidden());

  EXPECT_EQ(beam.eval(member(me, "nodes(hidden)")), "true");
  EXPECT_EQ(beam.eval(member(me, "nodes()")), "false");

  // BEAM sends us messages. We advertised DIST_HDR_ATOM_CACHE and FRAGMENTS, so they arrive
  // with a distribution header that has atom-cache entries (131,68,N>0), and a 1 MiB message
  // as fragments (131,69 first).
  EXPECT_EQ(beam.eval("erlang:send({some_name, '" + me + "'}, hello), ok"), "ok");
  EXPECT_EQ(beam.eval("erlang:send({some_name, '" + me + "'}, binary:copy(<<7>>, 1 bsl 20)), ok"),
            "ok");
  auto packets = us.packets().wait_packets(2, 5s);
  ASSERT_GE(packets.size(), 2u);
  ASSERT_GE(packets[0].size(), 3u);
  EXPECT_EQ(packets[0][0], 131);
  EXPECT_EQ(packets[0][1], 68);
  EXPECT_GT(packets[0][2], 0);  // atom cache references in the header
  ASSERT_GE(packets[1].size(), 18u);
  EXPECT_EQ(packets[1][0], 131);
  EXPECT_EQ(packets[1][1], 69);  // first fragment
  EXPECT_LT(packets[1].size(), std::size_t{1} << 20);
  EXPECT_FALSE(us.packets().wait_closed(100ms));
}

TEST_P(DistHandshakeInterop, WeDialVisibleAndAppearInNodes) {
  auto beam = start_beam();
  our_node us;
  auto cfg = config("localhost", dist::visibility::visible);
  const std::string me = cfg.this_node;
  auto r = us.dial(beam_port(beam), cfg, beam.node_name());
  ASSERT_FALSE(r.ec) << r.ec.message() << ": " << r.outcome.detail;
  EXPECT_FALSE(r.outcome.result.peer_is_hidden());
  EXPECT_TRUE(eventually([&] { return beam.eval(member(me, "nodes()")) == "true"; }, 5s));
}

TEST_P(DistHandshakeInterop, BeamDialsUsHidden) {
  auto beam = start_beam();
  our_node us;
  auto cfg = config();
  const std::string me = cfg.this_node;
  const std::string name = me.substr(0, me.find('@'));
  const auto port = us.listen(cfg);
  ep::node_info info;
  info.name = name;
  info.port = port;
  info.type = ep::node_type::hidden;
  auto reg = ep::register_node(epmd_client(), info);

  EXPECT_EQ(beam.eval("net_kernel:connect_node('" + me + "')"), "true");
  auto acc = us.wait_accepted(10s);
  ASSERT_TRUE(acc);
  ASSERT_FALSE(acc->ec) << acc->ec.message() << ": " << acc->outcome.detail;
  EXPECT_EQ(acc->outcome.result.peer_node, beam.node_name());
  EXPECT_EQ(acc->outcome.result.peer_version, 6);
  EXPECT_EQ(beam.eval(member(me, "nodes(hidden)")), "true");
  EXPECT_FALSE(us.packets().wait_closed(200ms));
}

TEST_P(DistHandshakeInterop, BeamDialsUsVisibleWithLongNames) {
  auto beam = start_beam(/*long_names=*/true);
  our_node us;
  auto cfg = config("127.0.0.1", dist::visibility::visible);
  const std::string me = cfg.this_node;
  const auto port = us.listen(cfg);
  ep::node_info info;
  info.name = me.substr(0, me.find('@'));
  info.port = port;
  auto reg = ep::register_node(epmd_client(), info);

  EXPECT_EQ(beam.eval("net_kernel:connect_node('" + me + "')"), "true");
  auto acc = us.wait_accepted(10s);
  ASSERT_TRUE(acc);
  ASSERT_FALSE(acc->ec) << acc->ec.message() << ": " << acc->outcome.detail;
  EXPECT_FALSE(acc->outcome.result.peer_is_hidden());
  EXPECT_TRUE(eventually([&] { return beam.eval(member(me, "nodes()")) == "true"; }, 5s));
}

TEST_P(DistHandshakeInterop, WrongCookieWhenWeDial) {
  auto beam = start_beam();
  our_node us;
  auto cfg = config();
  cfg.cookie = "NOT" + cookie_;
  const std::string me = cfg.this_node;
  auto r = us.dial(beam_port(beam), cfg, beam.node_name());
  // BEAM checks our digest first and hangs up on it.
  EXPECT_EQ(r.ec, dist::errc::peer_closed) << r.ec.message() << ": " << r.outcome.detail;
  EXPECT_EQ(beam.eval(member(me, "nodes(connected)")), "false");
}

TEST_P(DistHandshakeInterop, WrongCookieWhenBeamDials) {
  auto beam = start_beam();
  our_node us;
  auto cfg = config();
  cfg.cookie = "NOT" + cookie_;
  const std::string me = cfg.this_node;
  const auto port = us.listen(cfg);
  ep::node_info info;
  info.name = me.substr(0, me.find('@'));
  info.port = port;
  info.type = ep::node_type::hidden;
  auto reg = ep::register_node(epmd_client(), info);

  EXPECT_EQ(beam.eval("net_kernel:connect_node('" + me + "')"), "false");
  auto acc = us.wait_accepted(10s);
  ASSERT_TRUE(acc);
  EXPECT_EQ(acc->ec, dist::errc::bad_cookie) << acc->ec.message();
  EXPECT_EQ(beam.eval(member(me, "nodes(connected)")), "false");
}

TEST_P(DistHandshakeInterop, ShortNameCannotDialLongNameNode) {
  auto beam = start_beam(/*long_names=*/true);
  our_node us;
  auto cfg = config("localhost");
  auto r = us.dial(beam_port(beam), cfg, beam.node_name());
  EXPECT_EQ(r.ec, dist::errc::name_type_mismatch);
  EXPECT_NE(r.outcome.detail.find(cfg.this_node), std::string::npos) << r.outcome.detail;
  EXPECT_NE(r.outcome.detail.find(beam.node_name()), std::string::npos) << r.outcome.detail;
  EXPECT_EQ(beam.eval("nodes(connected)"), "[]");
}

TEST_P(DistHandshakeInterop, DialingTheWrongNodeIsANameMismatch) {
  auto beam = start_beam();
  our_node us;
  auto r = us.dial(beam_port(beam), config(), "someone_else@localhost");
  EXPECT_EQ(r.ec, dist::errc::name_mismatch) << r.ec.message() << ": " << r.outcome.detail;
}

TEST_P(DistHandshakeInterop, BeamDropsUsWhenWeGoSilent) {
  // net_ticktime 4 s on both sides: BEAM gives up after 4 to 5 s without hearing from us.
  auto beam = start_beam(false, {"-kernel", "net_ticktime", "4"});
  our_node us;
  auto cfg = config();
  const std::string me = cfg.this_node;
  dist::packet_stream_options sopts;
  sopts.ticks.net_ticktime = 4s;
  auto r = us.dial(beam_port(beam), cfg, beam.node_name(), sopts);
  ASSERT_FALSE(r.ec) << r.ec.message() << ": " << r.outcome.detail;
  // Ticks keep the connection up for longer than net_ticktime.
  std::this_thread::sleep_for(6s);
  EXPECT_EQ(beam.eval(member(me, "nodes(hidden)")), "true");
  EXPECT_FALSE(us.packets().wait_closed(1ms));

  const auto t0 = std::chrono::steady_clock::now();
  us.freeze();
  EXPECT_TRUE(eventually([&] { return beam.eval(member(me, "nodes(hidden)")) == "false"; }, 15s));
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(elapsed, 3s);
  EXPECT_LT(elapsed, 10s);
}

TEST_P(DistHandshakeInterop, WeDetectASilentBeam) {
  // Both sides at net_ticktime 2 s (a cluster must agree on it): BEAM's ticks keep us happy
  // until the VM is stopped.
  auto beam = start_beam(false, {"-kernel", "net_ticktime", "2"});
  our_node us;
  dist::packet_stream_options sopts;
  sopts.ticks.net_ticktime = 2s;
  auto r = us.dial(beam_port(beam), config(), beam.node_name(), sopts);
  ASSERT_FALSE(r.ec) << r.ec.message() << ": " << r.outcome.detail;
  EXPECT_FALSE(us.packets().wait_closed(5s));  // alive on BEAM's ticks alone
  const pid_t pid = beam.pid();
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);
  struct resume {
    pid_t pid;
    ~resume() { ::kill(pid, SIGCONT); }
  } resume_on_exit{pid};
  const auto t0 = std::chrono::steady_clock::now();
  auto closed = us.packets().wait_closed(10s);
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(closed);
  EXPECT_EQ(*closed, dist::errc::tick_timeout) << closed->message();
  EXPECT_GE(elapsed, 1500ms);
  EXPECT_LT(elapsed, 4s);
}

EDIST_INSTANTIATE_OTP_TEST_SUITE(DistHandshakeInterop);

}  // namespace
