// packet_encoder and packet_decoder, against each other and against handcrafted packets.
#include <gtest/gtest.h>

#include <edist/etf/encode.hpp>
#include <memory>
#include <string>
#include <vector>

#include "edist/dist/error.hpp"
#include "edist/dist/packet_decoder.hpp"
#include "edist/dist/packet_encoder.hpp"
#include "wire_helpers.hpp"

namespace edist::dist {
namespace {

using etf::term;
using bytes = std::vector<std::uint8_t>;

const term node = term::atom("beam@localhost");
const term from = term::pid(node, 77, 0, 1);
const term to = term::pid(term::atom("cpp@localhost"), 1, 0, 9);

constexpr dist_flags all = advertised_flags(visibility::hidden);
constexpr dist_flags no_cache = all & ~(dflag::dist_hdr_atom_cache | dflag::fragments);
constexpr dist_flags no_fragments = all & ~dflag::fragments;
constexpr dist_flags fragments_without_cache = all & ~dflag::dist_hdr_atom_cache;

std::vector<bytes> packets_of(packet_encoder& enc, const dist_message& m) {
  outgoing_message out;
  enc.encode(m, out);
  std::vector<bytes> packets;
  while (!out.done()) {
    const std::size_t before = out.remaining();
    auto parts = out.next_packet();
    bytes p;
    for (auto part : parts) p.insert(p.end(), part.begin(), part.end());
    EXPECT_EQ(before - out.remaining(), p.size());  // remaining() counts exactly
    packets.push_back(std::move(p));
  }
  EXPECT_EQ(out.remaining(), 0u);
  return packets;
}

dist_message reg_send(term payload, const char* name = "some_server") {
  return {ctrl::reg_send{from, term::atom(name), {}}, std::move(payload)};
}

term big_payload(std::size_t n) {
  bytes blob(n);
  for (std::size_t i = 0; i < n; ++i) blob[i] = static_cast<std::uint8_t>(i * 7);
  return term::tuple({term::atom("blob"), term::binary(blob), term::atom("end")});
}

dist_message decode_all(packet_decoder& dec, const std::vector<bytes>& packets) {
  for (std::size_t i = 0; i < packets.size(); ++i) {
    auto r = dec.decode(packets[i]);
    if (i + 1 < packets.size()) {
      EXPECT_EQ(r.what, packet_decoder::status::incomplete) << i << " " << r.detail;
    } else {
      EXPECT_EQ(r.what, packet_decoder::status::message) << r.error.message() << " " << r.detail;
      return std::move(r.message);
    }
  }
  return {};
}

class PacketCodec : public ::testing::TestWithParam<dist_flags> {};

TEST_P(PacketCodec, RoundTripsEveryKindOfMessage) {
  packet_encoder enc(GetParam(), 1024);
  packet_decoder dec;
  const std::vector<dist_message> msgs = {
      reg_send(term::tuple({term::atom("$gen_call"), term::tuple({from, term::atom("tag")}),
                            term::tuple({term::atom("is_auth"), node})})),
      {ctrl::send{to, {}}, term::list({term(1), term(2), term::atom("three")})},
      {ctrl::link{from, to}, std::nullopt},
      {ctrl::monitor_p_exit{term::atom("some_server"), to,
                            term::reference(node, 1, std::vector<std::uint32_t>{1, 2, 3}),
                            term::atom("noproc")},
       std::nullopt},
      reg_send(big_payload(10000)),
      {ctrl::unlink_id{42, from, to}, std::nullopt},
  };
  for (int round = 0; round < 3; ++round) {  // later rounds hit the atom cache
    for (const auto& m : msgs) {
      auto packets = packets_of(enc, m);
      const bool expect_fragments = enc.fragments() && m.payload && m.payload->is_tuple() &&
                                    m.payload->tuple_size() == 3 && (*m.payload)[0].is_atom("blob");
      EXPECT_EQ(packets.size() > 1, expect_fragments);
      for (const auto& p : packets) {
        EXPECT_EQ(p[0], enc.uses_atom_cache() || enc.fragments() ? 131 : 112);
      }
      auto back = decode_all(dec, packets);
      EXPECT_EQ(to_term(back.control), to_term(m.control));
      EXPECT_EQ(back.payload.has_value(), m.payload.has_value());
      if (m.payload && back.payload) {
        EXPECT_EQ(*back.payload, *m.payload);
      }
    }
  }
  EXPECT_EQ(dec.pending_sequences(), 0u);
  EXPECT_EQ(dec.reassembly_bytes(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Flags, PacketCodec,
                         ::testing::Values(all, no_cache, no_fragments, fragments_without_cache));

// A BEAM node that negotiated FRAGMENTS without the atom cache closes the connection on a
// pass-through packet: every packet carries the distribution header, with no references.
TEST(PacketCodecDetails, FragmentsWithoutAtomCacheUseHeadersWithoutReferences) {
  packet_encoder enc(fragments_without_cache, 100);
  const auto small = packets_of(enc, reg_send(term::atom("hello"), "a_registered_name"));
  ASSERT_EQ(small.size(), 1u);
  ASSERT_GE(small[0].size(), 4u);
  EXPECT_EQ(small[0][0], 131);
  EXPECT_EQ(small[0][1], 68);
  EXPECT_EQ(small[0][2], 0);    // no atom cache references
  EXPECT_EQ(small[0][3], 104);  // the control tuple follows, without a version byte
  const auto big = packets_of(enc, reg_send(big_payload(250)));
  ASSERT_GE(big.size(), 3u);
  EXPECT_EQ(big[0][1], 69);
  EXPECT_EQ(big[0][18], 0);
  EXPECT_EQ(big[1][1], 70);
}

TEST(PacketCodecDetails, AtomCacheShrinksRepeatedMessages) {
  packet_encoder enc(all);
  const auto first = packets_of(enc, reg_send(term::atom("hello"), "a_long_registered_name"));
  const auto second = packets_of(enc, reg_send(term::atom("hello"), "a_long_registered_name"));
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(first[0][1], 68);
  EXPECT_LT(second[0].size() + 20, first[0].size());
}

TEST(PacketCodecDetails, FragmentLayout) {
  packet_encoder enc(all, 100);
  auto packets = packets_of(enc, reg_send(big_payload(250)));
  ASSERT_GE(packets.size(), 3u);
  const std::uint64_t n = packets.size();
  EXPECT_EQ(packets[0][0], 131);
  EXPECT_EQ(packets[0][1], 69);
  const std::uint64_t seq = test::get_u64(&packets[0][2]);
  EXPECT_EQ(test::get_u64(&packets[0][10]), n);
  for (std::uint64_t i = 1; i < n; ++i) {
    EXPECT_EQ(packets[i][1], 70);
    EXPECT_EQ(test::get_u64(&packets[i][2]), seq);
    EXPECT_EQ(test::get_u64(&packets[i][10]), n - i);
    EXPECT_LE(packets[i].size(), 18u + 100u);
  }
  // The next fragmented message gets a new sequence id.
  auto more = packets_of(enc, reg_send(big_payload(250)));
  EXPECT_NE(test::get_u64(&more[0][2]), seq);
}

TEST(PacketCodecDetails, InterleavedSequencesReassemble) {
  packet_encoder enc(all, 64);
  packet_decoder dec;
  auto a = packets_of(enc, reg_send(big_payload(400), "first"));
  auto b = packets_of(enc, reg_send(big_payload(300), "second"));
  ASSERT_GT(a.size(), 3u);
  ASSERT_GT(b.size(), 3u);
  std::vector<std::string> done;
  std::size_t ia = 0, ib = 0;
  while (ia < a.size() || ib < b.size()) {
    for (auto* which : {&a, &b}) {
      std::size_t& i = which == &a ? ia : ib;
      if (i >= which->size()) continue;
      auto r = dec.decode((*which)[i++]);
      ASSERT_NE(r.what, packet_decoder::status::error) << r.detail;
      if (r.what == packet_decoder::status::message) {
        done.emplace_back(std::get<ctrl::reg_send>(r.message.control).to_name.atom_name());
        EXPECT_EQ(r.message.payload->tuple_size(), 3u);
      }
    }
  }
  EXPECT_EQ(done, (std::vector<std::string>{"second", "first"}));
}

TEST(PacketCodecDetails, HandcraftedPassThroughAndHeaderPackets) {
  packet_decoder dec;
  // 112, 131 {6, From, '', net_kernel}, 131 hello
  bytes p = {112};
  auto control = etf::term_to_binary(to_term(ctrl::reg_send{from, term::atom("net_kernel"), {}}));
  p.insert(p.end(), control.begin(), control.end());
  auto payload = etf::term_to_binary(term::atom("hello"));
  p.insert(p.end(), payload.begin(), payload.end());
  auto r = dec.decode(p);
  ASSERT_EQ(r.what, packet_decoder::status::message) << r.detail;
  EXPECT_EQ(*r.message.payload, term::atom("hello"));

  // 131,68 with one new atom 'hi' in slot 3; control {2, '', To} and payload ATOM_CACHE_REF 0.
  bytes h = {131, 68, 1, 0x08, 3, 2, 'h', 'i'};
  etf::encode_buffer terms;
  etf::encode_options o;
  o.without_version = true;
  etf::encode(to_term(ctrl::send{to, {}}), terms, o);
  terms.put_u8(82);  // ATOM_CACHE_REF
  terms.put_u8(0);
  h.insert(h.end(), terms.bytes().begin(), terms.bytes().end());
  r = dec.decode(h);
  ASSERT_EQ(r.what, packet_decoder::status::message) << r.detail;
  EXPECT_EQ(*r.message.payload, term::atom("hi"));
  // The slot stays filled for later packets: a header that only references it.
  bytes again = {131, 68, 1, 0x00, 3};
  again.insert(again.end(), terms.bytes().begin(), terms.bytes().end());
  r = dec.decode(again);
  ASSERT_EQ(r.what, packet_decoder::status::message) << r.detail;
  EXPECT_EQ(*r.message.payload, term::atom("hi"));
}

TEST(PacketCodecDetails, DecodingErrors) {
  packet_decoder dec;
  auto err = [&](bytes p) { return dec.decode(p).error; };
  EXPECT_EQ(err({}), errc::bad_packet);
  EXPECT_EQ(err({99, 1, 2}), errc::bad_packet);
  EXPECT_EQ(err({131}), errc::bad_packet);
  EXPECT_EQ(err({131, 71}), errc::bad_packet);
  EXPECT_EQ(err({131, 68}), errc::bad_packet);
  EXPECT_EQ(err({131, 68, 1, 0x00, 1}), errc::bad_atom_cache_ref);
  EXPECT_EQ(err({131, 69, 0, 0}), errc::bad_packet);
  // A control message that is not a tuple we know.
  bytes p = {112};
  auto t = etf::term_to_binary(term::tuple({term(99)}));
  p.insert(p.end(), t.begin(), t.end());
  EXPECT_EQ(err(p), errc::bad_control_message);
  // SEND without its message; LINK with a payload.
  p = {112};
  t = etf::term_to_binary(to_term(ctrl::send{to, {}}));
  p.insert(p.end(), t.begin(), t.end());
  EXPECT_EQ(err(p), errc::missing_payload);
  p = {112};
  t = etf::term_to_binary(to_term(ctrl::link{from, to}));
  p.insert(p.end(), t.begin(), t.end());
  p.insert(p.end(), t.begin(), t.end());
  EXPECT_EQ(err(p), errc::unexpected_payload);
  // Garbage where a term should be: an etf error.
  EXPECT_EQ(dec.decode(bytes{112, 131, 255}).error.category(), etf::etf_category());
}

TEST(PacketCodecDetails, FragmentErrorsAndLimits) {
  packet_encoder enc(all, 64);
  auto packets = packets_of(enc, reg_send(big_payload(300)));
  ASSERT_GT(packets.size(), 3u);
  {
    packet_decoder dec;
    EXPECT_EQ(dec.decode(packets[1]).error, errc::bad_fragment);  // continuation first
  }
  {
    packet_decoder dec;
    EXPECT_EQ(dec.decode(packets[0]).what, packet_decoder::status::incomplete);
    EXPECT_EQ(dec.decode(packets[2]).error, errc::bad_fragment);  // skipped one
  }
  {
    packet_decoder dec;
    EXPECT_EQ(dec.decode(packets[0]).what, packet_decoder::status::incomplete);
    EXPECT_EQ(dec.decode(packets[0]).error, errc::bad_fragment);  // started twice
  }
  {
    packet_decoder_limits limits;
    limits.max_reassembly_bytes = 150;
    packet_decoder dec(limits);
    EXPECT_EQ(dec.decode(packets[0]).what, packet_decoder::status::incomplete);
    auto r = dec.decode(packets[1]);
    if (r.what != packet_decoder::status::error) r = dec.decode(packets[2]);
    EXPECT_EQ(r.error, errc::reassembly_limit);
  }
  {
    packet_decoder_limits limits;
    limits.max_pending_sequences = 2;
    packet_decoder dec(limits);
    packet_encoder fresh(all, 64);  // its atom cache matches the fresh decoder's
    for (int i = 0; i < 2; ++i) {
      auto more = packets_of(fresh, reg_send(big_payload(300)));
      EXPECT_EQ(dec.decode(more[0]).what, packet_decoder::status::incomplete);
    }
    auto third = packets_of(fresh, reg_send(big_payload(300)));
    EXPECT_EQ(dec.decode(third[0]).error, errc::reassembly_limit);
  }
}

TEST(PacketCodecDetails, LargeBinariesAreSentFromTheTermsOwnBytes) {
  packet_encoder enc(all);
  packet_decoder dec;
  bytes blob(200000);
  for (std::size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<std::uint8_t>(i * 5);
  const term big = term::binary(blob);
  const term medium = term::binary(bytes(reference_binaries_from, 4));
  const term payload = term::tuple({term::atom("data"), big, term::binary(bytes(100, 3)), medium});
  outgoing_message out;
  enc.encode(reg_send(payload), out);
  ASSERT_TRUE(out.fragmented());
  auto inside = [](std::span<const std::uint8_t> part, const term& bin) {
    const auto b = bin.binary_bytes();
    return part.data() >= b.data() && part.data() + part.size() <= b.data() + b.size();
  };
  std::vector<bytes> packets;
  std::size_t referenced = 0;
  std::vector<std::span<const std::uint8_t>> first_parts;
  bytes first_packet;
  const auto keep = out.owner();
  while (!out.done()) {
    bytes p;
    for (auto part : out.next_packet()) {
      if (inside(part, big) || inside(part, medium)) referenced += part.size();
      if (packets.empty()) first_parts.push_back(part);
      p.insert(p.end(), part.begin(), part.end());
    }
    packets.push_back(std::move(p));
  }
  // Both large binaries went out as views of their own bytes, the small one was encoded.
  EXPECT_EQ(referenced, blob.size() + reference_binaries_from);
  // While a writer holds the owner, encoding the next message leaves those bytes alone.
  enc.encode(reg_send(big_payload(300000)), out);
  EXPECT_NE(out.owner(), keep);
  bytes again;
  for (auto part : first_parts) again.insert(again.end(), part.begin(), part.end());
  EXPECT_EQ(again, packets[0]);
  const auto back = decode_all(dec, packets);
  ASSERT_TRUE(back.payload.has_value());
  EXPECT_EQ(*back.payload, payload);
  // Without a holder the encoding is reused.
  const void* storage = out.owner().get();
  while (!out.done()) out.next_packet();
  enc.encode(reg_send(term::atom("small")), out);
  EXPECT_EQ(out.owner().get(), storage);
}

TEST(PacketCodecDetails, UnevenFragmentsAndHugeAnnouncementsReassemble) {
  packet_encoder enc(all, 64);
  auto packets = packets_of(enc, reg_send(big_payload(1000)));
  ASSERT_GT(packets.size(), 4u);
  // The first fragment says 3, the second carries most of the message, the last the rest:
  // bigger than the first one let the decoder expect.
  bytes first = packets.front();
  test::put_u64(&first[10], 3);
  bytes middle(packets[1].begin(), packets[1].begin() + 18);
  test::put_u64(&middle[10], 2);
  for (std::size_t i = 1; i + 1 < packets.size(); ++i) {
    middle.insert(middle.end(), packets[i].begin() + 18, packets[i].end());
  }
  packet_decoder dec;
  const auto back = decode_all(dec, {first, middle, packets.back()});
  ASSERT_TRUE(back.payload.has_value());
  EXPECT_EQ(*back.payload, big_payload(1000));

  // A first fragment announcing more than the bound (or more than memory can count) is taken
  // as it comes: only its bytes are held, nothing is reserved for the rest.
  for (std::uint64_t count : {std::uint64_t{1} << 20, std::uint64_t{1} << 62}) {
    packet_decoder_limits limits;
    limits.max_reassembly_bytes = 4096;
    packet_decoder bounded(limits);
    packet_encoder fresh(all, 64);
    bytes huge = packets_of(fresh, reg_send(big_payload(1000))).front();
    test::put_u64(&huge[10], count);
    EXPECT_EQ(bounded.decode(huge).what, packet_decoder::status::incomplete);
    EXPECT_LT(bounded.reassembly_bytes(), 100u);
  }
}

TEST(PacketCodecDetails, ReassemblyBuffersAreReusedAndMayOutliveTheDecoder) {
  packet_encoder enc(all, 1024);
  auto decoder = std::make_unique<packet_decoder>();
  auto first = decode_all(*decoder, packets_of(enc, reg_send(big_payload(50000))));
  ASSERT_TRUE(first.payload.has_value());
  const std::uint8_t* storage = (*first.payload)[1].binary_bytes().data();
  first = {};  // the buffer goes back to the decoder's pool
  auto second = decode_all(*decoder, packets_of(enc, reg_send(big_payload(50000))));
  ASSERT_TRUE(second.payload.has_value());
  EXPECT_EQ((*second.payload)[1].binary_bytes().data(), storage);
  EXPECT_EQ(*second.payload, big_payload(50000));
  // A message may outlive its decoder; its buffer is then freed when it goes.
  auto third = decode_all(*decoder, packets_of(enc, reg_send(big_payload(50000))));
  decoder.reset();
  ASSERT_TRUE(third.payload.has_value());
  EXPECT_EQ(*third.payload, big_payload(50000));
  second = {};
  third = {};
}

TEST(PacketCodecDetails, EncoderChecksPayloadPresence) {
  packet_encoder enc(all);
  outgoing_message out;
  EXPECT_THROW(enc.encode({ctrl::send{to, {}}, std::nullopt}, out), std::invalid_argument);
  EXPECT_THROW(enc.encode({ctrl::link{from, to}, term(1)}, out), std::invalid_argument);
}

}  // namespace
}  // namespace edist::dist
