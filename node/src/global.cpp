#include "edist/node/global.hpp"

#include "edist/node/rpc.hpp"
#include "edist/node/service_error.hpp"

namespace edist::node::global {

using etf::term;

term client::call(const char* function, term args) {
  return rpc::call(self_, node_, term::atom("global"), term::atom(function), args, timeout_);
}

bool client::register_name(const term& name, const term& pid, term* error) {
  term r = call("register_name", term::list({name, pid}));
  if (r.is_atom("yes")) return true;
  if (error && r.is_tuple(2) && r[0].is_atom("badrpc")) *error = r;
  return false;
}

void client::unregister_name(const term& name) {
  call("unregister_name", term::list({name}));
}

std::optional<term> client::whereis_name(const term& name) {
  term r = call("whereis_name", term::list({name}));
  if (r.is_pid()) return r;
  return std::nullopt;
}

std::vector<term> client::registered_names() {
  term r = call("registered_names", term::list({}));
  if (!r.is_proper_list() || r.is_nil()) return {};
  auto e = r.list_elements();
  return {e.begin(), e.end()};
}

std::error_code client::send(const term& name, term message) {
  auto pid = whereis_name(name);
  if (!pid) return service_errc::noproc;
  return self_.send(*pid, std::move(message));
}

}  // namespace edist::node::global
