// EPMD client: register a node, look a node up, list the registered names.
//
// Each operation opens its own TCP connection to the EPMD at client_options::host (a name or
// an IPv4/IPv6 literal; every address it resolves to is tried in turn) and port (explicit,
// else $ERL_EPMD_PORT, else 4369), as the protocol wants: one request per connection.
// A registration keeps its connection; see registration.hpp.
//
// Async operations take any Asio completion token (callbacks, use_future, use_awaitable,
// deferred, ...), never complete inline, and run their internal steps on a strand of the
// client's executor, so a multi-threaded io_context is fine. The whole operation (resolve,
// connect, request, reply) is bounded by client_options::timeout (errc::timeout). Operations
// do not support per-operation cancellation; bound them with the timeout. The signatures
// carry a std::error_code, which Asio does not turn into exceptions: with use_future or
// use_awaitable the result is a std::tuple<std::error_code, T>.
//
// Errors (edist::epmd::errc): unreachable (no EPMD accepted a connection), name_in_use,
// name_not_found, malformed_reply, truncated_reply, reply_too_large, timeout, invalid_name,
// extra_too_large; an OS/Asio code for other socket failures (e.g. connection_reset).
//
// Ownership: the client only holds its executor and a copy of the options; operations copy
// what they need, so the client may be destroyed while operations are in flight. Arguments
// are taken by value. Thread-safety: a client may start operations from several threads.
// The blocking functions at the end run a private io_context on the calling thread; they may
// be called from any thread, including one that runs another io_context.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "edist/epmd/error.hpp"
#include "edist/epmd/port.hpp"
#include "edist/epmd/protocol.hpp"
#include "edist/epmd/registration.hpp"

namespace edist::epmd {

struct client_options {
  // Where EPMD runs. Registration only works with an EPMD on this host (EPMD refuses remote
  // registrations), so "localhost" is the right value for it; look-ups go to the host of the
  // node looked up.
  std::string host = "localhost";
  std::optional<std::uint16_t> port;  // else $ERL_EPMD_PORT, else 4369
  std::chrono::milliseconds timeout{5000};
  std::size_t max_names_reply = std::size_t{4} << 20;  // bytes, for names()
};

namespace detail {
struct client_ops {
  static void start_register(
      boost::asio::any_io_executor ex, client_options options, node_info node,
      boost::asio::any_completion_handler<void(std::error_code, registration)> handler);
  static void start_lookup(
      boost::asio::any_io_executor ex, client_options options, std::string name,
      boost::asio::any_completion_handler<void(std::error_code, node_info)> handler);
  static void start_names(
      boost::asio::any_io_executor ex, client_options options,
      boost::asio::any_completion_handler<void(std::error_code, names_reply)> handler);
};
}  // namespace detail

class client {
 public:
  using executor_type = boost::asio::any_io_executor;

  explicit client(executor_type ex, client_options options = {})
      : executor_(std::move(ex)), options_(std::move(options)) {}

  executor_type get_executor() const { return executor_; }
  const client_options& options() const { return options_; }
  // The port operations will use.
  std::uint16_t port() const { return resolve_port(options_.port); }

  // ALIVE2_REQ: registers `node` (name = the part before '@'; port = the node's listen port;
  // type normal or hidden; versions 6..6 unless changed). Signature:
  // void(std::error_code, registration). On success the registration holds the connection.
  template <boost::asio::completion_token_for<void(std::error_code, registration)> Token>
  auto async_register_node(node_info node, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, registration)>(
        [ex = executor_, opts = options_](auto handler, node_info n) {
          detail::client_ops::start_register(ex, opts, std::move(n), std::move(handler));
        },
        token, std::move(node));
  }

  // PORT_PLEASE2_REQ. Signature: void(std::error_code, node_info); errc::name_not_found when
  // EPMD does not know the name.
  template <boost::asio::completion_token_for<void(std::error_code, node_info)> Token>
  auto async_lookup(std::string name, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, node_info)>(
        [ex = executor_, opts = options_](auto handler, std::string n) {
          detail::client_ops::start_lookup(ex, opts, std::move(n), std::move(handler));
        },
        token, std::move(name));
  }

  // NAMES_REQ. Signature: void(std::error_code, names_reply).
  template <boost::asio::completion_token_for<void(std::error_code, names_reply)> Token>
  auto async_names(Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, names_reply)>(
        [ex = executor_, opts = options_](auto handler) {
          detail::client_ops::start_names(ex, opts, std::move(handler));
        },
        token);
  }

 private:
  executor_type executor_;
  client_options options_;
};

// Blocking forms. The error_code overloads report failures through `ec` (and return an empty
// value); the others throw std::system_error.
registration register_node(const client_options& options, node_info node, std::error_code& ec);
registration register_node(const client_options& options, node_info node);
node_info lookup(const client_options& options, std::string_view name, std::error_code& ec);
node_info lookup(const client_options& options, std::string_view name);
names_reply names(const client_options& options, std::error_code& ec);
names_reply names(const client_options& options);

}  // namespace edist::epmd
