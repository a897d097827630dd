// Our EPMD client against the real epmd of every available OTP release, on a private port.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "edist/epmd/client.hpp"
#include "edist/epmd/error.hpp"
#include "edist/testing/beam_node.hpp"
#include "edist/testing/epmd_instance.hpp"
#include "edist/testing/gtest.hpp"
#include "edist/testing/names.hpp"

namespace {

namespace ep = edist::epmd;
namespace et = edist::testing;
using namespace std::chrono_literals;

ep::node_info make_node(std::string name, std::uint16_t port,
                        ep::node_type type = ep::node_type::normal) {
  ep::node_info n;
  n.name = std::move(name);
  n.port = port;
  n.type = type;
  n.highest_version = 6;
  n.lowest_version = 5;
  return n;
}

class ClientVsRealEpmd : public et::otp_test {
 protected:
  void SetUp() override {
    et::otp_test::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    epmd_.emplace(et::epmd_instance::start(otp()));
  }

  ep::client_options options() const {
    ep::client_options o;
    o.host = "localhost";
    o.port = epmd_->port();
    o.timeout = 5s;
    return o;
  }

  // The real epmd drops a name when it sees the connection close: poll briefly.
  bool eventually_not_found(const std::string& name) {
    for (int i = 0; i < 300; ++i) {
      std::error_code ec;
      ep::lookup(options(), name, ec);
      if (ec == ep::errc::name_not_found) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  std::optional<et::epmd_instance> epmd_;
};

TEST_P(ClientVsRealEpmd, RegisterLookupNamesAndUnregisterOnClose) {
  const auto name = et::unique_name("cli");
  auto reg = ep::register_node(options(), make_node(name, 41234));
  ASSERT_TRUE(reg.active());
  // OTP 23+ epmd answers version-6 registrations with ALIVE2_X_RESP and a 32-bit creation.
  EXPECT_NE(reg.creation(), 0u);

  const auto info = ep::lookup(options(), name);
  EXPECT_EQ(info.name, name);
  EXPECT_EQ(info.port, 41234);
  EXPECT_EQ(info.type, ep::node_type::normal);
  EXPECT_EQ(info.protocol, 0);
  EXPECT_EQ(info.highest_version, 6);
  EXPECT_EQ(info.lowest_version, 5);

  const auto listed = ep::names(options());
  EXPECT_EQ(listed.epmd_port, epmd_->port());
  ASSERT_EQ(listed.nodes.size(), 1u);
  EXPECT_EQ(listed.nodes[0], (ep::name_entry{name, 41234}));
  // And the raw text, as the test library reads it independently of our decoder.
  EXPECT_EQ(epmd_->names(), "name " + name + " at port 41234\n");

  reg.close();
  EXPECT_TRUE(eventually_not_found(name));
  EXPECT_FALSE(epmd_->wait_for_name(name, 100ms));
}

TEST_P(ClientVsRealEpmd, DuplicateNameRefused) {
  const auto name = et::unique_name("dup");
  auto first = ep::register_node(options(), make_node(name, 1111));
  std::error_code ec;
  auto second = ep::register_node(options(), make_node(name, 2222), ec);
  EXPECT_EQ(ec, ep::errc::name_in_use) << ec.message();
  EXPECT_FALSE(second.active());
  EXPECT_EQ(ep::lookup(options(), name).port, 1111);
}

TEST_P(ClientVsRealEpmd, CreationChangesWhenANameComesBack) {
  const auto name = et::unique_name("again");
  std::uint32_t previous = 0;
  for (int i = 0; i < 3; ++i) {
    auto reg = ep::register_node(options(), make_node(name, 3000));
    EXPECT_NE(reg.creation(), 0u);
    if (i > 0) {
      EXPECT_NE(reg.creation(), previous);
    }
    previous = reg.creation();
    reg.close();
    ASSERT_TRUE(eventually_not_found(name));
  }
}

TEST_P(ClientVsRealEpmd, HiddenNodeAndExtra) {
  const auto name = et::unique_name("hid");
  auto n = make_node(name, 4000, ep::node_type::hidden);
  n.extra = {'x', 'y', 0, 'z'};
  auto reg = ep::register_node(options(), n);
  const auto info = ep::lookup(options(), name);
  EXPECT_EQ(info.type, ep::node_type::hidden);
  EXPECT_EQ(info.extra, n.extra);
}

TEST_P(ClientVsRealEpmd, NotFoundAndUnreachable) {
  std::error_code ec;
  ep::lookup(options(), et::unique_name("nobody"), ec);
  EXPECT_EQ(ec, ep::errc::name_not_found);
  auto o = options();
  epmd_->stop();
  ep::names(o, ec);
  EXPECT_EQ(ec, ep::errc::unreachable) << ec.message();
}

TEST_P(ClientVsRealEpmd, RegistrationLostWhenEpmdDies) {
  boost::asio::io_context io;
  ep::client c(io.get_executor(), options());
  std::error_code reg_ec, lost_ec;
  ep::registration reg;
  bool registered = false;
  bool lost = false;
  c.async_register_node(make_node(et::unique_name("lost"), 5000),
                        [&](std::error_code ec, ep::registration r) {
                          registered = true;
                          reg_ec = ec;
                          reg = std::move(r);
                          if (ec) return;
                          reg.async_wait_lost([&](std::error_code e) {
                            lost_ec = e;
                            lost = true;
                          });
                        });
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!registered && std::chrono::steady_clock::now() < deadline) io.run_one_for(100ms);
  ASSERT_TRUE(registered);
  ASSERT_FALSE(reg_ec) << reg_ec.message();
  io.run_for(100ms);
  ASSERT_FALSE(lost);
  epmd_->stop();
  while (!lost && std::chrono::steady_clock::now() < deadline) io.run_one_for(100ms);
  EXPECT_TRUE(lost);
  EXPECT_EQ(lost_ec, ep::errc::registration_lost);
}

TEST_P(ClientVsRealEpmd, BeamNodeAndOurRegistrationSeeEachOther) {
  et::beam_options bo;
  bo.epmd_port = epmd_->port();
  auto node = et::beam_node::start(otp(), bo);
  // Our look-up of the BEAM node agrees with what the node says about itself.
  const auto info = ep::lookup(options(), node.name());
  const std::string port_please = node.eval("{port, P, V} = erl_epmd:port_please(\"" + node.name() +
                                            "\", \"localhost\"), {P, V}");
  EXPECT_EQ(port_please, "{" + std::to_string(info.port) + ",6}");
  EXPECT_EQ(info.type, ep::node_type::normal);
  EXPECT_EQ(info.highest_version, 6);

  // The BEAM node sees our registration through the same epmd.
  const auto ours = et::unique_name("peer");
  auto reg = ep::register_node(options(), make_node(ours, 45678, ep::node_type::hidden));
  EXPECT_EQ(node.eval("{port, P, _} = erl_epmd:port_please(\"" + ours + "\", \"localhost\"), P"),
            "45678");
  const std::string names = node.eval("{ok, Ns} = net_adm:names(), lists:sort(Ns)");
  EXPECT_NE(names.find("{\"" + ours + "\",45678}"), std::string::npos) << names;
}

EDIST_INSTANTIATE_OTP_TEST_SUITE(ClientVsRealEpmd);

}  // namespace
