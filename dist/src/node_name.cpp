#include "edist/dist/node_name.hpp"

#include "edist/dist/error.hpp"

namespace edist::dist {

std::optional<node_name_parts> split_node_name(std::string_view node) noexcept {
  if (node.size() > max_node_name_length) return std::nullopt;
  const auto at = node.find('@');
  if (at == std::string_view::npos || node.find('@', at + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  node_name_parts parts{node.substr(0, at), node.substr(at + 1)};
  if (parts.name.empty() || parts.host.empty()) return std::nullopt;
  return parts;
}

name_type host_name_type(std::string_view host) noexcept {
  return host.find_first_of(".:") == std::string_view::npos ? name_type::short_name
                                                            : name_type::long_name;
}

namespace {
const char* type_text(name_type t) {
  return t == name_type::short_name ? "short" : "long";
}
}  // namespace

std::error_code check_node_names(std::string_view ours, std::string_view peer,
                                 std::string* detail) {
  const auto our_parts = split_node_name(ours);
  if (!our_parts) {
    if (detail) *detail = "invalid local node name '" + std::string(ours) + "'";
    return errc::invalid_node_name;
  }
  const auto peer_parts = split_node_name(peer);
  if (!peer_parts) {
    if (detail) *detail = "invalid peer node name '" + std::string(peer) + "'";
    return errc::invalid_node_name;
  }
  const name_type our_type = host_name_type(our_parts->host);
  const name_type peer_type = host_name_type(peer_parts->host);
  if (our_type != peer_type) {
    if (detail) {
      *detail = std::string(type_text(our_type)) + " name " + std::string(ours) +
                " cannot connect to " + type_text(peer_type) + " name " + std::string(peer) +
                " (short and long names cannot be mixed)";
    }
    return errc::name_type_mismatch;
  }
  return {};
}

}  // namespace edist::dist
