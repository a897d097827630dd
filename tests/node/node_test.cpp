// The node's connection bookkeeping and services, against a fake connection layer.
#include "edist/node/node.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <edist/dist/error.hpp>
#include <edist/dist/flags.hpp>
#include <filesystem>
#include <fstream>

#include "edist/node/cookie.hpp"

namespace {

namespace asio = boost::asio;
using edist::etf::atom;
using edist::etf::term;
using namespace edist::node;
using namespace std::chrono_literals;

class fake_connection final : public peer_connection {
 public:
  bool send(const control_message& m) override {
    sent.push_back(m);
    return !closed;
  }
  void close() override { closed = true; }
  std::vector<control_message> sent;
  bool closed = false;
};

class fake_dialer final : public dialer {
 public:
  void dial(const std::string& peer) override { dialled.push_back(peer); }
  std::vector<std::string> dialled;
};

class Node : public ::testing::Test {
 protected:
  void SetUp() override {
    std::error_code ec;
    std::string detail;
    n = node::create(io.get_executor(), {.name = "cpp@localhost", .cookie = "SECRET"}, 5, ec,
                     &detail);
    ASSERT_FALSE(ec) << detail;
    n->set_dialer(&dialer);
  }
  void TearDown() override {
    if (n) n->shutdown();
  }
  std::shared_ptr<fake_connection> up(const std::string& peer, bool hidden = false) {
    auto c = std::make_shared<fake_connection>();
    n->on_connection_up(
        {peer, edist::dist::advertised_flags(edist::dist::visibility::visible), hidden, 1}, c);
    return c;
  }

  asio::io_context io;
  fake_dialer dialer;
  std::shared_ptr<node> n;
  std::string beam = "beam@localhost";
  term beam_pid = term::pid(atom("beam@localhost"), 40, 0, 1);
};

TEST_F(Node, NameAndCookie) {
  EXPECT_EQ(n->name(), "cpp@localhost");
  EXPECT_EQ(n->cookie(), "SECRET");
  n->set_cookie("other@localhost", "PEER");
  EXPECT_EQ(n->cookie_for("other@localhost"), "PEER");
  EXPECT_EQ(n->cookie_for(beam), "SECRET");
  EXPECT_TRUE(n->local().whereis(atom("net_kernel")));
}

TEST(NodeCreate, NameTypesAreChecked) {
  asio::io_context io;
  std::error_code ec;
  std::string detail;
  auto bad = node::create(io.get_executor(), {.name = "cpp@host.example.org", .cookie = "C"}, 1, ec,
                          &detail);
  EXPECT_EQ(ec, errc::invalid_option);
  EXPECT_NE(detail.find("short names"), std::string::npos) << detail;
  auto good = node::create(io.get_executor(),
                           {.name = "cpp@host.example.org", .long_names = true, .cookie = "C"}, 1,
                           ec, &detail);
  ASSERT_FALSE(ec) << detail;
  good->shutdown();
  auto plain = node::create(io.get_executor(), {.name = "cpp", .cookie = "C"}, 1, ec, &detail);
  ASSERT_FALSE(ec) << detail;
  EXPECT_EQ(plain->name().rfind("cpp@", 0), 0u);
  EXPECT_EQ(plain->name().find('.'), std::string::npos);
  plain->shutdown();
  node::create(io.get_executor(), {.name = "a@b@c", .cookie = "C"}, 1, ec, &detail);
  EXPECT_EQ(ec, errc::invalid_option);
}

TEST(Cookie, CreatedAsErlDoesAndReadBack) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("edist_cookie_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / ".erlang.cookie";
  std::string c1, c2, detail;
  ASSERT_FALSE(read_or_create_cookie(path, c1, &detail)) << detail;
  EXPECT_EQ(c1.size(), 20u);
  for (char ch : c1) EXPECT_TRUE(ch >= 'A' && ch <= 'Z');
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0400u);
  ASSERT_FALSE(read_or_create_cookie(path, c2, &detail));
  EXPECT_EQ(c1, c2);
  // Readable by others: refused, as erl refuses it.
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::others_read);
  EXPECT_EQ(read_or_create_cookie(path, c2, &detail), errc::cookie_file);
  EXPECT_NE(detail.find("owner only"), std::string::npos);
  // Trailing blanks and further lines are not part of the cookie.
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::ofstream(path) << "ABC  \nrest\n";
  ASSERT_FALSE(read_or_create_cookie(path, c2, &detail));
  EXPECT_EQ(c2, "ABC");
  std::filesystem::remove_all(dir);
}

