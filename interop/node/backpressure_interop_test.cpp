// Outgoing backpressure against a live BEAM node (every available OTP): with a send queue of
// a few KiB, a burst of large messages from several C++ threads all reaches a BEAM process,
// each sender's messages in order. The BEAM side counts them and checks the sequence numbers
// itself; the C++ senders are held near the busy limit instead of dropping anything.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "cpp_node_test.hpp"
#include "edist/node/network.hpp"
#include "edist/testing/beam_node.hpp"
#include "edist/testing/epmd_instance.hpp"
#include "edist/testing/gtest.hpp"
#include "edist/testing/names.hpp"

namespace {

namespace asio = boost::asio;
namespace et = edist::testing;
using edist::etf::atom;
using edist::etf::term;
using namespace edist::node;
using namespace std::chrono_literals;

constexpr std::size_t kib = 1024;

class BackpressureInterop : public edist::interop::cpp_node_test {
 protected:
  void SetUp() override {
    cpp_node_test::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    network_options net;
    net.max_send_queue = 8 * kib;
    net.send_busy_limit = 256 * kib;
    start_cpp_node("cppbp", net);
    if (HasFatalFailure()) return;
    et::beam_options o;
    o.epmd_port = epmd_->port();
    o.cookie = cookie_;
    beam_.emplace(et::beam_node::start(otp(), o));
  }

  void TearDown() override {
    beam_.reset();
    cpp_node_test::TearDown();
  }

  std::optional<et::beam_node> beam_;
};

TEST_P(BackpressureInterop, BurstOfLargeMessagesAllArriveInOrderPerSender) {
  auto& beam = *beam_;
  // bp_counter: per sender, the next sequence number it expects; counts messages, bytes and
  // sequence errors, and reports them on request.
  ASSERT_EQ(beam.eval(R"(
    Counter = fun Loop(Next, Count, Bytes, Errors) ->
      receive
        {S, Seq, Bin} when is_binary(Bin) ->
          Expected = maps:get(S, Next, 0),
          Errors1 = case Seq of Expected -> Errors; _ -> Errors + 1 end,
          Loop(Next#{S => Seq + 1}, Count + 1, Bytes + byte_size(Bin), Errors1);
        {report, From} ->
          From ! {bp_report, Count, Bytes, Errors},
          Loop(Next, Count, Bytes, Errors)
      end
    end,
    register(bp_counter, spawn(fun() -> Counter(#{}, 0, 0, 0) end)),
    ok)"),
            "ok");

  // Connected first: signals sent while a connection is being set up wait in the node's own
  // queue (node.hpp), which holds no sender back.
  std::promise<std::error_code> connected;
  net_->get_node().connect(beam.node_name(), [&](std::error_code ec) { connected.set_value(ec); });
  auto connected_f = connected.get_future();
  ASSERT_EQ(connected_f.wait_for(15s), std::future_status::ready);
  ASSERT_FALSE(connected_f.get());

  constexpr int senders = 3;
  constexpr int per_sender = 200;
  constexpr std::size_t message_bytes = 64 * kib;  // fragmented on the wire
  const term counter = term::tuple({atom("bp_counter"), atom(beam.node_name())});
  const term blob = term::binary(std::string(message_bytes, 'b'));
  std::vector<std::thread> threads;
  for (int s = 0; s < senders; ++s) {
    threads.emplace_back([&, s] {
      auto self = net_->get_node().spawn();
      for (int seq = 0; seq < per_sender; ++seq) {
        self.send(counter, term::tuple({term(s), term(seq), blob}));
      }
    });
  }
  for (auto& t : threads) t.join();

  const std::string all_in_order = "{" + std::to_string(senders * per_sender) + "," +
                                   std::to_string(senders * per_sender * message_bytes) + ",0}";
  std::string report;
  const auto until = std::chrono::steady_clock::now() + 120s;
  do {
    report = beam.eval(
        "bp_counter ! {report, self()},"
        "receive {bp_report, C, B, E} -> {C, B, E} after 10000 -> timeout end");
    if (report == all_in_order) break;
    std::this_thread::sleep_for(100ms);
  } while (std::chrono::steady_clock::now() < until);
  EXPECT_EQ(report, all_in_order);

  const auto backlog = net_->send_backlog(beam.node_name());
  ASSERT_TRUE(backlog);
  // Blocked senders add at most one message each beyond the busy limit.
  EXPECT_LE(backlog->peak_bytes, 256 * kib + senders * (message_bytes + kib));
  RecordProperty("backlog_peak_bytes", std::to_string(backlog->peak_bytes));
  EXPECT_TRUE(net_->get_node().is_connected(beam.node_name()));
}

EDIST_INSTANTIATE_OTP_TEST_SUITE(BackpressureInterop);

}  // namespace
