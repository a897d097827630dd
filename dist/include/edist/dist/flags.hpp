// Distribution capability flags (the 64-bit word exchanged in the handshake), the sets that
// OTP releases require, and the set edist advertises.
//
// The values are those of OTP's dist.hrl / dist.h. All functions here are pure and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace edist::dist {

using dist_flags = std::uint64_t;

namespace dflag {
inline constexpr dist_flags published = 0x1;   // a visible node (absent: hidden)
inline constexpr dist_flags atom_cache = 0x2;  // obsolete
inline constexpr dist_flags extended_references = 0x4;
inline constexpr dist_flags dist_monitor = 0x8;
inline constexpr dist_flags fun_tags = 0x10;
inline constexpr dist_flags dist_monitor_name = 0x20;
inline constexpr dist_flags hidden_atom_cache = 0x40;  // obsolete
inline constexpr dist_flags new_fun_tags = 0x80;
inline constexpr dist_flags extended_pids_ports = 0x100;
inline constexpr dist_flags export_ptr_tag = 0x200;
inline constexpr dist_flags bit_binaries = 0x400;
inline constexpr dist_flags new_floats = 0x800;
inline constexpr dist_flags unicode_io = 0x1000;
inline constexpr dist_flags dist_hdr_atom_cache = 0x2000;
inline constexpr dist_flags small_atom_tags = 0x4000;
inline constexpr dist_flags utf8_atoms = 0x10000;
inline constexpr dist_flags map_tag = 0x20000;
inline constexpr dist_flags big_creation = 0x40000;
inline constexpr dist_flags send_sender = 0x80000;
inline constexpr dist_flags big_seqtrace_labels = 0x100000;
inline constexpr dist_flags no_magic = 0x200000;  // internal to ERTS, never on the wire
inline constexpr dist_flags exit_payload = 0x400000;
inline constexpr dist_flags fragments = 0x800000;
inline constexpr dist_flags handshake_23 = 0x1000000;
inline constexpr dist_flags unlink_id = 0x2000000;
// Stands for every flag of mandatory_otp25; OTP 27 requires it of its peers.
inline constexpr dist_flags mandatory_25_digest = 0x4000000;
inline constexpr dist_flags reserved = 0xf8000000;
inline constexpr dist_flags spawn = dist_flags{1} << 32;
inline constexpr dist_flags name_me = dist_flags{1} << 33;  // dynamic node name requested
inline constexpr dist_flags v4_nc = dist_flags{1} << 34;
inline constexpr dist_flags alias = dist_flags{1} << 35;
}  // namespace dflag

// What an OTP 25 node demands of every peer.
inline constexpr dist_flags mandatory_otp25 =
    dflag::extended_references | dflag::fun_tags | dflag::new_fun_tags |
    dflag::extended_pids_ports | dflag::export_ptr_tag | dflag::bit_binaries | dflag::new_floats |
    dflag::utf8_atoms | dflag::map_tag | dflag::big_creation | dflag::handshake_23;

// OTP 26 adds these to the mandatory set.
inline constexpr dist_flags mandatory_otp26_additions = dflag::unlink_id | dflag::v4_nc;
inline constexpr dist_flags mandatory_otp26 = mandatory_otp25 | mandatory_otp26_additions;

// What edist requires of a peer by default: the OTP 26 set, because the layers above rely on
// UNLINK_ID links and V4 node containers (every OTP 25+ node advertises both).
inline constexpr dist_flags default_required_flags = mandatory_otp26;

enum class visibility { visible, hidden };

// What edist advertises: the mandatory sets plus MANDATORY_25_DIGEST (for OTP 27), monitors
// (without DIST_MONITOR_NAME a BEAM node never sends monitor signals, so calls hang), spawn,
// aliases, fragments, the atom cache header and the other optional features the connection
// layer implements; PUBLISHED only for a visible node.
inline constexpr dist_flags advertised_flags(visibility v) noexcept {
  constexpr dist_flags common = mandatory_otp26 | dflag::mandatory_25_digest | dflag::dist_monitor |
                                dflag::dist_monitor_name | dflag::spawn | dflag::alias |
                                dflag::fragments | dflag::dist_hdr_atom_cache |
                                dflag::small_atom_tags | dflag::send_sender | dflag::exit_payload |
                                dflag::big_seqtrace_labels | dflag::unicode_io;
  return v == visibility::visible ? (common | dflag::published) : common;
}

// A peer that sends MANDATORY_25_DIGEST has every flag of mandatory_otp25 (OTP 27 may stop
// sending the individual bits), so flags are expanded before any check or negotiation.
inline constexpr dist_flags expand_flags(dist_flags peer) noexcept {
  return (peer & dflag::mandatory_25_digest) != 0 ? (peer | mandatory_otp25) : peer;
}

// The flags in use on a connection: the AND of both sides, after expansion.
inline constexpr dist_flags negotiate_flags(dist_flags ours, dist_flags peer) noexcept {
  return expand_flags(ours) & expand_flags(peer);
}

// The bits of `required` that `peer` (expanded) lacks; 0 when the peer is acceptable.
inline constexpr dist_flags missing_flags(dist_flags required, dist_flags peer) noexcept {
  return required & ~expand_flags(peer);
}

// The OTP name of a single flag bit ("UTF8_ATOMS"); "UNKNOWN" for an unassigned bit.
std::string_view flag_name(dist_flags single_bit) noexcept;

// The names of all bits in `flags`, lowest bit first, separated by ", " ("" for 0). Unassigned
// bits appear as "bit N". Used to build error text for a refused peer.
std::string flag_names(dist_flags flags);

}  // namespace edist::dist
