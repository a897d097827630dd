// The EPMD server state machine, driven without sockets: requests in, actions out.
#include "edist/epmd/server_core.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "edist/epmd/error.hpp"

namespace edist::epmd {
namespace {

using bytes = std::vector<std::uint8_t>;
using namespace std::chrono_literals;

bytes text(std::string_view s) {
  return bytes(s.begin(), s.end());
}

bytes framed(const bytes& body) {
  bytes out{static_cast<std::uint8_t>(body.size() >> 8), static_cast<std::uint8_t>(body.size())};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

bytes alive2(std::string_view name, std::uint16_t port, std::uint16_t high = 6,
             node_type type = node_type::normal) {
  node_info n;
  n.name = std::string(name);
  n.port = port;
  n.type = type;
  n.highest_version = high;
  n.lowest_version = 5;
  bytes out;
  EXPECT_FALSE(encode_alive2_request(n, out));
  return out;
}

// An ALIVE2 request with a name that encode_alive2_request would refuse.
bytes raw_alive2(std::string_view name) {
  bytes body{'x', 0, 10, 77, 0, 0, 6, 0, 5, 0, static_cast<std::uint8_t>(name.size())};
  body.insert(body.end(), name.begin(), name.end());
  body.push_back(0);
  body.push_back(0);
  return framed(body);
}

bytes port_please(std::string_view name) {
  bytes out;
  EXPECT_FALSE(encode_port_please2_request(name, out));
  return out;
}

std::uint32_t u32(const bytes& b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
         (std::uint32_t{b[at + 2]} << 8) | b[at + 3];
}

class ServerCore : public ::testing::Test {
 protected:
  server_config config() {
    server_config c;
    c.port = 4369;
    c.creation_seed = 1000;
    return c;
  }
  server_core::time_point t0 = server_core::clock::now();
};

TEST_F(ServerCore, RegisterLookupNamesAndUnregisterOnClose) {
  server_core core(config());
  auto reg = core.open(true, t0);
  ASSERT_TRUE(reg);
  auto a = core.receive(*reg, alive2("alpha", 40000), t0);
  EXPECT_FALSE(a.close);
  EXPECT_FALSE(a.reason);
  ASSERT_EQ(a.reply.size(), 6u);
  EXPECT_EQ(a.reply[0], tag::alive2_x_resp);
  EXPECT_EQ(a.reply[1], 0);
  const auto creation = u32(a.reply, 2);
  EXPECT_NE(creation, 0u);
  ASSERT_TRUE(a.registered);
  EXPECT_EQ(a.registered->creation, creation);
  ASSERT_NE(core.find("alpha"), nullptr);
  EXPECT_EQ(core.find("alpha")->node.port, 40000);

  auto q = core.open(false, t0);  // look-ups are fine from anywhere
  auto l = core.receive(*q, port_please("alpha"), t0);
  EXPECT_TRUE(l.close);
  auto d = decode_port2_reply(l.reply);
  ASSERT_TRUE(d.value);
  EXPECT_EQ(d.consumed, l.reply.size());
  ASSERT_TRUE(d.value->node);
  EXPECT_EQ(d.value->node->name, "alpha");
  EXPECT_EQ(d.value->node->port, 40000);
  EXPECT_EQ(d.value->node->highest_version, 6);
  EXPECT_EQ(d.value->node->lowest_version, 5);
  core.close(*q);

  auto n = core.open(false, t0);
  auto names = core.receive(*n, framed({'n'}), t0);
  EXPECT_TRUE(names.close);
  bytes expected{0, 0, 0x11, 0x11};
  auto line = text("name alpha at port 40000\n");
  expected.insert(expected.end(), line.begin(), line.end());
  EXPECT_EQ(names.reply, expected);
  core.close(*n);

  auto removed = core.close(*reg);
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->node.name, "alpha");
  EXPECT_EQ(core.find("alpha"), nullptr);
  EXPECT_EQ(core.registration_count(), 0u);
  EXPECT_EQ(core.connection_count(), 0u);

  auto q2 = core.open(true, t0);
  EXPECT_EQ(core.receive(*q2, port_please("alpha"), t0).reply, (bytes{'w', 1}));
}

TEST_F(ServerCore, DuplicateNameRefusedAndOriginalKept) {
  server_core core(config());
  auto first = core.open(true, t0);
  core.receive(*first, alive2("dup", 1), t0);
  auto second = core.open(true, t0);
  auto a = core.receive(*second, alive2("dup", 2), t0);
  EXPECT_TRUE(a.close);
  EXPECT_EQ(a.reason, errc::name_in_use);
  EXPECT_EQ(a.reply, (bytes{tag::alive2_x_resp, 1, 0, 0, 0, 99}));
  EXPECT_FALSE(a.registered);
  core.close(*second);
  ASSERT_NE(core.find("dup"), nullptr);
  EXPECT_EQ(core.find("dup")->node.port, 1);
}

TEST_F(ServerCore, OldProtocolGetsShortReplyAndSmallCreation) {
  server_core core(config());
  std::vector<std::uint32_t> seen;
  for (int i = 0; i < 4; ++i) {
    auto id = core.open(true, t0);
    auto a = core.receive(*id, alive2("old", 7, 5), t0);
    ASSERT_EQ(a.reply.size(), 4u);
    EXPECT_EQ(a.reply[0], tag::alive2_resp);
    EXPECT_EQ(a.reply[1], 0);
    const std::uint32_t creation = (a.reply[2] << 8) | a.reply[3];
    EXPECT_GE(creation, 1u);
    EXPECT_LE(creation, 3u);
    if (!seen.empty()) {
      EXPECT_NE(creation, seen.back());
    }
    seen.push_back(creation);
    core.close(*id);
  }
  // A refusal in the old form.
  auto keep = core.open(true, t0);
  core.receive(*keep, alive2("old", 7, 5), t0);
  auto again = core.open(true, t0);
  EXPECT_EQ(core.receive(*again, alive2("old", 8, 5), t0).reply,
            (bytes{tag::alive2_resp, 1, 0, 99}));
}

TEST_F(ServerCore, CreationChangesOnEveryReRegistrationAndIsNeverZero) {
  auto c = config();
  c.creation_seed = 0xFFFFFFFE;  // the counter wraps: it must skip 0..3
  server_core core(c);
  std::vector<std::uint32_t> creations;
  for (int i = 0; i < 5; ++i) {
    auto id = core.open(true, t0);
    auto a = core.receive(*id, alive2("again", 9), t0);
    ASSERT_TRUE(a.registered);
    creations.push_back(a.registered->creation);
    core.close(*id);
  }
  for (std::size_t i = 0; i < creations.size(); ++i) {
    EXPECT_GE(creations[i], 4u) << i;
    if (i > 0) {
      EXPECT_NE(creations[i], creations[i - 1]) << i;
    }
  }
  EXPECT_EQ(creations[0], 0xFFFFFFFFu);
  EXPECT_EQ(creations[1], 4u);
  EXPECT_EQ(creations[2], 5u);
}

TEST_F(ServerCore, DistinctNewNamesGetDistinctCreations) {
  server_core core(config());
  auto a = core.open(true, t0);
  auto b = core.open(true, t0);
  auto ra = core.receive(*a, alive2("a", 1), t0);
  auto rb = core.receive(*b, alive2("b", 2), t0);
  EXPECT_NE(ra.registered->creation, rb.registered->creation);
}

TEST_F(ServerCore, RequestArrivingByteByByte) {
  server_core core(config());
  auto id = core.open(true, t0);
  const auto req = alive2("slow", 1234);
  for (std::size_t i = 0; i + 1 < req.size(); ++i) {
    auto a = core.receive(*id, std::span(req).subspan(i, 1), t0);
    EXPECT_TRUE(a.reply.empty()) << i;
    EXPECT_FALSE(a.close) << i;
  }
  auto a = core.receive(*id, std::span(req).last(1), t0);
  EXPECT_EQ(a.reply.size(), 6u);
  EXPECT_NE(core.find("slow"), nullptr);
}

TEST_F(ServerCore, LengthPrefixLimits) {
  auto c = config();
  c.limits.max_request_body = 100;
  server_core core(c);
  auto zero = core.open(true, t0);
  auto a = core.receive(*zero, bytes{0, 0}, t0);
  EXPECT_TRUE(a.close);
  EXPECT_EQ(a.reason, errc::request_too_large);
  EXPECT_TRUE(a.reply.empty());

  auto big = core.open(true, t0);
  a = core.receive(*big, bytes{0, 101}, t0);
  EXPECT_TRUE(a.close);
  EXPECT_EQ(a.reason, errc::request_too_large);

  // The default limit is the real epmd's: 3057 bytes of body.
  server_core def(config());
  auto ok = def.open(true, t0);
  EXPECT_FALSE(def.receive(*ok, bytes{0x0B, 0xF1}, t0).close);
  auto over = def.open(true, t0);
  EXPECT_TRUE(def.receive(*over, bytes{0x0B, 0xF2}, t0).close);
}

TEST_F(ServerCore, BytesAfterTheRequestCloseWithoutReply) {
  server_core core(config());
  auto id = core.open(true, t0);
  auto req = port_please("x");
  req.push_back('!');
  auto a = core.receive(*id, req, t0);
  EXPECT_TRUE(a.close);
  EXPECT_TRUE(a.reply.empty());
  EXPECT_EQ(a.reason, errc::malformed_request);

  // Pipelining a registration with something else is refused too: nothing gets registered.
  auto id2 = core.open(true, t0);
  auto two = alive2("pipelined", 1);
  auto more = framed({'n'});
  two.insert(two.end(), more.begin(), more.end());
  a = core.receive(*id2, two, t0);
  EXPECT_TRUE(a.close);
  EXPECT_EQ(core.find("pipelined"), nullptr);
}

TEST_F(ServerCore, DataOnARegisteredConnectionUnregisters) {
  server_core core(config());
  auto id = core.open(true, t0);
  core.receive(*id, alive2("chatty", 1), t0);
  auto a = core.receive(*id, bytes{0}, t0);
  EXPECT_TRUE(a.close);
  EXPECT_EQ(a.reason, errc::unexpected_data);
  ASSERT_TRUE(a.unregistered);
  EXPECT_EQ(a.unregistered->node.name, "chatty");
  EXPECT_EQ(core.find("chatty"), nullptr);
  EXPECT_FALSE(core.close(*id));  // already gone from the table
}

TEST_F(ServerCore, MalformedAndUnknownRequestsCloseSilently) {
  server_core core(config());
  for (const auto& req : {framed({'q'}), framed({'z'}), framed({'z', 0xFF}), framed({'x', 0, 1}),
                          framed({'a', 'b', 'c'})}) {
    auto id = core.open(true, t0);
    auto a = core.receive(*id, req, t0);
    EXPECT_TRUE(a.close);
    EXPECT_TRUE(a.reply.empty());
    EXPECT_TRUE(a.reason);
    core.close(*id);
  }
  EXPECT_EQ(core.connection_count(), 0u);
}

TEST_F(ServerCore, RegistrationOnlyFromLocalPeers) {
  server_core core(config());
  auto id = core.open(false, t0);
  auto a = core.receive(*id, alive2("remote", 1), t0);
  EXPECT_TRUE(a.close);
  EXPECT_TRUE(a.reply.empty());
  EXPECT_EQ(a.reason, errc::not_local);
  EXPECT_EQ(core.registration_count(), 0u);
}

TEST_F(ServerCore, InvalidNamesAreRefusedWithAnErrorReply) {
  server_core core(config());
  for (std::string_view name : {"a b", "x\nname fake at port 1", "a@b", "\xFF"}) {
    auto id = core.open(true, t0);
    auto a = core.receive(*id, raw_alive2(name), t0);
    EXPECT_EQ(a.reply, (bytes{tag::alive2_x_resp, 1, 0, 0, 0, 99})) << name;
    EXPECT_TRUE(a.close);
    EXPECT_EQ(a.reason, errc::invalid_name);
  }
  EXPECT_EQ(core.registration_count(), 0u);
}

TEST_F(ServerCore, RegistrationCap) {
  auto c = config();
  c.limits.max_registrations = 2;
  server_core core(c);
  auto a = core.open(true, t0);
  auto b = core.open(true, t0);
  auto x = core.open(true, t0);
  core.receive(*a, alive2("a", 1), t0);
  core.receive(*b, alive2("b", 2), t0);
  auto r = core.receive(*x, alive2("c", 3), t0);
  EXPECT_EQ(r.reason, errc::too_many_registrations);
  EXPECT_EQ(r.reply[1], 1);
  core.close(*x);
  core.close(*a);
  auto y = core.open(true, t0);
  EXPECT_EQ(core.receive(*y, alive2("c", 3), t0).reply[1], 0);
}

TEST_F(ServerCore, ConnectionCap) {
  auto c = config();
  c.limits.max_connections = 3;
  server_core core(c);
  std::vector<connection_id> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(*core.open(true, t0));
  EXPECT_FALSE(core.open(true, t0));
  core.close(ids[0]);
  EXPECT_TRUE(core.open(true, t0));
}

TEST_F(ServerCore, DeadlinesForIncompleteRequestsButNotForRegistrations) {
  auto c = config();
  c.limits.request_timeout = 2s;
  server_core core(c);
  auto idle = core.open(true, t0);
  auto partial = core.open(true, t0 + 1s);
  core.receive(*partial, bytes{0, 5, 'z'}, t0 + 1500ms);  // activity does not extend it
  auto reg = core.open(true, t0);
  core.receive(*reg, alive2("kept", 1), t0);
  ASSERT_TRUE(core.next_deadline());
  EXPECT_EQ(*core.next_deadline(), t0 + 2s);

  EXPECT_TRUE(core.expire(t0 + 1999ms).empty());
  EXPECT_EQ(core.expire(t0 + 2s), std::vector<connection_id>{*idle});
  EXPECT_EQ(core.expire(t0 + 3s), std::vector<connection_id>{*partial});
  EXPECT_TRUE(core.expire(t0 + 1h).empty());
  EXPECT_NE(core.find("kept"), nullptr);
  EXPECT_FALSE(core.next_deadline());
  EXPECT_EQ(core.connection_count(), 1u);
}

TEST_F(ServerCore, RepliedConnectionGetsAFreshDeadlineAndNoMoreRequests) {
  auto c = config();
  c.limits.request_timeout = 2s;
  server_core core(c);
  auto id = core.open(true, t0);
  auto a = core.receive(*id, framed({'n'}), t0 + 1s);
  EXPECT_TRUE(a.close);
  EXPECT_EQ(*core.next_deadline(), t0 + 3s);
  auto b = core.receive(*id, framed({'n'}), t0 + 1s);
  EXPECT_TRUE(b.close);
  EXPECT_TRUE(b.reply.empty());
}

TEST_F(ServerCore, NamesListsNewestFirst) {
  server_core core(config());
  for (auto [name, port] : {std::pair{"first", 1}, {"second", 2}, {"third", 3}}) {
    auto id = core.open(true, t0);
    core.receive(*id, alive2(name, static_cast<std::uint16_t>(port)), t0);
  }
  auto q = core.open(true, t0);
  auto a = core.receive(*q, framed({'n'}), t0);
  auto d = decode_names_reply(a.reply);
  ASSERT_TRUE(d.value);
  EXPECT_EQ(d.value->epmd_port, 4369u);
  EXPECT_EQ(d.value->nodes, (std::vector<name_entry>{{"third", 3}, {"second", 2}, {"first", 1}}));
  auto recs = core.registrations();
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].node.name, "third");
}

