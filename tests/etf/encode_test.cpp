// Encoder: byte-exact against BEAM's term_to_binary(T, [{minor_version, 2}]), tag choice at
// every boundary, encoded_size, buffer reuse, compression, the atom-cache hook, and seeded
// random round trips through the decoder.
#include <gtest/gtest.h>

#include <edist/etf/convert.hpp>
#include <edist/etf/decode.hpp>
#include <edist/etf/encode.hpp>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "random_term.hpp"

using namespace edist::etf;
using namespace edist::etf::literals;

namespace {

using bytes = std::vector<std::uint8_t>;

bytes encoded(const term& t, const encode_options& o = {}) {
  bytes b = term_to_binary(t, o);
  if (o.compression_level <= 0 && o.atom_cache == nullptr) {
    EXPECT_EQ(b.size(), encoded_size(t, o)) << "encoded_size disagrees";
  }
  return b;
}

term pid_nonode() {
  return term::pid(atom("nonode@nohost"), 9, 0, 0);
}

}  // namespace

TEST(Encode, MatchesBeamBytes) {
  // Each vector is term_to_binary(T, [{minor_version, 2}]) from OTP 25.
  struct sample {
    term value;
    bytes beam;
  };
  std::vector<sample> samples = {
      {term::list(std::vector<term>{1, 2}, 3), {131, 108, 0, 0, 0, 2, 97, 1, 97, 2, 97, 3}},
      {term::map({{"b"_atom, 1}, {"a"_atom, 2}, {1, "x"_atom}, {1.0, "y"_atom}}),
       {131, 116, 0, 0,   0, 4,   97,  1, 119, 1,  120, 70,  63, 240, 0,  0, 0,
        0,   0,   0, 119, 1, 121, 119, 1, 97,  97, 2,   119, 1,  98,  97, 1}},
      {term::bitstring(std::vector<std::uint8_t>{0x20}, 3), {131, 77, 0, 0, 0, 1, 3, 32}},
      {term(-0.0), {131, 70, 128, 0, 0, 0, 0, 0, 0, 0}},
      {*term::integer_from_decimal("18446744073709551616"),
       {131, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
      {term(std::int64_t{INT32_MIN}), {131, 98, 128, 0, 0, 0}},
      {term(std::int64_t{1} << 31), {131, 110, 4, 0, 0, 0, 0, 128}},
      {term(INT64_MIN), {131, 110, 8, 1, 0, 0, 0, 0, 0, 0, 0, 128}},
      {term(INT64_MAX), {131, 110, 8, 0, 255, 255, 255, 255, 255, 255, 255, 127}},
      {term(UINT64_MAX), {131, 110, 8, 0, 255, 255, 255, 255, 255, 255, 255, 255}},
      {atom("héllo"), {131, 119, 6, 104, 195, 169, 108, 108, 111}},
      {term::tuple({}), {131, 104, 0}},
      {nil, {131, 106}},
      {charlist("abc"), {131, 107, 0, 3, 97, 98, 99}},
      {term::list({256}), {131, 108, 0, 0, 0, 1, 98, 0, 0, 1, 0, 106}},
      {"abc"_bin, {131, 109, 0, 0, 0, 3, 97, 98, 99}},
      {term::tuple({"ok"_atom, term::list({1.5, ""_bin}), term::map({})}),
       {131, 104, 3, 119, 2, 111, 107, 108, 0, 0, 0,   2,   70, 63, 248, 0,
        0,   0,   0, 0,   0, 109, 0,   0,   0, 0, 106, 116, 0,  0,  0,   0}},
      {term::export_fun("lists"_atom, "map"_atom, 2),
       {131, 113, 119, 5, 108, 105, 115, 116, 115, 119, 3, 109, 97, 112, 97, 2}},
      {term(-1), {131, 98, 255, 255, 255, 255}},
      {term(255), {131, 97, 255}},
      {term(256), {131, 98, 0, 0, 1, 0}},
      {term(3.14159), {131, 70, 64, 9, 33, 249, 240, 27, 134, 110}},
      {term::list({nil}), {131, 108, 0, 0, 0, 1, 106, 106}},
      {term::list(std::vector<term>{"a"_atom}, "b"_atom),
       {131, 108, 0, 0, 0, 1, 119, 1, 97, 119, 1, 98}},
      {charlist("€"), {131, 108, 0, 0, 0, 1, 98, 0, 0, 32, 172, 106}},
      {true, {131, 119, 4, 116, 114, 117, 101}},
      {pid_nonode(), {131, 88,  119, 13, 110, 111, 110, 111, 100, 101, 64, 110, 111, 104, 111,
                      115, 116, 0,   0,  0,   9,   0,   0,   0,   0,   0,  0,   0,   0}},
      {term::reference(atom("nonode@nohost"), 0,
                       std::vector<std::uint32_t>{0x119a2, 0xdc700001, 0x530ddea0}),
       {131, 90, 0, 3, 119, 13, 110, 111, 110, 111, 100, 101, 64, 110, 111, 104, 111, 115,
        116, 0,  0, 0, 0,   0,  1,   25,  162, 220, 112, 0,   1,  83,  13,  222, 160}},
      // OTP 27 writes every port as V4_PORT_EXT.
      {term::port(atom("nonode@nohost"), 0, 0),
       {131, 120, 119, 13, 110, 111, 110, 111, 100, 101, 64, 110, 111, 104, 111,
        115, 116, 0,   0,  0,   0,   0,   0,   0,   0,   0,  0,   0,   0}},
  };
  for (auto& s : samples) {
    EXPECT_EQ(encoded(s.value), s.beam) << "for " << to_string(s.value.type());
    auto back = decode(s.beam);
    ASSERT_FALSE(back.error);
    EXPECT_EQ(back.value, s.value);
  }
}

TEST(Encode, PortsAsOtp25WritesThem) {
  encode_options otp25;
  otp25.v4_ports = false;
  // OTP 25: hd(erlang:ports()) on nonode@nohost.
  bytes beam = {131, 89,  119, 13,  110, 111, 110, 111, 100, 101, 64, 110, 111,
                104, 111, 115, 116, 0,   0,   0,   0,   0,   0,   0,  0};
  term port = term::port(atom("nonode@nohost"), 0, 0);
  EXPECT_EQ(encoded(port, otp25), beam);
  // An id above 32 bits needs V4_PORT_EXT either way.
  term wide = term::port(atom("n@h"), 0x100000001ull, 7);
  bytes b = encoded(wide, otp25);
  EXPECT_EQ(b[1], 120);
  EXPECT_EQ(decode(b).value, wide);
}

TEST(Encode, IntegerTagBoundaries) {
  auto tag_of = [](const term& t) { return encoded(t)[1]; };
  EXPECT_EQ(tag_of(0), 97);
  EXPECT_EQ(tag_of(255), 97);
  EXPECT_EQ(tag_of(256), 98);
  EXPECT_EQ(tag_of(-1), 98);
  EXPECT_EQ(tag_of(INT32_MAX), 98);
  EXPECT_EQ(tag_of(INT32_MIN), 98);
  EXPECT_EQ(tag_of(std::int64_t{INT32_MAX} + 1), 110);
  EXPECT_EQ(tag_of(std::int64_t{INT32_MIN} - 1), 110);
  EXPECT_EQ(encoded(term(std::int64_t{INT32_MIN} - 1)), (bytes{131, 110, 4, 1, 1, 0, 0, 128}));
  std::vector<std::uint8_t> mag255(255, 0xff), mag256(256, 0xff);
  bytes small_big = encoded(term::big_integer(false, mag255));
  EXPECT_EQ(small_big[1], 110);
  EXPECT_EQ(small_big[2], 255);
  bytes large_big = encoded(term::big_integer(true, mag256));
  EXPECT_EQ(large_big[1], 111);
  EXPECT_EQ((bytes(large_big.begin() + 2, large_big.begin() + 7)), (bytes{0, 0, 1, 0, 1}));
  EXPECT_EQ(large_big.size(), 2u + 5 + 256);
  for (std::int64_t v : {std::int64_t{0}, std::int64_t{-256}, INT64_MIN, INT64_MAX,
                         std::int64_t{1} << 40, -(std::int64_t{1} << 40)}) {
    EXPECT_EQ(decode(encoded(term(v))).value, term(v));
  }
}

TEST(Encode, AtomTags) {
  std::string s255(255, 'a');
  bytes b = encoded(atom(s255));
  EXPECT_EQ(b[1], 119);
  EXPECT_EQ(b[2], 255);
  std::string wide;
  for (int i = 0; i < 100; ++i) wide += "é";  // 200 bytes: still SMALL_ATOM_UTF8
  EXPECT_EQ(encoded(atom(wide))[1], 119);
  wide.clear();
  for (int i = 0; i < 200; ++i) wide += "é";  // 400 bytes: ATOM_UTF8 with a u16 length
  bytes w = encoded(atom(wide));
  EXPECT_EQ(w[1], 118);
  EXPECT_EQ(w[2], 1);
  EXPECT_EQ(w[3], 144);
  EXPECT_EQ(decode(w).value, atom(wide));
  EXPECT_EQ(encoded(atom("")), (bytes{131, 119, 0}));
}

TEST(Encode, TupleAndStringBoundaries) {
  std::vector<term> e255(255, term(1)), e256(256, term(1));
  EXPECT_EQ(encoded(term::tuple(e255))[1], 104);
  bytes large = encoded(term::tuple(e256));
  EXPECT_EQ(large[1], 105);
  EXPECT_EQ((bytes(large.begin() + 2, large.begin() + 6)), (bytes{0, 0, 1, 0}));

  std::vector<term> bytes_65535(65535, term(200)), bytes_65536(65536, term(200));
  bytes s = encoded(term::list(bytes_65535));
  EXPECT_EQ(s[1], 107);
  EXPECT_EQ(s.size(), 1u + 3 + 65535);
  EXPECT_EQ(encoded(term::list(bytes_65536))[1], 108);
  // Anything other than integers 0..255, or an improper tail, is a LIST_EXT.
  EXPECT_EQ(encoded(term::list({0, 255, 256}))[1], 108);
  EXPECT_EQ(encoded(term::list({0, -1}))[1], 108);
  EXPECT_EQ(encoded(term::list({1.0}))[1], 108);
  EXPECT_EQ(encoded(term::list(std::vector<term>{1, 2}, ""_bin))[1], 108);
  EXPECT_EQ(decode(encoded(term::list(bytes_65536))).value, term::list(bytes_65536));
}

TEST(Encode, MapsInStoredOrder) {
  // Built in C++: term order, with integers before floats.
  term m = term::map({{"z"_atom, 1}, {2.0, 2}, {2, 3}, {"a"_bin, 4}});
  bytes b = encoded(m);
  auto back = decode(b);
  ASSERT_FALSE(back.error);
  auto entries = back.value.map_entries();
  EXPECT_EQ(entries[0].first, term(2));
  EXPECT_EQ(entries[1].first, term(2.0));
  EXPECT_EQ(entries[2].first, "z"_atom);
  EXPECT_EQ(entries[3].first, "a"_bin);
}

TEST(Encode, ClosuresRoundTrip) {
  std::array<std::uint8_t, 16> uniq{};
  uniq.fill(0x5a);
  std::vector<term> free_vars = {term::tuple({1, 2}), "x"_atom, term::list({term::map({{1, 2}})})};
  term f = term::closure(2, uniq, 7, "mod"_atom, 3, 123456789, pid_nonode(), free_vars);
  bytes b = encoded(f);
  EXPECT_EQ(b[1], 112);
  std::uint32_t size = (b[2] << 24) | (b[3] << 16) | (b[4] << 8) | b[5];
  EXPECT_EQ(size, b.size() - 2);
  auto back = decode(b);
  ASSERT_FALSE(back.error);
  EXPECT_EQ(back.value, f);
  EXPECT_EQ(term_to_binary(back.value), b);
}

TEST(Encode, BufferIsReusedAndAppendedTo) {
  encode_buffer buffer(16);
  encode(term(1), buffer);
  EXPECT_EQ(buffer.size(), 3u);
  encode(term(2), buffer);  // appends
  EXPECT_EQ(std::vector<std::uint8_t>(buffer.bytes().begin(), buffer.bytes().end()),
            (bytes{131, 97, 1, 131, 97, 2}));
  std::vector<term> big(10000, "x"_bin);
  buffer.clear();
  encode(term::list(big), buffer);
  std::size_t capacity = buffer.underlying().capacity();
  EXPECT_EQ(buffer.size(), encoded_size(term::list(big)));
  buffer.clear();
  encode(term::tuple({1, 2}), buffer);
  EXPECT_EQ(buffer.underlying().capacity(), capacity);
  EXPECT_EQ(decode(buffer.bytes()).value, term::tuple({1, 2}));
  auto released = buffer.release();
  EXPECT_EQ(released.size(), 7u);

  encode_buffer raw;
  raw.put_u8(1);
  raw.put_u16(0x0203);
  raw.put_u32(0x04050607);
  raw.put_u64(0x08090a0b0c0d0e0full);
  raw.put(std::string_view("xy"));
  std::uint8_t* room = raw.grow(2);
  room[0] = 0xaa;
  room[1] = 0xbb;
  EXPECT_EQ(raw.release(),
            (bytes{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 'x', 'y', 0xaa, 0xbb}));
}

TEST(Encode, LargeBinariesBecomeReferencesWhenAsked) {
  bytes big(5000), bigger(70000), bits(6000, 0xf0);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i);
  for (std::size_t i = 0; i < bigger.size(); ++i) bigger[i] = static_cast<std::uint8_t>(i * 3);
  const term big_bin = term::binary(big);
  const term bigger_bin = term::binary(bigger);
  const term t = term::tuple({term::binary(bytes(100, 1)), big_bin,
                              term::bitstring(bits, 4),  // copied: only binaries are referenced
                              term::list({bigger_bin, term(7)}), term::atom("end")});
  encode_options o;
  o.reference_binaries_from = 4096;
  encode_buffer buffer;
  encode(t, buffer, o);
  ASSERT_EQ(buffer.references().size(), 2u);
  EXPECT_EQ(buffer.total_size(), encoded_size(t));
  EXPECT_EQ(buffer.size(), encoded_size(t) - big.size() - bigger.size());
  // Zero-copy: the references point at the terms' own bytes.
  EXPECT_EQ(buffer.references()[0].bytes().data(), big_bin.binary_bytes().data());
  EXPECT_EQ(buffer.references()[1].bytes().data(), bigger_bin.binary_bytes().data());
  // Splicing the references in gives exactly the ordinary encoding.
  auto spliced = [](const encode_buffer& b) {
    bytes out;
    std::size_t at = 0;
    for (const auto& ref : b.references()) {
      out.insert(out.end(), b.bytes().begin() + static_cast<std::ptrdiff_t>(at),
                 b.bytes().begin() + static_cast<std::ptrdiff_t>(ref.at));
      out.insert(out.end(), ref.bytes().begin(), ref.bytes().end());
      at = ref.at;
    }
    out.insert(out.end(), b.bytes().begin() + static_cast<std::ptrdiff_t>(at), b.bytes().end());
    return out;
  };
  EXPECT_EQ(spliced(buffer), term_to_binary(t));
  std::vector<term> many;
  for (int i = 0; i < 300; ++i) {
    many.push_back(term::tuple({term(i), i % 3 == 0 ? big_bin : term::binary(bytes(50, 1))}));
  }
  encode_buffer many_buffer;
  encode(term::list(many), many_buffer, o);
  EXPECT_EQ(many_buffer.references().size(), 100u);
  EXPECT_EQ(spliced(many_buffer), term_to_binary(term::list(many)));
  // A reference keeps its binary alive on its own.
  {
    encode_buffer alone;
    encode(term::binary(bytes(4096, 9)), alone, o);
    ASSERT_EQ(alone.references().size(), 1u);
    EXPECT_EQ(alone.references()[0].bytes().size(), 4096u);
    EXPECT_EQ(alone.references()[0].bytes()[4095], 9);
  }
  buffer.clear();
  EXPECT_TRUE(buffer.references().empty());
  EXPECT_EQ(buffer.total_size(), 0u);
  // Under the threshold, and when compressing, everything is copied.
  encode(term::binary(bytes(4095, 2)), buffer, o);
  EXPECT_TRUE(buffer.references().empty());
  encode_options compressed = o;
  compressed.compression_level = 6;
  buffer.clear();
  encode(t, buffer, compressed);
  EXPECT_TRUE(buffer.references().empty());
  EXPECT_EQ(decode(buffer.bytes()).value, t);
}

TEST(Encode, WithoutVersion) {
  encode_options o;
  o.without_version = true;
  EXPECT_EQ(encoded(term::tuple({1}), o), (bytes{104, 1, 97, 1}));
  EXPECT_EQ(encoded_size(term::tuple({1}), true), 4u);
}

TEST(Encode, CompressionAsBeamDoesIt) {
  encode_options o;
  o.compression_level = 6;
  std::vector<term> as(100, "a"_atom);
  // BEAM (OTP 25 with {minor_version, 2}, and OTP 27):
  // term_to_binary(lists:duplicate(100, a), [compressed]).
  bytes beam = {131, 80,  0,  0,  1,  50, 120, 156, 203, 97, 96, 96, 72,
                41,  103, 76, 28, 69, 68, 162, 44,  0,   46, 63, 85, 255};
  EXPECT_EQ(encoded(term::list(as), o), beam);
  // BEAM: term_to_binary(lists:seq(1, 40), [{compressed, 9}]) is not compressed: not smaller.
  std::vector<term> seq;
  for (int i = 1; i <= 40; ++i) seq.emplace_back(i);
  o.compression_level = 9;
  EXPECT_EQ(encoded(term::list(seq), o), encoded(term::list(seq)));
  EXPECT_EQ(encoded(term(1), o), (bytes{131, 97, 1}));
  // Level 0 means no compression.
  o.compression_level = 0;
  EXPECT_EQ(encoded(term::list(as), o), encoded(term::list(as)));
  o.compression_level = 1;
  bytes level1 = encoded(term::list(as), o);
  EXPECT_EQ(level1[1], 80);
  EXPECT_EQ(decode(level1).value, term::list(as));
  o.without_version = true;
  bytes bare = encoded(term::list(as), o);
  EXPECT_EQ(bare[0], 80);
  decode_options d;
  d.without_version = true;
  EXPECT_EQ(decode(bare, d).value, term::list(as));
}

namespace {

// Hands out cache indexes for a fixed set of atoms, as a distribution connection would.
class fixed_cache final : public atom_cache_hook {
 public:
  explicit fixed_cache(std::vector<term> atoms) : atoms_(std::move(atoms)) {}
  int reference_for(const term& a) override {
    ++calls;
    for (std::size_t i = 0; i < atoms_.size(); ++i) {
      if (atoms_[i] == a) return static_cast<int>(i);
    }
    return -1;
  }
  const std::vector<term>& atoms() const { return atoms_; }
  int calls = 0;

 private:
  std::vector<term> atoms_;
};

}  // namespace

TEST(Encode, AtomCacheReferences) {
  fixed_cache cache({"ok"_atom, atom("net_kernel"), atom("n@h")});
  encode_options o;
  o.atom_cache = &cache;
  o.without_version = true;
  term t = term::tuple({"ok"_atom, "other"_atom, term::pid(atom("n@h"), 1, 2, 3),
                        term::map({{"ok"_atom, atom("net_kernel")}})});
  bytes b = encoded(t, o);
  EXPECT_EQ(cache.calls, 5);
  EXPECT_EQ((bytes(b.begin(), b.begin() + 4)), (bytes{104, 4, 82, 0}));
  EXPECT_EQ((bytes(b.begin() + 4, b.begin() + 11)), (bytes{119, 5, 'o', 't', 'h', 'e', 'r'}));
  EXPECT_EQ((bytes(b.begin() + 11, b.begin() + 14)), (bytes{88, 82, 2}));
  decode_options d;
  d.without_version = true;
  d.atom_cache_refs = cache.atoms();
  auto back = decode(b, d);
  ASSERT_FALSE(back.error) << back.error.message();
  EXPECT_EQ(back.value, t);
  // Without the table the references cannot be resolved.
  d.atom_cache_refs = {};
  EXPECT_EQ(decode(b, d).error, errc::bad_atom_cache_ref);
}

TEST(Encode, DeepTermsWithoutRecursion) {
  term t = term(1);
  for (int i = 0; i < 20000; ++i) t = term::tuple({t});
  bytes b = encoded(t);
  EXPECT_EQ(b.size(), 1u + 2 * 20000 + 2);
  decode_options d;
  d.limits.max_depth = 20000;
  auto back = decode(b, d);
  ASSERT_FALSE(back.error);
  // Compared through the bytes: term comparison and destruction recurse, the codec does not.
  EXPECT_EQ(term_to_binary(back.value), b);
  // Unwind the nesting iteratively so that destruction stays shallow too.
  while (t.is_tuple(1)) {
    term inner = t[0];
    t = inner;
  }
  while (back.value.is_tuple(1)) {
    term inner = back.value[0];
    back.value = inner;
  }
}

TEST(Encode, RandomTermsRoundTrip) {
  const std::uint64_t seed = 20240611;
  SCOPED_TRACE("seed " + std::to_string(seed));
  edist::etf::testing::random_term_options opts;
  opts.closures = true;
  edist::etf::testing::random_term_generator gen(seed, opts);
  encode_buffer buffer;
  for (int i = 0; i < 2000; ++i) {
    term t = gen.next();
    buffer.clear();
    encode(t, buffer);
    ASSERT_EQ(buffer.size(), encoded_size(t)) << "term " << i;
    auto back = decode(buffer.bytes());
    ASSERT_FALSE(back.error) << "term " << i << ": " << back.error.message() << " at "
                             << back.error_offset;
    ASSERT_EQ(back.value, t) << "term " << i;
    // Re-encoding the decoded term gives the same bytes (maps keep their order).
    ASSERT_EQ(term_to_binary(back.value),
              std::vector<std::uint8_t>(buffer.bytes().begin(), buffer.bytes().end()))
        << "term " << i;
    // Shared decoding gives the same value.
    auto shared = shared_bytes::copy_of(buffer.bytes());
    ASSERT_EQ(decode(shared).value, t) << "term " << i;
    encode_options z;
    z.compression_level = 1 + static_cast<int>(gen.below(9));
    ASSERT_EQ(decode(term_to_binary(t, z)).value, t) << "term " << i;
  }
}
