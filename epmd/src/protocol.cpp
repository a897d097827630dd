#include "edist/epmd/protocol.hpp"

#include <charconv>

#include "edist/epmd/error.hpp"

namespace edist::epmd {
namespace {

void put_u16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 24));
  out.push_back(static_cast<std::uint8_t>(v >> 16));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

void put_bytes(std::vector<std::uint8_t>& out, std::string_view s) {
  out.insert(out.end(), s.begin(), s.end());
}

std::uint16_t get_u16(std::span<const std::uint8_t> in, std::size_t at) {
  return static_cast<std::uint16_t>((in[at] << 8) | in[at + 1]);
}

std::uint32_t get_u32(std::span<const std::uint8_t> in, std::size_t at) {
  return (std::uint32_t{in[at]} << 24) | (std::uint32_t{in[at + 1]} << 16) |
         (std::uint32_t{in[at + 2]} << 8) | std::uint32_t{in[at + 3]};
}

std::string as_string(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

bool has_nul(std::span<const std::uint8_t> bytes) {
  for (auto b : bytes)
    if (b == 0) return true;
  return false;
}

template <typename T>
decoded<T> malformed() {
  return {make_error_code(errc::malformed_reply), std::nullopt, 0};
}

}  // namespace

bool is_valid_utf8(std::string_view bytes, std::size_t* chars) {
  std::size_t count = 0;
  std::size_t i = 0;
  const auto n = bytes.size();
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
  auto cont = [&](std::size_t k) { return k < n && (byte(k) & 0xC0) == 0x80; };
  while (i < n) {
    const unsigned char c = byte(i);
    if (c < 0x80) {
      i += 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      if (!cont(i + 1)) return false;
      i += 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      if (!cont(i + 1) || !cont(i + 2)) return false;
      const unsigned char c1 = byte(i + 1);
      if (c == 0xE0 && c1 < 0xA0) return false;   // overlong
      if (c == 0xED && c1 >= 0xA0) return false;  // UTF-16 surrogate
      i += 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return false;
      const unsigned char c1 = byte(i + 1);
      if (c == 0xF0 && c1 < 0x90) return false;   // overlong
      if (c == 0xF4 && c1 >= 0x90) return false;  // above U+10FFFF
      i += 4;
    } else {
      return false;
    }
    ++count;
  }
  if (chars) *chars = count;
  return true;
}

std::error_code validate_node_name(std::string_view name) {
  if (name.empty() || name.size() > max_name_bytes) return errc::invalid_name;
  for (char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F || c == ' ' || c == '@') return errc::invalid_name;
  }
  std::size_t chars = 0;
  if (!is_valid_utf8(name, &chars) || chars > max_name_chars) return errc::invalid_name;
  return {};
}

// ---- Client side. ----

std::error_code encode_alive2_request(const node_info& node, std::vector<std::uint8_t>& out) {
  if (auto ec = validate_node_name(node.name)) return ec;
  if (node.extra.size() > max_extra_bytes) return errc::extra_too_large;
  const std::size_t body = 13 + node.name.size() + node.extra.size();
  out.reserve(out.size() + 2 + body);
  put_u16(out, static_cast<std::uint16_t>(body));
  out.push_back(tag::alive2_req);
  put_u16(out, node.port);
  out.push_back(static_cast<std::uint8_t>(node.type));
  out.push_back(node.protocol);
  put_u16(out, node.highest_version);
  put_u16(out, node.lowest_version);
  put_u16(out, static_cast<std::uint16_t>(node.name.size()));
  put_bytes(out, node.name);
  put_u16(out, static_cast<std::uint16_t>(node.extra.size()));
  out.insert(out.end(), node.extra.begin(), node.extra.end());
  return {};
}

std::error_code encode_port_please2_request(std::string_view name, std::vector<std::uint8_t>& out) {
  if (auto ec = validate_node_name(name)) return ec;
  put_u16(out, static_cast<std::uint16_t>(1 + name.size()));
  out.push_back(tag::port_please2_req);
  put_bytes(out, name);
  return {};
}

void encode_names_request(std::vector<std::uint8_t>& out) {
  put_u16(out, 1);
  out.push_back(tag::names_req);
}

decoded<alive2_reply> decode_alive2_reply(std::span<const std::uint8_t> in) {
  if (in.empty()) return {};
  std::size_t size = 0;
  if (in[0] == tag::alive2_x_resp)
    size = 6;
  else if (in[0] == tag::alive2_resp)
    size = 4;
  else
    return malformed<alive2_reply>();
  if (in.size() < size) return {};
  alive2_reply r;
  r.result = in[1];
  r.extended = size == 6;
  r.creation = r.extended ? get_u32(in, 2) : get_u16(in, 2);
  return {{}, r, size};
}

decoded<port2_reply> decode_port2_reply(std::span<const std::uint8_t> in) {
  if (in.empty()) return {};
  if (in[0] != tag::port2_resp) return malformed<port2_reply>();
  if (in.size() < 2) return {};
  port2_reply r;
  r.result = in[1];
  if (r.result != 0) return {{}, std::move(r), 2};
  // 'w' 0 port(2) type proto high(2) low(2) nlen(2) name elen(2) extra
  if (in.size() < 12) return {};
  const std::size_t nlen = get_u16(in, 10);
  if (in.size() < 12 + nlen + 2) return {};
  const std::size_t elen = get_u16(in, 12 + nlen);
  const std::size_t total = 12 + nlen + 2 + elen;
  if (in.size() < total) return {};
  node_info node;
  node.port = get_u16(in, 2);
  node.type = static_cast<node_type>(in[4]);
  node.protocol = in[5];
  node.highest_version = get_u16(in, 6);
  node.lowest_version = get_u16(in, 8);
  node.name = as_string(in.subspan(12, nlen));
  const auto extra = in.subspan(14 + nlen, elen);
  node.extra.assign(extra.begin(), extra.end());
  r.node = std::move(node);
  return {{}, std::move(r), total};
}

