#include "edist/node/io_runner.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <thread>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using edist::node::run_io;

namespace {

TEST(RunIo, WithoutBusyWaitRunsEverythingAndReturnsWhenOutOfWork) {
  asio::io_context io(1);
  int ran = 0;
  for (int i = 0; i < 5; ++i) asio::post(io, [&] { ++ran; });
  EXPECT_EQ(run_io(io), 5u);
  EXPECT_EQ(ran, 5);
  EXPECT_TRUE(io.stopped());
}

TEST(RunIo, BusyWaitRunsPostedWorkAndReturnsWhenOutOfWork) {
  asio::io_context io(1);
  int ran = 0;
  // Work that posts more work, and a timer: all of it runs before run_io returns.
  asio::post(io, [&] {
    ++ran;
    asio::post(io, [&] { ++ran; });
  });
  asio::steady_timer timer(io, 5ms);
  timer.async_wait([&](boost::system::error_code ec) {
    if (!ec) ++ran;
  });
  EXPECT_EQ(run_io(io, {.busy_wait = 200us}), 3u);
  EXPECT_EQ(ran, 3);
  EXPECT_TRUE(io.stopped());
}

// Work posted from another thread, while the runner is polling and after it has gone to sleep
// (the gaps are far longer than the busy wait): each is run; stop() ends it.
TEST(RunIo, BusyWaitPicksUpWorkFromOtherThreadsAndStops) {
  asio::io_context io(1);
  auto guard = asio::make_work_guard(io);
  std::atomic<int> ran{0};
  std::size_t handled = 0;
  std::thread runner([&] { handled = run_io(io, {.busy_wait = 100us}); });
  for (int i = 0; i < 3; ++i) {
    asio::post(io, [&] { ++ran; });
    std::this_thread::sleep_for(20ms);
  }
  for (int i = 0; i < 100 && ran.load() != 3; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(ran.load(), 3);
  io.stop();
  runner.join();
  EXPECT_EQ(handled, 3u);
}

TEST(RunIo, SeveralThreadsShareOneContext) {
  asio::io_context io(2);
  auto guard = asio::make_work_guard(io);
  std::atomic<int> ran{0};
  std::thread a([&] { run_io(io, {.busy_wait = 50us}); });
  std::thread b([&] { run_io(io, {.busy_wait = 50us}); });
  for (int i = 0; i < 1000; ++i) asio::post(io, [&] { ++ran; });
  guard.reset();  // out of work once these ran: both runners return
  a.join();
  b.join();
  EXPECT_EQ(ran.load(), 1000);
}

}  // namespace
