// Runs a handshake state machine over a transport with Boost.Asio, in either role, with
// net_setuptime as the deadline of every step (as BEAM does: each message must arrive within
// net_setuptime of the previous step, 7 s by default).
//
//   co_await async_handshake_initiate(tp, cfg, "peer@host", {}, asio::use_awaitable);
//   tp.async_handshake_accept(...)
//
// Completion signature: void(std::error_code, handshake_outcome). On failure the transport has
// been closed and outcome.detail says why in words; on success it is open and positioned after
// the handshake, with outcome.leftover holding any bytes of the connection already read.
//
// Ownership: the transport must outlive the operation; config and hooks are copied. The
// operation never completes inline. Hooks run on the transport's executor, synchronously:
// they must not block.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <system_error>
#include <vector>

#include "edist/dist/handshake.hpp"
#include "edist/dist/transport.hpp"

namespace edist::dist {

inline constexpr std::chrono::milliseconds default_net_setuptime{7000};

struct handshake_hooks {
  // Acceptor: who is calling; return what to tell it (see accept_decision). Default: ok.
  std::function<accept_decision(const std::string& peer_node, dist_flags peer_flags)> on_peer;
  // Acceptor: the cookie this caller must share with us (a per-node cookie), asked once its
  // name is known, before the challenge. Default (or an empty answer): the configured cookie.
  std::function<std::string(const std::string& peer_node)> cookie_for;
  // Initiator: the acceptor says it already has a connection to us (`alive`): return true if
  // this attempt is still wanted (the old connection is gone), false to give up. Default: true.
  std::function<bool(const std::string& peer_node)> on_alive;
};

struct handshake_options {
  std::chrono::milliseconds net_setuptime = default_net_setuptime;
  handshake_hooks hooks;
};

struct handshake_outcome {
  handshake_result result;
  std::vector<std::uint8_t> leftover;
  std::string detail;  // the failure in words ("" on success)
};

using handshake_signature = void(std::error_code, handshake_outcome);

namespace detail {
void start_handshake_initiate(transport& tp, handshake_config cfg, std::string peer_node,
                              handshake_options opts,
                              boost::asio::any_completion_handler<handshake_signature> handler);
void start_handshake_accept(transport& tp, handshake_config cfg, handshake_options opts,
                            boost::asio::any_completion_handler<handshake_signature> handler);
}  // namespace detail

// Dials: we send our name first. cfg.prefix is taken from the transport.
template <typename Token>
auto async_handshake_initiate(transport& tp, handshake_config cfg, std::string peer_node,
                              handshake_options opts, Token&& token) {
  return boost::asio::async_initiate<Token, handshake_signature>(
      [&tp](auto handler, handshake_config c, std::string peer, handshake_options o) {
        detail::start_handshake_initiate(tp, std::move(c), std::move(peer), std::move(o),
                                         std::move(handler));
      },
      token, std::move(cfg), std::move(peer_node), std::move(opts));
}

// Accepts: the peer dialled us.
template <typename Token>
auto async_handshake_accept(transport& tp, handshake_config cfg, handshake_options opts,
                            Token&& token) {
  return boost::asio::async_initiate<Token, handshake_signature>(
      [&tp](auto handler, handshake_config c, handshake_options o) {
        detail::start_handshake_accept(tp, std::move(c), std::move(o), std::move(handler));
      },
      token, std::move(cfg), std::move(opts));
}

}  // namespace edist::dist
