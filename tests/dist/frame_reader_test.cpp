#include "edist/dist/frame_reader.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "edist/dist/error.hpp"

namespace edist::dist {
namespace {

using bytes = std::vector<std::uint8_t>;

bytes packet(std::size_t n, std::uint8_t fill) {
  bytes out(4 + n, fill);
  std::uint8_t hdr[4];
  put_frame_header(hdr, static_cast<std::uint32_t>(n));
  std::memcpy(out.data(), hdr, 4);
  return out;
}

TEST(FrameReader, TicksAndPackets) {
  frame_reader r;
  bytes in = {0, 0, 0, 0};
  auto p = packet(3, 0x70);
  in.insert(in.end(), p.begin(), p.end());
  in.insert(in.end(), {0, 0, 0, 0, 0, 0});  // a tick and half a header
  r.feed(in);
  auto f = r.next();
  EXPECT_EQ(f.what, frame_reader::kind::tick);
  f = r.next();
  ASSERT_EQ(f.what, frame_reader::kind::packet);
  EXPECT_EQ(bytes(f.body.begin(), f.body.end()), bytes(3, 0x70));
  EXPECT_EQ(r.next().what, frame_reader::kind::tick);
  EXPECT_EQ(r.next().what, frame_reader::kind::need_more);
  EXPECT_EQ(r.buffered(), 2u);
}

TEST(FrameReader, PrepareCommitByteByByte) {
  frame_reader r;
  const bytes in = packet(1000, 0x42);
  std::size_t packets = 0;
  for (std::uint8_t b : in) {
    auto space = r.prepare(1);
    ASSERT_GE(space.size(), 1u);
    space[0] = b;
    r.commit(1);
    for (auto f = r.next(); f.what != frame_reader::kind::need_more; f = r.next()) {
      ASSERT_EQ(f.what, frame_reader::kind::packet);
      EXPECT_EQ(f.body.size(), 1000u);
      EXPECT_EQ(f.body[999], 0x42);
      ++packets;
    }
  }
  EXPECT_EQ(packets, 1u);
}

TEST(FrameReader, ViewsSurviveFollowingNext) {
  frame_reader r;
  bytes in = packet(2, 1);
  auto second = packet(2, 2);
  in.insert(in.end(), second.begin(), second.end());
  r.feed(in);
  auto a = r.next();
  auto b = r.next();
  ASSERT_EQ(a.what, frame_reader::kind::packet);
  ASSERT_EQ(b.what, frame_reader::kind::packet);
  EXPECT_EQ(a.body[0], 1);
  EXPECT_EQ(b.body[0], 2);
}

TEST(FrameReader, LargePacketGrowsWithTheData) {
  frame_reader r(64 << 20);
  // A header announcing 32 MiB must not make prepare() allocate 32 MiB up front.
  bytes hdr = {0x02, 0, 0, 0};
  r.feed(hdr);
  auto space = r.prepare(16 * 1024);
  EXPECT_LT(space.size(), std::size_t{1} << 20);

  const std::size_t size = 5 << 20;
  frame_reader big(64 << 20);
  const bytes in = packet(size, 0x33);
  std::size_t fed = 0;
  std::size_t got = 0;
  while (fed < in.size()) {
    auto s = big.prepare(64 * 1024);
    const std::size_t n = std::min(s.size(), in.size() - fed);
    std::memcpy(s.data(), in.data() + fed, n);
    big.commit(n);
    fed += n;
    auto f = big.next();
    if (f.what == frame_reader::kind::packet) {
      got = f.body.size();
      EXPECT_EQ(f.body[size - 1], 0x33);
    }
  }
  EXPECT_EQ(got, size);
}

TEST(FrameReader, PartialPacketCanBeTakenElsewhere) {
  frame_reader r;
  EXPECT_EQ(r.partial().size, 0u);
  bytes in = packet(3, 1);
  const bytes big = packet(100, 2);
  in.insert(in.end(), big.begin(), big.begin() + 4 + 30);  // 30 bytes of a 100-byte packet
  r.feed(in);
  EXPECT_EQ(r.partial().size, 0u);  // a complete packet comes first
  EXPECT_EQ(r.next().what, frame_reader::kind::packet);
  EXPECT_EQ(r.next().what, frame_reader::kind::need_more);
  auto p = r.partial();
  EXPECT_EQ(p.size, 100u);
  EXPECT_EQ(bytes(p.head.begin(), p.head.end()), bytes(30, 2));
  r.drop_partial_packet();
  EXPECT_EQ(r.buffered(), 0u);
  EXPECT_EQ(r.partial().size, 0u);
  // The caller read the rest elsewhere; what follows is read here again.
  r.feed(packet(2, 3));
  auto f = r.next();
  ASSERT_EQ(f.what, frame_reader::kind::packet);
  EXPECT_EQ(bytes(f.body.begin(), f.body.end()), bytes(2, 3));
  // Only a length so far: a partial packet with an empty head; an oversized one is not.
  r.feed(bytes{0, 0, 0, 50});
  EXPECT_EQ(r.partial().size, 50u);
  EXPECT_TRUE(r.partial().head.empty());
  frame_reader small(10);
  small.feed(bytes{0, 0, 0, 50, 1});
  EXPECT_EQ(small.partial().size, 0u);
}

TEST(FrameReader, OversizedPacketIsAnError) {
  frame_reader r(1024);
  r.feed(packet(1024, 0));
  EXPECT_EQ(r.next().what, frame_reader::kind::packet);
  r.feed(bytes{0, 0, 4, 1});
  auto f = r.next();
  EXPECT_EQ(f.what, frame_reader::kind::error);
  EXPECT_EQ(f.error, errc::frame_too_large);
  EXPECT_EQ(r.next().error, errc::frame_too_large);  // stays failed
}

}  // namespace
}  // namespace edist::dist
