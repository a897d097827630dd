// The fixture every suite of interop/node starts from: for each OTP release under test
// (et::otp_test), a private EPMD, a random cookie, and an edist node registered with that EPMD,
// its io_context run by two threads (one may block in a handler while the other keeps the
// connections going). Suites add their BEAM nodes on the same EPMD and cookie.
//
//   void SetUp() override {
//     cpp_node_test::SetUp();
//     if (IsSkipped() || HasFatalFailure()) return;
//     start_cpp_node("svc");            // or with network_options of the suite's own
//   }
//   void TearDown() override { beam_.reset(); cpp_node_test::TearDown(); }
//
// Ownership: the fixture owns the EPMD, the io_context, its threads and the network; TearDown
// (or stop_cpp_node(), for a suite that wants the edist node gone before its BEAM nodes)
// stops the node, then the io_context, and joins the threads, also when the test failed.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <edist/node/network.hpp>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "edist/testing/epmd_instance.hpp"
#include "edist/testing/gtest.hpp"
#include "edist/testing/names.hpp"

namespace edist::interop {

class cpp_node_test : public edist::testing::otp_test {
 protected:
  void SetUp() override {
    edist::testing::otp_test::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    epmd_.emplace(edist::testing::epmd_instance::start(otp()));
    cookie_ = edist::testing::random_cookie();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  void TearDown() override { stop_cpp_node(); }

  // Starts the edist node `<name_prefix>_<unique>@localhost` on the fixture's EPMD with its
  // cookie. `net` may carry the suite's own limits; its EPMD settings are overwritten. Fails
  // the test (fatally) when the node cannot start.
  void start_cpp_node(const std::string& name_prefix, node::network_options net = {},
                      node::node_options no = {}) {
    no.name = edist::testing::unique_name(name_prefix) + "@localhost";
    no.cookie = cookie_;
    net.epmd_port = epmd_->port();
    net.start_embedded_epmd = false;
    std::error_code ec;
    std::string why;
    net_ = node::network::start(io_.get_executor(), no, net, ec, &why);
    ASSERT_TRUE(net_) << ec.message() << ": " << why;
  }

  // Stops the edist node and its threads; idempotent.
  void stop_cpp_node() {
    if (net_) net_->stop();
    net_.reset();
    work_.reset();
    // The network closes its connections with handlers posted to io_; running them breaks
    // each connection's ownership cycle (LeakSanitizer sees a leak otherwise). Stop hard only
    // if work remains after a grace period.
    for (int i = 0; i < 200 && !io_.stopped(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    io_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  node::node& cpp() { return net_->get_node(); }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::vector<std::thread> threads_;
  std::optional<edist::testing::epmd_instance> epmd_;
  std::string cookie_;
  std::shared_ptr<node::network> net_;
};

}  // namespace edist::interop
