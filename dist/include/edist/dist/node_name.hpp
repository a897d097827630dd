// Node names ("name@host") and the short/long name rule.
//
// A BEAM node runs with either short names (-sname, host without dots) or long names (-name,
// a fully qualified host or an IP address), and refuses to talk to a node of the other kind.
// These helpers apply the same rule so that a mismatch fails early with an error naming both
// nodes. All functions are pure and thread-safe; returned views point into the argument.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace edist::dist {

// The longest node name accepted (an atom holds at most 255 characters).
inline constexpr std::size_t max_node_name_length = 255;

struct node_name_parts {
  std::string_view name;  // before '@'
  std::string_view host;  // after '@'
};

// Splits "name@host": exactly one '@', both parts non-empty, at most max_node_name_length
// bytes. nullopt otherwise.
std::optional<node_name_parts> split_node_name(std::string_view node) noexcept;

enum class name_type { short_name, long_name };

// long_name for a host with a '.' (a fully qualified name or an IPv4 address) or a ':' (an
// IPv6 address), short_name otherwise.
name_type host_name_type(std::string_view host) noexcept;

// Checks that `ours` and `peer` are valid node names of the same type. Returns
// errc::invalid_node_name or errc::name_type_mismatch; when `detail` is given, it receives a
// sentence naming the offending node(s) (e.g. "short name a@h cannot connect to long name
// b@h.example.org").
std::error_code check_node_names(std::string_view ours, std::string_view peer,
                                 std::string* detail = nullptr);

}  // namespace edist::dist
