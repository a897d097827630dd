// Errors of the node layer: one enum, one std::error_category.
//
// Thread-safety: node_category() returns a reference to one immutable object; use it freely.
#pragma once

#include <system_error>
#include <type_traits>

namespace edist::node {

enum class errc {
  process_exited = 1,  // the receiving process has exited (its exit reason says why)
  timeout,             // a receive saw no matching message in time
  name_in_use,         // register: another live process holds the name
  already_registered,  // register: the process already has a name
  no_such_process,     // the pid is not (or no longer) a live process of this node
  not_registered,      // a local name that no process holds
  invalid_name,        // a name that is not an atom, or the atom `undefined`
  invalid_target,      // not a pid, a name, {Name, Node} or an alias reference
  not_local,           // an operation that needs a process of this node got a remote pid
  no_connection,       // the target node cannot be reached
  cookie_file,         // ~/.erlang.cookie could not be read or created, or is malformed
  invalid_option,      // a node option that cannot work (bad name, bad address)
  node_stopped,        // the node (or runtime) was shut down
  // A connection's backlog of outgoing messages the peer did not take grew beyond
  // network_options::max_send_backlog: the connection was closed (network.hpp).
  send_queue_overflow,
};

const std::error_category& node_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), node_category()};
}

}  // namespace edist::node

template <>
struct std::is_error_code_enum<edist::node::errc> : std::true_type {};
