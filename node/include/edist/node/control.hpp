// Translation between the distribution protocol's control messages (tuples with an operation
// code, plus an optional payload term) and the node layer's remote_signal.
//
// Outgoing: the form depends on the flags negotiated with the peer (EXIT_PAYLOAD selects the
// PAYLOAD_* forms, SEND_SENDER selects SEND_SENDER for pid sends, ALIAS is needed for
// alias sends). Incoming: every form OTP 25-27 sends for these signals is accepted, including
// the trace-token (_TT) variants, whose token is ignored. Anything malformed yields nothing;
// nothing here throws on input from the network.
//
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <edist/etf/term.hpp>
#include <optional>

#include "edist/node/signal.hpp"

namespace edist::node {

namespace op {
inline constexpr int link = 1;
inline constexpr int send = 2;
inline constexpr int exit = 3;
inline constexpr int unlink = 4;  // obsolete since OTP 26
inline constexpr int reg_send = 6;
inline constexpr int group_leader = 7;
inline constexpr int exit2 = 8;
inline constexpr int send_tt = 12;
inline constexpr int exit_tt = 13;
inline constexpr int reg_send_tt = 16;
inline constexpr int exit2_tt = 18;
inline constexpr int monitor_p = 19;
inline constexpr int demonitor_p = 20;
inline constexpr int monitor_p_exit = 21;
inline constexpr int send_sender = 22;
inline constexpr int send_sender_tt = 23;
inline constexpr int payload_exit = 24;
inline constexpr int payload_exit_tt = 25;
inline constexpr int payload_exit2 = 26;
inline constexpr int payload_exit2_tt = 27;
inline constexpr int payload_monitor_p_exit = 28;
inline constexpr int spawn_request = 29;
inline constexpr int spawn_request_tt = 30;
inline constexpr int spawn_reply = 31;
inline constexpr int spawn_reply_tt = 32;
inline constexpr int alias_send = 33;
inline constexpr int alias_send_tt = 34;
inline constexpr int unlink_id = 35;
inline constexpr int unlink_id_ack = 36;
}  // namespace op

// One control message ready for the connection: the control tuple and, for the operations
// that carry one, the payload term.
struct control_message {
  etf::term control;
  std::optional<etf::term> payload;
};

// The capability bits of the distribution flags that change how signals are written.
struct control_features {
  bool exit_payload = true;  // DFLAG_EXIT_PAYLOAD
  bool send_sender = true;   // DFLAG_SEND_SENDER
  bool alias = true;         // DFLAG_ALIAS
  // From the negotiated 64-bit flags word (values of dist.hrl).
  bool spawn = true;  // DFLAG_SPAWN: the peer takes SPAWN_REQUEST
  static control_features from_flags(std::uint64_t flags) noexcept {
    return {(flags & 0x400000) != 0, (flags & 0x80000) != 0,
            (flags & (std::uint64_t{1} << 35)) != 0, (flags & (std::uint64_t{1} << 32)) != 0};
  }
};

// The control message for a signal. `anonymous_from` stands in for a missing sender where the
// protocol demands a pid (REG_SEND, ALIAS_SEND). Empty when the peer cannot receive the signal
// (an alias send to a peer without ALIAS) or when the signal is malformed.
std::optional<control_message> to_control(const remote_signal& signal, control_features features,
                                          const etf::term& anonymous_from);

// A SPAWN_REQUEST, which the node answers itself (see node.hpp). Every request that names a
// requester pid comes out as a spawn_request, even a malformed one, so that the node can
// answer it with an error instead of leaving the requester waiting.
struct spawn_request {
  etf::term req_id;        // a reference
  etf::term from;          // the requesting pid
  etf::term group_leader;  // a pid
  etf::term mfa;           // {Module, Function, Arity}
  etf::term args;          // the payload: the argument list (nil when none came)
  // Options erlang:spawn_request/5 passes on the wire; the others (priority, fullsweep_after,
  // ...) are ignored as a BEAM node without that feature would.
  bool link = false;
  bool monitor = false;
  // The option list was not a proper list: BEAM answers badarg.
  bool bad_options = false;
};

// SPAWN_REPLY flags.
namespace spawn_flag {
inline constexpr int link = 1;
inline constexpr int monitor = 2;
}  // namespace spawn_flag

// A SPAWN_REPLY: the answer to a spawn request this node sent.
struct incoming_spawn_reply {
  etf::term req_id;  // a reference
  etf::term to;      // the requesting pid
  int flags = 0;     // spawn_flag bits set up by the spawning node
  etf::term result;  // the new pid, or an error atom
};

// What an incoming control message means.
struct incoming_control {
  enum class what { signal, spawn_request, spawn_reply, ignored } kind = what::ignored;
  remote_signal signal;
  spawn_request spawn;
  incoming_spawn_reply reply;
};

// Parses a control message (`payload` null when none came). Malformed or unsupported messages
// come back as `ignored`.
incoming_control from_control(const etf::term& control, const etf::term* payload);

// SPAWN_REQUEST {29, ReqId, From, GroupLeader, {M, F, length(Args)}, Opts} + Args, with Opts
// holding `link` and/or `monitor` as asked.
control_message spawn_request_message(const etf::term& req_id, const etf::term& from,
                                      const etf::term& group_leader, const etf::term& module,
                                      const etf::term& function, const etf::term& args, bool link,
                                      bool monitor);

// SPAWN_REPLY {31, ReqId, To, Flags, Result}: the answer to a spawn request. An error reply
// carries flags 0 and the error atom; a success carries the spawn_flag bits that were set up
// and the new pid.
control_message spawn_reply(const etf::term& req_id, const etf::term& to, const etf::term& result,
                            int flags = 0);

}  // namespace edist::node
