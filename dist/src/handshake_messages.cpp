#include "edist/dist/handshake_messages.hpp"

#include <algorithm>
#include <cstring>

#include "edist/dist/error.hpp"
#include "wire.hpp"

namespace edist::dist {
namespace {

std::string to_string(std::span<const std::uint8_t> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

bool equals(std::span<const std::uint8_t> bytes, std::string_view text) {
  return bytes.size() == text.size() &&
         (text.empty() || std::memcmp(bytes.data(), text.data(), text.size()) == 0);
}

// Reserves room for the length prefix; finish_frame() fills it in.
std::size_t start_frame(std::vector<std::uint8_t>& out, length_prefix p) {
  const std::size_t at = out.size();
  out.resize(at + static_cast<std::size_t>(p));
  return at;
}

void finish_frame(std::vector<std::uint8_t>& out, std::size_t at, length_prefix p) {
  const std::size_t body = out.size() - at - static_cast<std::size_t>(p);
  if (p == length_prefix::u16) {
    wire::put_u16(out.data() + at, static_cast<std::uint16_t>(body));
  } else {
    wire::put_u32(out.data() + at, static_cast<std::uint32_t>(body));
  }
}

}  // namespace

std::string_view status_text(handshake_status s) noexcept {
  switch (s) {
    case handshake_status::ok:
      return "ok";
    case handshake_status::ok_simultaneous:
      return "ok_simultaneous";
    case handshake_status::nok:
      return "nok";
    case handshake_status::not_allowed:
      return "not_allowed";
    case handshake_status::alive:
      return "alive";
    case handshake_status::named:
      return "named:";
    case handshake_status::true_:
      return "true";
    case handshake_status::false_:
      return "false";
  }
  return "";
}

std::error_code parse_name(std::span<const std::uint8_t> body, name_message& out) {
  wire::reader r(body);
  std::uint8_t tag = 0;
  if (!r.u8(tag)) return errc::malformed_handshake;
  if (tag == 'N') {
    std::uint64_t flags = 0;
    std::uint32_t creation = 0;
    std::uint16_t nlen = 0;
    std::span<const std::uint8_t> name;
    if (!r.u64(flags) || !r.u32(creation) || !r.u16(nlen) || !r.bytes(nlen, name)) {
      return errc::malformed_handshake;
    }
    out.version = 6;
    out.flags = flags;
    out.creation = creation;
    out.name = to_string(name);
    return {};
  }
  if (tag == 'n') {
    std::uint16_t version = 0;
    std::uint32_t flags = 0;
    if (!r.u16(version) || !r.u32(flags)) return errc::malformed_handshake;
    out.version = 5;
    out.flags = flags;
    out.creation = 0;
    out.name = to_string(r.rest());
    return {};
  }
  return errc::unexpected_message;
}

std::error_code parse_status(std::span<const std::uint8_t> body, status_message& out) {
  wire::reader r(body);
  std::uint8_t tag = 0;
  if (!r.u8(tag)) return errc::malformed_handshake;
  if (tag != 's') return errc::unexpected_message;
  const auto text = body.subspan(1);
  constexpr std::string_view named_prefix = "named:";
  if (text.size() >= named_prefix.size() && equals(text.first(named_prefix.size()), named_prefix)) {
    wire::reader nr(text.subspan(named_prefix.size()));
    std::uint16_t nlen = 0;
    std::span<const std::uint8_t> name;
    std::uint32_t creation = 0;
    if (!nr.u16(nlen) || !nr.bytes(nlen, name) || !nr.u32(creation)) {
      return errc::malformed_handshake;
    }
    out.status = handshake_status::named;
    out.assigned_name = to_string(name);
    out.assigned_creation = creation;
    return {};
  }
  for (auto s : {handshake_status::ok, handshake_status::ok_simultaneous, handshake_status::nok,
                 handshake_status::not_allowed, handshake_status::alive, handshake_status::true_,
                 handshake_status::false_}) {
    if (equals(text, status_text(s))) {
      out.status = s;
      out.assigned_name.clear();
      out.assigned_creation = 0;
      return {};
    }
  }
  return errc::malformed_handshake;
}

std::error_code parse_challenge(std::span<const std::uint8_t> body, challenge_message& out) {
  wire::reader r(body);
  std::uint8_t tag = 0;
  if (!r.u8(tag)) return errc::malformed_handshake;
  if (tag != 'N') return errc::unexpected_message;
  std::uint16_t nlen = 0;
  std::span<const std::uint8_t> name;
  if (!r.u64(out.flags) || !r.u32(out.challenge) || !r.u32(out.creation) || !r.u16(nlen) ||
      !r.bytes(nlen, name)) {
    return errc::malformed_handshake;
  }
  out.name = to_string(name);
  return {};
}

std::error_code parse_complement(std::span<const std::uint8_t> body, complement_message& out) {
  wire::reader r(body);
  std::uint8_t tag = 0;
  if (!r.u8(tag)) return errc::malformed_handshake;
  if (tag != 'c') return errc::unexpected_message;
  if (!r.u32(out.flags_high) || !r.u32(out.creation) || r.remaining() != 0) {
    return errc::malformed_handshake;
  }
  return {};
}

std::error_code parse_challenge_reply(std::span<const std::uint8_t> body,
                                      challenge_reply_message& out) {
  wire::reader r(body);
  std::uint8_t tag = 0;
  if (!r.u8(tag)) return errc::malformed_handshake;
  if (tag != 'r') return errc::unexpected_message;
  std::span<const std::uint8_t> digest;
  if (!r.u32(out.challenge) || !r.bytes(out.digest.size(), digest) || r.remaining() != 0) {
    return errc::malformed_handshake;
  }
  std::copy(digest.begin(), digest.end(), out.digest.begin());
  return {};
}

std::error_code parse_challenge_ack(std::span<const std::uint8_t> body,
                                    challenge_ack_message& out) {
  wire::reader r(body);
  std::uint8_t tag = 0;
  if (!r.u8(tag)) return errc::malformed_handshake;
  if (tag != 'a') return errc::unexpected_message;
  std::span<const std::uint8_t> digest;
  if (!r.bytes(out.digest.size(), digest) || r.remaining() != 0) {
    return errc::malformed_handshake;
  }
  std::copy(digest.begin(), digest.end(), out.digest.begin());
  return {};
}

void encode_name(const name_message& m, length_prefix p, std::vector<std::uint8_t>& out) {
  const std::size_t at = start_frame(out, p);
  if (m.version == 5) {
    wire::append_u8(out, 'n');
    wire::append_u16(out, 5);
    wire::append_u32(out, static_cast<std::uint32_t>(m.flags));
  } else {
    wire::append_u8(out, 'N');
    wire::append_u64(out, m.flags);
    wire::append_u32(out, m.creation);
    wire::append_u16(out, static_cast<std::uint16_t>(m.name.size()));
  }
  wire::append_bytes(out, m.name.data(), m.name.size());
  finish_frame(out, at, p);
}

void encode_status(const status_message& m, length_prefix p, std::vector<std::uint8_t>& out) {
  const std::size_t at = start_frame(out, p);
  wire::append_u8(out, 's');
  const std::string_view text = status_text(m.status);
  wire::append_bytes(out, text.data(), text.size());
  if (m.status == handshake_status::named) {
    wire::append_u16(out, static_cast<std::uint16_t>(m.assigned_name.size()));
    wire::append_bytes(out, m.assigned_name.data(), m.assigned_name.size());
    wire::append_u32(out, m.assigned_creation);
  }
  finish_frame(out, at, p);
}

void encode_challenge(const challenge_message& m, length_prefix p, std::vector<std::uint8_t>& out) {
  const std::size_t at = start_frame(out, p);
  wire::append_u8(out, 'N');
  wire::append_u64(out, m.flags);
  wire::append_u32(out, m.challenge);
  wire::append_u32(out, m.creation);
  wire::append_u16(out, static_cast<std::uint16_t>(m.name.size()));
  wire::append_bytes(out, m.name.data(), m.name.size());
  finish_frame(out, at, p);
}

void encode_complement(const complement_message& m, length_prefix p,
                       std::vector<std::uint8_t>& out) {
  const std::size_t at = start_frame(out, p);
  wire::append_u8(out, 'c');
  wire::append_u32(out, m.flags_high);
  wire::append_u32(out, m.creation);
  finish_frame(out, at, p);
}

void encode_challenge_reply(const challenge_reply_message& m, length_prefix p,
                            std::vector<std::uint8_t>& out) {
  const std::size_t at = start_frame(out, p);
  wire::append_u8(out, 'r');
  wire::append_u32(out, m.challenge);
  wire::append_bytes(out, m.digest.data(), m.digest.size());
  finish_frame(out, at, p);
}

void encode_challenge_ack(const challenge_ack_message& m, length_prefix p,
                          std::vector<std::uint8_t>& out) {
  const std::size_t at = start_frame(out, p);
  wire::append_u8(out, 'a');
  wire::append_bytes(out, m.digest.data(), m.digest.size());
  finish_frame(out, at, p);
}

void handshake_reader::feed(std::span<const std::uint8_t> bytes) {
  if (pos_ > 0) {  // drop consumed messages so the buffer never grows past one message
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

std::optional<std::span<const std::uint8_t>> handshake_reader::next(std::error_code& ec) {
  ec.clear();
  const std::size_t header = static_cast<std::size_t>(prefix_);
  if (buffered() < header) return std::nullopt;
  const std::uint8_t* p = buf_.data() + pos_;
  const std::size_t len =
      prefix_ == length_prefix::u16 ? std::size_t{wire::get_u16(p)} : std::size_t{wire::get_u32(p)};
  if (len > max_handshake_message_size) {
    ec = errc::handshake_message_too_large;
    return std::nullopt;
  }
  if (len == 0) {
    ec = errc::malformed_handshake;
    return std::nullopt;
  }
  if (buffered() < header + len) return std::nullopt;
  std::span<const std::uint8_t> body(buf_.data() + pos_ + header, len);
  pos_ += header + len;
  return body;
}

std::vector<std::uint8_t> handshake_reader::take_remaining() {
  std::vector<std::uint8_t> rest(buf_.begin() + static_cast<std::ptrdiff_t>(pos_), buf_.end());
  buf_.clear();
  pos_ = 0;
  return rest;
}

}  // namespace edist::dist
