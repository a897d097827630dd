// Signals between processes of different nodes, in the node layer's own terms.
//
// The local runtime (runtime.hpp) hands every signal whose target lives on another node to a
// remote_gateway, and takes every signal that arrived from another node through
// runtime::deliver(). The node object implements the gateway on top of distribution
// connections and translates between these structs and the control messages of the
// distribution protocol (see control.hpp); tests implement it with a recorder. The runtime
// never touches a socket.
#pragma once

#include <cstdint>
#include <edist/etf/term.hpp>
#include <string_view>

namespace edist::node {

enum class signal_kind : std::uint8_t {
  send,           // message to a pid:           to = pid,  payload = message
  reg_send,       // message to a name:          to = name atom, payload = message
  alias_send,     // message to an alias:        to = reference, payload = message
  link,           // from links to `to`
  unlink_id,      // from unlinks `to`; id identifies the operation
  unlink_id_ack,  // answer to unlink_id with the same id
  exit,           // from (linked to `to`) ended: payload = reason
  exit2,          // exit(To, Reason) sent by from: payload = reason
  monitor,        // from monitors `to` (pid or name atom) under `ref`
  demonitor,      // from drops its monitor `ref` of `to`
  monitor_exit,   // the monitored `from` (pid, or the name atom it was monitored by) ended:
                  // to = watcher, ref, payload = reason
};

std::string_view to_string(signal_kind k) noexcept;

struct remote_signal {
  signal_kind kind = signal_kind::send;
  etf::term from;  // a pid; for monitor_exit the monitored pid or name; nil for an anonymous send
  etf::term to;    // a pid, a name atom, or an alias reference
  etf::term ref;   // monitors only
  etf::term payload;     // the message or the exit reason
  std::uint64_t id = 0;  // unlink_id, unlink_id_ack
};

// Where the runtime sends signals for other nodes. Implemented by the node object.
//
// route() is called without any runtime lock held, from whichever thread caused the signal;
// it must be thread-safe and must not block on the network (queue and return). It returns
// false when the node is known to be unreachable right now (no connection and none can be
// attempted); the runtime then answers links and monitors at once with `noconnection`.
// Signals that are queued and later fail are answered by runtime::node_down().
class remote_gateway {
 public:
  virtual bool route(const etf::term& node, remote_signal signal) = 0;

 protected:
  ~remote_gateway() = default;
};

}  // namespace edist::node
