// The direct paths of control messages against the term paths they replace: encode_control()
// must write the bytes of etf::encode(to_term(m)) (atom cache included), and the decoder's
// direct reading of the control tuple (etf::decode_tuple_elements + from_elements) must give
// what etf::decode + from_term give, or leave the input to them.
#include <gtest/gtest.h>

#include <array>
#include <edist/etf/decode.hpp>
#include <edist/etf/encode.hpp>
#include <string>
#include <vector>

#include "control_samples.hpp"
#include "edist/dist/atom_cache.hpp"
#include "edist/dist/control_message.hpp"
#include "edist/dist/error.hpp"
#include "edist/dist/packet_decoder.hpp"

namespace edist::dist {
namespace {

using etf::term;
using bytes = std::vector<std::uint8_t>;

using test_samples::node;
using test_samples::p1;
using test_samples::p2;
using test_samples::r1;
using test_samples::token;
const auto samples = test_samples::control_samples;

// A payload with atoms (some repeating the control's) and a binary the encoder references.
const term payload = term::tuple(
    {term::atom("msg"), term::atom("net_kernel"), node, term::binary(std::string(5000, 'x')), p1});

bytes header_of(const atom_cache_out& cache) {
  bytes h;
  cache.write_header(h);
  return h;
}

TEST(ControlCodec, DirectEncodingWritesTheBytesOfTheTermPath) {
  for (bool without_version : {false, true}) {
    etf::encode_options plain;
    plain.without_version = without_version;
    plain.reference_binaries_from = 4096;  // as the packet encoder does
    for (const auto& m : samples()) {
      etf::encode_buffer direct, via_term;
      encode_control(m, direct, plain);
      etf::encode(to_term(m), via_term, plain);
      EXPECT_EQ(bytes(direct.bytes().begin(), direct.bytes().end()),
                bytes(via_term.bytes().begin(), via_term.bytes().end()))
          << operation(m);
      // With the payload in the same pass: the bytes of the two encodes one after the other.
      etf::encode_buffer direct_with, via_term_with;
      encode_control(m, direct_with, plain, &payload);
      etf::encode(to_term(m), via_term_with, plain);
      etf::encode(payload, via_term_with, plain);
      EXPECT_EQ(bytes(direct_with.bytes().begin(), direct_with.bytes().end()),
                bytes(via_term_with.bytes().begin(), via_term_with.bytes().end()))
          << operation(m);
      ASSERT_EQ(direct_with.references().size(), via_term_with.references().size());
      for (std::size_t i = 0; i < direct_with.references().size(); ++i) {
        EXPECT_EQ(direct_with.references()[i].at, via_term_with.references()[i].at);
      }
      EXPECT_EQ(direct_with.total_size(), via_term_with.total_size());
    }
  }
}

TEST(ControlCodec, DirectEncodingUsesTheAtomCacheAsTheTermPath) {
  // Two caches fed the same messages in the same order, twice over (new entries first, then
  // references to entries of earlier messages): same references, same headers, same bytes.
  atom_cache_out direct_cache, term_cache;
  etf::encode_options direct_options, term_options;
  direct_options.without_version = term_options.without_version = true;
  direct_options.atom_cache = &direct_cache;
  term_options.atom_cache = &term_cache;
  for (int round = 0; round < 2; ++round) {
    for (const auto& m : samples()) {
      direct_cache.begin_message();
      term_cache.begin_message();
      etf::encode_buffer direct, via_term;
      encode_control(m, direct, direct_options, &payload);
      etf::encode(to_term(m), via_term, term_options);
      etf::encode(payload, via_term, term_options);
      EXPECT_EQ(bytes(direct.bytes().begin(), direct.bytes().end()),
                bytes(via_term.bytes().begin(), via_term.bytes().end()))
          << round << " " << operation(m);
      EXPECT_EQ(header_of(direct_cache), header_of(term_cache)) << round << " " << operation(m);
      if (!std::holds_alternative<ctrl::node_link>(m)) {
        EXPECT_GT(direct_cache.ref_count(), 0u);
      }
    }
  }
}

// What the decoder's two paths make of `input`: when the direct one takes it, it must agree
// with the general one (the same elements, the same end); when it does not, nothing is lost,
// since the general one decides. Returns whether the direct path took it.
bool expect_paths_agree(std::span<const std::uint8_t> input, const etf::decode_options& base,
                        const std::string& what) {
  etf::decode_options opts = base;
  opts.allow_trailing = true;
  std::array<term, 7> elements;
  std::size_t arity = 0, consumed = 0;
  const bool direct = etf::decode_tuple_elements(input, opts, elements, arity, consumed);
  if (!direct) return false;
  const auto whole = etf::decode(input, opts);
  EXPECT_TRUE(whole) << what << ": the direct path took what the decoder refuses";
  if (!whole) return true;
  EXPECT_TRUE(whole.value.is_tuple()) << what;
  if (!whole.value.is_tuple()) return true;
  EXPECT_EQ(consumed, whole.consumed) << what;
  const auto expected = whole.value.tuple_elements();
  EXPECT_EQ(arity, expected.size()) << what;
  for (std::size_t i = 0; i < std::min(arity, expected.size()); ++i) {
    EXPECT_EQ(elements[i], expected[i]) << what << " element " << i;
  }
  // The typed message (or the error) is the same as well.
  control_message a, b;
  std::string da, db;
  const auto ea = from_elements(std::span<const term>(elements.data(), arity), a, &da);
  const auto eb = from_term(whole.value, b, &db);
  EXPECT_EQ(ea, eb) << what;
  EXPECT_EQ(da, db) << what;
  if (!ea && !eb) {
    EXPECT_EQ(to_term(a), to_term(b)) << what;
  }
  return true;
}

TEST(ControlCodec, DirectDecodingAgreesWithTheTermPath) {
  // Every operation as an OTP node writes it: with the version byte (pass-through packets),
  // and after a distribution header with atom-cache references; a payload after it.
  const bytes payload_bytes = {131, 97, 42};
  for (bool cached : {false, true}) {
    atom_cache_out out_cache;
    atom_cache_in in_cache;
    etf::encode_options o;
    o.without_version = cached;
    o.atom_cache = cached ? &out_cache : nullptr;
    for (const auto& m : samples()) {
      out_cache.begin_message();
      etf::encode_buffer buf;
      encode_control(m, buf, o);
      bytes input(buf.bytes().begin(), buf.bytes().end());
      input.insert(input.end(), payload_bytes.begin(), payload_bytes.end());
      // The receiving side: the header replayed into a cache gives the references.
      std::vector<term> refs;
      if (cached) {
        bytes header = header_of(out_cache);
        std::size_t used = 0;
        ASSERT_FALSE(in_cache.read_header(header, used, refs));
      }
      etf::decode_options d;
      d.without_version = cached;
      d.atom_cache_refs = refs;
      EXPECT_TRUE(expect_paths_agree(input, d, std::to_string(operation(m))))
          << operation(m) << (cached ? " cached" : "")
          << ": a control message as OTP writes it takes the direct path";
    }
  }
}

TEST(ControlCodec, OtherEncodingsOfTheSameValuesAgree) {
  // Forms a peer may legitimately use: old pid/reference/atom tags, a large tuple header, an
  // operation as INTEGER_EXT or SMALL_BIG_EXT, an atom as ATOM_UTF8 or Latin-1 ATOM_EXT.
  const bytes node_latin1 = {100, 0, 3, 'a', '@', 0xe9};  // ATOM_EXT 'a@é'
  const bytes node_small = {115, 3, 'a', '@', 'h'};       // SMALL_ATOM_EXT
  const bytes node_utf8 = {118, 0, 3, 'a', '@', 'h'};     // ATOM_UTF8_EXT
  const bytes node_small_utf8 = {119, 3, 'a', '@', 'h'};  // SMALL_ATOM_UTF8_EXT
  auto pid_new = [](const bytes& n) {
    bytes b = {88};
    b.insert(b.end(), n.begin(), n.end());
    b.insert(b.end(), {0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 2});
    return b;
  };
  auto pid_old = [](const bytes& n) {
    bytes b = {103};
    b.insert(b.end(), n.begin(), n.end());
    b.insert(b.end(), {0, 0, 0, 5, 0, 0, 0, 0, 2});
    return b;
  };
  auto cat = [](std::initializer_list<bytes> parts) {
    bytes b;
    for (const auto& p : parts) b.insert(b.end(), p.begin(), p.end());
    return b;
  };
  const std::vector<bytes> controls = {
      cat({{104, 3, 97, 22}, pid_new(node_small_utf8), pid_new(node_utf8)}),
      cat({{104, 3, 97, 22}, pid_old(node_small), pid_new(node_latin1)}),
      cat({{105, 0, 0, 0, 3, 97, 22}, pid_new(node_small_utf8), pid_old(node_utf8)}),
      cat({{104, 3, 98, 0, 0, 0, 22}, pid_new(node_small_utf8), pid_new(node_small_utf8)}),
      cat({{104, 3, 110, 1, 0, 22}, pid_new(node_small_utf8), pid_new(node_small_utf8)}),
      cat({{104, 4, 97, 6}, pid_new(node_small_utf8), {100, 0, 0}, {115, 3, 'r', 'e', 'x'}}),
      // MONITOR_P with NEW_REFERENCE_EXT and with the oldest REFERENCE_EXT.
      cat({{104, 4, 97, 19},
           pid_new(node_utf8),
           {119, 1, 'x'},
           {114, 0, 1},
           node_small_utf8,
           {2, 0, 0, 0, 9}}),
      cat({{104, 4, 97, 19},
           pid_new(node_utf8),
           {119, 1, 'x'},
           {101},
           node_small_utf8,
           {0, 0, 0, 9, 2}}),
      cat({{104, 4, 97, 19},
           pid_new(node_utf8),
           {119, 1, 'x'},
           {90, 0, 2},
           node_small_utf8,
           {0, 0, 0, 2, 0, 0, 0, 9, 0, 0, 0, 8}}),
      // UNLINK_ID with an id beyond 32 bits.
      cat({{104, 4, 97, 35, 110, 5, 0, 1, 2, 3, 4, 5},
           pid_new(node_small_utf8),
           pid_new(node_small_utf8)}),
  };
  for (std::size_t i = 0; i < controls.size(); ++i) {
    bytes input = controls[i];
    input.insert(input.end(), {97, 1});  // a payload follows
    expect_paths_agree(input, {.without_version = true}, "control " + std::to_string(i));
    bytes versioned = {131};
    versioned.insert(versioned.end(), input.begin(), input.end());
    expect_paths_agree(versioned, {}, "versioned control " + std::to_string(i));
  }
}

TEST(ControlCodec, DamagedInputNeverTakesTheDirectPathWrongly) {
  // Every truncation and many single-byte changes of every sample: whatever the direct path
  // takes, the general decoder takes too, with the same values.
  etf::encode_options o;
  o.without_version = true;
  std::size_t taken = 0, left = 0;
  for (const auto& m : samples()) {
    etf::encode_buffer buf;
    encode_control(m, buf, o);
    const bytes good(buf.bytes().begin(), buf.bytes().end());
    for (std::size_t cut = 0; cut < good.size(); ++cut) {
      const bytes part(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut));
      expect_paths_agree(part, {.without_version = true}, "truncated") ? ++taken : ++left;
    }
    for (std::size_t at = 0; at < good.size(); ++at) {
      for (std::uint8_t v :
           {0, 1, 2, 5, 82, 88, 90, 97, 98, 100, 104, 119, 0x7f, 0x80, 0xc3, 0xff}) {
        bytes changed = good;
        changed[at] = v;
        expect_paths_agree(
            changed, {.without_version = true},
            std::to_string(operation(m)) + " byte " + std::to_string(at) + "=" + std::to_string(v))
            ? ++taken
            : ++left;
      }
    }
  }
  EXPECT_GT(taken, 0u);
  EXPECT_GT(left, 0u);
}

TEST(ControlCodec, PacketsWithMalformedControlsStillFailAsBefore) {
  // The decoder's errors for bad controls come from the general path, whatever the direct
  // path made of them: a SEND whose receiver is not a pid, a truncated pid, a cache reference
  // to nothing.
  packet_decoder dec;
  const bytes not_a_pid = {112, 131, 104, 3, 97, 2, 119, 0, 97, 1, 131, 97, 1};
  auto r = dec.decode(not_a_pid);
  EXPECT_EQ(r.what, packet_decoder::status::error);
  EXPECT_EQ(r.error, errc::bad_control_message);
  EXPECT_EQ(r.detail, "to is not a pid");

  const bytes truncated = {112, 131, 104, 3, 97, 2, 119, 0, 88, 119, 3, 'a', '@', 'h', 0, 0};
  r = dec.decode(truncated);
  EXPECT_EQ(r.what, packet_decoder::status::error);
  EXPECT_NE(r.detail.find("control message at byte"), std::string::npos) << r.detail;

  const bytes bad_ref = {131, 68, 0, 104, 3, 97, 2, 82, 0, 88, 119, 1,  'a', 0,
                         0,   0,  1, 0,   0, 0,  0, 0,  0, 0,  1,   97, 1};
  r = dec.decode(bad_ref);
  EXPECT_EQ(r.what, packet_decoder::status::error);
  EXPECT_NE(r.detail.find("control message at byte"), std::string::npos) << r.detail;
}

}  // namespace
}  // namespace edist::dist
