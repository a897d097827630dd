#include "edist/dist/handshake.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "edist/dist/cookie_digest.hpp"
#include "edist/dist/error.hpp"

namespace edist::dist {
namespace {

using bytes = std::vector<std::uint8_t>;
constexpr auto u16 = length_prefix::u16;

// The flags a real OTP 25 node sends (dist.c's default set, published).
constexpr dist_flags beam_flags =
    mandatory_otp26 | dflag::mandatory_25_digest | dflag::published | dflag::dist_monitor |
    dflag::dist_monitor_name | dflag::hidden_atom_cache | dflag::unicode_io |
    dflag::dist_hdr_atom_cache | dflag::small_atom_tags | dflag::send_sender |
    dflag::big_seqtrace_labels | dflag::exit_payload | dflag::fragments | dflag::spawn |
    dflag::alias;

handshake_config config(std::string name, std::string cookie = "secret") {
  handshake_config c;
  c.this_node = std::move(name);
  c.cookie = std::move(cookie);
  c.creation = 0x11223344;
  return c;
}

md5_digest digest(std::string_view cookie, std::uint32_t challenge) {
  md5_digest d;
  EXPECT_FALSE(compute_digest(cookie, challenge, d));
  return d;
}

// Splits the framed messages of a write action.
std::vector<bytes> messages(std::span<const std::uint8_t> data, length_prefix p = u16) {
  handshake_reader r(p);
  r.feed(data);
  std::vector<bytes> out;
  std::error_code ec;
  while (auto m = r.next(ec)) out.emplace_back(m->begin(), m->end());
  EXPECT_FALSE(ec);
  EXPECT_EQ(r.buffered(), 0u);
  return out;
}

bytes framed_status(handshake_status s) {
  status_message m;
  m.status = s;
  bytes out;
  encode_status(m, u16, out);
  return out;
}

bytes framed_challenge(dist_flags flags, std::uint32_t challenge, std::string name,
                       std::uint32_t creation = 77) {
  challenge_message m{flags, challenge, creation, std::move(name)};
  bytes out;
  encode_challenge(m, u16, out);
  return out;
}

bytes framed_name(dist_flags flags, std::string name, std::uint16_t version = 6,
                  std::uint32_t creation = 99) {
  name_message m{version, flags, creation, std::move(name)};
  bytes out;
  encode_name(m, u16, out);
  return out;
}

bytes framed_reply(std::uint32_t challenge, const md5_digest& d) {
  bytes out;
  encode_challenge_reply({challenge, d}, u16, out);
  return out;
}

bytes framed_ack(const md5_digest& d) {
  bytes out;
  encode_challenge_ack({d}, u16, out);
  return out;
}

bytes cat(bytes a, const bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// ---------------------------------------------------------------------------------------------
// Initiator against a scripted acceptor

class Initiator : public ::testing::Test {
 protected:
  handshake_initiator hs{config("cpp@localhost"), "beam@localhost"};

  // Runs start() and checks the name message; returns nothing.
  void start() {
    auto a = hs.start();
    ASSERT_EQ(a.step, handshake_step::write);
    auto msgs = messages(a.data);
    ASSERT_EQ(msgs.size(), 1u);
    name_message name;
    ASSERT_FALSE(parse_name(msgs[0], name));
    EXPECT_EQ(name.version, 6);
    EXPECT_EQ(name.flags, advertised_flags(visibility::hidden));
    EXPECT_EQ(name.creation, 0x11223344u);
    EXPECT_EQ(name.name, "cpp@localhost");
    ASSERT_EQ(hs.on_written().step, handshake_step::read);
  }

  // Feeds the challenge and returns our challenge from the reply (after checking its digest).
  std::uint32_t expect_reply(handshake_action a, std::uint32_t their_challenge,
                             std::string_view cookie = "secret") {
    EXPECT_EQ(a.step, handshake_step::write) << a.error.message() << " " << hs.error_detail();
    if (a.step != handshake_step::write) return 0;
    auto msgs = messages(a.data);
    EXPECT_EQ(msgs.size(), 1u);
    challenge_reply_message reply;
    EXPECT_FALSE(parse_challenge_reply(msgs.at(0), reply));
    EXPECT_EQ(reply.digest, digest(cookie, their_challenge));
    EXPECT_EQ(hs.on_written().step, handshake_step::read);
    return reply.challenge;
  }
};

TEST_F(Initiator, CompletesAgainstBeamLikeAcceptor) {
  start();
  const std::uint32_t theirs = 0xfedcba98;  // above INT32_MAX: digest uses unsigned text
  auto a = hs.on_read(cat(framed_status(handshake_status::ok),
                          framed_challenge(beam_flags, theirs, "beam@localhost", 4242)));
  const std::uint32_t ours = expect_reply(a, theirs);

  const bytes trailing = {0, 0, 0, 0, 0, 0, 0, 5};  // a tick and the start of a packet
  a = hs.on_read(cat(framed_ack(digest("secret", ours)), trailing));
  ASSERT_EQ(a.step, handshake_step::done) << a.error.message();
  const auto& r = hs.result();
  EXPECT_EQ(r.peer_node, "beam@localhost");
  EXPECT_EQ(r.peer_creation, 4242u);
  EXPECT_EQ(r.peer_flags, beam_flags);
  EXPECT_EQ(r.flags, advertised_flags(visibility::hidden) & beam_flags);
  EXPECT_TRUE(r.peer_is_hidden());  // we are hidden, so the connection is
  EXPECT_EQ(hs.take_leftover(), trailing);
}

TEST_F(Initiator, AcceptsInputSplitAnywhere) {
  start();
  const bytes in = cat(framed_status(handshake_status::ok_simultaneous),
                       framed_challenge(beam_flags, 12345, "beam@localhost"));
  handshake_action a;
  for (std::size_t i = 0; i < in.size(); ++i) {
    a = hs.on_read(std::span(&in[i], 1));
    if (i + 1 < in.size()) {
      ASSERT_EQ(a.step, handshake_step::read) << i;
    }
  }
  const std::uint32_t ours = expect_reply(a, 12345);
  const bytes ack = framed_ack(digest("secret", ours));
  a = hs.on_read(std::span(ack.data(), 5));
  EXPECT_EQ(a.step, handshake_step::read);
  a = hs.on_read(std::span(ack.data() + 5, ack.size() - 5));
  EXPECT_EQ(a.step, handshake_step::done);
}

TEST_F(Initiator, AcceptsDigestOnlyFlags) {
  // OTP 27 may stop sending the individual MANDATORY_25 bits: the digest flag stands for them.
  start();
  const dist_flags flags = mandatory_otp26_additions | dflag::mandatory_25_digest;
  auto a = hs.on_read(
      cat(framed_status(handshake_status::ok), framed_challenge(flags, 1, "beam@localhost")));
  expect_reply(a, 1);
  EXPECT_EQ(hs.result().peer_flags & mandatory_otp25, mandatory_otp25);
}

TEST_F(Initiator, RefusalStatuses) {
  struct expectation {
    handshake_status status;
    errc error;
  };
  for (auto [status, error] : {expectation{handshake_status::nok, errc::simultaneous_connect_lost},
                               expectation{handshake_status::not_allowed, errc::not_allowed},
                               expectation{handshake_status::true_, errc::unexpected_message}}) {
    handshake_initiator h(config("cpp@localhost"), "beam@localhost");
    h.start();
    h.on_written();
    auto a = h.on_read(framed_status(status));
    EXPECT_EQ(a.step, handshake_step::failed);
    EXPECT_EQ(a.error, error) << status_text(status);
  }
}

TEST_F(Initiator, NamedStatusIsRejectedClearly) {
  start();
  status_message m;
  m.status = handshake_status::named;
  m.assigned_name = "x@localhost";
  bytes in;
  encode_status(m, u16, in);
  auto a = hs.on_read(in);
  EXPECT_EQ(a.error, errc::dynamic_name_unsupported);
}

TEST_F(Initiator, UnknownStatusIsMalformed) {
  start();
  bytes in = {0, 4, 's', 'w', 'h', 'y'};
  EXPECT_EQ(hs.on_read(in).error, errc::malformed_handshake);
}

TEST_F(Initiator, AliveAnsweredTrueContinues) {
  start();
  auto a = hs.on_read(framed_status(handshake_status::alive));
  ASSERT_EQ(a.step, handshake_step::decide_alive);
  a = hs.answer_alive(true);
  ASSERT_EQ(a.step, handshake_step::write);
  EXPECT_EQ(messages(a.data).at(0), bytes({'s', 't', 'r', 'u', 'e'}));
  ASSERT_EQ(hs.on_written().step, handshake_step::read);
  a = hs.on_read(framed_challenge(beam_flags, 9, "beam@localhost"));
  const std::uint32_t ours = expect_reply(a, 9);
  EXPECT_EQ(hs.on_read(framed_ack(digest("secret", ours))).step, handshake_step::done);
}

TEST_F(Initiator, AliveAnsweredFalseGivesUp) {
  start();
  ASSERT_EQ(hs.on_read(framed_status(handshake_status::alive)).step, handshake_step::decide_alive);
  auto a = hs.answer_alive(false);
  ASSERT_EQ(a.step, handshake_step::write);
  EXPECT_EQ(messages(a.data).at(0), bytes({'s', 'f', 'a', 'l', 's', 'e'}));
  a = hs.on_written();
  EXPECT_EQ(a.step, handshake_step::failed);
  EXPECT_EQ(a.error, errc::already_connected);
}

TEST_F(Initiator, ChallengeFromAnotherNodeIsANameMismatch) {
  start();
  auto a = hs.on_read(cat(framed_status(handshake_status::ok),
                          framed_challenge(beam_flags, 1, "impostor@localhost")));
  EXPECT_EQ(a.error, errc::name_mismatch);
  EXPECT_NE(hs.error_detail().find("impostor@localhost"), std::string::npos);
  EXPECT_NE(hs.error_detail().find("beam@localhost"), std::string::npos);
}

TEST_F(Initiator, MissingMandatoryFlagsAreNamed) {
  start();
  const dist_flags flags = mandatory_otp26 & ~(dflag::utf8_atoms | dflag::v4_nc);
  auto a = hs.on_read(
      cat(framed_status(handshake_status::ok), framed_challenge(flags, 1, "beam@localhost")));
  EXPECT_EQ(a.error, errc::missing_mandatory_flags);
  EXPECT_NE(hs.error_detail().find("UTF8_ATOMS, V4_NC"), std::string::npos) << hs.error_detail();
}

TEST_F(Initiator, OldChallengeWithoutHandshake23IsRefused) {
  start();
  bytes old = {0, 16, 'n', 0, 5, 0, 0, 0, 4, 0, 0, 0, 1, 'b', '@', 'l', 'o', 'c'};
  old[1] = static_cast<std::uint8_t>(old.size() - 2);
  auto a = hs.on_read(cat(framed_status(handshake_status::ok), old));
  EXPECT_EQ(a.error, errc::missing_mandatory_flags);
  handshake_initiator h2(config("cpp@localhost"), "beam@localhost");
  h2.start();
  h2.on_written();
  a = h2.on_read(
      cat(framed_status(handshake_status::ok),
          framed_challenge(mandatory_otp26 & ~dflag::handshake_23, 1, "beam@localhost")));
  EXPECT_EQ(a.error, errc::missing_mandatory_flags);
  EXPECT_NE(h2.error_detail().find("HANDSHAKE_23"), std::string::npos);
}

TEST_F(Initiator, WrongAckIsABadCookie) {
  start();
  auto a = hs.on_read(
      cat(framed_status(handshake_status::ok), framed_challenge(beam_flags, 5, "beam@localhost")));
  const std::uint32_t ours = expect_reply(a, 5);
  a = hs.on_read(framed_ack(digest("other-cookie", ours)));
  EXPECT_EQ(a.step, handshake_step::failed);
  EXPECT_EQ(a.error, errc::bad_cookie);
  // The machine stays failed.
  EXPECT_EQ(hs.on_read(bytes{0}).error, errc::bad_cookie);
}

TEST_F(Initiator, ShortLongMixFailsBeforeWriting) {
  handshake_initiator h(config("cpp@localhost"), "beam@host.example.org");
  auto a = h.start();
  EXPECT_EQ(a.step, handshake_step::failed);
  EXPECT_EQ(a.error, errc::name_type_mismatch);
  EXPECT_NE(h.error_detail().find("cpp@localhost"), std::string::npos);
  EXPECT_NE(h.error_detail().find("beam@host.example.org"), std::string::npos);
  handshake_initiator bad(config("nohost"), "beam@localhost");
  EXPECT_EQ(bad.start().error, errc::invalid_node_name);
}

TEST_F(Initiator, PeerCloseAndGarbage) {
  start();
  EXPECT_EQ(hs.on_eof().error, errc::peer_closed);

  handshake_initiator h(config("cpp@localhost"), "beam@localhost");
  h.start();
  h.on_written();
  EXPECT_EQ(h.on_read(bytes{0xff, 0xff}).error, errc::handshake_message_too_large);

  handshake_initiator h3(config("cpp@localhost"), "beam@localhost");
  h3.start();
  h3.on_written();
  auto a = h3.on_read(cat(framed_status(handshake_status::ok), bytes{0, 3, 'N', 0, 0}));
  EXPECT_EQ(a.error, errc::malformed_handshake);

  handshake_initiator h4(config("cpp@localhost"), "beam@localhost");
  h4.start();
  h4.on_written();
  a = h4.on_read(cat(framed_status(handshake_status::ok), framed_ack(md5_digest{})));
  EXPECT_EQ(a.error, errc::unexpected_message);
}

TEST_F(Initiator, MisuseFailsInsteadOfCrashing) {
  EXPECT_EQ(hs.answer_alive(true).step, handshake_step::failed);
  handshake_initiator h(config("cpp@localhost"), "beam@localhost");
  h.start();
  EXPECT_EQ(h.start().step, handshake_step::failed);
}

// ---------------------------------------------------------------------------------------------
// Acceptor against a scripted initiator

class Acceptor : public ::testing::Test {
 protected:
  handshake_acceptor hs{config("cpp@localhost")};

  // Feeds a name and expects decide_status.
  void receive_name(const bytes& name) {
    ASSERT_EQ(hs.start().step, handshake_step::read);
    auto a = hs.on_read(name);
    ASSERT_EQ(a.step, handshake_step::decide_status) << a.error.message() << hs.error_detail();
  }

  // Returns our challenge from a write action holding [status] + challenge.
  std::uint32_t expect_challenge(handshake_action a, const char* status) {
    EXPECT_EQ(a.step, handshake_step::write);
    if (a.step != handshake_step::write) return 0;
    auto msgs = messages(a.data);
    std::size_t i = 0;
    if (status != nullptr) {
      EXPECT_EQ(msgs.size(), 2u);
      EXPECT_EQ(std::string(msgs.at(0).begin(), msgs.at(0).end()), std::string("s") + status);
      i = 1;
    } else {
      EXPECT_EQ(msgs.size(), 1u);
    }
    challenge_message ch;
    EXPECT_FALSE(parse_challenge(msgs.at(i), ch));
    EXPECT_EQ(ch.flags, advertised_flags(visibility::hidden));
    EXPECT_EQ(ch.creation, 0x11223344u);
    EXPECT_EQ(ch.name, "cpp@localhost");
    EXPECT_EQ(hs.on_written().step, handshake_step::read);
    return ch.challenge;
  }

  void complete_with_reply(std::uint32_t ours) {
    auto a = hs.on_read(framed_reply(0x80000001u, digest("secret", ours)));
    ASSERT_EQ(a.step, handshake_step::write) << a.error.message();
    auto msgs = messages(a.data);
    challenge_ack_message ack;
    ASSERT_FALSE(parse_challenge_ack(msgs.at(0), ack));
    EXPECT_EQ(ack.digest, digest("secret", 0x80000001u));
    EXPECT_EQ(hs.on_written().step, handshake_step::done);
  }

  void expect_refusal(handshake_action a, errc error) {
    ASSERT_EQ(a.step, handshake_step::write);
    EXPECT_EQ(messages(a.data).at(0),
              bytes({'s', 'n', 'o', 't', '_', 'a', 'l', 'l', 'o', 'w', 'e', 'd'}));
    a = hs.on_written();
    EXPECT_EQ(a.step, handshake_step::failed);
    EXPECT_EQ(a.error, error);
  }
};

TEST_F(Acceptor, CompletesAgainstBeamLikeInitiator) {
  receive_name(framed_name(beam_flags, "beam@localhost", 6, 31337));
  EXPECT_EQ(hs.peer_node(), "beam@localhost");
  EXPECT_EQ(hs.peer_flags(), beam_flags);
  const std::uint32_t ours = expect_challenge(hs.decide(accept_decision::ok), "ok");
  complete_with_reply(ours);
  const auto& r = hs.result();
  EXPECT_EQ(r.peer_node, "beam@localhost");
  EXPECT_EQ(r.peer_creation, 31337u);
  EXPECT_EQ(r.peer_version, 6);
  EXPECT_EQ(r.flags, negotiate_flags(advertised_flags(visibility::hidden), beam_flags));
  EXPECT_FALSE(r.replaces_existing);
}

TEST_F(Acceptor, OkSimultaneous) {
  receive_name(framed_name(beam_flags, "beam@localhost"));
  complete_with_reply(
      expect_challenge(hs.decide(accept_decision::ok_simultaneous), "ok_simultaneous"));
}

TEST_F(Acceptor, AcceptsVersion5NameWithComplement) {
  // An OTP 23/24 style initiator: 'n' with HANDSHAKE_23, then 'c' after our challenge.
  receive_name(framed_name(beam_flags, "old@localhost", 5));
  EXPECT_EQ(hs.result().peer_version, 5);
  const std::uint32_t ours = expect_challenge(hs.decide(accept_decision::ok), "ok");
  bytes complement;
  encode_complement({static_cast<std::uint32_t>(beam_flags >> 32), 555}, u16, complement);
  auto a = hs.on_read(cat(complement, framed_reply(3, digest("secret", ours))));
  ASSERT_EQ(a.step, handshake_step::write) << a.error.message() << hs.error_detail();
  EXPECT_EQ(hs.on_written().step, handshake_step::done);
  EXPECT_EQ(hs.result().peer_creation, 555u);
  EXPECT_EQ(hs.result().peer_flags, beam_flags);
}

TEST_F(Acceptor, Version5ComplementMissingHighFlags) {
  receive_name(framed_name(beam_flags, "old@localhost", 5));
  expect_challenge(hs.decide(accept_decision::ok), "ok");
  bytes complement;
  encode_complement({0, 555}, u16, complement);  // no V4_NC
  auto a = hs.on_read(complement);
  EXPECT_EQ(a.error, errc::missing_mandatory_flags);
  EXPECT_NE(hs.error_detail().find("V4_NC"), std::string::npos);
}

TEST_F(Acceptor, Version5WithoutHandshake23IsNotAllowed) {
  ASSERT_EQ(hs.start().step, handshake_step::read);
  auto a = hs.on_read(framed_name(beam_flags & ~dflag::handshake_23, "old@localhost", 5));
  expect_refusal(a, errc::missing_mandatory_flags);
  EXPECT_NE(hs.error_detail().find("HANDSHAKE_23"), std::string::npos);
}

TEST_F(Acceptor, MissingFlagsAreRefusedAndNamed) {
  ASSERT_EQ(hs.start().step, handshake_step::read);
  auto a = hs.on_read(framed_name(mandatory_otp25, "ei@localhost"));
  expect_refusal(a, errc::missing_mandatory_flags);
  EXPECT_NE(hs.error_detail().find("UNLINK_ID, V4_NC"), std::string::npos) << hs.error_detail();
  EXPECT_NE(hs.error_detail().find("ei@localhost"), std::string::npos);
}

TEST_F(Acceptor, RequiredFlagsAreConfigurable) {
  auto cfg = config("cpp@localhost");
  cfg.required_flags = mandatory_otp25;
  handshake_acceptor h(cfg);
  h.start();
  EXPECT_EQ(h.on_read(framed_name(mandatory_otp25, "ei@localhost")).step,
            handshake_step::decide_status);
}

TEST_F(Acceptor, DynamicNameRequestIsRefused) {
  ASSERT_EQ(hs.start().step, handshake_step::read);
  auto a = hs.on_read(framed_name(beam_flags | dflag::name_me, "x@localhost"));
  expect_refusal(a, errc::dynamic_name_unsupported);
}

TEST_F(Acceptor, ShortLongMixIsRefused) {
  ASSERT_EQ(hs.start().step, handshake_step::read);
  auto a = hs.on_read(framed_name(beam_flags, "beam@host.example.org"));
  expect_refusal(a, errc::name_type_mismatch);
  EXPECT_NE(hs.error_detail().find("beam@host.example.org"), std::string::npos);
}

TEST_F(Acceptor, InvalidPeerNameClosesWithoutStatus) {
  ASSERT_EQ(hs.start().step, handshake_step::read);
  auto a = hs.on_read(framed_name(beam_flags, "no-at-sign"));
  EXPECT_EQ(a.step, handshake_step::failed);
  EXPECT_EQ(a.error, errc::invalid_node_name);
}

TEST_F(Acceptor, OwnerRefusals) {
  struct expectation {
    accept_decision decision;
    const char* text;
    errc error;
  };
  for (auto [d, text, error] :
       {expectation{accept_decision::nok, "snok", errc::simultaneous_connect_lost},
        expectation{accept_decision::not_allowed, "snot_allowed", errc::not_allowed}}) {
    handshake_acceptor h(config("cpp@localhost"));
    h.start();
    ASSERT_EQ(h.on_read(framed_name(beam_flags, "beam@localhost")).step,
              handshake_step::decide_status);
    auto a = h.decide(d);
    ASSERT_EQ(a.step, handshake_step::write);
    const bytes msg = messages(a.data).at(0);
    EXPECT_EQ(std::string(msg.begin(), msg.end()), text);
    a = h.on_written();
    EXPECT_EQ(a.step, handshake_step::failed);
    EXPECT_EQ(a.error, error);
  }
}

TEST_F(Acceptor, AliveAnsweredTrueReplacesTheOldConnection) {
  receive_name(framed_name(beam_flags, "beam@localhost"));
  auto a = hs.decide(accept_decision::alive);
  ASSERT_EQ(a.step, handshake_step::write);
  EXPECT_EQ(messages(a.data).at(0), bytes({'s', 'a', 'l', 'i', 'v', 'e'}));
  ASSERT_EQ(hs.on_written().step, handshake_step::read);
  a = hs.on_read(framed_status(handshake_status::true_));
  complete_with_reply(expect_challenge(a, nullptr));
  EXPECT_TRUE(hs.result().replaces_existing);
}

TEST_F(Acceptor, AliveAnsweredFalseKeepsTheOldConnection) {
  receive_name(framed_name(beam_flags, "beam@localhost"));
  hs.decide(accept_decision::alive);
  hs.on_written();
  auto a = hs.on_read(framed_status(handshake_status::false_));
  EXPECT_EQ(a.error, errc::already_connected);
}

TEST_F(Acceptor, AliveAnswerMustBeTrueOrFalse) {
  receive_name(framed_name(beam_flags, "beam@localhost"));
  hs.decide(accept_decision::alive);
  hs.on_written();
  EXPECT_EQ(hs.on_read(framed_status(handshake_status::ok)).error, errc::unexpected_message);
}

TEST_F(Acceptor, WrongReplyDigestIsABadCookieAndNoAckIsSent) {
  receive_name(framed_name(beam_flags, "beam@localhost"));
  const std::uint32_t ours = expect_challenge(hs.decide(accept_decision::ok), "ok");
  auto a = hs.on_read(framed_reply(1, digest("wrong", ours)));
  EXPECT_EQ(a.step, handshake_step::failed);
  EXPECT_EQ(a.error, errc::bad_cookie);
}

TEST_F(Acceptor, UnexpectedAndMalformedMessages) {
  receive_name(framed_name(beam_flags, "beam@localhost"));
  expect_challenge(hs.decide(accept_decision::ok), "ok");
  EXPECT_EQ(hs.on_read(framed_ack(md5_digest{})).error, errc::unexpected_message);

  handshake_acceptor h(config("cpp@localhost"));
  h.start();
  EXPECT_EQ(h.on_read(bytes{0, 2, 'N', 0}).error, errc::malformed_handshake);

  handshake_acceptor h2(config("cpp@localhost"));
  h2.start();
  EXPECT_EQ(h2.on_read(bytes{0, 1, 'x'}).error, errc::unexpected_message);

  handshake_acceptor h3(config("cpp@localhost"));
  h3.start();
  EXPECT_EQ(h3.on_eof().error, errc::peer_closed);

  handshake_acceptor h4(config("cpp@localhost"));
  h4.start();
  EXPECT_EQ(h4.decide(accept_decision::ok).step, handshake_step::failed);
}

TEST_F(Acceptor, U32PrefixForTls) {
  auto cfg = config("cpp@localhost");
  cfg.prefix = length_prefix::u32;
  handshake_acceptor h(cfg);
  h.start();
  name_message name{6, beam_flags, 1, "beam@localhost"};
  bytes in;
  encode_name(name, length_prefix::u32, in);
  ASSERT_EQ(h.on_read(in).step, handshake_step::decide_status);
  auto a = h.decide(accept_decision::ok);
  ASSERT_EQ(a.step, handshake_step::write);
  EXPECT_EQ(messages(a.data, length_prefix::u32).size(), 2u);
}

// ---------------------------------------------------------------------------------------------
// Both machines against each other

struct pair_outcome {
  handshake_action initiator;
  handshake_action acceptor;
};

pair_outcome run_pair(handshake_initiator& i, handshake_acceptor& a,
                      accept_decision decision = accept_decision::ok,
                      const std::string& cookie_for_peer = {}) {
  bytes to_acceptor, to_initiator;
  auto ia = i.start();
  auto aa = a.start();
  auto terminal = [](const handshake_action& x) {
    return x.step == handshake_step::done || x.step == handshake_step::failed;
  };
  for (int guard = 0; guard < 100; ++guard) {
    bool progress = false;
    if (ia.step == handshake_step::write) {
      to_acceptor.insert(to_acceptor.end(), ia.data.begin(), ia.data.end());
      ia = i.on_written();
      progress = true;
    }
    if (aa.step == handshake_step::write) {
      to_initiator.insert(to_initiator.end(), aa.data.begin(), aa.data.end());
      aa = a.on_written();
      progress = true;
    }
    if (aa.step == handshake_step::decide_status) {
      if (!cookie_for_peer.empty()) a.use_cookie(cookie_for_peer);
      aa = a.decide(decision);
      progress = true;
    }
    if (ia.step == handshake_step::decide_alive) {
      ia = i.answer_alive(true);
      progress = true;
    }
    if (ia.step == handshake_step::read && !to_initiator.empty()) {
      bytes in;
      in.swap(to_initiator);
      ia = i.on_read(in);
      progress = true;
    }
    if (aa.step == handshake_step::read && !to_acceptor.empty()) {
      bytes in;
      in.swap(to_acceptor);
      aa = a.on_read(in);
      progress = true;
    }
    // A failed side closes its socket: the other one sees EOF once it drained its input.
    if (aa.step == handshake_step::failed && ia.step == handshake_step::read &&
        to_initiator.empty()) {
      ia = i.on_eof();
      progress = true;
    }
    if (ia.step == handshake_step::failed && aa.step == handshake_step::read &&
        to_acceptor.empty()) {
      aa = a.on_eof();
      progress = true;
    }
    if (terminal(ia) && terminal(aa)) break;
    if (!progress) break;
  }
  return {ia, aa};
}

TEST(HandshakePair, BothRolesAgree) {
  auto icfg = config("alpha@localhost");
  icfg.flags = advertised_flags(visibility::visible);
  icfg.creation = 1;
  auto acfg = config("beta@localhost");
  acfg.flags = advertised_flags(visibility::visible);
  acfg.creation = 2;
  handshake_initiator i(icfg, "beta@localhost");
  handshake_acceptor a(acfg);
  auto [ir, ar] = run_pair(i, a);
  ASSERT_EQ(ir.step, handshake_step::done) << ir.error.message() << i.error_detail();
  ASSERT_EQ(ar.step, handshake_step::done) << ar.error.message() << a.error_detail();
  EXPECT_EQ(i.result().peer_node, "beta@localhost");
  EXPECT_EQ(a.result().peer_node, "alpha@localhost");
  EXPECT_EQ(i.result().peer_creation, 2u);
  EXPECT_EQ(a.result().peer_creation, 1u);
  EXPECT_EQ(i.result().flags, a.result().flags);
  EXPECT_FALSE(i.result().peer_is_hidden());
}

TEST(HandshakePair, HiddenSideMakesTheConnectionHidden) {
  auto icfg = config("alpha@localhost");
  auto acfg = config("beta@localhost");
  acfg.flags = advertised_flags(visibility::visible);
  handshake_initiator i(icfg, "beta@localhost");
  handshake_acceptor a(acfg);
  auto [ir, ar] = run_pair(i, a);
  ASSERT_EQ(ir.step, handshake_step::done);
  ASSERT_EQ(ar.step, handshake_step::done);
  EXPECT_TRUE(i.result().peer_is_hidden());
  EXPECT_TRUE(a.result().peer_is_hidden());
}

TEST(HandshakePair, DifferentCookiesNeverConnect) {
  handshake_initiator i(config("alpha@localhost", "one"), "beta@localhost");
  handshake_acceptor a(config("beta@localhost", "two"));
  auto [ir, ar] = run_pair(i, a);
  EXPECT_EQ(ar.step, handshake_step::failed);
  EXPECT_EQ(ar.error, errc::bad_cookie);
  EXPECT_EQ(ir.step, handshake_step::failed);
  EXPECT_EQ(ir.error, errc::peer_closed);
}

TEST(HandshakePair, APerPeerCookieChosenWhileDecidingConnects) {
  handshake_initiator i(config("alpha@localhost", "one"), "beta@localhost");
  handshake_acceptor a(config("beta@localhost", "two"));
  auto [ir, ar] = run_pair(i, a, accept_decision::ok, "one");
  EXPECT_EQ(ir.step, handshake_step::done) << ir.error.message() << i.error_detail();
  EXPECT_EQ(ar.step, handshake_step::done) << ar.error.message() << a.error_detail();
}

TEST(HandshakePair, APerPeerCookieOtherThanTheCallersFails) {
  handshake_initiator i(config("alpha@localhost", "one"), "beta@localhost");
  handshake_acceptor a(config("beta@localhost", "one"));
  auto [ir, ar] = run_pair(i, a, accept_decision::ok, "three");
  EXPECT_EQ(ar.error, errc::bad_cookie);
  EXPECT_EQ(ir.step, handshake_step::failed);
}

TEST(HandshakePair, NotAllowedReachesTheInitiator) {
  handshake_initiator i(config("alpha@localhost"), "beta@localhost");
  handshake_acceptor a(config("beta@localhost"));
  auto [ir, ar] = run_pair(i, a, accept_decision::not_allowed);
  EXPECT_EQ(ar.error, errc::not_allowed);
  EXPECT_EQ(ir.error, errc::not_allowed);
}

TEST(HandshakePair, AliveTrueCompletes) {
  handshake_initiator i(config("alpha@localhost"), "beta@localhost");
  handshake_acceptor a(config("beta@localhost"));
  auto [ir, ar] = run_pair(i, a, accept_decision::alive);
  EXPECT_EQ(ir.step, handshake_step::done);
  EXPECT_EQ(ar.step, handshake_step::done);
  EXPECT_TRUE(a.result().replaces_existing);
}

TEST(CookieDigest, MatchesErlangMd5) {
  // erlang:md5(["secret" | integer_to_list(4294967295)]) as computed by OTP 25: the challenge
  // is printed as an unsigned decimal.
  const md5_digest expected = {0x5d, 0xfd, 0x18, 0x1e, 0x69, 0xaa, 0x58, 0x7c,
                               0xc8, 0x12, 0xeb, 0x33, 0x3e, 0x65, 0x36, 0xb6};
  md5_digest d;
  ASSERT_FALSE(compute_digest("secret", 4294967295u, d));
  EXPECT_EQ(d, expected);
  EXPECT_TRUE(digests_equal(d, expected));
  md5_digest other;
  ASSERT_FALSE(compute_digest("secret", 4294967294u, other));
  EXPECT_FALSE(digests_equal(d, other));
}

TEST(CookieDigest, ChallengesAreRandom) {
  std::uint32_t a = 0, b = 0, c = 0;
  ASSERT_FALSE(random_challenge(a));
  ASSERT_FALSE(random_challenge(b));
  ASSERT_FALSE(random_challenge(c));
  EXPECT_FALSE(a == b && b == c);
}

}  // namespace
}  // namespace edist::dist