TEST_F(Node, SendingToUnconnectedNodeDialsQueuesAndFlushesInOrder) {
  process p = n->spawn();
  p.send(beam_pid, term(1));
  p.send(term::tuple({atom("shell"), atom("beam@localhost")}), term(2));
  ASSERT_EQ(dialer.dialled, std::vector<std::string>{beam});
  EXPECT_FALSE(n->is_connected(beam));
  auto c = up(beam);
  p.send(beam_pid, term(3));
  ASSERT_EQ(c->sent.size(), 3u);
  EXPECT_EQ(c->sent[0].control, term::tuple({22, p.pid(), beam_pid}));
  EXPECT_EQ(c->sent[1].control, term::tuple({6, p.pid(), atom(""), atom("shell")}));
  EXPECT_EQ(c->sent[2].payload, term(3));
  EXPECT_EQ(dialer.dialled.size(), 1u);
}

TEST_F(Node, FailedConnectFiresNoconnection) {
  process p = n->spawn();
  p.trap_exit(true);
  p.link(beam_pid);
  term ref = p.monitor(beam_pid);
  std::error_code connect_result;
  n->connect(beam, [&](std::error_code ec) { connect_result = ec; });
  n->on_connection_failed(beam, make_error_code(errc::no_connection));
  EXPECT_EQ(connect_result, errc::no_connection);
  EXPECT_EQ(*p.receive(0s), term::tuple({atom("EXIT"), beam_pid, atom("noconnection")}));
  EXPECT_EQ(*p.receive(0s),
            term::tuple({atom("DOWN"), ref, atom("process"), beam_pid, atom("noconnection")}));
}

TEST_F(Node, NameTypeMismatchIsNotDialled) {
  process p = n->spawn();
  p.trap_exit(true);
  term long_pid = term::pid(atom("beam@host.example.org"), 1, 0, 1);
  p.link(long_pid);
  EXPECT_TRUE(dialer.dialled.empty());
  EXPECT_EQ(*p.receive(0s), term::tuple({atom("EXIT"), long_pid, atom("noconnection")}));
  std::error_code ec;
  n->connect("beam@host.example.org", [&](std::error_code e) { ec = e; });
  EXPECT_EQ(ec, edist::dist::errc::name_type_mismatch);
  EXPECT_EQ(n->decide_incoming("beam@host.example.org"), edist::dist::accept_decision::not_allowed);
}

TEST_F(Node, NodesListsLikeNodeList) {
  up("v1@localhost");
  up("h1@localhost", true);
  EXPECT_EQ(n->nodes(), std::vector<std::string>{"v1@localhost"});
  EXPECT_EQ(n->nodes({false, true, false}), std::vector<std::string>{"h1@localhost"});
  EXPECT_EQ(n->nodes(node_list::connected()).size(), 2u);
  EXPECT_EQ(n->nodes({true, false, true}),
            (std::vector<std::string>{"cpp@localhost", "v1@localhost"}));
}

TEST_F(Node, ConnectionLossFiresLinksMonitorsAndNodedown) {
  auto c = up(beam);
  process p = n->spawn();
  p.trap_exit(true);
  p.monitor_nodes(true);
  p.link(beam_pid);
  term ref = p.monitor(term::tuple({atom("shell"), atom("beam@localhost")}));
  n->on_connection_down(beam, *c, {});
  EXPECT_FALSE(n->is_connected(beam));
  EXPECT_EQ(*p.receive(0s), term::tuple({atom("EXIT"), beam_pid, atom("noconnection")}));
  EXPECT_EQ(*p.receive(0s), term::tuple({atom("DOWN"), ref, atom("process"),
                                         term::tuple({atom("shell"), atom("beam@localhost")}),
                                         atom("noconnection")}));
  EXPECT_EQ(*p.receive(0s), term::tuple({atom("nodedown"), atom("beam@localhost")}));
}

TEST_F(Node, NetKernelAnswersIsAuthWithTagAsReceived) {
  auto c = up(beam);
  const term ref = term::reference(atom("beam@localhost"), 1, std::vector<std::uint32_t>{1, 2, 3});
  const term alias_tag = term::list({atom("alias")}, ref);  // [alias | Ref]
  for (const term& tag : {ref, alias_tag}) {
    c->sent.clear();
    const term call = term::tuple({atom("$gen_call"), term::tuple({beam_pid, tag}),
                                   term::tuple({atom("is_auth"), atom("beam@localhost")})});
    n->on_control(beam, term::tuple({6, beam_pid, atom(""), atom("net_kernel")}), &call);
    io.restart();
    io.run_for(200ms);
    ASSERT_EQ(c->sent.size(), 1u);
    EXPECT_EQ(c->sent[0].control.tuple_elements().back(), beam_pid);
    EXPECT_EQ(c->sent[0].payload, term::tuple({tag, atom("yes")}));
  }
}

