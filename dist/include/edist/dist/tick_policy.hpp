// When to send a tick and when to give up on a silent peer, as BEAM's net_kernel does it.
//
// BEAM checks every connection once per tick interval, net_ticktime / net_tickintensity (60 s
// / 4 = 15 s by default). At each check:
//  - if nothing was received during the last `intensity` intervals, the peer is dead
//    (so a peer is dropped after between net_ticktime and net_ticktime + one interval of
//    silence);
//  - otherwise a tick (an empty packet) is sent if nothing was written during this interval
//    and no write is pending, or if the peer is hidden and nothing was received (a primitive
//    hidden node only ticks in answer to ticks).
// Sans-I/O: the caller reports traffic and calls check() at next_check(). Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

namespace edist::dist {

struct tick_options {
  std::chrono::milliseconds net_ticktime{60'000};
  unsigned intensity = 4;  // net_tickintensity: checks per net_ticktime (BEAM allows 4..1000)
  bool peer_hidden = false;
};

class tick_policy {
 public:
  using clock = std::chrono::steady_clock;

  struct verdict {
    bool send_tick = false;
    bool peer_dead = false;
  };

  tick_policy(tick_options opts, clock::time_point now) noexcept;

  // Any bytes received (a tick or a packet).
  void on_read() noexcept { read_since_check_ = true; }
  // A packet written (not the ticks this policy asked for: as in BEAM, a tick does not count
  // as traffic for the next interval, so an idle link carries one tick per interval).
  void on_write() noexcept { written_since_check_ = true; }

  clock::time_point next_check() const noexcept { return next_; }
  clock::duration interval() const noexcept { return interval_; }

  // Runs one check; call at or after next_check(). `write_pending`: bytes are queued or a
  // write is in progress (BEAM does not tick then: the queued data will serve as a sign of
  // life). If send_tick is returned, the caller sends a tick (without calling on_write()).
  verdict check(clock::time_point now, bool write_pending) noexcept;

 private:
  clock::duration interval_;
  unsigned intensity_;
  bool peer_hidden_;
  clock::time_point next_;
  unsigned silent_intervals_ = 0;
  bool read_since_check_ = false;
  bool written_since_check_ = false;
};

}  // namespace edist::dist
