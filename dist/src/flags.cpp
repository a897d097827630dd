#include "edist/dist/flags.hpp"

#include <bit>

namespace edist::dist {

std::string_view flag_name(dist_flags single_bit) noexcept {
  switch (single_bit) {
    case dflag::published:
      return "PUBLISHED";
    case dflag::atom_cache:
      return "ATOM_CACHE";
    case dflag::extended_references:
      return "EXTENDED_REFERENCES";
    case dflag::dist_monitor:
      return "DIST_MONITOR";
    case dflag::fun_tags:
      return "FUN_TAGS";
    case dflag::dist_monitor_name:
      return "DIST_MONITOR_NAME";
    case dflag::hidden_atom_cache:
      return "HIDDEN_ATOM_CACHE";
    case dflag::new_fun_tags:
      return "NEW_FUN_TAGS";
    case dflag::extended_pids_ports:
      return "EXTENDED_PIDS_PORTS";
    case dflag::export_ptr_tag:
      return "EXPORT_PTR_TAG";
    case dflag::bit_binaries:
      return "BIT_BINARIES";
    case dflag::new_floats:
      return "NEW_FLOATS";
    case dflag::unicode_io:
      return "UNICODE_IO";
    case dflag::dist_hdr_atom_cache:
      return "DIST_HDR_ATOM_CACHE";
    case dflag::small_atom_tags:
      return "SMALL_ATOM_TAGS";
    case dflag::utf8_atoms:
      return "UTF8_ATOMS";
    case dflag::map_tag:
      return "MAP_TAG";
    case dflag::big_creation:
      return "BIG_CREATION";
    case dflag::send_sender:
      return "SEND_SENDER";
    case dflag::big_seqtrace_labels:
      return "BIG_SEQTRACE_LABELS";
    case dflag::no_magic:
      return "NO_MAGIC";
    case dflag::exit_payload:
      return "EXIT_PAYLOAD";
    case dflag::fragments:
      return "FRAGMENTS";
    case dflag::handshake_23:
      return "HANDSHAKE_23";
    case dflag::unlink_id:
      return "UNLINK_ID";
    case dflag::mandatory_25_digest:
      return "MANDATORY_25_DIGEST";
    case dflag::spawn:
      return "SPAWN";
    case dflag::name_me:
      return "NAME_ME";
    case dflag::v4_nc:
      return "V4_NC";
    case dflag::alias:
      return "ALIAS";
    default:
      return "UNKNOWN";
  }
}

std::string flag_names(dist_flags flags) {
  std::string out;
  while (flags != 0) {
    const dist_flags bit = flags & (~flags + 1);  // lowest set bit
    flags &= flags - 1;
    if (!out.empty()) out += ", ";
    const std::string_view name = flag_name(bit);
    if (name == "UNKNOWN") {
      out += "bit ";
      out += std::to_string(std::countr_zero(bit));
    } else {
      out += name;
    }
  }
  return out;
}

}  // namespace edist::dist
