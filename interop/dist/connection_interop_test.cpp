// The connection layer against live BEAM nodes: messages with atom-cache references and
// fragmented multi-MiB messages, in both directions.
#include <gtest/gtest.h>

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
#include "edist/dist/connection.hpp"
#include "edist/dist/error.hpp"
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
using edist::etf::term;
using namespace std::chrono_literals;

constexpr std::uint32_t our_creation = 0x5eed;

// Our node's side: a dialled connection on an io_context run by a background thread.
class our_side final : public dist::connection::handler {
 public:
  our_side() : guard_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~our_side() override {
    run([this] {
      if (conn_) conn_->close();
    });
    if (conn_) wait([&] { return closed_.has_value(); }, 2s);
    guard_.reset();
    io_.stop();
    thread_.join();
  }

  void run(std::function<void()> f) {
    std::promise<void> done;
    asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  std::error_code dial(std::uint16_t port, dist::handshake_config cfg, std::string peer,
                       std::string& detail) {
    tcp::socket socket(io_);
    boost::system::error_code bec;
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), bec);
    if (bec) return bec;
    auto tp = std::make_shared<std::unique_ptr<dist::transport>>(
        dist::tcp_transport::make(std::move(socket)));
    std::promise<std::error_code> result;
    run([&] {
      dist::async_handshake_initiate(
          **tp, std::move(cfg), std::move(peer), {},
          [this, tp, &result, &detail](std::error_code ec, dist::handshake_outcome out) {
            if (!ec) {
              conn_ = dist::connection::create(std::move(*tp), out.result, *this, {},
                                               std::move(out.leftover));
              conn_->start();
            }
            detail = out.detail;
            result.set_value(ec);
          });
    });
    return result.get_future().get();
  }

  // Sends on the I/O thread; returns send()'s result.
  std::error_code send(dist::dist_message m, std::uint64_t key = 0) {
    std::error_code ec;
    run([&] { ec = conn_->send(std::move(m), key); });
    return ec;
  }

  std::vector<dist::dist_message> wait_messages(std::size_t n, std::chrono::milliseconds t) {
    wait([&] { return messages_.size() >= n || closed_.has_value(); }, t);
    std::lock_guard lock(mu_);
    return messages_;
  }
  std::optional<std::error_code> closed() {
    std::lock_guard lock(mu_);
    return closed_;
  }
  dist::dist_flags negotiated() {
    dist::dist_flags f = 0;
    run([&] { f = conn_->peer().flags; });
    return f;
  }

  void on_message(dist::dist_message&& m) override {
    std::lock_guard lock(mu_);
    messages_.push_back(std::move(m));
    cv_.notify_all();
  }
  void on_closed(std::error_code ec) override {
    std::lock_guard lock(mu_);
    closed_ = ec;
    cv_.notify_all();
  }

 private:
  void wait(const std::function<bool()>& pred, std::chrono::milliseconds t) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, t, pred);
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
  std::shared_ptr<dist::connection> conn_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<dist::dist_message> messages_;
  std::optional<std::error_code> closed_;
};

// The bytes of binary:copy(list_to_binary(lists:seq(0, 255)), Copies) in Erlang.
term pattern_binary(std::size_t copies) {
  std::vector<std::uint8_t> b(copies * 256);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(i % 256);
  return term::binary(b);
}

class DistConnectionInterop : public et::otp_test {
 protected:
  void SetUp() override {
    et::otp_test::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    epmd_.emplace(et::epmd_instance::start(otp()));
    et::beam_options o;
    o.epmd_port = epmd_->port();
    o.cookie = et::random_cookie();
    beam_.emplace(et::beam_node::start(otp(), o));

    dist::handshake_config cfg;
    me_ = et::unique_name("cpp") + "@localhost";
    cfg.this_node = me_;
    cfg.cookie = beam_->cookie();
    cfg.creation = our_creation;
    ep::client_options co;
    co.host = "127.0.0.1";
    co.port = epmd_->port();
    const auto port = ep::lookup(co, beam_->name()).port;
    std::string detail;
    const auto ec = us_.dial(port, cfg, beam_->node_name(), detail);
    ASSERT_FALSE(ec) << ec.message() << ": " << detail;
  }

