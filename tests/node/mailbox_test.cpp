#include "edist/node/mailbox.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <thread>

namespace {

using edist::etf::term;
using edist::node::errc;
using edist::node::mailbox;
using namespace std::chrono_literals;

TEST(Mailbox, KeepsArrivalOrder) {
  auto box = mailbox::create();
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(box->push(term(i)));
  EXPECT_EQ(box->size(), 100u);
  for (int i = 0; i < 100; ++i) {
    auto r = box->receive(0s);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, term(i));
  }
  EXPECT_EQ(box->receive(0s).error, errc::timeout);
}

TEST(Mailbox, SelectiveReceiveLeavesOthersInOrder) {
  auto box = mailbox::create();
  for (int i = 0; i < 40; ++i) box->push(term(i));
  // Take from the middle, from both halves, so the ring closes gaps both ways.
  auto is = [](int v) { return [v](const term& t) { return t == term(v); }; };
  EXPECT_EQ(*box->receive(is(30), 0s), term(30));
  EXPECT_EQ(*box->receive(is(5), 0s), term(5));
  auto none = [](const term& t) { return t == term(1000); };
  EXPECT_EQ(box->receive(none, 0s).error, errc::timeout);
  std::vector<int> rest;
  while (auto r = box->receive(0s)) rest.push_back(static_cast<int>(r->as_int64()));
  ASSERT_EQ(rest.size(), 38u);
  int expected = 0;
  for (int v : rest) {
    if (expected == 5 || expected == 30) ++expected;
    EXPECT_EQ(v, expected);
    ++expected;
  }
}

TEST(Mailbox, WrapsAroundAndGrows) {
  auto box = mailbox::create();
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < round; ++i) box->push(term(next_in++));
    for (int i = 0; i < round / 2; ++i) EXPECT_EQ(*box->receive(0s), term(next_out++));
  }
  while (auto r = box->receive(0s)) EXPECT_EQ(*r, term(next_out++));
  EXPECT_EQ(next_in, next_out);
}

TEST(Mailbox, BlockingReceiveWakesOnMatchingMessage) {
  auto box = mailbox::create();
  std::thread producer([box] {
    std::this_thread::sleep_for(20ms);
    box->push(term(1));
    std::this_thread::sleep_for(20ms);
    box->push(term(2));
  });
  auto two = [](const term& t) { return t == term(2); };
  auto r = box->receive(two, 5s);
  producer.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, term(2));
  EXPECT_EQ(box->size(), 1u);
}

TEST(Mailbox, BlockingReceiveTimesOut) {
  auto box = mailbox::create();
  const auto start = std::chrono::steady_clock::now();
  auto r = box->receive(30ms);
  EXPECT_EQ(r.error, errc::timeout);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);
}

TEST(Mailbox, CloseWakesBlockedReceiverAndRefusesPushes) {
  auto box = mailbox::create();
  std::thread closer([box] {
    std::this_thread::sleep_for(20ms);
    box->close();
  });
  auto r = box->receive();
  closer.join();
  EXPECT_EQ(r.error, errc::process_exited);
  EXPECT_FALSE(box->push(term(1)));
  EXPECT_TRUE(box->closed());
}

TEST(Mailbox, AsyncWaitNeverCompletesInline) {
  boost::asio::io_context io;
  auto box = mailbox::create();
  box->push(term(7));
  bool done = false;
  term got;
  box->async_wait({}, std::nullopt, io.get_executor(), [&](std::error_code ec, term t) {
    EXPECT_FALSE(ec);
    got = t;
    done = true;
  });
  EXPECT_FALSE(done);  // even though a message was already there
  io.run();
  EXPECT_TRUE(done);
  EXPECT_EQ(got, term(7));
  EXPECT_EQ(box->size(), 0u);
}

TEST(Mailbox, AsyncWaitTakesLaterMatchingMessageOnly) {
  boost::asio::io_context io;
  auto box = mailbox::create();
  term got;
  box->async_wait([](const term& t) { return t.is_atom(); }, 5s, io.get_executor(),
                  [&](std::error_code ec, term t) {
                    EXPECT_FALSE(ec);
                    got = t;
                  });
  box->push(term(1));
  box->push(term::atom("hit"));
  io.run();
  EXPECT_EQ(got, term::atom("hit"));
  EXPECT_EQ(box->size(), 1u);
}

TEST(Mailbox, AsyncWaitTimesOut) {
  boost::asio::io_context io;
  auto box = mailbox::create();
  std::error_code got;
  box->async_wait({}, 20ms, io.get_executor(), [&](std::error_code ec, term) { got = ec; });
  io.run();
  EXPECT_EQ(got, errc::timeout);
}

TEST(Mailbox, AsyncWaitCompletesWithProcessExitedOnClose) {
  boost::asio::io_context io;
  auto box = mailbox::create();
  std::error_code got;
  box->async_wait({}, 10s, io.get_executor(), [&](std::error_code ec, term) { got = ec; });
  box->close();
  const auto start = std::chrono::steady_clock::now();
  io.run();  // the timer was cancelled: run() returns at once
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(got, errc::process_exited);
}

TEST(Mailbox, RemoveIf) {
  auto box = mailbox::create();
  for (int i = 0; i < 10; ++i) box->push(term(i));
  EXPECT_EQ(box->remove_if([](const term& t) { return t.as_int64() % 2 == 0; }), 5u);
  EXPECT_EQ(*box->receive(0s), term(1));
}

}  // namespace
