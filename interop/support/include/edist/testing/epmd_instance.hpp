// A real epmd on a private port, for one test or fixture.
//
// start() picks a free port, runs `epmd -port P -address 127.0.0.1` as a child_process and
// returns once epmd accepts connections. The destructor stops it (and with it every
// registration). Move-only; not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "edist/testing/erlang_install.hpp"

namespace edist::testing {

class epmd_instance {
 public:
  // Throws std::runtime_error (with epmd's output) when no epmd could be started.
  static epmd_instance start(const erlang_install& otp);

  epmd_instance(epmd_instance&&) noexcept;
  epmd_instance& operator=(epmd_instance&&) noexcept;
  ~epmd_instance();

  std::uint16_t port() const;
  pid_t pid() const;

  // The NAMES_REQ answer text ("name N at port P\n" lines), asked over TCP.
  std::string names() const;
  // True once `name` (the part before '@') is registered, false after the timeout.
  bool wait_for_name(std::string_view name, std::chrono::milliseconds timeout) const;
  // Everything epmd printed.
  std::string output() const;
  // Stops epmd now. Idempotent.
  void stop();

 private:
  struct impl;
  explicit epmd_instance(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace edist::testing
