// Decoder: every tag, every error path and every limit. Byte vectors marked "BEAM" were
// produced by term_to_binary/1,2 on OTP 25 or 27.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <edist/etf/convert.hpp>
#include <edist/etf/decode.hpp>
#include <edist/etf/encode.hpp>
#include <string>
#include <vector>

using namespace edist::etf;
using namespace edist::etf::literals;

namespace {

using bytes = std::vector<std::uint8_t>;

bytes cat(std::initializer_list<bytes> parts) {
  bytes out;
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
bytes text(std::string_view s) {
  return bytes(s.begin(), s.end());
}
bytes u32be(std::uint32_t v) {
  return {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
          static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}
bytes u16be(std::uint16_t v) {
  return {static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}

term ok(const bytes& b, const decode_options& o = {}) {
  auto r = decode(b, o);
  EXPECT_FALSE(r.error) << r.error.message() << " at " << r.error_offset;
  EXPECT_EQ(r.consumed, b.size());
  return r.value;
}

std::error_code err(const bytes& b, const decode_options& o = {}) {
  auto r = decode(b, o);
  EXPECT_TRUE(r.value.is_nil()) << "a failed decode returns nil";
  return r.error;
}

// An atom in SMALL_ATOM_UTF8_EXT.
bytes a(std::string_view name) {
  return cat({{119, static_cast<std::uint8_t>(name.size())}, text(name)});
}

}  // namespace

TEST(Decode, SmallIntegersAndInteger) {
  EXPECT_EQ(ok({131, 97, 0}), term(0));
  EXPECT_EQ(ok({131, 97, 255}), term(255));
  EXPECT_EQ(ok({131, 98, 0, 0, 1, 0}), term(256));
  EXPECT_EQ(ok({131, 98, 255, 255, 255, 255}), term(-1));
  EXPECT_EQ(ok({131, 98, 128, 0, 0, 0}), term(INT32_MIN));
  EXPECT_EQ(ok({131, 98, 127, 255, 255, 255}), term(INT32_MAX));
}

TEST(Decode, BignumsConvertExactly) {
  // BEAM: 1 bsl 31, -(1 bsl 63), (1 bsl 63) - 1, (1 bsl 64) - 1, 1 bsl 64.
  EXPECT_EQ(ok({131, 110, 4, 0, 0, 0, 0, 128}), term(std::int64_t{1} << 31));
  term min = ok({131, 110, 8, 1, 0, 0, 0, 0, 0, 0, 0, 128});
  EXPECT_EQ(min.type(), kind::integer);
  EXPECT_EQ(min.to_int64(), INT64_MIN);
  term max = ok({131, 110, 8, 0, 255, 255, 255, 255, 255, 255, 255, 127});
  EXPECT_EQ(max.to_int64(), INT64_MAX);
  term umax = ok({131, 110, 8, 0, 255, 255, 255, 255, 255, 255, 255, 255});
  EXPECT_EQ(umax.type(), kind::big_integer);
  EXPECT_EQ(umax.to_uint64(), UINT64_MAX);
  EXPECT_FALSE(umax.to_int64());
  term two64 = ok({131, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  EXPECT_EQ(two64.integer_to_decimal(), "18446744073709551616");
  // -(2^63 + 1) does not fit in int64.
  term below = ok({131, 110, 8, 1, 1, 0, 0, 0, 0, 0, 0, 128});
  EXPECT_EQ(below.integer_to_decimal(), "-9223372036854775809");
  // Zero digits, leading zero digits and a zero magnitude with the sign set, as BEAM accepts.
  EXPECT_EQ(ok({131, 110, 0, 0}), term(0));
  EXPECT_EQ(ok({131, 110, 2, 0, 1, 0}), term(1));
  EXPECT_EQ(ok({131, 110, 1, 1, 0}), term(0));
  EXPECT_EQ(ok({131, 111, 0, 0, 0, 1, 0, 5}), term(5));
}

TEST(Decode, LargeBigOfThousandsOfDigits) {
  bytes magnitude(1000, 0);
  magnitude.back() = 1;  // 256^999
  term big = ok(cat({{131, 111}, u32be(1000), {1}, magnitude}));
  ASSERT_EQ(big.type(), kind::big_integer);
  EXPECT_TRUE(big.big_negative());
  EXPECT_EQ(big.big_magnitude().size(), 1000u);
  std::string decimal = big.integer_to_decimal();
  EXPECT_EQ(decimal.size(), 2407u);  // '-' and 2406 digits: 999 * log10(256) = 2405.9
  EXPECT_EQ(term::integer_from_decimal(decimal), big);
}

TEST(Decode, Floats) {
  EXPECT_EQ(ok({131, 70, 64, 9, 33, 249, 240, 27, 134, 110}), term(3.14159));
  term negative_zero = ok({131, 70, 128, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_TRUE(std::signbit(negative_zero.as_double()));
  EXPECT_NE(negative_zero, term(0.0));
  // No NaN or infinity in Erlang.
  EXPECT_EQ(err({131, 70, 127, 240, 0, 0, 0, 0, 0, 0}), errc::invalid_term);
  EXPECT_EQ(err({131, 70, 127, 248, 0, 0, 0, 0, 0, 0}), errc::invalid_term);
}

TEST(Decode, OldTextFloats) {
  auto old_float = [](std::string_view s) {
    bytes b = cat({{131, 99}, text(s)});
    b.resize(2 + 31, 0);
    return b;
  };
  // BEAM (minor_version 0): 1.5.
  EXPECT_EQ(ok(old_float("1.50000000000000000000e+00")), term(1.5));
  EXPECT_EQ(ok(old_float("-1.5e-3")), term(-0.0015));
  EXPECT_EQ(ok(old_float("+1.5")), term(1.5));
  EXPECT_EQ(ok(old_float("1.0E2")), term(100.0));
  bytes garbage_after_nul = old_float("1.5");
  garbage_after_nul[2 + 4] = 'x';
  EXPECT_EQ(ok(garbage_after_nul), term(1.5));
  // What BEAM refuses.
  for (std::string_view bad :
       {"1", "1e5", ".5", "1.", " 1.5", "1.5x", "inf", "0x10", "1.5e+", "1e400", "1.0e400", ""}) {
    EXPECT_EQ(err(old_float(bad)), errc::invalid_term) << bad;
  }
  EXPECT_EQ(err(cat({{131, 99}, text("1234567890123456789012345678901")})), errc::invalid_term);
  EXPECT_EQ(err({131, 99, '1', '.', '5'}), errc::truncated);
}

TEST(Decode, AtomsUtf8AndLatin1) {
  EXPECT_EQ(ok(cat({{131}, a("ok")})), "ok"_atom);
  EXPECT_EQ(ok({131, 119, 6, 104, 195, 169, 108, 108, 111}), atom("héllo"));  // BEAM
  EXPECT_EQ(ok({131, 118, 0, 2, 'o', 'k'}), "ok"_atom);
  EXPECT_EQ(ok({131, 119, 0}), atom(""));
  EXPECT_EQ(ok({131, 118, 0, 0}), atom(""));
  EXPECT_EQ(ok({131, 115, 0}), atom(""));
  // Latin-1 tags become UTF-8.
  EXPECT_EQ(ok({131, 100, 0, 2, 104, 233}), atom("hé"));  // BEAM, minor_version 1
  EXPECT_EQ(ok({131, 115, 3, 'a', 'b', 'c'}), "abc"_atom);
  std::string long_name(40, 'x');
  EXPECT_EQ(ok(cat({{131, 100}, u16be(40), text(long_name)})), atom(long_name));
  bytes latin1_high(255, 0xff);
  term t = ok(cat({{131, 100}, u16be(255), latin1_high}));
  EXPECT_EQ(t.atom_name().size(), 510u);
}

TEST(Decode, AtomLimitsAndEncoding) {
  std::string max(255, 'a');
  EXPECT_EQ(ok(cat({{131, 119, 255}, text(max)})), atom(max));
  std::string too_long(256, 'a');
  EXPECT_EQ(err(cat({{131, 118}, u16be(256), text(too_long)})), errc::atom_too_long);
  EXPECT_EQ(err(cat({{131, 100}, u16be(256), text(too_long)})), errc::atom_too_long);
  std::string wide;
  for (int i = 0; i < 255; ++i) wide += "\xe2\x82\xac";  // 255 x U+20AC, 765 bytes
  EXPECT_EQ(ok(cat({{131, 118}, u16be(765), text(wide)})), atom(wide));
  wide += "\xe2\x82\xac";
  EXPECT_EQ(err(cat({{131, 118}, u16be(768), text(wide)})), errc::atom_too_long);
  EXPECT_EQ(err({131, 119, 1, 0x80}), errc::invalid_atom_encoding);
  EXPECT_EQ(err({131, 118, 0, 2, 0xff, 0xff}), errc::invalid_atom_encoding);
  EXPECT_EQ(err({131, 119, 2, 0xc0, 0x80}), errc::invalid_atom_encoding);        // overlong NUL
  EXPECT_EQ(err({131, 119, 3, 0xed, 0xa0, 0x80}), errc::invalid_atom_encoding);  // surrogate
  EXPECT_EQ(err({131, 119, 5, 'a', 'b'}), errc::truncated);
  EXPECT_EQ(err({131, 118, 0}), errc::truncated);
}

TEST(Decode, HeapAtomsAreSharedWithinOneDecode) {
  std::string node_name = "a_rather_long_node@localhost";
  bytes pid = cat({{88}, a(node_name), u32be(1), u32be(2), u32be(3)});
  term list = ok(cat({{131, 108}, u32be(2), pid, pid, {106}}));
  auto& p0 = list.list_elements()[0].as_pid();
  auto& p1 = list.list_elements()[1].as_pid();
  EXPECT_EQ(p0.node.atom_name().data(), p1.node.atom_name().data());
  EXPECT_EQ(p0.node.atom_name(), node_name);
}

TEST(Decode, AtomCacheRefs) {
  std::vector<term> refs = {"ok"_atom, atom("net_kernel_with_a_long_name"), term(5)};
  decode_options o;
  o.atom_cache_refs = refs;
  EXPECT_EQ(ok({131, 82, 0}, o), "ok"_atom);
  EXPECT_EQ(ok({131, 104, 2, 82, 1, 82, 0}, o), term::tuple({refs[1], refs[0]}));
  EXPECT_EQ(err({131, 82, 3}, o), errc::bad_atom_cache_ref);  // out of range
  EXPECT_EQ(err({131, 82, 2}, o), errc::bad_atom_cache_ref);  // entry is not an atom
  EXPECT_EQ(err({131, 82, 0}), errc::bad_atom_cache_ref);     // no table at all
  EXPECT_EQ(err({131, 82}, o), errc::truncated);
  // A pid's node can be a cache ref too (the dist layer sends them that way).
  term pid = ok(cat({{131, 88, 82, 1}, u32be(7), u32be(0), u32be(1)}), o);
  EXPECT_EQ(pid.as_pid().node, refs[1]);
}

TEST(Decode, StringsAndLists) {
  EXPECT_EQ(ok({131, 107, 0, 3, 'a', 'b', 'c'}), charlist("abc"));
  EXPECT_EQ(ok({131, 107, 0, 0}), nil);
  EXPECT_EQ(ok({131, 106}), nil);
  EXPECT_EQ(ok({131, 108, 0, 0, 0, 1, 98, 0, 0, 32, 172, 106}), charlist("€"));  // BEAM
  term improper = ok({131, 108, 0, 0, 0, 2, 97, 1, 97, 2, 97, 3});               // BEAM [1,2|3]
  EXPECT_FALSE(improper.is_proper_list());
  EXPECT_EQ(improper.list_elements().size(), 2u);
  EXPECT_EQ(improper.list_tail(), term(3));
  EXPECT_EQ(ok({131, 108, 0, 0, 0, 1, 106, 106}), term::list({nil}));
  // Shapes BEAM decodes but never writes: an empty LIST_EXT is its tail, and a list tail is
  // spliced in.
  EXPECT_EQ(ok({131, 108, 0, 0, 0, 0, 106}), nil);
  EXPECT_EQ(ok(cat({{131, 108, 0, 0, 0, 0}, a("a")})), "a"_atom);
  EXPECT_EQ(ok({131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97, 2, 106}), term::list({1, 2}));
  EXPECT_EQ(ok({131, 108, 0, 0, 0, 1, 97, 1, 107, 0, 1, 2}), term::list({1, 2}));
  term spliced_improper = ok(cat({{131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97, 2}, a("t")}));
  EXPECT_EQ(spliced_improper, term::list(std::vector<term>{1, 2}, "t"_atom));
}

TEST(Decode, Tuples) {
  EXPECT_EQ(ok({131, 104, 0}), term::tuple({}));
  EXPECT_EQ(ok(cat({{131, 104, 2}, a("ok"), {97, 1}})), term::tuple({"ok"_atom, 1}));
  bytes large = cat({{131, 105}, u32be(300)});
  for (int i = 0; i < 300; ++i) large.insert(large.end(), {97, static_cast<std::uint8_t>(i)});
  term t = ok(large);
  ASSERT_EQ(t.tuple_size(), 300u);
  EXPECT_EQ(t[299], term(299 % 256));
  EXPECT_EQ(ok({131, 105, 0, 0, 0, 0}), term::tuple({}));
  term nested = ok(cat({{131, 104, 2, 104, 1, 104, 0, 108, 0, 0, 0, 1, 104, 1, 97, 7, 106}}));
  EXPECT_EQ(nested, term::tuple({term::tuple({term::tuple({})}), term::list({term::tuple({7})})}));
}

TEST(Decode, MapsKeepArrivalOrder) {
  // BEAM: #{b => 1, a => 2, 1 => x, 1.0 => y}
  bytes beam = {131, 116, 0, 0,   0, 4,   97,  1, 119, 1,  120, 70,  63, 240, 0,  0, 0,
                0,   0,   0, 119, 1, 121, 119, 1, 97,  97, 2,   119, 1,  98,  97, 1};
  term m = ok(beam);
  EXPECT_EQ(m.map_size(), 4u);
  EXPECT_EQ(*m.find("a"_atom), term(2));
  EXPECT_EQ(*m.find(term(1.0)), "y"_atom);
  EXPECT_EQ(m, term::map({{"b"_atom, 1}, {"a"_atom, 2}, {1, "x"_atom}, {1.0, "y"_atom}}));

  bytes reversed = cat({{131, 116}, u32be(2), a("b"), {97, 1}, a("a"), {97, 2}});
  term r = ok(reversed);
  EXPECT_EQ(r.map_entries()[0].first, "b"_atom);
  EXPECT_EQ(*r.find("a"_atom), term(2));
  EXPECT_EQ(term_to_binary(r), reversed);
  EXPECT_EQ(r, term::map({{"a"_atom, 2}, {"b"_atom, 1}}));
  EXPECT_EQ(ok({131, 116, 0, 0, 0, 0}), term::map({}));
}

TEST(Decode, DuplicateMapKeys) {
  EXPECT_EQ(err({131, 116, 0, 0, 0, 2, 97, 1, 97, 1, 97, 1, 97, 2}), errc::duplicate_map_key);
  // Unsorted duplicates, and keys that are equal only as Erlang terms (1 and 1.0 differ).
  auto r = decode(cat(
      {{131, 104, 2, 97, 0, 116}, u32be(3), a("b"), {97, 1}, a("a"), {97, 2}, a("b"), {97, 3}}));
  EXPECT_EQ(r.error, errc::duplicate_map_key);
  EXPECT_EQ(r.error_offset, 5u);
  EXPECT_TRUE(
      ok({131, 116, 0, 0, 0, 2, 97, 1, 97, 1, 70, 63, 240, 0, 0, 0, 0, 0, 0, 97, 1}).is_map());
}

TEST(Decode, BinariesCopyOrShare) {
  EXPECT_EQ(ok({131, 109, 0, 0, 0, 3, 'a', 'b', 'c'}), "abc"_bin);
  EXPECT_EQ(ok({131, 109, 0, 0, 0, 0}), ""_bin);
  bytes big = cat({{131, 109}, u32be(100), bytes(100, 7)});
  // From a span: a private copy.
  term copied = ok(big);
  EXPECT_FALSE(copied.binary_bytes().data() >= big.data() &&
               copied.binary_bytes().data() < big.data() + big.size());
  // From shared bytes: a slice that keeps the buffer alive.
  auto shared = shared_bytes::copy_of(big);
  auto r = decode(shared);
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.value.binary_bytes().data(), shared.bytes.data() + 6);
  EXPECT_EQ(shared.owner.use_count(), 2);
  const std::uint8_t* where = shared.bytes.data();
  shared = {};
  EXPECT_EQ(r.value.binary_bytes().size(), 100u);
  EXPECT_EQ(r.value.binary_bytes().data(), where + 6);
  EXPECT_EQ(r.value.binary_bytes()[99], 7);
  // Below the threshold: copied even from shared bytes.
  auto small = shared_bytes::copy_of(bytes{131, 109, 0, 0, 0, 3, 1, 2, 3});
  auto s = decode(small);
  EXPECT_EQ(small.owner.use_count(), 1);
  EXPECT_NE(s.value.binary_bytes().data(), small.bytes.data() + 6);
  decode_options everything_shared;
  everything_shared.limits.zero_copy_threshold = 1;
  auto s2 = decode(small, everything_shared);
  EXPECT_EQ(s2.value.binary_bytes().data(), small.bytes.data() + 6);
}

TEST(Decode, Bitstrings) {
  term b = ok({131, 77, 0, 0, 0, 1, 3, 32});  // BEAM <<1:3>>
  EXPECT_EQ(b.type(), kind::bitstring);
  EXPECT_EQ(b.bit_size(), 3u);
  // Unused bits are dropped; 8 bits make a binary.
  EXPECT_EQ(ok({131, 77, 0, 0, 0, 1, 3, 255}), term::bitstring(std::vector<std::uint8_t>{0xe0}, 3));
  EXPECT_EQ(ok({131, 77, 0, 0, 0, 1, 8, 255}).type(), kind::binary);
  EXPECT_EQ(ok({131, 77, 0, 0, 0, 0, 0}), ""_bin);
  // Refused as BEAM refuses them.
  EXPECT_EQ(err({131, 77, 0, 0, 0, 0, 8}), errc::invalid_term);
  EXPECT_EQ(err({131, 77, 0, 0, 0, 0, 3}), errc::invalid_term);
  EXPECT_EQ(err({131, 77, 0, 0, 0, 1, 0, 255}), errc::invalid_term);
  EXPECT_EQ(err({131, 77, 0, 0, 0, 1, 9, 255}), errc::invalid_term);
  EXPECT_EQ(err({131, 77, 0, 0, 0, 2, 3, 255}), errc::truncated);
}

TEST(Decode, PidsPortsReferences) {
  // BEAM: self() on nonode@nohost (OTP 25).
  bytes pid = {131, 88,  119, 13, 110, 111, 110, 111, 100, 101, 64, 110, 111, 104, 111,
               115, 116, 0,   0,  0,   9,   0,   0,   0,   0,   0,  0,   0,   0};
  term pid_term = ok(pid);
  auto& p = pid_term.as_pid();
  EXPECT_EQ(p.node, atom("nonode@nohost"));
  EXPECT_EQ(p.id, 9u);
  EXPECT_EQ(p.serial, 0u);
  auto old_pid = ok(cat({{131, 103}, a("n@h"), u32be(1), u32be(2), {3}})).as_pid();
  EXPECT_EQ(old_pid.creation, 3u);
  EXPECT_EQ(old_pid.serial, 2u);

  auto port = ok(cat({{131, 89}, a("n@h"), u32be(5), u32be(6)})).as_port();
  EXPECT_EQ(port.id, 5u);
  EXPECT_EQ(port.creation, 6u);
  auto v4 = ok(cat({{131, 120}, a("n@h"), u32be(1), u32be(1), u32be(7)})).as_port();
  EXPECT_EQ(v4.id, 0x100000001u);
  EXPECT_EQ(v4.creation, 7u);
  auto old_port = ok(cat({{131, 102}, a("n@h"), u32be(5), {2}})).as_port();
  EXPECT_EQ(old_port.creation, 2u);

  // BEAM: make_ref() (OTP 25).
  bytes ref = {131, 90, 0, 3, 119, 13, 110, 111, 110, 111, 100, 101, 64, 110, 111, 104, 111, 115,
               116, 0,  0, 0, 0,   0,  1,   25,  162, 220, 112, 0,   1,  83,  13,  222, 160};
  auto r = ok(ref).as_reference();
  EXPECT_EQ(r.word_count, 3);
  EXPECT_EQ(r.words[0], 0x119a2u);
  auto five = ok(cat({{131, 90, 0, 5},
                      a("n@h"),
                      u32be(1),
                      u32be(1),
                      u32be(2),
                      u32be(3),
                      u32be(4),
                      u32be(5)}))
                  .as_reference();
  EXPECT_EQ(five.word_count, 5);
  EXPECT_EQ(five.words[4], 5u);
  auto old_new = ok(cat({{131, 114, 0, 2}, a("n@h"), {1}, u32be(10), u32be(20)})).as_reference();
  EXPECT_EQ(old_new.creation, 1u);
  EXPECT_EQ(old_new.words[1], 20u);
  auto oldest = ok(cat({{131, 101}, a("n@h"), u32be(10), {2}})).as_reference();
  EXPECT_EQ(oldest.word_count, 1);
  EXPECT_EQ(oldest.creation, 2u);

  EXPECT_EQ(err(cat({{131, 90, 0, 0}, a("n@h"), u32be(1)})), errc::invalid_term);
  EXPECT_EQ(err(cat({{131, 90, 0, 6}, a("n@h"), u32be(1), bytes(24, 0)})), errc::invalid_term);
  EXPECT_EQ(err(cat({{131, 88, 97, 1}, u32be(1), u32be(1), u32be(1)})), errc::invalid_term);
  EXPECT_EQ(err(cat({{131, 88, 250, 1}, u32be(1), u32be(1), u32be(1)})), errc::unknown_tag);
  EXPECT_EQ(err(cat({{131, 88}, a("n@h"), u32be(1), u32be(1)})), errc::truncated);
  EXPECT_EQ(err(cat({{131, 120}, a("n@h"), u32be(1), u32be(1)})), errc::truncated);
  EXPECT_EQ(err(cat({{131, 90, 0, 2}, a("n@h"), u32be(1), u32be(1)})), errc::truncated);
}

TEST(Decode, ExportFuns) {
  term f = ok({131, 113, 119, 5, 108, 105, 115, 116, 115, 119, 3, 109, 97, 112, 97, 2});  // BEAM
  auto& fields = f.as_fun();
  EXPECT_TRUE(fields.is_export);
  EXPECT_EQ(fields.module, "lists"_atom);
  EXPECT_EQ(fields.function, "map"_atom);
  EXPECT_EQ(fields.arity, 2);
  EXPECT_EQ(f, term::export_fun("lists"_atom, "map"_atom, 2));
  EXPECT_EQ(ok(cat({{131, 113}, a("a"), a("b"), {98}, u32be(3)})),
            term::export_fun("a"_atom, "b"_atom, 3));
  EXPECT_EQ(err(cat({{131, 113}, a("a"), a("b"), {98}, u32be(256)})), errc::invalid_term);
  EXPECT_EQ(err(cat({{131, 113}, a("a"), a("b"), {98}, u32be(0xffffffff)})), errc::invalid_term);
  EXPECT_EQ(err(cat({{131, 113}, a("a"), {97, 1, 97, 1}})), errc::invalid_term);
}

TEST(Decode, ClosuresKeptWhole) {
  // BEAM (OTP 25): fun(X) -> X end, compiled in module q.
  bytes beam = {131, 112, 0,   0,   0,   67,  1,   212, 218, 214, 1,   37,  175, 13,
                220, 108, 187, 254, 59,  140, 49,  250, 83,  0,   0,   0,   0,   0,
                0,   0,   0,   119, 1,   113, 97,  0,   98,  6,   166, 214, 176, 88,
                119, 13,  110, 111, 110, 111, 100, 101, 64,  110, 111, 104, 111, 115,
                116, 0,   0,   0,   9,   0,   0,   0,   0,   0,   0,   0,   0};
  term f = ok(beam);
  auto& c = f.as_fun();
  EXPECT_FALSE(c.is_export);
  EXPECT_EQ(c.arity, 1);
  EXPECT_EQ(c.module, "q"_atom);
  EXPECT_EQ(c.old_index, term(0));
  EXPECT_EQ(c.old_uniq, term(0x6a6d6b0));
  EXPECT_TRUE(c.pid.is_pid());
  EXPECT_TRUE(c.free_vars.empty());
  EXPECT_EQ(term_to_binary(f), beam);

  // With free variables (nested terms, decoded through the stack), and a Size that BEAM
  // ignores as we do.
  bytes with_free = cat({{131, 112},
                         u32be(0),
                         {2},
                         bytes(16, 0xab),
                         u32be(3),
                         u32be(2),
                         a("m"),
                         {97, 1, 98},
                         u32be(1000000),
                         {88},
                         a("n@h"),
                         u32be(1),
                         u32be(0),
                         u32be(0),
                         {104, 1, 97, 5},
                         {107, 0, 1, 6}});
  term g = ok(with_free);
  auto& gc = g.as_fun();
  ASSERT_EQ(gc.free_vars.size(), 2u);
  EXPECT_EQ(gc.free_vars[0], term::tuple({5}));
  EXPECT_EQ(gc.free_vars[1], term::list({6}));
  EXPECT_EQ(gc.index, 3u);
  EXPECT_EQ(gc.old_uniq, term(1000000));
  bytes again = term_to_binary(g);
  bytes expected = with_free;
  expected[5] = static_cast<std::uint8_t>(with_free.size() - 2);  // Size, recomputed
  EXPECT_EQ(again, expected);
  EXPECT_EQ(ok(again), g);

  EXPECT_EQ(err(cat({{131, 112},
                     u32be(0),
                     {2},
                     bytes(16, 0),
                     u32be(3),
                     u32be(1000),
                     a("m"),
                     {97, 1, 97, 1, 88},
                     a("n@h"),
                     u32be(1),
                     u32be(0),
                     u32be(0)})),
            errc::count_exceeds_input);
  EXPECT_EQ(err(cat({{131, 112},
                     u32be(0),
                     {2},
                     bytes(16, 0),
                     u32be(3),
                     u32be(0),
                     a("m"),
                     {97, 1, 97, 1},
                     a("not_a_pid")})),
            errc::invalid_term);
  EXPECT_EQ(err(cat({{131, 112}, u32be(0), {2}, bytes(16, 0), u32be(3), u32be(0), a("m"), {106}})),
            errc::invalid_term);
  EXPECT_EQ(err(cat({{131, 112}, u32be(0), {2}, bytes(10, 0)})), errc::truncated);
}

TEST(Decode, CompressedTerms) {
  // BEAM (OTP 25, Latin-1 atom tags inside): term_to_binary(lists:duplicate(100, a),
  // [compressed]).
  bytes beam = {131, 80, 0,  0,  1,   150, 120, 156, 203, 97, 96, 96, 72, 73,
                97,  96, 76, 28, 197, 131, 7,   103, 1,   0,  48, 70, 78, 147};
  term t = ok(beam);
  ASSERT_TRUE(t.is_proper_list());
  EXPECT_EQ(t.list_elements().size(), 100u);
  EXPECT_EQ(t.list_elements()[99], "a"_atom);

  auto compress = [](const bytes& plain) {
    uLongf n = compressBound(static_cast<uLong>(plain.size()));
    bytes out(n);
    compress2(out.data(), &n, plain.data(), static_cast<uLong>(plain.size()), 6);
    out.resize(n);
    return out;
  };
  bytes inner = {97, 1};
  EXPECT_EQ(ok(cat({{131, 80}, u32be(2), compress(inner)})), term(1));
  // The declared size must match what zlib produces, and the term must fill it.
  EXPECT_EQ(err(cat({{131, 80}, u32be(3), compress(inner)})), errc::bad_compressed_data);
  EXPECT_EQ(err(cat({{131, 80}, u32be(1), compress(inner)})), errc::bad_compressed_data);
  EXPECT_EQ(err(cat({{131, 80}, u32be(3), compress({97, 1, 0})})), errc::bad_compressed_data);
  EXPECT_EQ(err(cat({{131, 80}, u32be(0)})), errc::bad_compressed_data);
  EXPECT_EQ(err(cat({{131, 80}, u32be(2), {1, 2, 3, 4, 5, 6}})), errc::bad_compressed_data);
  EXPECT_EQ(err({131, 80, 0, 0}), errc::truncated);
  // Declared sizes deflate cannot reach are refused before anything is allocated.
  EXPECT_EQ(err(cat({{131, 80}, u32be(100000), compress(inner)})), errc::bad_compressed_data);
  decode_options small;
  small.limits.max_input_size = 1000;
  bytes zeros = cat({{131, 109}, u32be(5000), bytes(5000, 0)});
  bytes packed = cat({{131, 80},
                      u32be(static_cast<std::uint32_t>(zeros.size() - 1)),
                      compress(bytes(zeros.begin() + 1, zeros.end()))});
  EXPECT_EQ(ok(packed).binary_bytes().size(), 5000u);
  auto r = decode(packed, small);
  EXPECT_EQ(r.error, errc::too_large);
  // Errors inside are reported at the compressed tag; the inner term obeys the limits too.
  bytes bad_inner = cat({{131, 80}, u32be(2), compress({250, 1})});
  auto bi = decode(bad_inner);
  EXPECT_EQ(bi.error, errc::unknown_tag);
  EXPECT_EQ(bi.error_offset, 1u);
  // COMPRESSED only exists for a whole term.
  EXPECT_EQ(err(cat({{131, 104, 1, 80}, u32be(2), compress(inner)})), errc::unknown_tag);
  // Large binaries inside point into the decompressed buffer (kept alive by the term).
  term zero_copy = ok(packed);
  EXPECT_EQ(zero_copy.binary_bytes()[4999], 0);
  // Bytes after the zlib stream are trailing bytes.
  EXPECT_EQ(err(cat({{131, 80}, u32be(2), compress(inner), {0}})), errc::trailing_bytes);
}

TEST(Decode, TrailingBytesAndWithoutVersion) {
  auto r = decode(bytes{131, 97, 1, 97, 2});
  EXPECT_EQ(r.error, errc::trailing_bytes);
  EXPECT_EQ(r.error_offset, 3u);
  decode_options trailing;
  trailing.allow_trailing = true;
  auto t = decode(bytes{131, 97, 1, 97, 2}, trailing);
  EXPECT_FALSE(t.error);
  EXPECT_EQ(t.value, term(1));
  EXPECT_EQ(t.consumed, 3u);

  decode_options bare;
  bare.without_version = true;
  bare.allow_trailing = true;
  bytes two = {104, 2, 97, 1, 97, 2, 97, 3};
  auto first = decode(two, bare);
  ASSERT_FALSE(first.error);
  EXPECT_EQ(first.consumed, 6u);
  auto second = decode(std::span(two).subspan(first.consumed), bare);
  EXPECT_EQ(second.value, term(3));
  bare.allow_trailing = false;
  EXPECT_EQ(decode(bytes{}, bare).error, errc::truncated);
  EXPECT_EQ(decode(bytes{131, 97, 1}, bare).error, errc::unknown_tag);
}

TEST(Decode, VersionTagsAndTruncation) {
  EXPECT_EQ(err({}), errc::truncated);
  EXPECT_EQ(err({131}), errc::truncated);
  EXPECT_EQ(err({130, 97, 1}), errc::bad_version);
  EXPECT_EQ(err({131, 0}), errc::unknown_tag);
  EXPECT_EQ(err({131, 117, 0, 0, 0, 0}), errc::unknown_tag);  // FUN_EXT, gone since OTP 23
  EXPECT_EQ(err({131, 68, 0}), errc::unknown_tag);            // a dist header is not a term
  EXPECT_EQ(err({131, 121, 1, 2, 3}), errc::local_ext_unsupported);
  EXPECT_EQ(err({131, 104, 1, 121}), errc::local_ext_unsupported);
  EXPECT_NE(make_error_code(errc::local_ext_unsupported).message().find("not supported"),
            std::string::npos);
}

TEST(Decode, EveryPrefixOfAValidTermIsTruncated) {
  term sample = term::tuple(
      {"ok"_atom, term::list({1, 2.5, "bin"_bin, charlist("str")}, "tail"_atom),
       term::map({{"k"_atom, term::pid(atom("n@h"), 1, 2, 3)}}),
       term::reference(atom("n@h"), 1, std::vector<std::uint32_t>{1, 2, 3}),
       term::port(atom("n@h"), 4, 5), term::export_fun("m"_atom, "f"_atom, 1),
       *term::integer_from_decimal("123456789012345678901234567890"),
       term::bitstring(std::vector<std::uint8_t>{0xf0}, 4), atom("a_long_atom_on_the_heap")});
  bytes full = term_to_binary(sample);
  ASSERT_EQ(ok(full), sample);
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto r = decode(std::span(full).first(n));
    // A count in a header may be refused before the end is reached.
    EXPECT_TRUE(r.error == errc::truncated || r.error == errc::count_exceeds_input)
        << "prefix of " << n << " bytes: " << r.error.message();
    EXPECT_LE(r.error_offset, n);
  }
}

TEST(Decode, CountsCheckedAgainstRemainingInput) {
  EXPECT_EQ(err(cat({{131, 105}, u32be(0xffffffff)})), errc::count_exceeds_input);
  EXPECT_EQ(err({131, 104, 4, 97, 1, 97}), errc::count_exceeds_input);
  EXPECT_EQ(err({131, 104, 3, 97, 1, 97}), errc::truncated);  // 3 bytes could hold 3
  EXPECT_EQ(err(cat({{131, 108}, u32be(0x7fffffff), {106}})), errc::count_exceeds_input);
  // A list of n elements needs n + 1 bytes at least (its tail).
  EXPECT_EQ(err(cat({{131, 108}, u32be(2), {97, 1}})), errc::count_exceeds_input);
  EXPECT_EQ(err(cat({{131, 116}, u32be(0x40000000), {97, 1}})), errc::count_exceeds_input);
  EXPECT_EQ(err(cat({{131, 116}, u32be(2), {97, 1, 97}})), errc::count_exceeds_input);
  EXPECT_EQ(err(cat({{131, 109}, u32be(0xffffffff), {1}})), errc::truncated);
  EXPECT_EQ(err(cat({{131, 111}, u32be(0xffffffff), {0, 1}})), errc::truncated);
  EXPECT_EQ(err({131, 107, 255, 255, 1}), errc::truncated);
}

TEST(Decode, DepthLimit) {
  auto nested = [](std::size_t depth) {
    bytes b = {131};
    for (std::size_t i = 0; i < depth; ++i) b.insert(b.end(), {104, 1});
    b.push_back(106);
    return b;
  };
  decode_options o;
  o.limits.max_depth = 10;
  EXPECT_FALSE(decode(nested(10), o).error);
  auto r = decode(nested(11), o);
  EXPECT_EQ(r.error, errc::depth_exceeded);
  EXPECT_EQ(r.error_offset, 1u + 2 * 10);
  o.limits.max_depth = 0;
  EXPECT_EQ(decode(nested(1), o).error, errc::depth_exceeded);
  EXPECT_FALSE(decode(nested(0), o).error);
  // Lists, maps and fun environments count as nesting too.
  o.limits.max_depth = 1;
  EXPECT_EQ(decode(bytes{131, 108, 0, 0, 0, 1, 108, 0, 0, 0, 1, 106, 106, 106}, o).error,
            errc::depth_exceeded);
  EXPECT_EQ(decode(bytes{131, 116, 0, 0, 0, 1, 97, 1, 116, 0, 0, 0, 1, 97, 1, 97, 1}, o).error,
            errc::depth_exceeded);
  // The default limit copes with deep terms, without recursion.
  term deep = ok(nested(4000));
  EXPECT_TRUE(deep.is_tuple(1));
  EXPECT_EQ(decode(nested(5000)).error, errc::depth_exceeded);
}

TEST(Decode, SizeAndElementLimits) {
  decode_options o;
  o.limits.max_input_size = 8;
  EXPECT_FALSE(decode(bytes{131, 109, 0, 0, 0, 2, 1, 2}, o).error);
  EXPECT_EQ(decode(bytes{131, 109, 0, 0, 0, 4, 1, 2, 3, 4}, o).error, errc::too_large);

  decode_options e;
  e.limits.max_elements = 4;  // the tuple itself and three elements
  EXPECT_FALSE(decode(bytes{131, 104, 3, 97, 1, 97, 2, 97, 3}, e).error);
  EXPECT_EQ(decode(bytes{131, 104, 4, 97, 1, 97, 2, 97, 3, 97, 4}, e).error, errc::too_large);
  EXPECT_EQ(decode(bytes{131, 107, 0, 4, 1, 2, 3, 4}, e).error, errc::too_large);
  EXPECT_EQ(decode(bytes{131, 116, 0, 0, 0, 2, 97, 1, 97, 1, 97, 2, 97, 2}, e).error,
            errc::too_large);
  e.limits.max_elements = 0;
  EXPECT_EQ(decode(bytes{131, 104, 1, 97, 1}, e).error, errc::too_large);
}

TEST(Decode, ThrowingBinaryToTerm) {
  EXPECT_EQ(binary_to_term(bytes{131, 97, 7}), term(7));
  try {
    binary_to_term(bytes{131, 104, 2, 97});
    FAIL() << "expected an exception";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), errc::count_exceeds_input);
  }
}

TEST(Decode, ErrorCategory) {
  std::error_code e = errc::duplicate_map_key;
  EXPECT_STREQ(e.category().name(), "edist.etf");
  EXPECT_EQ(e.message(), "map repeats a key");
  for (int i = 0; i <= static_cast<int>(errc::trailing_bytes); ++i) {
    EXPECT_FALSE(etf_category().message(i).empty());
    EXPECT_EQ(etf_category().message(i).find("unknown edist.etf error"), std::string::npos);
  }
  EXPECT_NE(etf_category().message(999).find("999"), std::string::npos);
}
