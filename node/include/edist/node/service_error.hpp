// Errors of the OTP services (GenServer calls, rpc): one enum, one std::error_category.
//
// Thread-safety: service_category() returns a reference to one immutable object.
#pragma once

#include <system_error>
#include <type_traits>

namespace edist::node {

enum class service_errc {
  timeout = 1,     // no reply within the timeout (gen:call exits with `timeout`)
  noproc,          // the target process or name does not exist (DOWN with `noproc`)
  noconnection,    // the target's node is not reachable (DOWN with `noconnection`)
  target_down,     // the target ended before replying; the reason comes with the error
  invalid_target,  // not a pid, a name, {Name, Node} or {global, Name}
  not_resolved,    // {global, Name} with no resolver, or the name is not registered
  caller_exited,   // the calling process ended while waiting
  calling_self,    // a process called itself (gen:call exits with calling_self)
};

const std::error_category& service_category() noexcept;

inline std::error_code make_error_code(service_errc e) noexcept {
  return {static_cast<int>(e), service_category()};
}

}  // namespace edist::node

template <>
struct std::is_error_code_enum<edist::node::service_errc> : std::true_type {};
