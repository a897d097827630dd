// Real BEAM nodes (every available OTP release) using our EPMD server, started in this test
// process on a free port: they register, find each other, connect and exchange messages; the
// real `epmd -names` reads our server the same way it reads the real epmd.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "edist/epmd/client.hpp"
#include "edist/epmd/error.hpp"
#include "edist/epmd/server.hpp"
#include "edist/testing/beam_node.hpp"
#include "edist/testing/child_process.hpp"
#include "edist/testing/epmd_instance.hpp"
#include "edist/testing/gtest.hpp"
#include "edist/testing/names.hpp"

namespace {

namespace asio = boost::asio;
namespace ep = edist::epmd;
namespace et = edist::testing;
using namespace std::chrono_literals;

// Our server on an io_context run by a background thread.
class our_epmd {
 public:
  our_epmd() : guard_(asio::make_work_guard(io_)) {
    ep::server_options o;
    o.port = 0;
    o.loopback_only = true;
    server_.emplace(io_.get_executor(), o);
    if (auto ec = server_->start()) throw std::system_error(ec, "our epmd");
    thread_ = std::thread([this] { io_.run(); });
  }
  ~our_epmd() {
    server_.reset();
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return server_->port(); }
  ep::client_options client_options() const {
    ep::client_options o;
    o.host = "localhost";
    o.port = port();
    return o;
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::optional<ep::server> server_;
  std::thread thread_;
};

// Runs the real `epmd -names` of `otp` against the EPMD on `port`; returns what it printed.
std::string epmd_names_output(const et::erlang_install& otp, std::uint16_t port) {
  et::child_process::options o;
  o.argv = {otp.epmd().string(), "-names"};
  o.env = {{"ERL_EPMD_PORT", std::to_string(port)}};
  o.capture_stdout = true;
  o.stderr_to_stdout = true;
  auto p = et::child_process::spawn(o);
  auto out = p.read_stdout(10s);
  EXPECT_EQ(p.wait(5s), 0) << out;
  return out;
}

bool eventually_not_found(const ep::client_options& o, const std::string& name) {
  for (int i = 0; i < 500; ++i) {
    std::error_code ec;
    ep::lookup(o, name, ec);
    if (ec == ep::errc::name_not_found) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

class BeamViaOurEpmd : public et::otp_test {
 protected:
  void SetUp() override {
    et::otp_test::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    epmd_.emplace();
    cookie_ = et::random_cookie();
  }

  et::beam_node start(std::string name = {}) {
    et::beam_options o;
    o.name = std::move(name);
    o.epmd_port = epmd_->port();
    o.start_epmd = false;
    o.cookie = cookie_;
    return et::beam_node::start(otp(), std::move(o));
  }

  std::optional<our_epmd> epmd_;
  std::string cookie_;
};

TEST_P(BeamViaOurEpmd, TwoNodesRegisterFindEachOtherAndTalk) {
  auto a = start();
  auto b = start();

  // Both registered with us, as normal nodes at the ports they listen on.
  const auto co = epmd_->client_options();
  for (auto* n : {&a, &b}) {
    const auto info = ep::lookup(co, n->name());
    EXPECT_EQ(info.type, ep::node_type::normal);
    EXPECT_EQ(info.highest_version, 6);
    // What the node itself gets from EPMD for its own name is what we told our client.
    EXPECT_EQ(
        n->eval("{port, P, _} = erl_epmd:port_please(\"" + n->name() + "\", \"localhost\"), P"),
        std::to_string(info.port));
  }

  // They find each other through us and connect.
  EXPECT_EQ(a.eval("net_adm:ping('" + b.node_name() + "')"), "pong");
  EXPECT_EQ(b.eval("lists:member('" + a.node_name() + "', nodes())"), "true");

  // A message each way, through the evaluator processes.
  EXPECT_EQ(a.eval("{edist_test_evaluator, '" + b.node_name() + "'} ! {hello, node()}, ok"), "ok");
  EXPECT_EQ(b.eval("receive {hello, From} -> From after 5000 -> timeout end"), a.node_name());
  EXPECT_EQ(b.eval("{edist_test_evaluator, '" + a.node_name() + "'} ! {reply, 42}, ok"), "ok");
  EXPECT_EQ(a.eval("receive {reply, N} -> N after 5000 -> timeout end"), "42");

  // Both appear in NAMES (newest first, like the real epmd).
  const auto listed = ep::names(co);
  ASSERT_EQ(listed.nodes.size(), 2u);
  EXPECT_EQ(listed.nodes[0].name, b.name());
  EXPECT_EQ(listed.nodes[1].name, a.name());
  EXPECT_EQ(listed.epmd_port, epmd_->port());
}

TEST_P(BeamViaOurEpmd, NameGoesAwayWhenTheNodeStops) {
  auto a = start();
  const auto name = a.name();
  const auto co = epmd_->client_options();
  EXPECT_NO_THROW(ep::lookup(co, name));
  a.stop();
  EXPECT_TRUE(eventually_not_found(co, name));
}

TEST_P(BeamViaOurEpmd, SecondNodeWithALiveNameIsRefused) {
  auto a = start();
  et::beam_options o;
  o.name = a.name();
  o.epmd_port = epmd_->port();
  o.cookie = cookie_;
  o.start_timeout = 20s;
  try {
    auto twin = et::beam_node::start(otp(), o);
    FAIL() << "a second node named " << a.name() << " started";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
  }
  // The first one is unaffected.
  EXPECT_EQ(ep::names(epmd_->client_options()).nodes.size(), 1u);
  EXPECT_EQ(a.eval("node()"), a.node_name());
}

TEST_P(BeamViaOurEpmd, NodeRestartGetsANewCreation) {
  auto a = start();
  const auto name = a.name();
  const std::string first = a.eval("erlang:system_info(creation)");
  a.stop();
  ASSERT_TRUE(eventually_not_found(epmd_->client_options(), name));
  auto again = start(name);
  const std::string second = again.eval("erlang:system_info(creation)");
  EXPECT_NE(first, second);
  EXPECT_NE(second, "0");
}

TEST_P(BeamViaOurEpmd, RealEpmdNamesReadsTheSameAsAgainstTheRealEpmd) {
  auto a = start();
  auto b = start();
  const auto co = epmd_->client_options();
  const auto pa = ep::lookup(co, a.name()).port;
  const auto pb = ep::lookup(co, b.name()).port;
  const std::string ours = epmd_names_output(otp(), epmd_->port());

  // The same registrations, in the same order, with the real epmd.
  auto real = et::epmd_instance::start(otp());
  ep::client_options ro;
  ro.port = real.port();
  auto na = ep::node_info{};
  na.name = a.name();
  na.port = pa;
  auto nb = na;
  nb.name = b.name();
  nb.port = pb;
  auto ra = ep::register_node(ro, na);
  auto rb = ep::register_node(ro, nb);
  const std::string theirs = epmd_names_output(otp(), real.port());

  auto with_port = [](std::uint16_t port) {
    return "epmd: up and running on port " + std::to_string(port) + " with data:\n";
  };
  const std::string body = "name " + b.name() + " at port " + std::to_string(pb) + "\nname " +
                           a.name() + " at port " + std::to_string(pa) + "\n";
  EXPECT_EQ(ours, with_port(epmd_->port()) + body);
  EXPECT_EQ(theirs, with_port(real.port()) + body);
}

TEST_P(BeamViaOurEpmd, KillFromTheRealEpmdToolIsRefused) {
  auto a = start();
  et::child_process::options o;
  o.argv = {otp().epmd().string(), "-kill"};
  o.env = {{"ERL_EPMD_PORT", std::to_string(epmd_->port())}};
  o.capture_stdout = true;
  o.stderr_to_stdout = true;
  auto p = et::child_process::spawn(o);
  const auto out = p.read_stdout(10s);
  EXPECT_EQ(p.wait(5s), 1) << out;
  EXPECT_NE(out.find("Killing not allowed"), std::string::npos) << out;
  // Still serving, with the node still registered.
  const auto port = ep::lookup(epmd_->client_options(), a.name()).port;
  EXPECT_EQ(a.eval("net_adm:names()"),
            "{ok,[{\"" + a.name() + "\"," + std::to_string(port) + "}]}");
}

EDIST_INSTANTIATE_OTP_TEST_SUITE(BeamViaOurEpmd);

// The embedded default: a node starts our server only when no EPMD answers on the port. With a
// real epmd there (on loopback), our server, asked for every address, must not shadow it.
class StartIfAbsent : public et::otp_test {};

TEST_P(StartIfAbsent, DefersToARunningRealEpmd) {
  auto real = et::epmd_instance::start(otp());
  asio::io_context io;
  ep::server_options o;
  o.port = real.port();  // every address, as an embedded node would listen
  ep::server ours(io.get_executor(), o);
  std::error_code ec;
  EXPECT_EQ(ours.start_if_absent(ec), ep::server::start_outcome::already_running) << ec.message();
  EXPECT_FALSE(ec);

  // Once the real one is gone, ours takes the port.
  const auto port = real.port();
  real.stop();
  o.loopback_only = true;
  ep::server again(io.get_executor(), o);
  EXPECT_EQ(again.start_if_absent(ec), ep::server::start_outcome::started) << ec.message();
  EXPECT_EQ(again.port(), port);
}

EDIST_INSTANTIATE_OTP_TEST_SUITE(StartIfAbsent);

// An OTP 25 node and an OTP 27 node, both registered with our server, talk to each other.
TEST(BeamViaOurEpmdMixed, Otp25AndOtp27) {
  EDIST_REQUIRE_ERLANG();
  EDIST_REQUIRE_OTP27();
  our_epmd epmd;
  const auto cookie = et::random_cookie();
  et::beam_options o;
  o.epmd_port = epmd.port();
  o.cookie = cookie;
  auto old_node = et::beam_node::start(*et::system_otp(), o);
  auto new_node = et::beam_node::start(*et::otp27(), o);
  EXPECT_EQ(new_node.eval("net_adm:ping('" + old_node.node_name() + "')"), "pong");
  EXPECT_EQ(new_node.eval("{edist_test_evaluator, '" + old_node.node_name() +
                          "'} ! {from, erlang:system_info(otp_release)}, ok"),
            "ok");
  EXPECT_EQ(old_node.eval("receive {from, R} -> R after 5000 -> timeout end"),
            "\"" + et::otp27()->release + "\"");
  const auto listed = ep::names(epmd.client_options());
  EXPECT_EQ(listed.nodes.size(), 2u);
}

}  // namespace