TEST_F(ServerCore, SetPortChangesTheNamesHeader) {
  server_core core(config());
  core.set_port(0x1234);
  auto q = core.open(true, t0);
  EXPECT_EQ(core.receive(*q, framed({'n'}), t0).reply, (bytes{0, 0, 0x12, 0x34}));
}

TEST_F(ServerCore, KillAndStopRefusedByDefault) {
  server_core core(config());
  auto reg = core.open(true, t0);
  core.receive(*reg, alive2("victim", 1), t0);

  auto k = core.open(true, t0);
  auto a = core.receive(*k, framed({'k'}), t0);
  EXPECT_EQ(a.reply, text("NO"));
  EXPECT_FALSE(a.stop_server);
  EXPECT_TRUE(a.close);

  auto s = core.open(true, t0);
  auto st = framed(text("svictim"));
  a = core.receive(*s, st, t0);
  EXPECT_TRUE(a.reply.empty());
  EXPECT_TRUE(a.close);
  EXPECT_EQ(a.reason, errc::command_refused);
  EXPECT_TRUE(a.close_also.empty());
  EXPECT_NE(core.find("victim"), nullptr);

  // Even KILL with no node registered: an embedded server is not stopped by a client.
  server_core empty(config());
  auto k2 = empty.open(true, t0);
  EXPECT_EQ(empty.receive(*k2, framed({'k'}), t0).reply, text("NO"));
}

