// The :global client: the rpc requests it makes (global:register_name/2, unregister_name/1,
// whereis_name/1, registered_names/0) and how it reads the answers, against this runtime's own
// rex serving a stand-in `global` module.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <map>
#include <mutex>
#include <thread>

#include "edist/node/global.hpp"
#include "edist/node/rpc.hpp"
#include "edist/node/service_error.hpp"

namespace {

namespace asio = boost::asio;
namespace rpc = edist::node::rpc;
using edist::etf::atom;
using edist::etf::term;
using edist::node::process;
using edist::node::runtime;
using namespace std::chrono_literals;

class Global : public ::testing::Test {
 protected:
  void SetUp() override {
    // A stand-in for global.erl's API with its return values (yes/no, undefined, ok).
    reg->add(
        "global", "register_name",
        [this](std::span<const term> a) {
          std::lock_guard lock(mu);
          return atom(names.emplace(a[0], a[1]).second ? "yes" : "no");
        },
        2);
    reg->add(
        "global", "unregister_name",
        [this](std::span<const term> a) {
          std::lock_guard lock(mu);
          names.erase(a[0]);
          return atom("ok");
        },
        1);
    reg->add(
        "global", "whereis_name",
        [this](std::span<const term> a) {
          std::lock_guard lock(mu);
          auto it = names.find(a[0]);
          return it == names.end() ? atom("undefined") : it->second;
        },
        1);
    reg->add(
        "global", "registered_names",
        [this](std::span<const term>) {
          std::lock_guard lock(mu);
          std::vector<term> out;
          for (auto& [n, p] : names) out.push_back(n);
          return term::list(std::move(out));
        },
        0);
    std::error_code ec;
    rpc::start_rex(*rt, reg, ec);
    ASSERT_FALSE(ec);
    runner = std::thread([this] { io.run(); });
  }
  void TearDown() override {
    rt->shutdown(atom("shutdown"));
    work.reset();
    runner.join();
  }
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::shared_ptr<runtime> rt = runtime::create(io.get_executor(), "cpp@localhost", 2);
  std::shared_ptr<rpc::registry> reg = std::make_shared<rpc::registry>();
  std::mutex mu;
  std::map<term, term> names;
  std::thread runner;
};

TEST_F(Global, RegisterLookupSendUnregister) {
  process self = rt->spawn();
  process target = rt->spawn();
  edist::node::global::client g(self, atom("cpp@localhost"), 2s);
  const term bob = term::tuple({atom("todo_list"), edist::etf::binary("bob")});
  EXPECT_FALSE(g.whereis_name(bob));
  EXPECT_TRUE(g.register_name(bob, target.pid()));
  EXPECT_FALSE(g.register_name(bob, self.pid()));
  EXPECT_EQ(g.whereis_name(bob), target.pid());
  EXPECT_EQ(g.registered_names(), std::vector<term>{bob});
  EXPECT_FALSE(g.send(bob, atom("hello")));
  EXPECT_EQ(*target.receive(2s), atom("hello"));
  EXPECT_EQ(g.send(atom("nobody"), atom("x")), edist::node::service_errc::noproc);
  g.unregister_name(bob);
  EXPECT_FALSE(g.whereis_name(bob));
  EXPECT_TRUE(g.registered_names().empty());
}

TEST_F(Global, UnreachableNodeReportsBadrpc) {
  process self = rt->spawn();
  edist::node::global::client g(self, atom("gone@nowhere"), 2s);
  term error;
  EXPECT_FALSE(g.register_name(atom("n"), self.pid(), &error));
  EXPECT_EQ(error, term::tuple({atom("badrpc"), atom("nodedown")}));
  EXPECT_FALSE(g.whereis_name(atom("n")));
}

}  // namespace
