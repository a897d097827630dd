// Where actors run: the turn a message starts runs on the thread whose work sent it, once that
// work is over (completion batches), and never nested inside it.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <edist/node/runtime.hpp>
#include <future>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
using edist::etf::atom;
using edist::etf::term;
using edist::node::process;
using edist::node::runtime;
using namespace std::chrono_literals;

// An io_context run by `threads` threads until the fixture ends.
class ActorDispatch : public ::testing::Test {
 protected:
  void start(int threads) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { io.run(); });
  }
  void TearDown() override {
    rt->shutdown(atom("shutdown"));
    work.reset();
    for (auto& t : threads_) t.join();
  }

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::shared_ptr<runtime> rt = runtime::create(io.get_executor(), "cpp@localhost", 1);
  std::vector<std::thread> threads_;
};

// Two actors play ping-pong; each turn the other's answer wakes runs on the same io thread
// (the second thread stays out of it), and no turn runs inside another.
TEST_F(ActorDispatch, AMessageFromAnActorIsHandledOnTheSendersThreadAfterItsTurn) {
  start(2);
  constexpr int rounds = 2000;
  std::atomic<int> depth{0};
  std::atomic<int> nested{0};
  std::atomic<int> thread_changes{0};
  std::atomic<std::thread::id> last_thread{};
  std::promise<void> done;
  auto on_message = [&](process& self, const term& m) {
    if (depth.fetch_add(1) != 0) nested.fetch_add(1);
    const auto here = std::this_thread::get_id();
    if (last_thread.exchange(here) != here) thread_changes.fetch_add(1);
    const auto n = m[1].as_int64();
    if (n != rounds) self.send(m[0], term::tuple({self.pid(), term::integer(n + 1)}));
    depth.fetch_sub(1);
    // Last: once the test wakes up, the locals this handler uses are gone.
    if (n == rounds) done.set_value();
  };
  const term ping = rt->spawn_actor(on_message);
  const term pong = rt->spawn_actor(on_message);
  rt->send(ping, term::tuple({pong, term::integer(std::int64_t{0})}));
  ASSERT_EQ(done.get_future().wait_for(30s), std::future_status::ready);
  EXPECT_EQ(nested.load(), 0);
  // The first turn may start on either thread; after that the ball stays on one thread,
  // except when a batch has run its bound of inline turns and posts the next one.
  EXPECT_LT(thread_changes.load(), 1 + rounds / 32);
}

// A message passed along a ring of actors: the turns run one after another on the thread, not
// nested, so a long chain does not grow the stack (AddressSanitizer would report it).
TEST_F(ActorDispatch, AChainOfActorsRunsIterativelyNotRecursively) {
  start(1);
  constexpr int ring_size = 20000;
  constexpr int laps = 3;
  std::vector<term> ring(ring_size);
  std::atomic<int> depth{0};
  std::atomic<int> max_depth{0};
  std::promise<void> done;
  for (int i = 0; i < ring_size; ++i) {
    ring[i] = rt->spawn_actor([&, i](process& self, const term& m) {
      const int d = depth.fetch_add(1) + 1;
      if (d > max_depth.load()) max_depth.store(d);
      const auto hops = m.as_int64();
      const bool last = hops == std::int64_t{ring_size} * laps;
      if (!last) self.send(ring[(i + 1) % ring_size], term::integer(hops + 1));
      depth.fetch_sub(1);
      // Last: once the test wakes up, the locals this handler uses are gone.
      if (last) done.set_value();
    });
  }
  rt->send(ring[0], term::integer(std::int64_t{0}));
  ASSERT_EQ(done.get_future().wait_for(60s), std::future_status::ready);
  EXPECT_EQ(max_depth.load(), 1);
}

// A thread that does not run the io_context (here the test's own) never runs an actor's
// turn: its sends wake the actor on an io thread, as before.
TEST_F(ActorDispatch, SendsFromOrdinaryThreadsNeverRunTurnsOnThem) {
  start(1);
  std::promise<std::thread::id> where;
  const term a =
      rt->spawn_actor([&](process&, const term&) { where.set_value(std::this_thread::get_id()); });
  rt->send(a, atom("hello"));
  auto f = where.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(f.get(), threads_[0].get_id());
}

}  // namespace