TEST_F(ServerCore, KillAndStopWithRelaxedCommandCheck) {
  auto c = config();
  c.relaxed_command_check = true;
  server_core core(c);
  auto reg = core.open(true, t0);
  core.receive(*reg, alive2("victim", 1), t0);

  auto s = core.open(true, t0);
  auto a = core.receive(*s, framed(text("svictim")), t0);
  EXPECT_EQ(a.reply, text("STOPPED"));
  EXPECT_EQ(a.close_also, std::vector<connection_id>{*reg});
  ASSERT_TRUE(a.unregistered);
  EXPECT_EQ(core.find("victim"), nullptr);

  auto s2 = core.open(true, t0);
  EXPECT_EQ(core.receive(*s2, framed(text("snobody")), t0).reply, text("NOEXIST"));

  auto remote = core.open(false, t0);
  a = core.receive(*remote, framed({'k'}), t0);
  EXPECT_TRUE(a.reply.empty());
  EXPECT_EQ(a.reason, errc::not_local);
  EXPECT_FALSE(a.stop_server);

  auto k = core.open(true, t0);
  a = core.receive(*k, framed({'k'}), t0);
  EXPECT_EQ(a.reply, text("OK"));
  EXPECT_TRUE(a.stop_server);
}

TEST_F(ServerCore, PortPleaseEdgeCases) {
  server_core core(config());
  auto unknown = core.open(false, t0);
  EXPECT_EQ(core.receive(*unknown, port_please("nobody"), t0).reply, (bytes{'w', 1}));
  auto bad = core.open(false, t0);
  auto a = core.receive(*bad, framed({'z', 0xC3}), t0);  // truncated UTF-8
  EXPECT_TRUE(a.reply.empty());
  EXPECT_TRUE(a.close);
  // A syntactically fine name that we would never register is simply not found.
  auto spaced = core.open(false, t0);
  EXPECT_EQ(core.receive(*spaced, framed(text("za b")), t0).reply, (bytes{'w', 1}));
}

