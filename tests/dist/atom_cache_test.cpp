#include "edist/dist/atom_cache.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "edist/dist/error.hpp"

namespace edist::dist {
namespace {

using etf::term;
using bytes = std::vector<std::uint8_t>;

// What the sender's header says, replayed by the receiver.
std::vector<term> roundtrip(atom_cache_out& out, atom_cache_in& in, const std::vector<term>& atoms,
                            std::vector<int>* indices = nullptr) {
  out.begin_message();
  for (const term& a : atoms) {
    const int i = out.reference_for(a);
    if (indices) indices->push_back(i);
  }
  bytes header;
  out.write_header(header);
  EXPECT_EQ(header.size(), out.header_size());
  std::size_t used = 0;
  std::vector<term> refs;
  EXPECT_FALSE(in.read_header(header, used, refs));
  EXPECT_EQ(used, header.size());
  return refs;
}

TEST(AtomCache, HeaderRoundTripAndReuse) {
  atom_cache_out out;
  atom_cache_in in;
  const std::vector<term> atoms = {term::atom("net_kernel"), term::atom("is_auth"),
                                   term::atom("$gen_call"), term::atom("net_kernel")};
  std::vector<int> idx;
  auto refs = roundtrip(out, in, atoms, &idx);
  EXPECT_EQ(idx, (std::vector<int>{0, 1, 2, 0}));
  ASSERT_EQ(refs.size(), 3u);
  EXPECT_EQ(refs[0], atoms[0]);
  EXPECT_EQ(refs[2], atoms[2]);

  // Second message: the same atoms are now cached, so the header is much shorter.
  out.begin_message();
  for (const term& a : atoms) out.reference_for(a);
  const std::size_t cached_size = out.header_size();
  EXPECT_LT(cached_size, 1 + 2 + 3 + 3 + 10);
  bytes header;
  out.write_header(header);
  std::size_t used = 0;
  std::vector<term> refs2;
  ASSERT_FALSE(in.read_header(header, used, refs2));
  EXPECT_EQ(refs2, refs);
}

TEST(AtomCache, EmptyHeader) {
  atom_cache_out out;
  out.begin_message();
  bytes header;
  out.write_header(header);
  EXPECT_EQ(header, bytes{0});
  atom_cache_in in;
  std::size_t used = 0;
  std::vector<term> refs;
  ASSERT_FALSE(in.read_header(header, used, refs));
  EXPECT_EQ(used, 1u);
  EXPECT_TRUE(refs.empty());
}

TEST(AtomCache, ManyAtomsAndTheRefLimit) {
  atom_cache_out out;
  atom_cache_in in;
  std::vector<term> atoms;
  for (int i = 0; i < 400; ++i) atoms.push_back(term::atom("atom_" + std::to_string(i)));
  std::vector<int> idx;
  auto refs = roundtrip(out, in, atoms, &idx);
  EXPECT_LE(refs.size(), max_atom_cache_refs);
  for (std::size_t i = 0; i < atoms.size(); ++i) {
    if (idx[i] >= 0) {
      ASSERT_LT(static_cast<std::size_t>(idx[i]), refs.size());
      EXPECT_EQ(refs[static_cast<std::size_t>(idx[i])], atoms[i]);
    }
  }
  // Every message replays consistently even as slots get replaced.
  for (int round = 0; round < 5; ++round) {
    std::vector<term> some(atoms.begin() + round * 50, atoms.begin() + round * 50 + 120);
    std::vector<int> ix;
    auto r = roundtrip(out, in, some, &ix);
    for (std::size_t i = 0; i < some.size(); ++i) {
      if (ix[i] >= 0) {
        EXPECT_EQ(r[static_cast<std::size_t>(ix[i])], some[i]);
      }
    }
  }
}

TEST(AtomCache, LongAtoms) {
  atom_cache_out out;
  atom_cache_in in;
  std::string name;
  for (int i = 0; i < 100; ++i) name += "\xc3\xa9";  // 100 x 'é' = 200 bytes
  name += std::string(100, 'x');                     // 300 bytes, 200 characters
  const std::vector<term> atoms = {term::atom(name), term::atom("short")};
  auto refs = roundtrip(out, in, atoms);
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].atom_name(), name);
  EXPECT_EQ(refs[1].atom_name(), "short");
}

TEST(AtomCache, HandcraftedHeader) {
  // Two refs: #0 new in segment 1 slot 5 "ab"; #1 new in segment 0 slot 7 "c".
  // Flags: ref0 = 0x8|1 = 0x9 (low nibble), ref1 = 0x8 (high nibble); then LongAtoms = 0.
  const bytes header = {2, 0x89, 0x00, 5, 2, 'a', 'b', 7, 1, 'c'};
  atom_cache_in in;
  std::size_t used = 0;
  std::vector<term> refs;
  ASSERT_FALSE(in.read_header(header, used, refs));
  EXPECT_EQ(used, header.size());
  EXPECT_EQ(refs, (std::vector<term>{term::atom("ab"), term::atom("c")}));
  EXPECT_EQ(in.slot(256 + 5), term::atom("ab"));
  EXPECT_EQ(in.slot(7), term::atom("c"));
  // Then a reference to segment 1 slot 5 without a new entry.
  const bytes again = {1, 0x01, 5};
  ASSERT_FALSE(in.read_header(again, used, refs));
  EXPECT_EQ(refs, std::vector<term>{term::atom("ab")});
}

TEST(AtomCache, MalformedHeaders) {
  atom_cache_in in;
  std::size_t used = 0;
  std::vector<term> refs;
  EXPECT_EQ(in.read_header(bytes{}, used, refs), errc::bad_packet);
  EXPECT_EQ(in.read_header(bytes{1}, used, refs), errc::bad_packet);           // no flags
  EXPECT_EQ(in.read_header(bytes{1, 0x08}, used, refs), errc::bad_packet);     // no index
  EXPECT_EQ(in.read_header(bytes{1, 0x08, 3}, used, refs), errc::bad_packet);  // no length
  EXPECT_EQ(in.read_header(bytes{1, 0x08, 3, 5, 'a'}, used, refs), errc::bad_packet);
  EXPECT_EQ(in.read_header(bytes{1, 0x08, 3, 2, 0xff, 0xfe}, used, refs), errc::bad_packet);
  EXPECT_EQ(in.read_header(bytes{1, 0x00, 9}, used, refs), errc::bad_atom_cache_ref);
  // LongAtoms with a truncated 2-byte length.
  EXPECT_EQ(in.read_header(bytes{1, 0x18, 3, 0}, used, refs), errc::bad_packet);
}

}  // namespace
}  // namespace edist::dist
