// Outgoing backpressure between two edist nodes in one process over loopback (network.hpp):
// with a tiny send queue, nothing sent is lost and each sender's messages keep their order;
// senders on ordinary threads are held near the busy limit; coroutines on the io_context
// pace themselves with async_wait_not_busy; a backlog beyond its hard limit closes the
// connection with send_queue_overflow, and monitors across it fire with noconnection.
//
// To make the backlog grow on demand, the receiving node runs on its own one-thread
// io_context, which a test can stall (nothing read, so the sender's socket buffers and then
// its send queue fill up).
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <edist/epmd/server.hpp>
#include <future>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "edist/node/error.hpp"
#include "edist/node/network.hpp"

namespace {

namespace asio = boost::asio;
using edist::etf::atom;
using edist::etf::term;
using namespace edist::node;
using namespace std::chrono_literals;

constexpr std::size_t kib = 1024;

// An io_context with its own threads, stopped and joined on destruction.
struct io_runner {
  explicit io_runner(int threads) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { io.run(); });
  }
  ~io_runner() {
    work.reset();
    io.stop();
    for (auto& t : threads_) t.join();
  }
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);

 private:
  std::vector<std::thread> threads_;
};

// Occupies the only thread of an io_context until release() (or destruction).
class stall {
 public:
  explicit stall(asio::io_context& io) {
    asio::post(io, [gate = gate_] { gate.wait(); });
  }
  ~stall() { release(); }
  void release() {
    if (!released_) release_.set_value();
    released_ = true;
  }

 private:
  std::promise<void> release_;
  std::shared_future<void> gate_ = release_.get_future().share();
  bool released_ = false;
};

