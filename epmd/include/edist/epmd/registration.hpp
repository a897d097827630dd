// A node's registration with an EPMD. EPMD keeps a name registered exactly as long as the
// connection that registered it stays open, so this object owns that connection: destroying
// it, or calling close(), unregisters the name. Keep it alive for the node's lifetime.
//
// Obtained from client::async_register_node() or the blocking register_node(). Move-only.
// The socket lives on the executor of the client that registered (for the blocking API: on a
// private io_context that this object keeps alive and that no thread runs).
// Thread-safety: not thread-safe; use one object from one thread (or strand) at a time.
// close() and the destructor must not run concurrently with a handler of async_wait_lost on
// another thread.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <system_error>

#include "edist/epmd/protocol.hpp"

namespace edist::epmd {

class registration;

namespace detail {
void start_wait_lost(registration& r,
                     boost::asio::any_completion_handler<void(std::error_code)> handler);
struct registration_access;
}  // namespace detail

class registration {
 public:
  // An empty registration: active() is false.
  registration() = default;
  registration(registration&& other) noexcept;
  registration& operator=(registration&& other) noexcept;
  registration(const registration&) = delete;
  registration& operator=(const registration&) = delete;
  ~registration();

  // True until close() (or the move-from); does not notice that EPMD went away, see
  // async_wait_lost().
  bool active() const { return socket_ && socket_->is_open(); }
  // The creation EPMD assigned: ALIVE2_X_RESP's 32-bit value, or ALIVE2_RESP's 16-bit one.
  std::uint32_t creation() const { return creation_; }
  // What was registered.
  const node_info& node() const { return node_; }

  // Closes the connection; EPMD unregisters the name. Idempotent.
  void close() noexcept;

  // Completes with errc::registration_lost when EPMD closes the connection (it stopped or
  // dropped us: the name is no longer registered), or with asio::error::operation_aborted
  // after close(). One wait at a time. Completion signature: void(std::error_code).
  // For a registration from the blocking register_node(), this needs the private
  // io_context to be run, which nothing does: use it with client::async_register_node().
  template <boost::asio::completion_token_for<void(std::error_code)> Token>
  auto async_wait_lost(Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code)>(
        [this](auto handler) { detail::start_wait_lost(*this, std::move(handler)); }, token);
  }

 private:
  friend struct detail::registration_access;
  friend void detail::start_wait_lost(registration&,
                                      boost::asio::any_completion_handler<void(std::error_code)>);

  // Declared first so that it is destroyed after the socket that lives in it.
  std::shared_ptr<boost::asio::io_context> owned_context_;
  // Shared with a pending async_wait_lost, which may outlive this object by a moment.
  std::shared_ptr<boost::asio::ip::tcp::socket> socket_;
  node_info node_;
  std::uint32_t creation_ = 0;
};

}  // namespace edist::epmd