decoded<names_reply> decode_names_reply(std::span<const std::uint8_t> in) {
  if (in.size() < 4) return {make_error_code(errc::truncated_reply), std::nullopt, 0};
  names_reply r;
  r.epmd_port = get_u32(in, 0);
  std::string_view text(reinterpret_cast<const char*>(in.data()) + 4, in.size() - 4);
  constexpr std::string_view prefix = "name ";
  constexpr std::string_view middle = " at port ";
  while (!text.empty()) {
    const auto eol = text.find('\n');
    if (eol == std::string_view::npos) return malformed<names_reply>();
    const auto line = text.substr(0, eol);
    text.remove_prefix(eol + 1);
    if (!line.starts_with(prefix)) return malformed<names_reply>();
    // The name comes first and could itself contain " at port " (the real epmd does not
    // forbid it), so the port is whatever follows the last occurrence.
    const auto at = line.rfind(middle);
    if (at == std::string_view::npos || at < prefix.size()) return malformed<names_reply>();
    const auto digits = line.substr(at + middle.size());
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty() ||
        port > 0xFFFF)
      return malformed<names_reply>();
    r.nodes.push_back({std::string(line.substr(prefix.size(), at - prefix.size())),
                       static_cast<std::uint16_t>(port)});
  }
  return {{}, std::move(r), in.size()};
}

// ---- Server side. ----

std::error_code decode_request(std::span<const std::uint8_t> body, request& out) {
  if (body.empty()) return errc::malformed_request;
  // A name at the end of the body: one trailing NUL is tolerated, any other NUL is not.
  auto trailing_name = [&](std::string& name) -> bool {
    auto rest = body.subspan(1);
    if (!rest.empty() && rest.back() == 0) rest = rest.first(rest.size() - 1);
    if (rest.empty() || has_nul(rest)) return false;
    name = as_string(rest);
    return true;
  };
  switch (body[0]) {
    case tag::alive2_req: {
      // 'x' port(2) type proto high(2) low(2) nlen(2) name elen(2) extra: at least 13 bytes
      // besides the name. Bytes after the extra field are ignored, as the real epmd does.
      if (body.size() < 13) return errc::malformed_request;
      const std::size_t nlen = get_u16(body, 9);
      if (13 + nlen > body.size()) return errc::malformed_request;
      const std::size_t elen = get_u16(body, 11 + nlen);
      if (13 + nlen + elen > body.size()) return errc::malformed_request;
      const auto name = body.subspan(11, nlen);
      if (has_nul(name)) return errc::malformed_request;
      alive2_request r;
      r.node.port = get_u16(body, 1);
      r.node.type = static_cast<node_type>(body[3]);
      r.node.protocol = body[4];
      r.node.highest_version = get_u16(body, 5);
      r.node.lowest_version = get_u16(body, 7);
      r.node.name = as_string(name);
      const auto extra = body.subspan(13 + nlen, elen);
      r.node.extra.assign(extra.begin(), extra.end());
      out = std::move(r);
      return {};
    }
    case tag::port_please2_req: {
      port_please2_request r;
      if (!trailing_name(r.name)) return errc::malformed_request;
      out = std::move(r);
      return {};
    }
    case tag::stop_req: {
      stop_request r;
      if (!trailing_name(r.name)) return errc::malformed_request;
      out = std::move(r);
      return {};
    }
    case tag::names_req:
      out = names_request{};
      return {};
    case tag::dump_req:
      out = dump_request{};
      return {};
    case tag::kill_req:
      out = kill_request{};
      return {};
    default:
      return errc::malformed_request;
  }
}

void encode_alive2_reply(const alive2_reply& reply, std::vector<std::uint8_t>& out) {
  if (reply.extended) {
    out.push_back(tag::alive2_x_resp);
    out.push_back(reply.result);
    put_u32(out, reply.creation);
  } else {
    out.push_back(tag::alive2_resp);
    out.push_back(reply.result);
    put_u16(out, static_cast<std::uint16_t>(reply.creation));
  }
}

void encode_port2_reply(const node_info* node, std::vector<std::uint8_t>& out) {
  out.push_back(tag::port2_resp);
  if (!node) {
    out.push_back(1);
    return;
  }
  out.push_back(0);
  put_u16(out, node->port);
  out.push_back(static_cast<std::uint8_t>(node->type));
  out.push_back(node->protocol);
  put_u16(out, node->highest_version);
  put_u16(out, node->lowest_version);
  put_u16(out, static_cast<std::uint16_t>(node->name.size()));
  put_bytes(out, node->name);
  put_u16(out, static_cast<std::uint16_t>(node->extra.size()));
  out.insert(out.end(), node->extra.begin(), node->extra.end());
}

void encode_names_reply(std::uint32_t epmd_port, std::span<const name_entry> nodes,
                        std::vector<std::uint8_t>& out) {
  put_u32(out, epmd_port);
  for (const auto& n : nodes) {
    put_bytes(out, "name ");
    put_bytes(out, n.name);
    put_bytes(out, " at port ");
    put_bytes(out, std::to_string(n.port));
    out.push_back('\n');
  }
}

}  // namespace edist::epmd
