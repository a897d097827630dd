#include "edist/epmd/port.hpp"

#include <charconv>
#include <cstdlib>

namespace edist::epmd {

std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  const auto* first = text.data();
  const auto* last = text.data() + text.size();
  if (text.empty() || text.size() > 5) return std::nullopt;
  const auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc{} || end != last || value == 0 || value > 0xFFFF) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

std::optional<std::uint16_t> port_from_environment() {
  const char* value = std::getenv("ERL_EPMD_PORT");
  if (!value) return std::nullopt;
  return parse_port(value);
}

std::uint16_t resolve_port(std::optional<std::uint16_t> explicit_port) {
  if (explicit_port) return *explicit_port;
  if (auto env = port_from_environment()) return *env;
  return default_port;
}

}  // namespace edist::epmd
