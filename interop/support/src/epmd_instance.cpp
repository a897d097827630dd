#include "edist/testing/epmd_instance.hpp"

#include <fcntl.h>

#include <stdexcept>
#include <thread>

#include "edist/testing/child_process.hpp"
#include "net.hpp"
#include "posix.hpp"

namespace edist::testing {

struct epmd_instance::impl {
  child_process process;
  std::uint16_t port = 0;
  std::string output;  // what epmd printed so far

  void drain() {
    if (process.stdout_fd() >= 0) detail::read_available(process.stdout_fd(), output);
  }
};

epmd_instance::epmd_instance(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
epmd_instance::epmd_instance(epmd_instance&&) noexcept = default;
epmd_instance& epmd_instance::operator=(epmd_instance&&) noexcept = default;
epmd_instance::~epmd_instance() {
  stop();
}

epmd_instance epmd_instance::start(const erlang_install& otp) {
  std::string failures;
  // The port was free when picked but another process can take it before epmd binds it:
  // then epmd exits and another port is tried.
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto p = std::make_unique<impl>();
    p->port = detail::pick_free_port();
    child_process::options o;
    o.argv = {otp.epmd().string(), "-port", std::to_string(p->port), "-address", "127.0.0.1"};
    o.capture_stdout = true;
    o.stderr_to_stdout = true;
    o.kill_grace = std::chrono::milliseconds(1000);
    p->process = child_process::spawn(o);
    ::fcntl(p->process.stdout_fd(), F_SETFL, ::fcntl(p->process.stdout_fd(), F_GETFL) | O_NONBLOCK);

    const auto deadline = detail::clock::now() + std::chrono::seconds(10);
    auto nap = std::chrono::milliseconds(1);
    while (detail::clock::now() < deadline && p->process.running()) {
      if (detail::connect_loopback(p->port)) {
        // Connected: but to ours? If ours lost the race for the port it exits promptly.
        if (p->process.wait(std::chrono::milliseconds(5)) < 0) return epmd_instance(std::move(p));
        break;
      }
      std::this_thread::sleep_for(nap);
      nap = std::min(nap * 2, std::chrono::milliseconds(20));
    }
    p->process.kill();
    p->drain();
    failures += "port " + std::to_string(p->port) + ": " + p->output + "\n";
  }
  throw std::runtime_error("edist::testing: could not start " + otp.epmd().string() + ":\n" +
                           failures);
}

std::uint16_t epmd_instance::port() const {
  return impl_ ? impl_->port : 0;
}

pid_t epmd_instance::pid() const {
  return impl_ ? impl_->process.pid() : -1;
}

std::string epmd_instance::names() const {
  if (!impl_) throw std::logic_error("epmd_instance: moved-from");
  // NAMES_REQ: u16 length 1, 'n'. The reply is u32 epmd port, then text lines.
  const std::string reply = detail::exchange(impl_->port, std::string("\x00\x01n", 3),
                                             detail::clock::now() + std::chrono::seconds(5));
  if (reply.size() < 4) throw std::runtime_error("epmd_instance: short NAMES reply");
  return reply.substr(4);
}

bool epmd_instance::wait_for_name(std::string_view name, std::chrono::milliseconds timeout) const {
  const auto deadline = detail::clock::now() + timeout;
  const std::string needle = "name " + std::string(name) + " at port ";
  for (;;) {
    const std::string text = names();
    if (text.find(needle) == 0 || text.find("\n" + needle) != std::string::npos) return true;
    if (detail::clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string epmd_instance::output() const {
  if (!impl_) return {};
  impl_->drain();
  return impl_->output;
}

void epmd_instance::stop() {
  if (!impl_) return;
  impl_->process.terminate();
  impl_->drain();
}

}  // namespace edist::testing
