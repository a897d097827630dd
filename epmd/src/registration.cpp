#include "edist/epmd/registration.hpp"

#include <array>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/system_executor.hpp>

#include "edist/epmd/error.hpp"

namespace edist::epmd {

namespace asio = boost::asio;

registration::registration(registration&& other) noexcept
    : owned_context_(std::move(other.owned_context_)),
      socket_(std::move(other.socket_)),
      node_(std::move(other.node_)),
      creation_(other.creation_) {
  other.creation_ = 0;
}

registration& registration::operator=(registration&& other) noexcept {
  if (this != &other) {
    close();
    socket_.reset();  // before the context it may live in
    socket_ = std::move(other.socket_);
    owned_context_ = std::move(other.owned_context_);
    node_ = std::move(other.node_);
    creation_ = other.creation_;
    other.creation_ = 0;
  }
  return *this;
}

registration::~registration() {
  close();
}

void registration::close() noexcept {
  if (!socket_) return;
  boost::system::error_code ignored;
  socket_->shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_->close(ignored);
}

namespace {

// Waits for the one event a registration connection can see: EPMD closing it (or, against
// the protocol, sending something, which also means the registration can no longer be
// trusted: we close our end, and EPMD drops the name as the real one does).
struct wait_lost_op {
  std::shared_ptr<asio::ip::tcp::socket> socket;
  std::unique_ptr<std::array<char, 64>> buffer = std::make_unique<std::array<char, 64>>();
  bool started = false;

  template <typename Self>
  void operator()(Self& self, boost::system::error_code ec = {}, std::size_t = 0) {
    if (!started) {
      started = true;
      if (!socket->is_open()) {
        // Closed already: complete through the executor, never inline.
        asio::post(socket->get_executor(), std::move(self));
        return;
      }
      socket->async_read_some(asio::buffer(*buffer), std::move(self));
      return;
    }
    if (ec == asio::error::operation_aborted || !socket->is_open()) {
      self.complete(std::make_error_code(std::errc::operation_canceled));
      return;
    }
    boost::system::error_code ignored;
    socket->close(ignored);
    self.complete(make_error_code(errc::registration_lost));
  }
};

}  // namespace

void detail::start_wait_lost(registration& r,
                             asio::any_completion_handler<void(std::error_code)> handler) {
  if (!r.socket_) {
    // Nothing to wait on; no executor of our own either, so use the handler's (or the system
    // executor) to stay asynchronous.
    auto ex = asio::get_associated_executor(handler);
    asio::post(asio::system_executor(), asio::bind_executor(ex, [h = std::move(handler)]() mutable {
                 std::move(h)(std::make_error_code(std::errc::operation_canceled));
               }));
    return;
  }
  asio::async_compose<asio::any_completion_handler<void(std::error_code)>, void(std::error_code)>(
      wait_lost_op{r.socket_}, handler, *r.socket_);
}

}  // namespace edist::epmd
