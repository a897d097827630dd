#include "edist/dist/handshake_messages.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "edist/dist/error.hpp"

namespace edist::dist {
namespace {

using bytes = std::vector<std::uint8_t>;

bytes body_of(const bytes& framed, length_prefix p) {
  return bytes(framed.begin() + static_cast<std::ptrdiff_t>(p), framed.end());
}

bytes str(std::string_view s) {
  return bytes(s.begin(), s.end());
}

TEST(HandshakeMessages, NameV6Layout) {
  name_message m;
  m.flags = 0x0102030405060708ULL;
  m.creation = 0xa1b2c3d4;
  m.name = "a@b";
  bytes out;
  encode_name(m, length_prefix::u16, out);
  const bytes expected = {0, 18,   'N',  1,    2,    3, 4, 5,   6,   7,
                          8, 0xa1, 0xb2, 0xc3, 0xd4, 0, 3, 'a', '@', 'b'};
  EXPECT_EQ(out, expected);

  name_message back;
  ASSERT_FALSE(parse_name(body_of(out, length_prefix::u16), back));
  EXPECT_EQ(back.version, 6);
  EXPECT_EQ(back.flags, m.flags);
  EXPECT_EQ(back.creation, m.creation);
  EXPECT_EQ(back.name, "a@b");
}

TEST(HandshakeMessages, NameV5LayoutAndParse) {
  name_message m;
  m.version = 5;
  m.flags = 0xffffffff00000003ULL;  // only the low word travels
  m.name = "x@y";
  bytes out;
  encode_name(m, length_prefix::u16, out);
  const bytes expected = {0, 10, 'n', 0, 5, 0, 0, 0, 3, 'x', '@', 'y'};
  EXPECT_EQ(out, expected);
  name_message back;
  ASSERT_FALSE(parse_name(body_of(out, length_prefix::u16), back));
  EXPECT_EQ(back.version, 5);
  EXPECT_EQ(back.flags, 3u);
  EXPECT_EQ(back.creation, 0u);
  EXPECT_EQ(back.name, "x@y");
}

TEST(HandshakeMessages, NameIgnoresTrailingBytes) {
  bytes body = {'N', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 7, 0, 3, 'a', '@', 'b', 'X', 'Y'};
  name_message m;
  ASSERT_FALSE(parse_name(body, m));
  EXPECT_EQ(m.name, "a@b");
  EXPECT_EQ(m.creation, 7u);
}

TEST(HandshakeMessages, TruncatedNameIsMalformed) {
  name_message m;
  m.name = "node@host";
  bytes out;
  encode_name(m, length_prefix::u16, out);
  const bytes body = body_of(out, length_prefix::u16);
  for (std::size_t n = 0; n < body.size(); ++n) {
    name_message back;
    const auto ec = parse_name(std::span(body.data(), n), back);
    EXPECT_EQ(ec, errc::malformed_handshake) << n;
  }
  name_message back;
  EXPECT_EQ(parse_name(str("x"), back), errc::unexpected_message);
}

TEST(HandshakeMessages, StatusRoundTrips) {
  for (auto s : {handshake_status::ok, handshake_status::ok_simultaneous, handshake_status::nok,
                 handshake_status::not_allowed, handshake_status::alive, handshake_status::true_,
                 handshake_status::false_}) {
    status_message m;
    m.status = s;
    bytes out;
    encode_status(m, length_prefix::u32, out);
    EXPECT_EQ(out[4], 's');
    status_message back;
    ASSERT_FALSE(parse_status(body_of(out, length_prefix::u32), back));
    EXPECT_EQ(back.status, s);
  }
  status_message back;
  ASSERT_FALSE(parse_status(str("sok_simultaneous"), back));
  EXPECT_EQ(back.status, handshake_status::ok_simultaneous);
  EXPECT_EQ(parse_status(str("sokay"), back), errc::malformed_handshake);
  EXPECT_EQ(parse_status(str("s"), back), errc::malformed_handshake);
  EXPECT_EQ(parse_status(str("tok"), back), errc::unexpected_message);
  EXPECT_EQ(parse_status({}, back), errc::malformed_handshake);
}

TEST(HandshakeMessages, NamedStatus) {
  status_message m;
  m.status = handshake_status::named;
  m.assigned_name = "dyn@host";
  m.assigned_creation = 42;
  bytes out;
  encode_status(m, length_prefix::u16, out);
  status_message back;
  ASSERT_FALSE(parse_status(body_of(out, length_prefix::u16), back));
  EXPECT_EQ(back.status, handshake_status::named);
  EXPECT_EQ(back.assigned_name, "dyn@host");
  EXPECT_EQ(back.assigned_creation, 42u);
  const bytes body = body_of(out, length_prefix::u16);
  EXPECT_EQ(parse_status(std::span(body.data(), body.size() - 1), back), errc::malformed_handshake);
}

TEST(HandshakeMessages, ChallengeRoundTripAndTruncation) {
  challenge_message m;
  m.flags = 0xdeadbeef12345678ULL;
  m.challenge = 0x11223344;
  m.creation = 0x55667788;
  m.name = "peer@host";
  bytes out;
  encode_challenge(m, length_prefix::u16, out);
  EXPECT_EQ(out.size(), 2u + 1 + 8 + 4 + 4 + 2 + 9);
  const bytes body = body_of(out, length_prefix::u16);
  challenge_message back;
  ASSERT_FALSE(parse_challenge(body, back));
  EXPECT_EQ(back.flags, m.flags);
  EXPECT_EQ(back.challenge, m.challenge);
  EXPECT_EQ(back.creation, m.creation);
  EXPECT_EQ(back.name, m.name);
  for (std::size_t n = 0; n < body.size(); ++n) {
    EXPECT_EQ(parse_challenge(std::span(body.data(), n), back), errc::malformed_handshake) << n;
  }
}

TEST(HandshakeMessages, ReplyAckComplementExactSizes) {
  challenge_reply_message r;
  r.challenge = 7;
  for (std::size_t i = 0; i < 16; ++i) r.digest[i] = static_cast<std::uint8_t>(i);
  bytes out;
  encode_challenge_reply(r, length_prefix::u16, out);
  EXPECT_EQ(out.size(), 2u + 21);
  bytes body = body_of(out, length_prefix::u16);
  challenge_reply_message rb;
  ASSERT_FALSE(parse_challenge_reply(body, rb));
  EXPECT_EQ(rb.challenge, 7u);
  EXPECT_EQ(rb.digest, r.digest);
  body.push_back(0);
  EXPECT_EQ(parse_challenge_reply(body, rb), errc::malformed_handshake);
  body.resize(20);
  EXPECT_EQ(parse_challenge_reply(body, rb), errc::malformed_handshake);

  challenge_ack_message a;
  a.digest = r.digest;
  out.clear();
  encode_challenge_ack(a, length_prefix::u16, out);
  EXPECT_EQ(out.size(), 2u + 17);
  body = body_of(out, length_prefix::u16);
  challenge_ack_message ab;
  ASSERT_FALSE(parse_challenge_ack(body, ab));
  EXPECT_EQ(ab.digest, a.digest);
  body.pop_back();
  EXPECT_EQ(parse_challenge_ack(body, ab), errc::malformed_handshake);

  complement_message c{0x4, 0x99};
  out.clear();
  encode_complement(c, length_prefix::u16, out);
  const bytes expected = {0, 9, 'c', 0, 0, 0, 4, 0, 0, 0, 0x99};
  EXPECT_EQ(out, expected);
  complement_message cb;
  ASSERT_FALSE(parse_complement(body_of(out, length_prefix::u16), cb));
  EXPECT_EQ(cb.flags_high, 4u);
  EXPECT_EQ(cb.creation, 0x99u);
  EXPECT_EQ(parse_complement(str("a"), cb), errc::unexpected_message);
}

TEST(HandshakeReader, CutsMessagesFedByteByByte) {
  bytes stream;
  status_message st;
  encode_status(st, length_prefix::u16, stream);
  challenge_message ch;
  ch.name = "n@h";
  encode_challenge(ch, length_prefix::u16, stream);
  stream.push_back(0xAB);  // first byte of whatever follows

  handshake_reader r(length_prefix::u16);
  std::vector<bytes> got;
  std::error_code ec;
  for (std::uint8_t b : stream) {
    r.feed(std::span(&b, 1));
    while (auto m = r.next(ec)) got.emplace_back(m->begin(), m->end());
    ASSERT_FALSE(ec);
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], str("sok"));
  EXPECT_EQ(got[1][0], 'N');
  EXPECT_EQ(r.take_remaining(), bytes{0xAB});
}

TEST(HandshakeReader, U32Prefix) {
  bytes stream;
  status_message st;
  st.status = handshake_status::nok;
  encode_status(st, length_prefix::u32, stream);
  EXPECT_EQ(stream, (bytes{0, 0, 0, 4, 's', 'n', 'o', 'k'}));
  handshake_reader r(length_prefix::u32);
  r.feed(stream);
  std::error_code ec;
  auto m = r.next(ec);
  ASSERT_TRUE(m);
  EXPECT_EQ(bytes(m->begin(), m->end()), str("snok"));
}

TEST(HandshakeReader, RejectsOversizedAndEmptyMessages) {
  handshake_reader r(length_prefix::u32);
  r.feed(bytes{0x7f, 0xff, 0xff, 0xff});
  std::error_code ec;
  EXPECT_FALSE(r.next(ec));
  EXPECT_EQ(ec, errc::handshake_message_too_large);

  handshake_reader r16(length_prefix::u16);
  r16.feed(bytes{0x08, 0x01});  // 2049 > max_handshake_message_size
  EXPECT_FALSE(r16.next(ec));
  EXPECT_EQ(ec, errc::handshake_message_too_large);

  handshake_reader empty(length_prefix::u16);
  empty.feed(bytes{0, 0});
  EXPECT_FALSE(empty.next(ec));
  EXPECT_EQ(ec, errc::malformed_handshake);
}

}  // namespace
}  // namespace edist::dist
