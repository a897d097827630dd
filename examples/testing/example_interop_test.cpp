// An interop test of your own C++ against a live BEAM node: copy this file to start one.
//
// edist::testing::live_node starts a private EPMD and an `erl` node (unique name, random
// cookie), and stops both when the test ends, passed or failed. The node holds a mailbox
// process (beam.mailbox_name()) that keeps what it is sent until beam.receive() reads it,
// and beam.eval()/beam.call() run code there.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <edist/node/network.hpp>
#include <edist/node/rpc.hpp>
#include <edist/testing/gtest.hpp>
#include <edist/testing/live_node.hpp>
#include <edist/testing/names.hpp>
#include <future>
#include <thread>

namespace {

using edist::etf::atom;
using edist::etf::term;

// The code under test: here simply an edist node with one process. Yours is whatever of your
// program talks to the BEAM.
class my_cpp_node {
 public:
  my_cpp_node(const std::string& cookie, std::uint16_t epmd_port) {
    edist::node::node_options node;
    node.name = edist::testing::unique_name("cpp") + "@localhost";
    node.cookie = cookie;
    edist::node::network_options network;
    network.epmd_port = epmd_port;  // the test's private EPMD, not the system one
    network.start_embedded_epmd = false;
    thread_ = std::thread([this] { io_.run(); });
    std::error_code ec;
    net_ = edist::node::network::start(io_.get_executor(), node, network, ec);
    if (!net_) {
      io_.stop();
      thread_.join();
      throw std::system_error(ec, "cannot start the C++ node");
    }
    // A price list the BEAM side may query: shop:price(Item).
    net_->get_node().rpc_functions()->add(
        "shop", "price",
        [](std::span<const term> args) {
          return args[0].is_atom("apple") ? term::integer(std::int64_t{3}) : atom("unknown");
        },
        1);
  }
  ~my_cpp_node() {
    if (net_) net_->stop();
    // Let the handlers that close the connections run, then stop for good.
    work_.reset();
    for (int i = 0; i < 100 && !io_.stopped(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    io_.stop();
    thread_.join();
  }
  edist::node::node& node() { return net_->get_node(); }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::thread thread_;
  std::shared_ptr<edist::node::network> net_;
};

TEST(MyInteropTest, CppNodeTalksToALiveBeamNode) {
  EDIST_REQUIRE_ERLANG();  // skip (or fail with EDIST_REQUIRE_INTEROP=1) without Erlang
  auto beam = edist::testing::live_node::start();
  my_cpp_node cpp(beam.cookie(), beam.epmd_port());
  edist::node::process me = cpp.node().spawn();

  // C++ -> BEAM: send to the mailbox process by name; assert on what the BEAM node received.
  me.send(term::tuple({atom(beam.mailbox_name()), atom(beam.node_name())}),
          term::tuple({atom("hello"), term::binary("world"), term::integer(std::int64_t{42})}));
  EXPECT_EQ(beam.receive(), "{hello,<<\"world\">>,42}") << beam.output();

  // Code on the BEAM node: the C++ node is now one of its connected nodes.
  EXPECT_EQ(beam.call("lists", "member", "['" + cpp.node().name() + "', nodes(connected)]"),
            "true");

  // BEAM -> C++: rpc into the function the C++ node serves.
  EXPECT_EQ(beam.eval("rpc:call('" + cpp.node().name() + "', shop, price, [apple])"), "3");

  // C++ -> BEAM: rpc into an Erlang function.
  term reversed = edist::node::rpc::call(me, atom(beam.node_name()), atom("lists"), atom("reverse"),
                                         term::list({term::list({atom("a"), atom("b")})}),
                                         std::chrono::seconds(10));
  EXPECT_EQ(reversed, term::list({atom("b"), atom("a")}));

  // Nothing else arrived.
  EXPECT_EQ(beam.receive(std::chrono::milliseconds(100)), std::nullopt);
}

}  // namespace
