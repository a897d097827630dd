// Running the io_context of a node, with an optional busy wait before sleeping.
//
//   asio::io_context io(1);
//   std::thread t([&] { edist::node::run_io(io, {.busy_wait = std::chrono::microseconds(50)}); });
//
// A thread that runs an io_context with io.run() sleeps in the kernel as soon as it has
// nothing to do, and whatever arrives next (a message from the network, a post from another
// thread) first has to wake it: on a virtual machine that wake-up is a good part of a
// round trip's time. With a busy wait, the thread keeps polling for that long after its last
// piece of work before it goes to sleep, as the BEAM's schedulers do (`+sbwt`): a reply that
// comes back within it is handled at once. The price is CPU: a node that gets a message more
// often than the busy wait shows a busy core, and on a machine with few cores that core is
// taken from the other programs (a peer on the same machine among them), so it lowers their
// throughput. Use it where latency matters more than CPU; zero (the default) is io.run().
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>

namespace edist::node {

struct run_options {
  // How long to keep polling after the last handler ran, before sleeping in the kernel.
  std::chrono::microseconds busy_wait{0};
};

// Runs handlers of `io` on the calling thread until it is stopped or out of work, like
// io.run(), which it is when busy_wait is zero. Any number of threads may call it on the same
// io_context. Returns the number of handlers run.
std::size_t run_io(boost::asio::io_context& io, run_options options = {});

}  // namespace edist::node
