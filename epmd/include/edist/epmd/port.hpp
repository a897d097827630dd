// Which TCP port EPMD listens on, by Erlang's convention: an explicit choice first, then the
// ERL_EPMD_PORT environment variable, then 4369.
//
// Thread-safety: these read the environment (getenv); do not call them while another thread
// modifies it (setenv/putenv).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace edist::epmd {

inline constexpr std::uint16_t default_port = 4369;

// Parses a decimal port 1..65535 (no sign, no spaces); nullopt otherwise.
std::optional<std::uint16_t> parse_port(std::string_view text);

// ERL_EPMD_PORT when it is set to a valid port, else nullopt. An invalid value is ignored, as
// if unset: the BEAM would refuse to start, but a library should not fail where it can fall
// back to the documented default.
std::optional<std::uint16_t> port_from_environment();

// explicit_port if set, else port_from_environment(), else default_port.
std::uint16_t resolve_port(std::optional<std::uint16_t> explicit_port = std::nullopt);

}  // namespace edist::epmd
