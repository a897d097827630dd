// The EPMD codec: exact bytes of requests and replies, incremental decoding, and refusal of
// malformed input.
#include "edist/epmd/protocol.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "edist/epmd/error.hpp"

namespace edist::epmd {
namespace {

using bytes = std::vector<std::uint8_t>;

bytes from(std::string_view s) {
  return bytes(s.begin(), s.end());
}

bytes concat(std::initializer_list<bytes> parts) {
  bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(EpmdProtocol, Alive2RequestBytes) {
  node_info n;
  n.name = "foo";
  n.port = 0x1234;
  n.type = node_type::hidden;
  n.highest_version = 6;
  n.lowest_version = 5;
  n.extra = {0xAB};
  bytes out;
  ASSERT_FALSE(encode_alive2_request(n, out));
  const bytes expected = {0,   17,  // length: 13 + 3 + 1
                          'x', 0x12, 0x34, 72, 0, 0, 6, 0, 5, 0, 3, 'f', 'o', 'o', 0, 1, 0xAB};
  EXPECT_EQ(out, expected);
}

TEST(EpmdProtocol, Alive2RequestRefusesBadNamesAndExtra) {
  bytes out;
  node_info n;
  n.name = "";
  EXPECT_EQ(encode_alive2_request(n, out), errc::invalid_name);
  n.name = "a@b";
  EXPECT_EQ(encode_alive2_request(n, out), errc::invalid_name);
  n.name = std::string(256, 'a');
  EXPECT_EQ(encode_alive2_request(n, out), errc::invalid_name);
  n.name = "ok";
  n.extra.assign(max_extra_bytes + 1, 0);
  EXPECT_EQ(encode_alive2_request(n, out), errc::extra_too_large);
  EXPECT_TRUE(out.empty());
}

TEST(EpmdProtocol, PortPleaseAndNamesRequestBytes) {
  bytes out;
  ASSERT_FALSE(encode_port_please2_request("bar", out));
  EXPECT_EQ(out, (bytes{0, 4, 'z', 'b', 'a', 'r'}));
  out.clear();
  encode_names_request(out);
  EXPECT_EQ(out, (bytes{0, 1, 'n'}));
  out.clear();
  EXPECT_EQ(encode_port_please2_request(std::string("a\0b", 3), out), errc::invalid_name);
}

TEST(EpmdProtocol, NodeNameValidation) {
  EXPECT_FALSE(validate_node_name("a"));
  EXPECT_FALSE(validate_node_name("node_1-x"));
  EXPECT_FALSE(validate_node_name("\xC3\xA9t\xC3\xA9"));  // "été"
  EXPECT_FALSE(validate_node_name(std::string(255, 'z')));
  // 255 four-byte characters: 1020 bytes, still 255 characters.
  std::string wide;
  for (int i = 0; i < 255; ++i) wide += "\xF0\x9F\x98\x80";
  EXPECT_FALSE(validate_node_name(wide));
  EXPECT_EQ(validate_node_name(wide + "a"), errc::invalid_name);
  EXPECT_EQ(validate_node_name(std::string(256, 'z')), errc::invalid_name);
  EXPECT_EQ(validate_node_name("a b"), errc::invalid_name);
  EXPECT_EQ(validate_node_name("a\nname evil at port 1"), errc::invalid_name);
  EXPECT_EQ(validate_node_name("\x7F"), errc::invalid_name);
  EXPECT_EQ(validate_node_name("\xC0\x80"), errc::invalid_name);          // overlong NUL
  EXPECT_EQ(validate_node_name("\xED\xA0\x80"), errc::invalid_name);      // surrogate
  EXPECT_EQ(validate_node_name("\xF4\x90\x80\x80"), errc::invalid_name);  // > U+10FFFF
  EXPECT_EQ(validate_node_name("\xE2\x82"), errc::invalid_name);          // truncated
}

TEST(EpmdProtocol, Utf8CountsCharacters) {
  std::size_t chars = 0;
  ASSERT_TRUE(is_valid_utf8("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", &chars));
  EXPECT_EQ(chars, 4u);
  EXPECT_FALSE(is_valid_utf8("\xE0\x80\x80"));  // overlong
  EXPECT_FALSE(is_valid_utf8("\xF0\x80\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\x80"));
  EXPECT_FALSE(is_valid_utf8("\xFF"));
}

TEST(EpmdProtocol, Alive2ReplyBothForms) {
  const bytes x = {118, 0, 0x12, 0x34, 0x56, 0x78};
  auto d = decode_alive2_reply(x);
  ASSERT_FALSE(d.error);
  ASSERT_TRUE(d.value);
  EXPECT_EQ(d.consumed, 6u);
  EXPECT_EQ(*d.value, (alive2_reply{0, 0x12345678, true}));

  const bytes old = {121, 1, 0, 99};
  d = decode_alive2_reply(old);
  ASSERT_TRUE(d.value);
  EXPECT_EQ(d.consumed, 4u);
  EXPECT_EQ(*d.value, (alive2_reply{1, 99, false}));

  bytes round;
  encode_alive2_reply({0, 0x12345678, true}, round);
  EXPECT_EQ(round, x);
  round.clear();
  encode_alive2_reply({1, 99, false}, round);
  EXPECT_EQ(round, old);
}

TEST(EpmdProtocol, Alive2ReplyNeedsAllBytesAndRejectsOtherTags) {
  const bytes x = {118, 0, 0, 0, 0, 7};
  for (std::size_t n = 0; n < x.size(); ++n) {
    auto d = decode_alive2_reply(std::span(x).first(n));
    EXPECT_FALSE(d.error) << n;
    EXPECT_FALSE(d.value) << n;
  }
  EXPECT_EQ(decode_alive2_reply(bytes{'w', 1}).error, errc::malformed_reply);
}

TEST(EpmdProtocol, Port2ReplyRoundTripAndIncremental) {
  node_info n;
  n.name = "alpha";
  n.port = 40000;
  n.type = node_type::normal;
  n.protocol = 0;
  n.highest_version = 6;
  n.lowest_version = 5;
  n.extra = {1, 2, 3};
  bytes wire;
  encode_port2_reply(&n, wire);
  const bytes expected =
      concat({{119, 0, 0x9C, 0x40, 77, 0, 0, 6, 0, 5, 0, 5}, from("alpha"), {0, 3, 1, 2, 3}});
  EXPECT_EQ(wire, expected);
  for (std::size_t k = 0; k < wire.size(); ++k) {
    auto d = decode_port2_reply(std::span(wire).first(k));
    EXPECT_FALSE(d.error) << k;
    EXPECT_FALSE(d.value) << k;
  }
  auto d = decode_port2_reply(wire);
  ASSERT_TRUE(d.value);
  EXPECT_EQ(d.consumed, wire.size());
  EXPECT_EQ(d.value->result, 0);
  ASSERT_TRUE(d.value->node);
  EXPECT_EQ(*d.value->node, n);
}

TEST(EpmdProtocol, Port2ReplyNotFound) {
  bytes wire;
  encode_port2_reply(nullptr, wire);
  EXPECT_EQ(wire, (bytes{'w', 1}));
  auto d = decode_port2_reply(wire);
  ASSERT_TRUE(d.value);
  EXPECT_EQ(d.value->result, 1);
  EXPECT_FALSE(d.value->node);
  EXPECT_EQ(decode_port2_reply(bytes{'v', 0}).error, errc::malformed_reply);
}

TEST(EpmdProtocol, NamesReplyRoundTrip) {
  const std::vector<name_entry> nodes = {{"b", 40001}, {"a", 40000}};
  bytes wire;
  encode_names_reply(4369, nodes, wire);
  EXPECT_EQ(wire,
            concat({{0, 0, 0x11, 0x11}, from("name b at port 40001\nname a at port 40000\n")}));
  auto d = decode_names_reply(wire);
  ASSERT_FALSE(d.error);
  EXPECT_EQ(d.value->epmd_port, 4369u);
  EXPECT_EQ(d.value->nodes, nodes);
}

TEST(EpmdProtocol, NamesReplyEdgeCases) {
  auto empty = decode_names_reply(bytes{0, 0, 0x11, 0x11});
  ASSERT_TRUE(empty.value);
  EXPECT_TRUE(empty.value->nodes.empty());
  EXPECT_EQ(decode_names_reply(bytes{0, 0}).error, errc::truncated_reply);
  auto bad = [](std::string_view text) {
    return decode_names_reply(concat({{0, 0, 0, 1}, from(text)})).error;
  };
  EXPECT_EQ(bad("name a at port 1"), errc::malformed_reply);  // no newline
  EXPECT_EQ(bad("nom a at port 1\n"), errc::malformed_reply);
  EXPECT_EQ(bad("name a at port x\n"), errc::malformed_reply);
  EXPECT_EQ(bad("name a at port 70000\n"), errc::malformed_reply);
  EXPECT_EQ(bad("name a at port \n"), errc::malformed_reply);
  // A name that itself contains " at port " (the real epmd allows it): the last one counts.
  auto tricky = decode_names_reply(concat({{0, 0, 0, 1}, from("name x at port 5 at port 1234\n")}));
  ASSERT_TRUE(tricky.value);
  EXPECT_EQ(tricky.value->nodes, (std::vector<name_entry>{{"x at port 5", 1234}}));
}

TEST(EpmdProtocol, DecodeRequests) {
  node_info n;
  n.name = "svc";
  n.port = 5555;
  n.extra = {9};
  bytes wire;
  ASSERT_FALSE(encode_alive2_request(n, wire));
  request r;
  ASSERT_FALSE(decode_request(std::span(wire).subspan(2), r));
  ASSERT_TRUE(std::holds_alternative<alive2_request>(r));
  EXPECT_EQ(std::get<alive2_request>(r).node, n);

  wire.clear();
  ASSERT_FALSE(encode_port_please2_request("svc", wire));
  ASSERT_FALSE(decode_request(std::span(wire).subspan(2), r));
  EXPECT_EQ(std::get<port_please2_request>(r).name, "svc");

  // Old clients NUL-terminate the name.
  ASSERT_FALSE(decode_request(bytes{'z', 's', 'v', 'c', 0}, r));
  EXPECT_EQ(std::get<port_please2_request>(r).name, "svc");

  ASSERT_FALSE(decode_request(bytes{'n'}, r));
  EXPECT_TRUE(std::holds_alternative<names_request>(r));
  ASSERT_FALSE(decode_request(bytes{'d'}, r));
  EXPECT_TRUE(std::holds_alternative<dump_request>(r));
  ASSERT_FALSE(decode_request(bytes{'k'}, r));
  EXPECT_TRUE(std::holds_alternative<kill_request>(r));
  ASSERT_FALSE(decode_request(bytes{'s', 'a', 0}, r));
  EXPECT_EQ(std::get<stop_request>(r).name, "a");
}

TEST(EpmdProtocol, DecodeRequestRefusesMalformed) {
  request r;
  auto bad = [&](const bytes& b) { return decode_request(b, r) == errc::malformed_request; };
  EXPECT_TRUE(bad({}));
  EXPECT_TRUE(bad({'q'}));
  EXPECT_TRUE(bad({'z'}));
  EXPECT_TRUE(bad({'z', 0}));
  EXPECT_TRUE(bad({'z', 'a', 0, 'b'}));
  EXPECT_TRUE(bad({'s'}));
  // ALIVE2: too short, name length past the end, extra length past the end, NUL in the name.
  EXPECT_TRUE(bad({'x', 0, 1, 77, 0, 0, 6, 0, 6, 0, 1, 'a'}));
  EXPECT_TRUE(bad({'x', 0, 1, 77, 0, 0, 6, 0, 6, 0, 9, 'a', 0, 0}));
  EXPECT_TRUE(bad({'x', 0, 1, 77, 0, 0, 6, 0, 6, 0, 1, 'a', 0, 5}));
  EXPECT_TRUE(bad({'x', 0, 1, 77, 0, 0, 6, 0, 6, 0, 2, 'a', 0, 0, 0}));
  EXPECT_FALSE(bad({'x', 0, 1, 77, 0, 0, 6, 0, 6, 0, 1, 'a', 0, 0}));
}

}  // namespace
}  // namespace edist::epmd