TEST_F(Node, MonitorOfUnknownNameIsAnsweredNoproc) {
  auto c = up(beam);
  const term ref = term::reference(atom("beam@localhost"), 1, std::vector<std::uint32_t>{4, 5, 6});
  n->on_control(beam, term::tuple({19, beam_pid, atom("nobody"), ref}), nullptr);
  ASSERT_EQ(c->sent.size(), 1u);
  EXPECT_EQ(c->sent[0].control, term::tuple({28, atom("nobody"), beam_pid, ref}));
  EXPECT_EQ(c->sent[0].payload, atom("noproc"));
}

TEST_F(Node, SpawnRequestIsRefused) {
  auto c = up(beam);
  const term ref = term::reference(atom("beam@localhost"), 1, std::vector<std::uint32_t>{7, 8, 9});
  const term args = term::list({term(1)});
  n->on_control(beam,
                term::tuple({29, ref, beam_pid, beam_pid,
                             term::tuple({atom("erpc"), atom("execute_call"), 4}), term()}),
                &args);
  ASSERT_EQ(c->sent.size(), 1u);
  EXPECT_EQ(c->sent[0].control, term::tuple({31, ref, beam_pid, 0, atom("notsup")}));
}

TEST_F(Node, IncomingMessagesReachRegisteredProcess) {
  up(beam);
  process shell = n->spawn();
  shell.register_name(atom("shell"));
  const term msg = atom("hi");
  n->on_control(beam, term::tuple({6, beam_pid, atom(""), atom("shell")}), &msg);
  n->on_control(beam, term::tuple({2, atom(""), shell.pid()}), &msg);
  EXPECT_EQ(*shell.receive(0s), msg);
  EXPECT_EQ(*shell.receive(0s), msg);
}

TEST_F(Node, SimultaneousConnectGreaterNameWins) {
  n->connect("zzz@localhost");
  n->connect("aaa@localhost");
  // "cpp" < "zzz": their attempt wins; we accept it and drop ours.
  EXPECT_EQ(n->decide_incoming("zzz@localhost"), edist::dist::accept_decision::ok_simultaneous);
  // "cpp" > "aaa": ours wins.
  EXPECT_EQ(n->decide_incoming("aaa@localhost"), edist::dist::accept_decision::nok);
  // Our losing dial fails, but the peer stays pending for the accepted connection.
  n->on_connection_failed("zzz@localhost", edist::dist::errc::simultaneous_connect_lost);
  auto c = up("zzz@localhost");
  EXPECT_TRUE(n->is_connected("zzz@localhost"));
  EXPECT_EQ(n->decide_incoming("zzz@localhost"), edist::dist::accept_decision::alive);
  EXPECT_EQ(n->decide_incoming("new@localhost"), edist::dist::accept_decision::ok);
}

TEST_F(Node, PingPongAndPang) {
  auto c = up(beam);
  bool result = false, called = false;
  n->ping(beam, 5s, [&](bool pong) {
    called = true;
    result = pong;
  });
  // The node sent MONITOR_P and REG_SEND to net_kernel; answer as a BEAM node would.
  ASSERT_EQ(c->sent.size(), 2u);
  const term& call = *c->sent[1].payload;
  const term from = call[1][0];
  const term tag = call[1][1];
  const term reply = term::tuple({tag, atom("yes")});
  n->on_control(beam, term::tuple({22, beam_pid, from}), &reply);
  io.run_for(1s);
  EXPECT_TRUE(called);
  EXPECT_TRUE(result);

  called = false;
  n->ping("nowhere@localhost", 5s, [&](bool pong) {
    called = true;
    result = pong;
  });
  n->on_connection_failed("nowhere@localhost", make_error_code(errc::no_connection));
  io.restart();
  io.run_for(1s);
  EXPECT_TRUE(called);
  EXPECT_FALSE(result);
}

TEST_F(Node, ShutdownClosesConnections) {
  auto c = up(beam);
  process p = n->spawn();
  p.link(beam_pid);
  c->sent.clear();
  n->shutdown();
  EXPECT_TRUE(c->closed);
  EXPECT_FALSE(p.alive());
  // The peer learnt the real reason before the connection closed.
  ASSERT_FALSE(c->sent.empty());
  EXPECT_EQ(c->sent.back().payload, atom("shutdown"));
}

}  // namespace
