// The distribution handshake as two sans-I/O state machines: handshake_initiator (we dialled)
// and handshake_acceptor (the peer dialled us). They never touch a socket or a clock: the
// caller feeds received bytes in and gets back the next action.
//
//   action a = hs.start();
//   loop:
//     write:          send a.data in full, then a = hs.on_written()
//     read:           read some bytes, then a = hs.on_read(bytes)   (a = hs.on_eof() on EOF)
//     decide_status:  (acceptor) a = hs.decide(status)   -- see accept_decision
//     decide_alive:   (initiator) a = hs.answer_alive(keep)
//     done:           hs.result() holds the peer; hs.take_leftover() the bytes that followed
//     failed:         a.error (and hs.error_detail()) say why; close the connection
//
// Timeouts (net_setuptime) belong to the driver (see async_handshake.hpp). After `failed` the
// machine stays failed; close the socket, since a failure may follow a final status write.
//
// Ownership: each machine owns its buffers; the span in a write action stays valid until the
// next call on the machine. Not thread-safe; one machine per connection attempt.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "edist/dist/flags.hpp"
#include "edist/dist/handshake_messages.hpp"

namespace edist::dist {

struct handshake_config {
  std::string this_node;  // our full name, "name@host"
  std::string cookie;
  dist_flags flags = advertised_flags(visibility::hidden);  // what we advertise
  dist_flags required_flags = default_required_flags;       // what we demand of the peer
  std::uint32_t creation = 0;                 // ours, as assigned by EPMD registration
  length_prefix prefix = length_prefix::u16;  // u32 inside TLS
};

struct handshake_result {
  std::string peer_node;
  dist_flags peer_flags = 0;  // as the peer advertised them, expanded (see expand_flags)
  std::uint32_t peer_creation = 0;
  dist_flags flags = 0;  // negotiated: what both sides support; use these on the connection
  std::uint16_t peer_version = 6;  // version of the peer's name message (acceptor side)
  // Acceptor: the peer answered `true` to `alive`, so this connection replaces the existing
  // one, which the owner must now drop.
  bool replaces_existing = false;

  bool peer_is_hidden() const noexcept { return (flags & dflag::published) == 0; }
};

enum class handshake_step {
  write,          // send data, then call on_written()
  read,           // read bytes, then call on_read()
  decide_status,  // acceptor: call decide()
  decide_alive,   // initiator: call answer_alive()
  done,
  failed,
};

struct handshake_action {
  handshake_step step = handshake_step::failed;
  std::span<const std::uint8_t> data;  // for write
  std::error_code error;               // for failed
};

// The acceptor's answer after it learnt who is calling; mirrors net_kernel's accept_pending.
enum class accept_decision {
  ok,               // no other connection to this node: go on
  ok_simultaneous,  // we are dialling it too, and this incoming attempt wins: go on (the
                    // owner aborts its own attempt)
  nok,              // we are dialling it too, and our attempt wins: refuse this one
  alive,            // we have an established connection to it: ask the peer whether that one
                    // is dead (`true`: replace it) or alive (`false`: refuse this one)
  not_allowed,      // refuse (allow list, or any policy of the owner)
};

// Shared plumbing of both roles; use the derived classes.
class handshake_machine {
 public:
  handshake_action on_eof();
  const handshake_result& result() const noexcept { return result_; }
  // A sentence with specifics for the last failure (missing flags, the clashing names), or "".
  const std::string& error_detail() const noexcept { return detail_; }
  // After done: bytes received beyond the handshake, the first bytes of the connection.
  std::vector<std::uint8_t> take_leftover() { return reader_.take_remaining(); }

 protected:
  explicit handshake_machine(handshake_config cfg);
  handshake_action write_then(handshake_step after);
  handshake_action fail(std::error_code ec, std::string detail = {});
  handshake_action read_more() { return {handshake_step::read, {}, {}}; }
  handshake_action finish() { return {handshake_step::done, {}, {}}; }
  // The next complete message, or an action (read more / failed) when there is none.
  bool next_message(std::span<const std::uint8_t>& body, handshake_action& otherwise);
  std::error_code check_flags(dist_flags peer_flags, dist_flags required);

  handshake_config cfg_;
  handshake_reader reader_;
  std::vector<std::uint8_t> out_;
  handshake_result result_;
  std::string detail_;
  std::error_code failure_;
  handshake_step after_write_ = handshake_step::read;
  bool failed_ = false;
};

class handshake_initiator : public handshake_machine {
 public:
  // `peer_node` is the node we dial; its challenge must carry exactly this name.
  handshake_initiator(handshake_config cfg, std::string peer_node);

  handshake_action start();
  handshake_action on_written();
  handshake_action on_read(std::span<const std::uint8_t> bytes);
  // After decide_alive: `true` when we still want this connection (our attempt is current).
  handshake_action answer_alive(bool keep);

 private:
  enum class state {
    initial,
    send_name,
    recv_status,
    alive_pending,
    send_alive_answer,
    recv_challenge,
    send_reply,
    recv_ack,
    done,
    failed
  };
  handshake_action process();

  state state_ = state::initial;
  std::uint32_t our_challenge_ = 0;
};

class handshake_acceptor : public handshake_machine {
 public:
  explicit handshake_acceptor(handshake_config cfg);

  handshake_action start();
  handshake_action on_written();
  handshake_action on_read(std::span<const std::uint8_t> bytes);
  handshake_action decide(accept_decision d);
  // During decide_status (before decide()): check this peer's challenge with `cookie` instead
  // of the configured one, as erlang:set_cookie(Node, Cookie) makes BEAM do for that node.
  void use_cookie(std::string cookie) { cfg_.cookie = std::move(cookie); }

  // Valid from decide_status on: who is calling, and with which flags.
  const std::string& peer_node() const noexcept { return result_.peer_node; }
  dist_flags peer_flags() const noexcept { return result_.peer_flags; }

 private:
  enum class state {
    initial,
    recv_name,
    deciding,
    send_status,
    recv_alive_answer,
    send_challenge,
    recv_complement,
    recv_reply,
    send_ack,
    done,
    failed
  };
  handshake_action process();
  handshake_action send_challenge(handshake_status status, bool with_status);

  state state_ = state::initial;
  std::uint32_t our_challenge_ = 0;
};

}  // namespace edist::dist
