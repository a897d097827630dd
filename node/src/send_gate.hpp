// Backpressure for senders on ordinary threads, between the connection layer and the runtime.
//
// A signal to another node reaches its connection deep inside a send (runtime -> node ->
// peer_connection::send, under the node's lock), where the sender must not wait. So the
// connection only notes, on the sending thread, that the send left it busy; the runtime's
// send entry points (process::send, runtime::send) wait at that gate once every lock is
// released. A connection notes nothing for a thread that runs its io_context: those threads
// never block (actors and coroutines use network::async_wait_not_busy instead).
#pragma once

#include <memory>

namespace edist::node::detail {

class send_gate {
 public:
  virtual ~send_gate() = default;
  // Blocks until the connection is no longer busy or has closed.
  virtual void wait_until_not_busy() = 0;
};

// By a connection, on the sending thread: the signal just queued left it busy. The gate is
// held weakly: a connection that goes away releases its waiters anyway.
void note_busy_connection(std::weak_ptr<send_gate> gate) noexcept;
// By the runtime's send entry points: forget_busy_connection() before routing (a note left
// by a signal whose sender does not wait, e.g. a link, is stale), then wait_for_busy_connection()
// with no lock held.
void forget_busy_connection() noexcept;
void wait_for_busy_connection();

}  // namespace edist::node::detail
