#include "edist/node/service_error.hpp"

#include <string>

namespace edist::node {

namespace {

class service_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "edist.node.service"; }
  std::string message(int value) const override {
    switch (static_cast<service_errc>(value)) {
      case service_errc::timeout:
        return "no reply within the timeout";
      case service_errc::noproc:
        return "no such process or name";
      case service_errc::noconnection:
        return "the target node is not reachable";
      case service_errc::target_down:
        return "the target ended before replying";
      case service_errc::invalid_target:
        return "invalid call target";
      case service_errc::not_resolved:
        return "global name not resolved";
      case service_errc::caller_exited:
        return "the calling process ended";
      case service_errc::calling_self:
        return "a process called itself";
    }
    return "unknown service error";
  }
};

}  // namespace

const std::error_category& service_category() noexcept {
  static const service_category_impl instance;
  return instance;
}

}  // namespace edist::node
