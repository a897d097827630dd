#include "edist/node/io_runner.hpp"

namespace edist::node {

std::size_t run_io(boost::asio::io_context& io, run_options options) {
  if (options.busy_wait.count() <= 0) return io.run();
  using clock = std::chrono::steady_clock;
  std::size_t handled = 0;
  auto last_work = clock::now();
  for (;;) {
    // poll() runs what is ready, asking the reactor without blocking; it returns 0 and stops
    // the io_context when no work is left.
    if (const std::size_t n = io.poll(); n != 0) {
      handled += n;
      last_work = clock::now();
      continue;
    }
    if (io.stopped()) return handled;
    if (clock::now() - last_work < options.busy_wait) continue;
    // Idle for the whole busy wait: sleep until the next handler.
    const std::size_t n = io.run_one();
    if (n == 0) return handled;
    handled += n;
    last_work = clock::now();
  }
}

}  // namespace edist::node
