// The EPMD wire protocol, sans-I/O: the values exchanged with an EPMD and the functions that
// turn them into bytes and back, for both sides (client requests and server replies).
//
// Every request on the wire is `u16 length` + body; replies carry no length prefix and end when
// their own fields say so (ALIVE2, PORT2) or when the server closes the connection (NAMES, DUMP).
// All integers are big-endian.
//
// Ownership: the encoders append to a vector the caller owns; the decoders read a span the
// caller owns and return values that own their data (nothing points into the input).
// Thread-safety: all functions are pure; they may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

namespace edist::epmd {

// Request and reply tags (the first byte of a request body or of a reply).
namespace tag {
inline constexpr std::uint8_t alive2_req = 120;        // 'x'
inline constexpr std::uint8_t alive2_resp = 121;       // 'y': u16 creation (peers of version < 6)
inline constexpr std::uint8_t alive2_x_resp = 118;     // 'v': u32 creation
inline constexpr std::uint8_t port_please2_req = 122;  // 'z'
inline constexpr std::uint8_t port2_resp = 119;        // 'w'
inline constexpr std::uint8_t names_req = 110;         // 'n'
inline constexpr std::uint8_t dump_req = 100;          // 'd'
inline constexpr std::uint8_t kill_req = 107;          // 'k'
inline constexpr std::uint8_t stop_req = 115;          // 's'
}  // namespace tag

// The node type byte. Other values can be read off the wire; they are kept as they are.
enum class node_type : std::uint8_t {
  hidden = 72,  // 'H': C nodes and nodes started with -hidden
  normal = 77,  // 'M'
};

// Limits that the real epmd applies too: a node name is at most 255 characters (an atom), which
// is at most 1020 bytes of UTF-8; the extra field is at most 1020 bytes; a request body is at most
// 3057 bytes (the real epmd's input buffer less the length prefix).
inline constexpr std::size_t max_name_chars = 255;
inline constexpr std::size_t max_name_bytes = 255 * 4;
inline constexpr std::size_t max_extra_bytes = 255 * 4;
inline constexpr std::size_t max_request_body = 3 * 255 * 4 - 3;

// A node as EPMD knows it: what ALIVE2_REQ registers and PORT2_RESP returns.
struct node_info {
  std::string name;        // the part of the node name before '@', UTF-8
  std::uint16_t port = 0;  // the node's distribution listen port
  node_type type = node_type::normal;
  std::uint8_t protocol = 0;  // 0 = TCP/IPv4 (the only value in use, also for IPv6)
  std::uint16_t highest_version = 6;
  std::uint16_t lowest_version = 6;
  std::vector<std::uint8_t> extra;  // opaque; empty for BEAM nodes

  friend bool operator==(const node_info&, const node_info&) = default;
};

// One line of a NAMES reply.
struct name_entry {
  std::string name;
  std::uint16_t port = 0;

  friend bool operator==(const name_entry&, const name_entry&) = default;
};

struct names_reply {
  std::uint32_t epmd_port = 0;  // the port the EPMD says it listens on
  std::vector<name_entry> nodes;
};

// ALIVE2_X_RESP (extended, u32 creation) or the older ALIVE2_RESP (u16 creation).
struct alive2_reply {
  std::uint8_t result = 0;  // 0 = registered
  std::uint32_t creation = 0;
  bool extended = true;

  friend bool operator==(const alive2_reply&, const alive2_reply&) = default;
};

// PORT2_RESP: `node` is set when result == 0.
struct port2_reply {
  std::uint8_t result = 0;
  std::optional<node_info> node;
};

// Checks a node name (the part before '@') before it is sent to or accepted by an EPMD:
// 1..255 characters of valid UTF-8, at most max_name_bytes bytes, and none of NUL, other
// control characters, space or '@'. The real epmd accepts control characters and spaces; we
// refuse them because a name holding "\n" or " at port " would let one client forge lines of
// the NAMES reply that other clients read. Returns errc::invalid_name or an empty code.
std::error_code validate_node_name(std::string_view name);

// True when `bytes` is valid UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF);
// `chars` receives the number of code points when it is not null.
bool is_valid_utf8(std::string_view bytes, std::size_t* chars = nullptr);

// ---- Client side: requests out, replies in. ----

// Append a complete request (length prefix included). The name-carrying encoders validate
// first and append nothing on error (errc::invalid_name, errc::extra_too_large).
std::error_code encode_alive2_request(const node_info& node, std::vector<std::uint8_t>& out);
std::error_code encode_port_please2_request(std::string_view name, std::vector<std::uint8_t>& out);
void encode_names_request(std::vector<std::uint8_t>& out);

// The outcome of decoding a reply from the bytes received so far: an error (the bytes can
// never form a valid reply: errc::malformed_reply), a value with the number of bytes it used,
// or neither (more bytes are needed).
template <typename T>
struct decoded {
  std::error_code error;
  std::optional<T> value;
  std::size_t consumed = 0;
};

decoded<alive2_reply> decode_alive2_reply(std::span<const std::uint8_t> in);
decoded<port2_reply> decode_port2_reply(std::span<const std::uint8_t> in);
// NAMES has no length: call this once the server has closed the connection, with everything it
// sent. Lines that do not read `name <NAME> at port <PORT>` make it errc::malformed_reply; a
// reply shorter than 4 bytes is errc::truncated_reply.
decoded<names_reply> decode_names_reply(std::span<const std::uint8_t> in);

// ---- Server side: requests in, replies out. ----

struct alive2_request {
  node_info node;
};
struct port_please2_request {
  std::string name;
};
struct names_request {};
struct dump_request {};
struct kill_request {};
struct stop_request {
  std::string name;
};
using request = std::variant<alive2_request, port_please2_request, names_request, dump_request,
                             kill_request, stop_request>;

// Decodes a request body (without its length prefix). Checks the framing the way the real
// epmd does: field lengths within the body, no NUL inside names, a tag it knows; the name's
// content is checked by the caller (validate_node_name), because the real epmd answers a bad
// name in ALIVE2 with an error reply rather than a closed connection. A trailing NUL after a
// PORT_PLEASE2 or STOP name is dropped (old clients send one). Errors: errc::malformed_request.
std::error_code decode_request(std::span<const std::uint8_t> body, request& out);

void encode_alive2_reply(const alive2_reply& reply, std::vector<std::uint8_t>& out);
// Appends 'w', 1 when `node` is null, else the full PORT2_RESP.
void encode_port2_reply(const node_info* node, std::vector<std::uint8_t>& out);
void encode_names_reply(std::uint32_t epmd_port, std::span<const name_entry> nodes,
                        std::vector<std::uint8_t>& out);

}  // namespace edist::epmd