  term our_pid(std::uint32_t id) const { return term::pid(term::atom(me_), id, 0, our_creation); }

  std::optional<et::epmd_instance> epmd_;
  std::optional<et::beam_node> beam_;
  std::string me_;
  our_side us_;
};

TEST_P(DistConnectionInterop, NegotiatesAtomCacheAndFragments) {
  const auto f = us_.negotiated();
  EXPECT_NE(f & dist::dflag::dist_hdr_atom_cache, 0u);
  EXPECT_NE(f & dist::dflag::fragments, 0u);
}

TEST_P(DistConnectionInterop, BeamSendsMessagesWithAtomCacheRefs) {
  // The same atoms twice: the second message refers to cache slots the first one filled.
  const std::string expr =
      "Msg = {hello, [alpha, beta, alpha], 'Ünïcødé', <<\"bin\">>, self()},"
      "erlang:send({target, '" +
      me_ + "'}, Msg), erlang:send({target, '" + me_ + "'}, Msg), ok.";
  ASSERT_EQ(beam_->eval(expr), "ok");
  auto msgs = us_.wait_messages(2, 10s);
  ASSERT_EQ(msgs.size(), 2u) << (us_.closed() ? us_.closed()->message() : "");
  for (const auto& m : msgs) {
    ASSERT_TRUE(std::holds_alternative<dist::ctrl::reg_send>(m.control));
    const auto& rs = std::get<dist::ctrl::reg_send>(m.control);
    EXPECT_EQ(rs.to_name, term::atom("target"));
    EXPECT_TRUE(rs.from.is_pid());
    ASSERT_TRUE(m.payload);
    const term& p = *m.payload;
    ASSERT_TRUE(p.is_tuple(5));
    EXPECT_EQ(p[0], term::atom("hello"));
    EXPECT_EQ(p[1], term::list({term::atom("alpha"), term::atom("beta"), term::atom("alpha")}));
    EXPECT_EQ(p[2], term::atom("Ünïcødé"));
    EXPECT_EQ(p[3], term::binary(std::string_view("bin")));
    EXPECT_EQ(p[4], rs.from);
  }
  EXPECT_FALSE(us_.closed());
}

TEST_P(DistConnectionInterop, BeamSendsMultiMebibyteMessages) {
  // 6 MiB binary and a long list: BEAM fragments both (fragments are 64 KiB or so).
  const std::string expr =
      "Bin = binary:copy(list_to_binary(lists:seq(0, 255)), 24576),"
      "erlang:send({target, '" +
      me_ +
      "'}, {big, Bin}),"
      "erlang:send({target, '" +
      me_ +
      "'}, {list, lists:seq(1, 300000)}),"
      "erlang:send({target, '" +
      me_ + "'}, small), ok.";
  ASSERT_EQ(beam_->eval(expr), "ok");
  auto msgs = us_.wait_messages(3, 20s);
  ASSERT_EQ(msgs.size(), 3u) << (us_.closed() ? us_.closed()->message() : "");
  EXPECT_EQ(*msgs[0].payload, term::tuple({term::atom("big"), pattern_binary(24576)}));
  const term& list = (*msgs[1].payload)[1];
  ASSERT_TRUE(list.is_proper_list());
  const auto elements = list.list_elements();
  ASSERT_EQ(elements.size(), 300000u);
  EXPECT_EQ(elements.front(), term(1));
  EXPECT_EQ(elements.back(), term(300000));
  EXPECT_EQ(*msgs[2].payload, term::atom("small"));
}