TEST_F(ServerCore, DumpListsActiveAndOldNames) {
  server_core core(config());
  auto a = core.open(true, t0);
  core.receive(*a, alive2("gone", 11), t0);
  core.close(*a);
  auto b = core.open(true, t0);
  core.receive(*b, alive2("live", 22), t0);
  auto d = core.open(true, t0);
  auto r = core.receive(*d, framed({'d'}), t0);
  std::string expected = std::string("\0\0\x11\x11", 4) +
                         "active name     <live> at port 22, fd = " + std::to_string(*b) + "\n" +
                         std::string(1, '\0') +
                         "old/unused name <gone>, port = 11, fd = " + std::to_string(*a) + " \n" +
                         std::string(1, '\0');
  EXPECT_EQ(std::string(r.reply.begin(), r.reply.end()), expected);
  auto remote = core.open(false, t0);
  EXPECT_EQ(core.receive(*remote, framed({'d'}), t0).reason, errc::not_local);
}

TEST_F(ServerCore, RememberedNamesAreBounded) {
  auto c = config();
  c.limits.max_remembered_names = 2;
  server_core core(c);
  std::map<std::string, std::uint32_t> first;
  for (std::string name : {"a", "b", "c"}) {
    auto id = core.open(true, t0);
    first[name] = core.receive(*id, alive2(name, 1), t0).registered->creation;
    core.close(*id);
  }
  EXPECT_EQ(core.remembered_count(), 2u);
  // "c" is remembered: its creation moves on by one.
  auto idc = core.open(true, t0);
  EXPECT_EQ(core.receive(*idc, alive2("c", 1), t0).registered->creation, first["c"] + 1);
  // "a" was forgotten: it is a new name again, with a fresh counter rather than its old + 1.
  auto ida = core.open(true, t0);
  const auto again = core.receive(*ida, alive2("a", 1), t0).registered->creation;
  EXPECT_NE(again, first["a"] + 1);
  EXPECT_GT(again, first["c"]);
  EXPECT_EQ(core.remembered_count(), 1u);  // only "b" now
}

TEST_F(ServerCore, UnknownConnectionIsClosed) {
  server_core core(config());
  auto a = core.receive(12345, bytes{0, 1, 'n'}, t0);
  EXPECT_TRUE(a.close);
  EXPECT_TRUE(a.reply.empty());
  EXPECT_FALSE(core.close(12345));
}

}  // namespace
}  // namespace edist::epmd
