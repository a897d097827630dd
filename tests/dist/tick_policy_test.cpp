#include "edist/dist/tick_policy.hpp"

#include <gtest/gtest.h>

namespace edist::dist {
namespace {

using namespace std::chrono_literals;
using clock = tick_policy::clock;

TEST(TickPolicy, DefaultsMatchBeam) {
  const auto t0 = clock::time_point{};
  tick_policy p({}, t0);
  EXPECT_EQ(p.interval(), 15s);
  EXPECT_EQ(p.next_check(), t0 + 15s);
}

TEST(TickPolicy, TicksWhenNothingWasWritten) {
  const auto t0 = clock::time_point{};
  tick_policy p({}, t0);
  p.on_read();
  auto v = p.check(t0 + 15s, false);
  EXPECT_TRUE(v.send_tick);
  EXPECT_FALSE(v.peer_dead);
  p.on_read();
  EXPECT_TRUE(p.check(t0 + 30s, false).send_tick);  // our own tick is not traffic
  p.on_read();
  p.on_write();  // other traffic in the next interval
  v = p.check(t0 + 45s, false);
  EXPECT_FALSE(v.send_tick);
  v = p.check(t0 + 60s, true);  // nothing written, but a write is pending
  EXPECT_FALSE(v.send_tick);
}

TEST(TickPolicy, PeerDeadAfterNetTicktimeOfSilence) {
  const auto t0 = clock::time_point{};
  tick_policy p({60s, 4, false}, t0);
  for (int i = 1; i <= 3; ++i) {
    auto v = p.check(t0 + i * 15s, false);
    EXPECT_FALSE(v.peer_dead) << i;
    EXPECT_TRUE(v.send_tick) << i;
  }
  EXPECT_TRUE(p.check(t0 + 60s, false).peer_dead);
}

TEST(TickPolicy, AnyReadResetsSilence) {
  const auto t0 = clock::time_point{};
  tick_policy p({4s, 4, false}, t0);
  for (int i = 1; i <= 20; ++i) {
    if (i % 3 == 0) p.on_read();
    EXPECT_FALSE(p.check(t0 + i * 1s, false).peer_dead) << i;
  }
  // From the last read (i = 18): silent at 19, 20, 21, dead at 22.
  EXPECT_FALSE(p.check(t0 + 21s, false).peer_dead);
  EXPECT_TRUE(p.check(t0 + 22s, false).peer_dead);
}

TEST(TickPolicy, HiddenPeerIsTickedWhenSilentEvenAfterWriting) {
  const auto t0 = clock::time_point{};
  tick_policy p({60s, 4, true}, t0);
  p.on_write();
  EXPECT_TRUE(p.check(t0 + 15s, false).send_tick);
  p.on_write();
  p.on_read();
  EXPECT_FALSE(p.check(t0 + 30s, false).send_tick);
}

TEST(TickPolicy, IntensityAndLateChecks) {
  const auto t0 = clock::time_point{};
  tick_policy p({1000ms, 10, false}, t0);
  EXPECT_EQ(p.interval(), 100ms);
  p.on_read();
  p.check(t0 + 100ms, false);
  EXPECT_EQ(p.next_check(), t0 + 200ms);
  p.check(t0 + 750ms, false);  // late: the cadence restarts from now
  EXPECT_EQ(p.next_check(), t0 + 850ms);
}

}  // namespace
}  // namespace edist::dist
