// Errors of the EPMD layer: one enum, one std::error_category.
//
// Client operations fail with one of these codes, or with an OS/Asio code where the socket
// itself failed in a way not listed here. The server uses the server-side codes to say why it
// closed a client's connection (see server_options::log); they never reach the client, which
// only sees its connection closed, exactly as with the real epmd.
//
// Thread-safety: epmd_category() returns a reference to one immutable object; use it freely.
#pragma once

#include <system_error>
#include <type_traits>

namespace edist::epmd {

enum class errc {
  // Client side.
  unreachable = 1,    // no EPMD accepted a connection at the host and port (or the host is unknown)
  name_in_use,        // ALIVE2 refused: the name is registered by a live node (or was not accepted)
  name_not_found,     // PORT_PLEASE2: no node of that name is registered
  malformed_reply,    // the reply bytes do not follow the protocol
  truncated_reply,    // EPMD closed the connection before the reply was complete
  reply_too_large,    // a NAMES reply longer than client_options::max_names_reply
  timeout,            // no complete reply within client_options::timeout
  invalid_name,       // a node name that cannot be registered or looked up (see validate_node_name)
  extra_too_large,    // the `extra` field of a registration is longer than max_extra_bytes
  registration_lost,  // the EPMD closed a registration's connection (it stopped, or dropped us)
  // Server side: why a client's connection was closed or its request refused.
  request_too_large,       // a length prefix above the configured maximum (or zero)
  malformed_request,       // a request that does not parse, or bytes after the request
  unexpected_data,         // a registered connection sent bytes (the protocol allows none)
  too_many_connections,    // the connection cap was reached
  too_many_registrations,  // the registration cap was reached
  request_timeout,         // the request was not complete (or not read) within the timeout
  not_local,               // ALIVE2/DUMP/KILL/STOP from a peer that is not on this host
  command_refused,         // STOP/KILL without relaxed_command_check
};

const std::error_category& epmd_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), epmd_category()};
}

}  // namespace edist::epmd

template <>
struct std::is_error_code_enum<edist::epmd::errc> : std::true_type {};
