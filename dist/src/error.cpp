#include "edist/dist/error.hpp"

#include <string>

namespace edist::dist {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "edist.dist"; }

  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::bad_cookie:
        return "bad cookie: the peer's digest does not match";
      case errc::not_allowed:
        return "connection not allowed";
      case errc::name_mismatch:
        return "the peer's node name is not the node that was dialled";
      case errc::name_type_mismatch:
        return "short and long node names cannot be mixed";
      case errc::invalid_node_name:
        return "invalid node name (expected name@host)";
      case errc::missing_mandatory_flags:
        return "the peer lacks mandatory distribution flags";
      case errc::simultaneous_connect_lost:
        return "simultaneous connect: the peer keeps its own connection (nok)";
      case errc::already_connected:
        return "the nodes are already connected";
      case errc::dynamic_name_unsupported:
        return "dynamic node names are not supported";
      case errc::setup_timeout:
        return "distribution handshake timed out (net_setuptime)";
      case errc::peer_closed:
        return "the peer closed the connection";
      case errc::malformed_handshake:
        return "malformed handshake message";
      case errc::unexpected_message:
        return "unexpected handshake message";
      case errc::handshake_message_too_large:
        return "handshake message too large";
      case errc::crypto_failure:
        return "cryptographic primitive failed (random challenge or MD5 digest)";
      case errc::frame_too_large:
        return "distribution packet exceeds the maximum size";
      case errc::tick_timeout:
        return "net tick timeout: nothing received from the peer for net_ticktime";
      case errc::send_queue_full:
        return "send queue full";
      case errc::connection_closed:
        return "connection closed";
      case errc::bad_packet:
        return "malformed distribution packet";
      case errc::bad_atom_cache_ref:
        return "distribution header refers to an empty atom cache slot";
      case errc::bad_control_message:
        return "malformed or unknown control message";
      case errc::missing_payload:
        return "control message without its payload";
      case errc::unexpected_payload:
        return "payload after a control message that has none";
      case errc::bad_fragment:
        return "fragment out of order or of an unknown sequence";
      case errc::reassembly_limit:
        return "fragmented messages exceed the reassembly memory bound";
    }
    return "unknown edist.dist error";
  }
};

}  // namespace

const std::error_category& dist_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace edist::dist
