#include "send_gate.hpp"

#include <utility>

namespace edist::node::detail {

namespace {
// The connection the current thread's last send left busy, if any.
thread_local std::weak_ptr<send_gate> busy_connection;
}  // namespace

void note_busy_connection(std::weak_ptr<send_gate> gate) noexcept {
  busy_connection = std::move(gate);
}

void forget_busy_connection() noexcept {
  busy_connection.reset();
}

void wait_for_busy_connection() {
  if (auto gate = std::exchange(busy_connection, {}).lock()) gate->wait_until_not_busy();
}

}  // namespace edist::node::detail
