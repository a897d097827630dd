// Errors of the distribution layer: one enum, one std::error_category.
//
// Every failure of a handshake or of an established connection surfaces as one of these codes
// (or as an OS/Asio code for socket errors other than an orderly close). Where a code alone is
// not enough to act on (which flags are missing, which two names clash), the operation that
// failed also offers a human-readable detail string next to the code.
//
// Thread-safety: dist_category() returns a reference to one immutable object; use it freely.
#pragma once

#include <system_error>
#include <type_traits>

namespace edist::dist {

enum class errc {
  // Handshake: authentication and admission.
  bad_cookie = 1,             // a digest did not match our cookie (either direction)
  not_allowed,                // the peer answered `not_allowed`, or we refused the peer
  name_mismatch,              // the name in the peer's challenge is not the node we dialled
  name_type_mismatch,         // short and long node names mixed
  invalid_node_name,          // not of the form name@host (ours or the peer's)
  missing_mandatory_flags,    // the peer lacks capability flags we require
  simultaneous_connect_lost,  // the acceptor answered `nok`: its own connection to us wins
  already_connected,          // `alive` was answered `false`: the existing connection stays
  dynamic_name_unsupported,   // dynamic node names (NAME_ME / `named:`) are not supported
  // Handshake: transport and protocol.
  setup_timeout,        // a handshake step did not complete within net_setuptime
  peer_closed,          // the peer closed the connection
  malformed_handshake,  // a handshake message that does not parse
  unexpected_message,   // a well-formed handshake message that is not allowed here
  handshake_message_too_large,
  crypto_failure,  // OpenSSL could not produce a random challenge or a digest
  // Established connection.
  frame_too_large,    // a packet longer than the configured maximum
  tick_timeout,       // nothing received for net_ticktime: the peer is considered dead
  send_queue_full,    // backpressure: the bounded send queue cannot take this message
  connection_closed,  // an operation on a connection that was closed locally
  // Established connection: what the peer sent.
  bad_packet,           // an unknown packet type or a malformed distribution header
  bad_atom_cache_ref,   // a header entry referring to an empty atom-cache slot
  bad_control_message,  // not a control tuple we know, or a field of the wrong shape
  missing_payload,      // an operation that needs a payload term arrived without one
  unexpected_payload,   // a payload term after an operation that has none
  bad_fragment,         // a fragment out of order or of an unknown sequence
  reassembly_limit,     // fragmented messages beyond the per-connection memory bound
};

const std::error_category& dist_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), dist_category()};
}

}  // namespace edist::dist

template <>
struct std::is_error_code_enum<edist::dist::errc> : std::true_type {};