TEST_P(DistConnectionInterop, WeSendMessagesWithAtomCacheRefs) {
  const term to = term::atom("edist_test_evaluator");
  for (int i = 0; i < 3; ++i) {
    const term msg = term::tuple({term::atom("from_cpp"), term(i),
                                  term::list({term::atom("alpha"), term::atom("beta"),
                                              term::atom("alpha"), term::atom("ünï")}),
                                  our_pid(7)});
    ASSERT_FALSE(us_.send({dist::ctrl::reg_send{our_pid(7), to, {}}, msg}));
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(beam_->eval("receive {from_cpp, " + std::to_string(i) +
                          ", L, P} -> {L =:= [alpha, beta, alpha, list_to_atom([252, 110, 239])],"
                          " node(P) =:= '" +
                          me_ + "'} after 10000 -> timeout end"),
              "{true,true}");
  }
  EXPECT_FALSE(us_.closed());
}

TEST_P(DistConnectionInterop, WeSendMultiMebibyteMessagesInterleavedWithSmallOnes) {
  const term to = term::atom("edist_test_evaluator");
  // A 6 MiB binary from one sender, small messages from another: the small ones overtake.
  ASSERT_FALSE(us_.send({dist::ctrl::reg_send{our_pid(1), to, {}},
                         term::tuple({term::atom("big"), pattern_binary(24576)})},
                        1));
  for (int i = 0; i < 5; ++i) {
    ASSERT_FALSE(us_.send(
        {dist::ctrl::reg_send{our_pid(2), to, {}}, term::tuple({term::atom("small"), term(i)})},
        2));
  }
  std::vector<term> long_list;
  for (int i = 1; i <= 300000; ++i) long_list.emplace_back(i);
  ASSERT_FALSE(us_.send({dist::ctrl::reg_send{our_pid(1), to, {}},
                         term::tuple({term::atom("list"), term::list(std::move(long_list))})},
                        1));
  const std::string check =
      "Expected = binary:copy(list_to_binary(lists:seq(0, 255)), 24576),"
      "Big = receive {big, B} -> B =:= Expected after 20000 -> timeout end,"
      "List = receive {list, L} -> {length(L), lists:sum(L)} after 20000 -> timeout end,"
      "Small = [receive {small, N} -> N after 5000 -> timeout end || _ <- lists:seq(1, 5)],"
      "{Big, List, Small}.";
  EXPECT_EQ(beam_->eval(check), "{true,{300000,45000150000},[0,1,2,3,4]}");
  EXPECT_FALSE(us_.closed());
}

TEST_P(DistConnectionInterop, BeamAnswersOurMonitorOfAnUnknownName) {
  // MONITOR_P to a name that is not registered: BEAM answers at once with noproc, as
  // PAYLOAD_MONITOR_P_EXIT since we negotiated EXIT_PAYLOAD.
  const std::uint32_t words[] = {1, 2, 3};
  const term ref = term::reference(term::atom(me_), our_creation, words);
  ASSERT_FALSE(
      us_.send({dist::ctrl::monitor_p{our_pid(3), term::atom("no_such_name"), ref}, std::nullopt}));
  auto msgs = us_.wait_messages(1, 10s);
  ASSERT_EQ(msgs.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<dist::ctrl::payload_monitor_p_exit>(msgs[0].control))
      << "operation " << dist::operation(msgs[0].control);
  const auto& e = std::get<dist::ctrl::payload_monitor_p_exit>(msgs[0].control);
  EXPECT_EQ(e.from_proc, term::atom("no_such_name"));
  EXPECT_EQ(e.ref, ref);
  EXPECT_EQ(e.to, our_pid(3));
  ASSERT_TRUE(msgs[0].payload);
  EXPECT_EQ(*msgs[0].payload, term::atom("noproc"));
}

EDIST_INSTANTIATE_OTP_TEST_SUITE(DistConnectionInterop);

}  // namespace
