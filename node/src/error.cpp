#include "edist/node/error.hpp"

#include <string>

namespace edist::node {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "edist.node"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::process_exited:
        return "the process has exited";
      case errc::timeout:
        return "no matching message arrived in time";
      case errc::name_in_use:
        return "the name is registered by another process";
      case errc::already_registered:
        return "the process already has a registered name";
      case errc::no_such_process:
        return "no such process";
      case errc::not_registered:
        return "no process is registered under that name";
      case errc::invalid_name:
        return "a registered name must be an atom other than undefined";
      case errc::invalid_target:
        return "a destination must be a pid, a name, {Name, Node} or an alias";
      case errc::not_local:
        return "the pid belongs to another node";
      case errc::no_connection:
        return "the node cannot be reached";
      case errc::cookie_file:
        return "the cookie file cannot be read or created";
      case errc::invalid_option:
        return "invalid node option";
      case errc::node_stopped:
        return "the node has stopped";
      case errc::send_queue_overflow:
        return "the backlog of messages to the peer exceeded its limit";
    }
    return "unknown edist.node error";
  }
};

}  // namespace

const std::error_category& node_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace edist::node
