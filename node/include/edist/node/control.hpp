// Translation between the node layer's remote_signal and the distribution protocol's typed
// control messages (edist/dist/control_message.hpp, which owns the operation codes and the
// wire tuples). The node never builds or parses a control tuple itself: the connection
// decodes the tuple into a dist::control_message and encodes one back.
//
// Outgoing: the form depends on the flags negotiated with the peer (EXIT_PAYLOAD selects the
// PAYLOAD_* forms, SEND_SENDER selects SEND_SENDER for pid sends, ALIAS is needed for
// alias sends). Incoming: every form OTP 25-27 sends for these signals is accepted, including
// the trace-token (_TT) variants, whose token is ignored. Anything malformed (a field of the
// wrong kind, a payload operation without its payload) yields nothing; nothing here throws on
// input from the network.
//
// All functions are pure and thread-safe. They take over the signal or message they convert
// (by value or rvalue reference) and move its terms into the result instead of copying them
// (a copy is a reference count increment per field); from_control leaves `message` moved
// from.
#pragma once

#include <cstdint>
#include <edist/dist/control_message.hpp>
#include <edist/etf/term.hpp>
#include <optional>

#include "edist/node/signal.hpp"

namespace edist::node {

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
std::optional<dist::dist_message> to_control(remote_signal signal, control_features features,
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

// What an incoming control message means.
struct incoming_control {
  enum class what { signal, spawn_request, spawn_reply, ignored } kind = what::ignored;
  remote_signal signal;
  spawn_request spawn;
  // The answer to a spawn request this node sent: flags hold only
  // dist::ctrl::spawn_reply::flag_link and flag_monitor.
  dist::ctrl::spawn_reply reply;
};

// What a control message (and its payload, when one came) means. Malformed or unsupported
// messages come back as `ignored`.
incoming_control from_control(dist::dist_message&& message);

// SPAWN_REQUEST {29, ReqId, From, GroupLeader, {M, F, length(Args)}, Opts} + Args, with Opts
// holding `link` and/or `monitor` as asked. `args` must be a proper list.
dist::dist_message spawn_request_message(const etf::term& req_id, const etf::term& from,
                                         const etf::term& group_leader, const etf::term& module,
                                         const etf::term& function, const etf::term& args,
                                         bool link, bool monitor);

// SPAWN_REPLY {31, ReqId, To, Flags, Result}: the answer to a spawn request. An error reply
// carries flags 0 and the error atom; a success carries the dist::ctrl::spawn_reply flag bits
// that were set up and the new pid.
dist::dist_message spawn_reply(const etf::term& req_id, const etf::term& to,
                               const etf::term& result, std::uint32_t flags = 0);

}  // namespace edist::node