// Polls `done` until it holds or `limit` passes.
template <class Pred>
bool eventually(Pred done, std::chrono::milliseconds limit = 20s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

class Backpressure : public ::testing::Test {
 protected:
  void SetUp() override {
    edist::epmd::server_options so;
    so.port = 0;
    so.loopback_only = true;
    epmd_.emplace(epmd_io_.io.get_executor(), so);
    ASSERT_FALSE(epmd_->start());
  }

  void TearDown() override {
    for (auto* n : {&sender_, &receiver_}) {
      if (*n) (*n)->stop();
    }
    // Connections end on their io_context; wait for that before the contexts stop, so that
    // none is left holding itself alive.
    if (sender_ && receiver_) {
      const auto sender_name = sender_->get_node().name();
      EXPECT_TRUE(eventually(
          [&] {
            return !sender_->send_backlog(receiver_name()) && !receiver_->send_backlog(sender_name);
          },
          10s));
    }
    sender_.reset();
    receiver_.reset();
    if (epmd_) epmd_->stop();
  }

  std::shared_ptr<network> start(io_runner& r, const std::string& name, network_options opts) {
    node_options no;
    no.name = name + "@localhost";
    no.cookie = "backpressure-test";
    opts.listen_address = "127.0.0.1";
    opts.epmd_port = epmd_->port();
    opts.start_embedded_epmd = false;
    std::error_code ec;
    std::string why;
    auto net = network::start(r.io.get_executor(), no, opts, ec, &why);
    EXPECT_TRUE(net) << ec.message() << ": " << why;
    return net;
  }

  // Starts both nodes (the receiver with default options) and connects them.
  void start_pair(network_options sender_opts) {
    const auto suffix = std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
                        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    sender_ = start(sender_io_, "bp_send" + suffix, std::move(sender_opts));
    receiver_ = start(receiver_io_, "bp_recv" + suffix, {});
    ASSERT_TRUE(sender_ && receiver_);
    std::promise<std::error_code> done;
    sender_->get_node().connect(receiver_name(), [&](std::error_code ec) { done.set_value(ec); });
    auto f = done.get_future();
    ASSERT_EQ(f.wait_for(15s), std::future_status::ready);
    ASSERT_FALSE(f.get());
  }

  std::string receiver_name() { return receiver_->get_node().name(); }
  term sink_address() { return term::tuple({atom("sink"), atom(receiver_name())}); }
  send_backlog_info backlog() {
    auto b = sender_->send_backlog(receiver_name());
    return b ? *b : send_backlog_info{};
  }

  // Receives `count` messages {Sender, Seq, _} at `sink`, checking each sender's sequence.
  void expect_in_order(const process& sink, int senders, int count) {
    std::vector<std::int64_t> next(static_cast<std::size_t>(senders), 0);
    for (int i = 0; i < count; ++i) {
      auto m = sink.receive(30s);
      ASSERT_TRUE(m) << "after " << i << " of " << count << " messages: " << m.error.message();
      ASSERT_TRUE(m->is_tuple(3));
      const auto sender = static_cast<std::size_t>((*m)[0].as_int64());
      ASSERT_LT(sender, next.size());
      ASSERT_EQ((*m)[1].as_int64(), next[sender]) << "sender " << sender;
      ++next[sender];
    }
    EXPECT_FALSE(sink.receive(50ms)) << "a message beyond the expected ones";
  }

  io_runner epmd_io_{1};
  std::optional<edist::epmd::server> epmd_;
  io_runner sender_io_{2};
  io_runner receiver_io_{1};
  std::shared_ptr<network> sender_;
  std::shared_ptr<network> receiver_;
};

const term kilobyte_blob = term::binary(std::string(1000, 'x'));

TEST_F(Backpressure, EveryMessageArrivesInOrderAndBlockedSendersStayNearTheBusyLimit) {
  network_options o;
  o.max_send_queue = 4 * kib;
  o.send_busy_limit = 64 * kib;
  start_pair(o);
  auto sink = receiver_->get_node().spawn();
  ASSERT_FALSE(sink.register_name(atom("sink")));

  constexpr int senders = 4;
  constexpr int per_sender = 5000;  // 20 MB: more than the loopback socket buffers hold
  {
    stall receiver_stalled(receiver_io_.io);
    std::vector<std::thread> threads;
    for (int s = 0; s < senders; ++s) {
      threads.emplace_back([&, s] {
        auto self = sender_->get_node().spawn();
        for (int seq = 0; seq < per_sender; ++seq) {
          self.send(sink_address(), term::tuple({term(s), term(seq), kilobyte_blob}));
        }
      });
    }
    // The receiver reads nothing: once the socket buffers and the send queue are full the
    // backlog stops moving, with every sender blocked and the refused messages kept.
    EXPECT_TRUE(eventually([&] {
      const auto before = backlog();
      std::this_thread::sleep_for(100ms);
      const auto after = backlog();
      return before.busy && after.busy && before.bytes == after.bytes;
    }));
    receiver_stalled.release();
    for (auto& t : threads) t.join();
  }
  expect_in_order(sink, senders, senders * per_sender);

  const auto info = backlog();
  // Senders were held up, and each added at most one message (~1.3 KiB estimated) once busy.
  EXPECT_GE(info.peak_bytes, o.send_busy_limit);
  EXPECT_LE(info.peak_bytes, o.send_busy_limit + senders * 2 * kib);
  EXPECT_TRUE(sender_->get_node().is_connected(receiver_name()));
}

TEST_F(Backpressure, CoroutineOnTheIoContextWaitsUntilNotBusy) {
  network_options o;
  o.max_send_queue = 4 * kib;
  o.send_busy_limit = 32 * kib;
  start_pair(o);
  auto sink = receiver_->get_node().spawn();
  ASSERT_FALSE(sink.register_name(atom("sink")));

  constexpr int count = 30000;  // 30 MB: more than the loopback socket buffers hold
  // Shared with the coroutine, which must not refer to the test's frame or fixture: on a
  // failure it may still be running (or suspended) when the test returns.
  struct progress {
    std::atomic<int> sent{0};
    std::atomic<int> waits{0};
    std::promise<void> finished;
  };
  auto state = std::make_shared<progress>();
  auto finished = state->finished.get_future();
  {
    stall receiver_stalled(receiver_io_.io);
    auto self = std::make_shared<process>(sender_->get_node().spawn());
    asio::co_spawn(
        sender_io_.io,
        [state, self, net = sender_, peer = receiver_name(),
         to = sink_address()]() -> asio::awaitable<void> {
          for (int seq = 0; seq < count; ++seq) {
            // On an io thread the send never blocks; the coroutine paces itself instead.
            self->send(to, term::tuple({term(0), term(seq), kilobyte_blob}));
            state->sent = seq + 1;
            auto b = net->send_backlog(peer);
            if (b && b->busy) {
              ++state->waits;
              co_await net->async_wait_not_busy(peer, asio::use_awaitable);
            }
          }
          state->finished.set_value();
        },
        asio::detached);
    // The receiver reads nothing: once the socket buffers are full, the coroutine stays
    // suspended (it goes busy earlier too, whenever it outpaces the connection's strand).
    int held_at = -1;
    EXPECT_TRUE(eventually([&] {
      const int before = state->sent;
      std::this_thread::sleep_for(100ms);
      held_at = state->sent;
      return held_at == before && state->waits.load() > 0;
    }));
    EXPECT_LT(held_at, count);
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(state->sent.load(), held_at);
    receiver_stalled.release();
    ASSERT_EQ(finished.wait_for(60s), std::future_status::ready);
  }
  expect_in_order(sink, 1, count);
  EXPECT_LE(backlog().peak_bytes, o.send_busy_limit + 2 * kib);
}

TEST_F(Backpressure, BacklogBeyondItsLimitClosesTheConnectionWithSendQueueOverflow) {
  std::mutex log_mu;
  std::vector<std::string> log;
  std::atomic<bool> overflowed{false};
  network_options o;
  o.max_send_queue = 4 * kib;
  o.send_busy_limit = std::numeric_limits<std::size_t>::max();  // nobody blocks
  o.max_send_backlog = 256 * kib;
  o.log = [&](std::string_view line) {
    std::lock_guard lock(log_mu);
    log.emplace_back(line);
    overflowed = true;
  };
  start_pair(o);
  auto sink = receiver_->get_node().spawn();
  auto watcher = sender_->get_node().spawn();
  const term ref = watcher.monitor(sink.pid());
  {
    stall receiver_stalled(receiver_io_.io);
    auto self = sender_->get_node().spawn();
    // 100 MB at most: beyond the socket buffers, the send queue and the backlog's limit.
    for (int seq = 0; seq < 100000 && !overflowed; ++seq) {
      self.send(sink.pid(), term::tuple({term(0), term(seq), kilobyte_blob}));
    }
    ASSERT_TRUE(overflowed);
    // The monitor fires at once, while the receiver is still stalled.
    auto down = watcher.receive(10s);
    ASSERT_TRUE(down) << down.error.message();
    EXPECT_EQ(*down,
              term::tuple({atom("DOWN"), ref, atom("process"), sink.pid(), atom("noconnection")}));
  }
  EXPECT_FALSE(sender_->get_node().is_connected(receiver_name()));
  const std::string expected = make_error_code(errc::send_queue_overflow).message();
  EXPECT_NE(sender_->failure_detail(receiver_name()).find(expected), std::string::npos)
      << sender_->failure_detail(receiver_name());
  std::lock_guard lock(log_mu);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find(receiver_name()), std::string::npos) << log[0];
  EXPECT_NE(log[0].find(expected), std::string::npos) << log[0];
}

}  // namespace
