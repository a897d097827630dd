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
#include <span>

#include "edist/node/cookie.hpp"

namespace {

namespace asio = boost::asio;
using edist::etf::atom;
using edist::etf::term;
using namespace edist::node;
using namespace std::chrono_literals;

// What the fake connection was given, with the control message as the tuple it would write.
struct sent_message {
  term control;
  std::optional<term> payload;
};

class fake_connection final : public peer_connection {
 public:
  bool send(edist::dist::dist_message m) override {
    sent.push_back({edist::dist::to_term(m.control), std::move(m.payload)});
    return !closed;
  }
  void close() override { closed = true; }
  std::vector<sent_message> sent;
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
    // Without the global name server: these tests count every control message sent to the
    // fake peer, and its init_connect on nodeup would be one of them (global_server_test.cpp
    // covers it).
    n = node::create(io.get_executor(),
                     {.name = "cpp@localhost", .cookie = "SECRET", .global_server = false}, 5, ec,
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

  // A control message from `beam` as its connection hands it over: the tuple parsed by the
  // dist layer, then the payload.
  void from_peer(edist::dist::control_message control, const term* payload) {
    n->on_control(atom(beam), {std::move(control),
                               payload != nullptr ? std::optional<term>(*payload) : std::nullopt});
  }
  void from_peer(const term& control, const term* payload) {
    edist::dist::control_message typed;
    std::string why;
    ASSERT_FALSE(edist::dist::from_term(control, typed, &why)) << why;
    from_peer(std::move(typed), payload);
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
    from_peer(term::tuple({6, beam_pid, atom(""), atom("net_kernel")}), &call);
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
  from_peer(term::tuple({19, beam_pid, atom("nobody"), ref}), nullptr);
  ASSERT_EQ(c->sent.size(), 1u);
  EXPECT_EQ(c->sent[0].control, term::tuple({28, atom("nobody"), beam_pid, ref}));
  EXPECT_EQ(c->sent[0].payload, atom("noproc"));
}

// erpc:call from a BEAM node: SPAWN_REQUEST of {erpc, execute_call, 4} with monitor; the reply
// announces the pid with the monitor flag, and the monitor carries erpc's result back.
TEST_F(Node, ErpcSpawnRequestRunsRegisteredFunction) {
  auto c = up(beam);
  n->rpc_functions()->add(
      "math", "add",
      [](std::span<const term> a) { return term(a[0].as_int64() + a[1].as_int64()); }, 2);
  const term req = term::reference(atom("beam@localhost"), 1, std::vector<std::uint32_t>{7, 8, 9});
  const term tag = term::reference(atom("beam@localhost"), 1, std::vector<std::uint32_t>{1, 1, 1});
  const term args = term::list({tag, atom("math"), atom("add"), term::list({term(2), term(3)})});
  from_peer(term::tuple({29, req, beam_pid, beam_pid,
                         term::tuple({atom("erpc"), atom("execute_call"), 4}),
                         term::list({atom("monitor")})}),
            &args);
  ASSERT_GE(c->sent.size(), 1u);
  const term& reply = c->sent[0].control;
  ASSERT_TRUE(reply.is_tuple(5));
  EXPECT_EQ(reply[0], term(31));
  EXPECT_EQ(reply[1], req);
  EXPECT_EQ(reply[2], beam_pid);
  EXPECT_EQ(reply[3], term(edist::dist::ctrl::spawn_reply::flag_monitor));
  ASSERT_TRUE(reply[4].is_pid());
  const term pid = reply[4];
  io.restart();
  io.run_for(300ms);
  ASSERT_EQ(c->sent.size(), 2u);
  EXPECT_EQ(c->sent[1].control, term::tuple({28, pid, beam_pid, req}));
  EXPECT_EQ(c->sent[1].payload, term::tuple({tag, atom("return"), term(5)}));
}

TEST_F(Node, ErpcOfUnknownFunctionExitsWithUndefAndLinkIsHonoured) {
  auto c = up(beam);
  const term req = term::reference(atom("beam@localhost"), 1, std::vector<std::uint32_t>{3, 8, 9});
  const term tag = term::reference(atom("beam@localhost"), 1, std::vector<std::uint32_t>{2, 1, 1});
  const term args = term::list({tag, atom("nomod"), atom("nofun"), term::list({term(1)})});
  from_peer(term::tuple({29, req, beam_pid, beam_pid,
                         term::tuple({atom("erpc"), atom("execute_call"), 4}),
                         term::list({atom("link"), atom("monitor"),
                                     term::tuple({atom("priority"), atom("high")})})}),
            &args);
  ASSERT_GE(c->sent.size(), 1u);
  ASSERT_TRUE(c->sent[0].control.is_tuple(5));
  EXPECT_EQ(c->sent[0].control[3], term(edist::dist::ctrl::spawn_reply::flag_link |
                                        edist::dist::ctrl::spawn_reply::flag_monitor));
  const term pid = c->sent[0].control[4];
  ASSERT_TRUE(pid.is_pid());
  io.restart();
  io.run_for(300ms);
  // Both the link's exit signal and the monitor's DOWN, each with erpc's error:undef shape.
  bool saw_exit = false, saw_down = false;
  for (std::size_t i = 1; i < c->sent.size(); ++i) {
    const auto& m = c->sent[i];
    ASSERT_TRUE(m.payload.has_value());
    EXPECT_TRUE(m.payload->is_tuple(4) && (*m.payload)[0] == tag &&
                (*m.payload)[1].is_atom("error") && (*m.payload)[2].is_atom("undef"));
    if (m.control == term::tuple({24, pid, beam_pid})) saw_exit = true;
    if (m.control == term::tuple({28, pid, beam_pid, req})) saw_down = true;
  }
  EXPECT_TRUE(saw_exit);
  EXPECT_TRUE(saw_down);
}

TEST_F(Node, MalformedSpawnRequestsGetAnErrorReply) {
  auto c = up(beam);
  const term req = term::reference(atom("beam@localhost"), 1, std::vector<std::uint32_t>{5, 8, 9});
  const term mfa = term::tuple({atom("erpc"), atom("execute_call"), 4});
  const term three = term::list({term(1), term(2), term(3)});
  // Argument count differs from the arity; no payload at all; an improper option list; an mfa
  // that is not {Atom, Atom, Arity}. The dist layer's parser refuses the last two on the wire
  // (closing the connection); as typed messages they still get their answer.
  namespace ctrl = edist::dist::ctrl;
  from_peer(term::tuple({29, req, beam_pid, beam_pid, mfa, term()}), &three);
  from_peer(term::tuple({29, req, beam_pid, beam_pid, mfa, term()}), nullptr);
  from_peer(ctrl::spawn_request{req, beam_pid, beam_pid, atom("m"), atom("f"), 3,
                                term::list({atom("link")}, atom("x")), std::nullopt},
            &three);
  from_peer(
      ctrl::spawn_request{req, beam_pid, beam_pid, atom("m"), term(5), 3, term(), std::nullopt},
      &three);
  ASSERT_EQ(c->sent.size(), 4u);
  for (const auto& m : c->sent) {
    EXPECT_EQ(m.control, term::tuple({31, req, beam_pid, 0, atom("badarg")}));
  }
}

// Spawning on a BEAM node: the request as erlang:spawn_request/5 writes it, the reply in the
// requester's mailbox, and the requested monitor and link in place for what follows.
TEST_F(Node, SpawnOnPeerWithMonitorAndLink) {
  auto c = up(beam);
  process self = n->spawn();
  const term args = term::list({term(1), atom("x")});
  const term req =
      n->request_spawn(self, beam, atom("m"), atom("f"), args, {.link = true, .monitor = true});
  ASSERT_EQ(c->sent.size(), 1u);
  EXPECT_EQ(c->sent[0].control,
            term::tuple({29, req, self.pid(), n->io_sink(), term::tuple({atom("m"), atom("f"), 2}),
                         term::list({atom("link"), atom("monitor")})}));
  EXPECT_EQ(c->sent[0].payload, args);
  const term child = term::pid(atom("beam@localhost"), 77, 0, 1);
  // An answer to a request never made is ignored.
  const term other = term::reference(atom("cpp@localhost"), 5, std::vector<std::uint32_t>{9, 9, 9});
  from_peer(term::tuple({31, other, self.pid(), 3, child}), nullptr);
  from_peer(term::tuple({31, req, self.pid(), 3, child}), nullptr);
  EXPECT_EQ(*self.receive(1s), term::tuple({atom("spawn_reply"), req, atom("ok"), child}));
  EXPECT_EQ(self.receive(50ms).error, errc::timeout);
  // The monitor has the request id as its reference; the link makes a trapping requester
  // see the exit as a message.
  const term done = atom("done");
  from_peer(term::tuple({28, child, self.pid(), req}), &done);
  EXPECT_EQ(*self.receive(1s), term::tuple({atom("DOWN"), req, atom("process"), child, done}));
  self.trap_exit(true);
  const term boom = atom("boom");
  from_peer(term::tuple({24, child, self.pid()}), &boom);
  EXPECT_EQ(*self.receive(1s), term::tuple({atom("EXIT"), child, boom}));
}

TEST_F(Node, SpawnOnPeerErrors) {
  auto c = up(beam);
  process self = n->spawn();
  // An error reply from the peer.
  auto req = n->request_spawn(self, beam, atom("m"), atom("f"), term::list({}));
  from_peer(term::tuple({31, req, self.pid(), 0, atom("system_limit")}), nullptr);
  EXPECT_EQ(*self.receive(1s),
            term::tuple({atom("spawn_reply"), req, atom("error"), atom("system_limit")}));
  // Malformed requests never reach the wire.
  const auto before = c->sent.size();
  auto bad = n->spawn_on(self, beam, term(1), atom("f"), term::list({}), {}, 1s);
  EXPECT_EQ(bad.error, atom("badarg"));
  EXPECT_EQ(c->sent.size(), before);
  // The connection is lost before the answer: noconnection, as BEAM reports it.
  auto lost = n->request_spawn(self, beam, atom("m"), atom("f"), term::list({}));
  n->on_connection_down(beam, *c, {});
  EXPECT_EQ(*self.receive(1s),
            term::tuple({atom("spawn_reply"), lost, atom("error"), atom("noconnection")}));
  // No reply at all within the timeout.
  auto c2 = up(beam);
  auto slow = n->spawn_on(self, beam, atom("m"), atom("f"), term::list({}), {}, 100ms);
  EXPECT_EQ(slow.error, atom("timeout"));
  EXPECT_EQ(c2->sent.size(), 1u);
}

// The group leader of processes we spawn elsewhere answers the io protocol.
TEST_F(Node, IoSinkAnswersIoRequests) {
  auto c = up(beam);
  const term reply_as = atom("tag");
  struct row {
    term request;
    term answer;
  };
  const row rows[] = {
      {term::tuple({atom("put_chars"), atom("unicode"), term::list({104})}), atom("ok")},
      {term::tuple({atom("get_line"), atom("unicode"), term::list({62})}), atom("eof")},
      {atom("getopts"), term::list({})},
      {term::tuple({atom("get_geometry"), atom("columns")}),
       term::tuple({atom("error"), atom("request")})},
  };
  for (const auto& r : rows) {
    c->sent.clear();
    const term msg = term::tuple({atom("io_request"), beam_pid, reply_as, r.request});
    from_peer(term::tuple({2, atom(""), n->io_sink()}), &msg);
    io.restart();
    io.run_for(200ms);
    ASSERT_EQ(c->sent.size(), 1u);
    EXPECT_EQ(c->sent[0].payload, term::tuple({atom("io_reply"), reply_as, r.answer}));
  }
}

TEST_F(Node, IncomingMessagesReachRegisteredProcess) {
  up(beam);
  process shell = n->spawn();
  shell.register_name(atom("shell"));
  const term msg = atom("hi");
  from_peer(term::tuple({6, beam_pid, atom(""), atom("shell")}), &msg);
  from_peer(term::tuple({2, atom(""), shell.pid()}), &msg);
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

// Our dial meeting `alive` replaces the peer's connection only while it is still the attempt
// we want: not once the connection in the other direction is up or being accepted.
TEST_F(Node, DialMeetingAliveKeepsAConnectionInTheOtherDirection) {
  EXPECT_FALSE(n->keep_dial_on_alive("zzz@localhost"));  // no dial of ours at all
  n->connect("zzz@localhost");
  EXPECT_TRUE(n->keep_dial_on_alive("zzz@localhost"));  // e.g. the peer restarted
  EXPECT_EQ(n->decide_incoming("zzz@localhost"), edist::dist::accept_decision::ok_simultaneous);
  EXPECT_FALSE(n->keep_dial_on_alive("zzz@localhost"));  // theirs is being accepted
  auto c = up("zzz@localhost");
  EXPECT_FALSE(n->keep_dial_on_alive("zzz@localhost"));  // theirs is up
}

// Signals to a node being connected wait within max_connecting_queue_bytes; beyond, they are
// treated as unreachable, and what was queued still goes out once the connection is up.
TEST(NodeConnectingQueue, IsBoundedAndAnswersOverflowAsUnreachable) {
  asio::io_context io;
  fake_dialer dialer;
  std::error_code ec;
  auto n = node::create(io.get_executor(),
                        {.name = "cpp@localhost",
                         .cookie = "SECRET",
                         .global_server = false,
                         .max_connecting_queue_bytes = 3600},
                        5, ec);
  ASSERT_FALSE(ec);
  n->set_dialer(&dialer);
  const term beam_pid = term::pid(atom("beam@localhost"), 40, 0, 1);
  process p = n->spawn();
  p.trap_exit(true);
  // Counted as 256 bytes for the control message plus the encoded payload: 1,762 each.
  const term blob = term::binary(std::string(1500, 'x'));
  p.send(beam_pid, blob);
  p.send(beam_pid, blob);
  p.send(beam_pid, blob);  // beyond 3,600: dropped
  p.link(beam_pid);        // no room either (256 more): answered at once
  EXPECT_EQ(*p.receive(0s), term::tuple({atom("EXIT"), beam_pid, atom("noconnection")}));
  ASSERT_EQ(dialer.dialled.size(), 1u);
  auto c = std::make_shared<fake_connection>();
  n->on_connection_up(
      {"beam@localhost", edist::dist::advertised_flags(edist::dist::visibility::visible), false, 1},
      c);
  ASSERT_EQ(c->sent.size(), 2u);
  EXPECT_EQ(c->sent[0].payload, blob);
  // A single signal larger than the bound to a node not connected yet: not dialled for.
  const term far_pid = term::pid(atom("far@localhost"), 1, 0, 1);
  p.send(far_pid, term::binary(std::string(8192, 'y')));
  EXPECT_EQ(dialer.dialled.size(), 1u);
  EXPECT_FALSE(n->is_connected("far@localhost"));
  n->shutdown();
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
  from_peer(term::tuple({22, beam_pid, from}), &reply);
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
