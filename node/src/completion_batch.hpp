// Running the work a message causes on the thread that received it, instead of handing it to
// another thread.
//
// Without this, every step of a message's way costs a post: the network thread that decodes a
// message pushes it into an actor's mailbox, which posts the actor's turn; the actor's reply
// posts the connection's send. With two io threads each post wakes the other thread (a futex
// wake-up and a context switch, tens of microseconds on a loaded machine), so a round trip
// through an actor crossed four threads where the BEAM and erl_interface cross none.
//
// A completion_batch marks a unit of work on an io thread (a batch of packets read from one
// connection, one turn of an actor). While one is open on the thread, work that would be
// posted (a mailbox waiter's completion, a connection's send drain) is queued here instead, and
// the outermost batch runs it with asio::dispatch when it finishes, after the work that caused
// it has returned and released its locks. dispatch() runs a handler inline only when its
// executor allows it (a strand that is idle or already running on this thread, an io_context
// this thread runs); anything else is posted as before. Work queued while the batch runs is run
// by the same loop, iteratively, so chains of actors do not grow the stack; past a bound the
// rest is posted, so one busy connection cannot keep its thread to itself.
//
// Threads: everything is per thread; no locks. Nothing is deferred on a thread without an open
// batch.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <utility>

namespace edist::node::detail {

class completion_batch {
 public:
  // Opens a batch on this thread (nested batches join the outermost one).
  completion_batch() noexcept { enter(); }
  completion_batch(const completion_batch&) = delete;
  completion_batch& operator=(const completion_batch&) = delete;
  // Runs the queued work if this is the outermost batch. Call it where an exception from a
  // handler may propagate (not from a destructor).
  void finish() {
    if (std::exchange(open_, false)) leave();
  }
  // If finish() was not called (an exception is unwinding), queued work is posted, not run.
  ~completion_batch() {
    if (open_) leave_posting();
  }

  // The same without an object, for a batch that spans calls on one thread (a connection's
  // packets, from the first to the end of the read that brought them): every enter() must be
  // matched by one leave() on the same thread.
  static void enter() noexcept;
  static void leave();

  // Queues `work` when a batch is open or running on this thread and returns true; else
  // returns false and leaves `work` as it was. The batch dispatches it through `via` and on to
  // its associated executor (as asio::dispatch(via, work)), or posts it there.
  static bool defer(const boost::asio::any_io_executor& via,
                    boost::asio::any_completion_handler<void()>& work);

 private:
  static void leave_posting() noexcept;
  bool open_ = true;
};

}  // namespace edist::node::detail
