// packet_encoder and packet_decoder, against each other and against handcrafted packets.
#include <gtest/gtest.h>

#include <algorithm>
#include <edist/etf/encode.hpp>
#include <memory>
#include <span>
#include <stdexcept>
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

// What packet_stream does with a packet it reads in place: start_packet() with the first
// `head` bytes (more when asked), the rest written where the decoder says, finish_packet().
// `into_seen`, when given, receives the memory the decoder gave.
packet_decoder::result place(packet_decoder& dec, const bytes& p, std::size_t head,
                             std::span<std::uint8_t>* into_seen = nullptr) {
  head = std::min(head, p.size() - 1);  // the stream offers only packets not all here
  for (;;) {
    auto pl = dec.start_packet(std::span(p).first(head), p.size());
    switch (pl.what) {
      case packet_decoder::placement::kind::placed: {
        EXPECT_LE(pl.taken, head);
        EXPECT_EQ(pl.into.size(), p.size() - pl.taken);
        EXPECT_TRUE(dec.placing());
        // The caller writes the head's rest and the bytes read later alike.
        std::copy(p.begin() + static_cast<std::ptrdiff_t>(pl.taken), p.end(), pl.into.begin());
        if (into_seen != nullptr) *into_seen = pl.into;
        auto r = dec.finish_packet();
        EXPECT_FALSE(dec.placing());
        return r;
      }
      case packet_decoder::placement::kind::need_head:
        EXPECT_GT(pl.need_head, head);
        EXPECT_LT(pl.need_head, p.size());
        head = pl.need_head;
        continue;
      case packet_decoder::placement::kind::whole:
        return dec.decode(p);
      case packet_decoder::placement::kind::error: {
        packet_decoder::result r;
        r.what = packet_decoder::status::error;
        r.error = pl.error;
        r.detail = pl.detail;
        return r;
      }
    }
  }
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

// The same messages, every packet placed from a head of a different length, decode as the
// whole packets do; the decoders' state (atom cache, sequences) stays the same.
TEST_P(PacketCodec, PlacedPacketsDecodeLikeWholeOnes) {
  packet_encoder enc(GetParam(), 1024);
  packet_decoder whole;
  packet_decoder placed;
  const std::vector<dist_message> msgs = {
      reg_send(term::tuple({term::atom("$gen_call"), term::tuple({from, term::atom("tag")}),
                            term::tuple({term::atom("is_auth"), node})})),
      {ctrl::link{from, to}, std::nullopt},
      reg_send(big_payload(10000)),
      {ctrl::send{to, {}}, big_payload(3000)},
  };
  std::size_t n = 0;
  for (int round = 0; round < 3; ++round) {
    for (const auto& m : msgs) {
      for (const auto& p : packets_of(enc, m)) {
        const auto expected = whole.decode(p);
        const auto got = place(placed, p, (n++ * 37) % p.size());
        ASSERT_EQ(got.what, expected.what) << got.detail;
        if (expected.what != packet_decoder::status::message) continue;
        EXPECT_EQ(to_term(got.message.control), to_term(m.control));
        EXPECT_EQ(got.message.payload.has_value(), m.payload.has_value());
        if (m.payload && got.message.payload) {
          EXPECT_EQ(*got.message.payload, *m.payload);
        }
      }
    }
  }
  EXPECT_EQ(placed.pending_sequences(), 0u);
  EXPECT_EQ(placed.reassembly_bytes(), 0u);
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

// Every length of head, from none to all but the last byte, for each kind of packet: a first
// fragment (whose atom cache header the head may cut), continuations, a message in one
// fragment, 131,68 and 112.
TEST(PacketCodecPlacement, EveryHeadLength) {
  const dist_message m = reg_send(big_payload(600), "a_registered_name");
  for (dist_flags flags : {all, no_fragments, no_cache}) {
    packet_encoder probe(flags, 256);
    const std::size_t longest = [&] {
      std::size_t l = 0;
      for (const auto& p : packets_of(probe, m)) l = std::max(l, p.size());
      return l;
    }();
    for (std::size_t head = 0; head < longest; ++head) {
      packet_encoder enc(flags, 256);
      packet_decoder dec;
      const auto packets = packets_of(enc, m);
      packet_decoder::result r;
      for (std::size_t i = 0; i < packets.size(); ++i) {
        r = place(dec, packets[i], std::min(head, packets[i].size() - 1));
        ASSERT_NE(r.what, packet_decoder::status::error) << head << " " << r.detail;
        EXPECT_EQ(r.what == packet_decoder::status::message, i + 1 == packets.size());
      }
      ASSERT_EQ(r.what, packet_decoder::status::message) << head;
      EXPECT_EQ(*r.message.payload, *m.payload);
      EXPECT_EQ(to_term(r.message.control), to_term(m.control));
    }
  }
  // A message in one fragment (an encoder cuts a message only when it is bigger than one).
  bytes single = {131, 69};
  single.resize(18);
  test::put_u64(&single[2], 7);
  test::put_u64(&single[10], 1);
  single.push_back(0);  // an empty atom cache header
  etf::encode_buffer terms;
  etf::encode_options o;
  o.without_version = true;
  etf::encode(to_term(ctrl::send{to, {}}), terms, o);
  etf::encode(big_payload(300), terms, o);
  single.insert(single.end(), terms.bytes().begin(), terms.bytes().end());
  for (std::size_t head = 0; head < single.size(); ++head) {
    packet_decoder dec;
    auto r = place(dec, single, head);
    ASSERT_EQ(r.what, packet_decoder::status::message) << head << " " << r.detail;
    EXPECT_EQ(*r.message.payload, big_payload(300));
    EXPECT_EQ(dec.pending_sequences(), 0u);
  }
}

TEST(PacketCodecPlacement, LargeBinariesAreSlicesOfThePlacedBytes) {
  for (dist_flags flags : {all, no_fragments}) {
    packet_encoder enc(flags, 4096);
    packet_decoder dec;
    const auto packets = packets_of(enc, reg_send(big_payload(20000)));
    std::span<std::uint8_t> first_into;
    packet_decoder::result r;
    for (std::size_t i = 0; i < packets.size(); ++i) {
      std::span<std::uint8_t> into;
      r = place(dec, packets[i], 18 + 64, &into);
      if (i == 0) first_into = into;
    }
    ASSERT_EQ(r.what, packet_decoder::status::message) << r.detail;
    // The reassembly buffer (or the whole packet's buffer) starts where the first packet's
    // body was placed and holds the whole message.
    const auto blob = (*r.message.payload)[1].binary_bytes();
    EXPECT_EQ(blob.size(), 20000u);
    EXPECT_GE(blob.data(), first_into.data());
    EXPECT_LE(blob.data() + blob.size(), first_into.data() + 20000 + 200);
  }
}

TEST(PacketCodecPlacement, ChecksAndLimitsApplyBeforeTheBytesArrive) {
  packet_encoder enc(all, 64);
  auto packets = packets_of(enc, reg_send(big_payload(300)));
  ASSERT_GT(packets.size(), 3u);
  auto start = [](packet_decoder& dec, const bytes& p, std::size_t head = 18) {
    return dec.start_packet(std::span(p).first(head), p.size());
  };
  using kind = packet_decoder::placement::kind;
  {
    packet_decoder dec;
    const auto pl = start(dec, packets[1]);  // continuation first
    EXPECT_EQ(pl.what, kind::error);
    EXPECT_EQ(pl.error, errc::bad_fragment);
    EXPECT_FALSE(pl.detail.empty());
    EXPECT_FALSE(dec.placing());
  }
  {
    packet_decoder dec;
    EXPECT_EQ(place(dec, packets[0], 40).what, packet_decoder::status::incomplete);
    EXPECT_EQ(start(dec, packets[2]).error, errc::bad_fragment);  // skipped one
    EXPECT_EQ(start(dec, packets[0], packets[0].size() - 1).error, errc::bad_fragment);  // twice
    bytes zero = packets[1];
    test::put_u64(&zero[10], 0);
    EXPECT_EQ(start(dec, zero).error, errc::bad_fragment);
    EXPECT_EQ(start(dec, bytes{99, 0, 0}, 1).error, errc::bad_packet);
    EXPECT_EQ(start(dec, bytes{131, 71, 0}, 2).error, errc::bad_packet);
  }
  {
    packet_decoder_limits limits;
    limits.max_reassembly_bytes = 150;
    packet_decoder dec(limits);
    EXPECT_EQ(place(dec, packets[0], 40).what, packet_decoder::status::incomplete);
    auto pl = start(dec, packets[1]);
    if (pl.what == kind::placed) {
      std::copy(packets[1].begin() + 18, packets[1].end(), pl.into.begin());
      EXPECT_EQ(dec.finish_packet().what, packet_decoder::status::incomplete);
      pl = start(dec, packets[2]);
    }
    EXPECT_EQ(pl.what, kind::error);
    EXPECT_EQ(pl.error, errc::reassembly_limit);
  }
  {
    packet_decoder_limits limits;
    limits.max_pending_sequences = 2;
    packet_decoder dec(limits);
    packet_encoder fresh(all, 64);
    for (int i = 0; i < 2; ++i) {
      auto more = packets_of(fresh, reg_send(big_payload(300)));
      EXPECT_EQ(place(dec, more[0], 30).what, packet_decoder::status::incomplete);
    }
    auto third = packets_of(fresh, reg_send(big_payload(300)));
    EXPECT_EQ(start(dec, third[0], 30).error, errc::reassembly_limit);
  }
  {
    // A whole message bigger than the bound is not placed: it is left to the frame reader,
    // whose memory follows the bytes received; nothing is counted for it.
    packet_decoder_limits limits;
    limits.max_reassembly_bytes = 1000;
    packet_decoder dec(limits);
    packet_encoder plain(no_fragments);
    const auto p = packets_of(plain, reg_send(big_payload(2000)));
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(start(dec, p[0], 10).what, kind::whole);
    EXPECT_FALSE(dec.placing());
    EXPECT_EQ(dec.reassembly_bytes(), 0u);
    EXPECT_EQ(dec.decode(p[0]).what, packet_decoder::status::message);
  }
}

TEST(PacketCodecPlacement, FirstFragmentHeaderTakesEffectWhenItArrives) {
  packet_encoder enc(all, 64);
  packet_decoder dec;
  const auto packets = packets_of(enc, reg_send(big_payload(300), "cached_name"));
  ASSERT_GT(packets.size(), 2u);
  const auto pl =
      dec.start_packet(std::span(packets[0]).first(packets[0].size() - 1), packets[0].size());
  ASSERT_EQ(pl.what, packet_decoder::placement::kind::placed);
  bool found = false;
  for (std::size_t i = 0; i < atom_cache_size; ++i)
    found |= dec.cache().slot(i).is_atom("cached_name");
  EXPECT_TRUE(found);
  // While a packet is placed, nothing else may be decoded or started.
  EXPECT_THROW(dec.decode(packets[1]), std::logic_error);
  EXPECT_THROW(dec.start_packet(std::span(packets[1]).first(18), packets[1].size()),
               std::logic_error);
  std::copy(packets[0].end() - static_cast<std::ptrdiff_t>(pl.into.size()), packets[0].end(),
            pl.into.begin());
  EXPECT_EQ(dec.finish_packet().what, packet_decoder::status::incomplete);
  EXPECT_THROW(dec.finish_packet(), std::logic_error);
}

TEST(PacketCodecPlacement, InterleavedSequences) {
  packet_encoder enc(all, 64);
  packet_decoder dec;
  auto a = packets_of(enc, reg_send(big_payload(400), "first"));
  auto b = packets_of(enc, reg_send(big_payload(300), "second"));
  std::vector<std::string> done;
  std::size_t ia = 0, ib = 0, n = 0;
  while (ia < a.size() || ib < b.size()) {
    for (auto* which : {&a, &b}) {
      std::size_t& i = which == &a ? ia : ib;
      if (i >= which->size()) continue;
      const bytes& p = (*which)[i++];
      auto r = place(dec, p, (n++ * 13) % p.size());
      ASSERT_NE(r.what, packet_decoder::status::error) << r.detail;
      if (r.what == packet_decoder::status::message) {
        done.emplace_back(std::get<ctrl::reg_send>(r.message.control).to_name.atom_name());
        EXPECT_EQ(*r.message.payload, big_payload(which == &a ? 400 : 300));
      }
    }
  }
  EXPECT_EQ(done, (std::vector<std::string>{"second", "first"}));
  EXPECT_EQ(dec.reassembly_bytes(), 0u);
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

// A pool full of small buffers makes room for a big one: a run of large messages after small
// ones reuses memory instead of allocating fresh buffers (and page faults) for each.
TEST(PacketCodecDetails, BigReassemblyBuffersReplaceSmallSpares) {
  packet_encoder enc(all, 1024);
  packet_decoder dec;
  std::vector<dist_message> small;
  for (int i = 0; i < 10; ++i) {
    small.push_back(decode_all(dec, packets_of(enc, reg_send(big_payload(3000)))));
  }
  small.clear();  // the pool is now full of small buffers
  auto big = decode_all(dec, packets_of(enc, reg_send(big_payload(200000))));
  ASSERT_TRUE(big.payload.has_value());
  const std::uint8_t* storage = (*big.payload)[1].binary_bytes().data();
  big = {};
  // Were the buffer freed, this would likely take its place.
  auto blocker = std::make_unique<std::uint8_t[]>(300000);
  blocker[0] = 1;
  auto again = decode_all(dec, packets_of(enc, reg_send(big_payload(200000))));
  ASSERT_TRUE(again.payload.has_value());
  EXPECT_EQ((*again.payload)[1].binary_bytes().data(), storage);
  EXPECT_EQ(*again.payload, big_payload(200000));
}

TEST(PacketCodecDetails, EncoderChecksPayloadPresence) {
  packet_encoder enc(all);
  outgoing_message out;
  EXPECT_THROW(enc.encode({ctrl::send{to, {}}, std::nullopt}, out), std::invalid_argument);
  EXPECT_THROW(enc.encode({ctrl::link{from, to}, term(1)}, out), std::invalid_argument);
}

}  // namespace
}  // namespace edist::dist
