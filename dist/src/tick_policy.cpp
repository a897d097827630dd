#include "edist/dist/tick_policy.hpp"

#include <algorithm>

namespace edist::dist {

tick_policy::tick_policy(tick_options opts, clock::time_point now) noexcept
    : interval_(std::chrono::duration_cast<clock::duration>(opts.net_ticktime) /
                std::max(1u, opts.intensity)),
      intensity_(std::max(1u, opts.intensity)),
      peer_hidden_(opts.peer_hidden) {
  if (interval_ <= clock::duration::zero()) interval_ = std::chrono::milliseconds(1);
  next_ = now + interval_;
}

tick_policy::verdict tick_policy::check(clock::time_point now, bool write_pending) noexcept {
  verdict v;
  // Keep the BEAM cadence of one check per interval; if the caller was late by more than an
  // interval, restart the cadence from now rather than running the missed checks, since no
  // traffic could have been observed during the stall either.
  next_ += interval_;
  if (next_ <= now) next_ = now + interval_;

  const bool read = read_since_check_;
  const bool wrote = written_since_check_;
  read_since_check_ = false;
  written_since_check_ = false;

  if (read) {
    silent_intervals_ = 0;
  } else if (++silent_intervals_ >= intensity_) {
    v.peer_dead = true;
    return v;
  }
  v.send_tick = (!wrote && !write_pending) || (peer_hidden_ && !read);
  return v;
}

}  // namespace edist::dist
