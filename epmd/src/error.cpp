#include "edist/epmd/error.hpp"

#include <string>

namespace edist::epmd {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "edist.epmd"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::unreachable:
        return "no EPMD reachable";
      case errc::name_in_use:
        return "EPMD refused the registration: name already in use";
      case errc::name_not_found:
        return "node name not registered with EPMD";
      case errc::malformed_reply:
        return "malformed EPMD reply";
      case errc::truncated_reply:
        return "EPMD closed the connection before the reply was complete";
      case errc::reply_too_large:
        return "EPMD reply too large";
      case errc::timeout:
        return "EPMD did not answer in time";
      case errc::invalid_name:
        return "invalid node name";
      case errc::extra_too_large:
        return "EPMD registration extra field too large";
      case errc::registration_lost:
        return "EPMD closed the registration connection";
      case errc::request_too_large:
        return "EPMD request too large";
      case errc::malformed_request:
        return "malformed EPMD request";
      case errc::unexpected_data:
        return "unexpected data on a registration connection";
      case errc::too_many_connections:
        return "too many EPMD connections";
      case errc::too_many_registrations:
        return "too many EPMD registrations";
      case errc::request_timeout:
        return "EPMD request not completed in time";
      case errc::not_local:
        return "EPMD request allowed from the local host only";
      case errc::command_refused:
        return "EPMD command refused (no relaxed command check)";
    }
    return "unknown edist.epmd error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& epmd_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace edist::epmd
