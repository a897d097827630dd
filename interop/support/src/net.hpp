// Loopback TCP helpers (private).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "posix.hpp"

namespace edist::testing::detail {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and released).
std::uint16_t pick_free_port();
// Connects to 127.0.0.1:port; an invalid fd when refused.
unique_fd connect_loopback(std::uint16_t port);
// Sends `request` and reads until the peer closes or the deadline.
std::string exchange(std::uint16_t port, const std::string& request, clock::time_point deadline);

}  // namespace edist::testing::detail
