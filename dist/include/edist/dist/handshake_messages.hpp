// The messages of the distribution handshake: plain structs, a parser and an encoder for each,
// and the length-prefixed framing they travel in.
//
// Parsers take the body of one message (without its length prefix) and never read outside it;
// every malformed input yields errc::malformed_handshake or errc::unexpected_message, never a
// crash. Encoders append the body to a caller-owned vector. Names are copied into the structs,
// so parsed values do not refer to the input. All functions are pure and thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "edist/dist/flags.hpp"

namespace edist::dist {

// Plain TCP frames handshake messages with a u16 length; TLS distribution uses a u32.
enum class length_prefix : std::uint8_t { u16 = 2, u32 = 4 };

// No handshake message needs more than a few hundred bytes; this bounds what a peer can make
// us buffer before the handshake completes (with a u32 prefix, up to 4 GiB could be claimed).
inline constexpr std::size_t max_handshake_message_size = 2048;

using md5_digest = std::array<std::uint8_t, 16>;

// send_name: 'N' (version 6) or the old 'n' (version 5, 32-bit flags, no creation).
struct name_message {
  std::uint16_t version = 6;
  dist_flags flags = 0;        // only the low 32 bits travel in version 5
  std::uint32_t creation = 0;  // version 6 only
  std::string name;
};

// The status the acceptor sends ('s' + text), also used for the initiator's answer to `alive`.
enum class handshake_status {
  ok,
  ok_simultaneous,
  nok,
  not_allowed,
  alive,
  named,   // dynamic name assigned: "named:" u16 nlen, name, u32 creation
  true_,   // the initiator's answer to alive: keep this connection
  false_,  // the initiator's answer to alive: give up
};

struct status_message {
  handshake_status status = handshake_status::ok;
  std::string assigned_name;  // only for named
  std::uint32_t assigned_creation = 0;
};

// The acceptor's challenge, version 6 ('N').
struct challenge_message {
  dist_flags flags = 0;
  std::uint32_t challenge = 0;
  std::uint32_t creation = 0;
  std::string name;
};

// 'c': sent by a version 5 initiator after the challenge, with the high flag word and creation.
struct complement_message {
  std::uint32_t flags_high = 0;
  std::uint32_t creation = 0;
};

struct challenge_reply_message {
  std::uint32_t challenge = 0;
  md5_digest digest{};
};

struct challenge_ack_message {
  md5_digest digest{};
};

// Parsers. Trailing bytes after the name of 'N'/'n' messages are ignored, as the protocol
// requires; other messages must have their exact size.
std::error_code parse_name(std::span<const std::uint8_t> body, name_message& out);
std::error_code parse_status(std::span<const std::uint8_t> body, status_message& out);
std::error_code parse_challenge(std::span<const std::uint8_t> body, challenge_message& out);
std::error_code parse_complement(std::span<const std::uint8_t> body, complement_message& out);
std::error_code parse_challenge_reply(std::span<const std::uint8_t> body,
                                      challenge_reply_message& out);
std::error_code parse_challenge_ack(std::span<const std::uint8_t> body, challenge_ack_message& out);

// Encoders: append one framed message (length prefix + body) to `out`.
void encode_name(const name_message& m, length_prefix p, std::vector<std::uint8_t>& out);
void encode_status(const status_message& m, length_prefix p, std::vector<std::uint8_t>& out);
void encode_challenge(const challenge_message& m, length_prefix p, std::vector<std::uint8_t>& out);
void encode_complement(const complement_message& m, length_prefix p,
                       std::vector<std::uint8_t>& out);
void encode_challenge_reply(const challenge_reply_message& m, length_prefix p,
                            std::vector<std::uint8_t>& out);
void encode_challenge_ack(const challenge_ack_message& m, length_prefix p,
                          std::vector<std::uint8_t>& out);

// The wire text of a status ("ok_simultaneous"); "named:" for named.
std::string_view status_text(handshake_status s) noexcept;

// Accumulates handshake bytes and cuts them into messages.
//
// Owns its buffer. The span returned by next() stays valid until the next call to feed(),
// next() or take_remaining(). Not thread-safe.
class handshake_reader {
 public:
  explicit handshake_reader(length_prefix p = length_prefix::u16) : prefix_(p) {}

  void feed(std::span<const std::uint8_t> bytes);

  // The body of the next complete message, consuming it; nullopt when more bytes are needed
  // or on error (then `ec` is errc::handshake_message_too_large or malformed_handshake for an
  // empty message).
  std::optional<std::span<const std::uint8_t>> next(std::error_code& ec);

  // The bytes received after the last message taken: they belong to the connection that
  // follows the handshake.
  std::vector<std::uint8_t> take_remaining();

  std::size_t buffered() const noexcept { return buf_.size() - pos_; }

 private:
  length_prefix prefix_;
  std::vector<std::uint8_t> buf_;
  std::size_t pos_ = 0;
};

}  // namespace edist::dist
