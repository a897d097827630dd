// The control messages of the distribution protocol as typed values, and their conversion to
// and from the control tuple that travels on the wire.
//
// Each struct is one operation; the trace-token variants (SEND_TT, EXIT_TT, ...) are the same
// struct with `trace_token` set, so a receiver that does not trace can ignore the token and
// a sender sets it only when it has one. Fields are terms (pids, references, atoms exactly as
// received); from_term() checks their shapes, as BEAM does before acting on a signal.
//
// Which operations carry a second term (the message, the exit reason, the spawn arguments):
// has_payload(). Values are immutable terms, so copies are cheap and thread-safe to read.
#pragma once

#include <cstdint>
#include <edist/etf/encode.hpp>
#include <edist/etf/term.hpp>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <variant>

namespace edist::dist {

using etf::term;

// Operation codes (the first element of the control tuple).
namespace op {
inline constexpr int link = 1;
inline constexpr int send = 2;
inline constexpr int exit = 3;
inline constexpr int unlink = 4;
inline constexpr int node_link = 5;
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

namespace ctrl {

// {1, FromPid, ToPid}
struct link {
  term from, to;
};
// {2, '', ToPid} + Message; SEND_TT {12, '', ToPid, Token}
struct send {
  term to;
  std::optional<term> trace_token;
};
// {3, FromPid, ToPid, Reason}; EXIT_TT {13, FromPid, ToPid, Token, Reason}
struct exit {
  term from, to, reason;
  std::optional<term> trace_token;
};
// {4, FromPid, ToPid}: the old unlink, gone from OTP 26 (decoded for completeness).
struct unlink {
  term from, to;
};
// {5}
struct node_link {};
// {6, FromPid, '', ToName} + Message; REG_SEND_TT {16, FromPid, '', ToName, Token}
struct reg_send {
  term from, to_name;
  std::optional<term> trace_token;
};
// {7, FromPid, ToPid}
struct group_leader {
  term from, to;
};
// {8, FromPid, ToPid, Reason}; EXIT2_TT {18, FromPid, ToPid, Token, Reason}
struct exit2 {
  term from, to, reason;
  std::optional<term> trace_token;
};
// {19, FromPid, ToProc, Ref}: ToProc is a pid or a registered name (atom)
struct monitor_p {
  term from, to_proc, ref;
};
// {20, FromPid, ToProc, Ref}
struct demonitor_p {
  term from, to_proc, ref;
};
// {21, FromProc, ToPid, Ref, Reason}
struct monitor_p_exit {
  term from_proc, to, ref, reason;
};
// {22, FromPid, ToPid} + Message; SEND_SENDER_TT {23, FromPid, ToPid, Token}
struct send_sender {
  term from, to;
  std::optional<term> trace_token;
};
// {24, FromPid, ToPid} + Reason; PAYLOAD_EXIT_TT {25, FromPid, ToPid, Token}
struct payload_exit {
  term from, to;
  std::optional<term> trace_token;
};
// {26, FromPid, ToPid} + Reason; PAYLOAD_EXIT2_TT {27, FromPid, ToPid, Token}
struct payload_exit2 {
  term from, to;
  std::optional<term> trace_token;
};
// {28, FromProc, ToPid, Ref} + Reason
struct payload_monitor_p_exit {
  term from_proc, to, ref;
};
// {29, ReqId, From, GroupLeader, {Module, Function, Arity}, OptList} + ArgList;
// SPAWN_REQUEST_TT {30, ..., OptList, Token}
struct spawn_request {
  term req_id, from, group_leader;
  term module, function;  // atoms
  std::uint32_t arity = 0;
  term options;  // a proper list
  std::optional<term> trace_token;
};
// {31, ReqId, To, Flags, Result}; SPAWN_REPLY_TT {32, ..., Result, Token}
struct spawn_reply {
  static constexpr std::uint32_t flag_link = 1;
  static constexpr std::uint32_t flag_monitor = 2;
  term req_id, to;
  std::uint32_t flags = 0;
  term result;  // the new pid, or an error atom
  std::optional<term> trace_token;
};
// {33, FromPid, Alias} + Message; ALIAS_SEND_TT {34, FromPid, Alias, Token}
struct alias_send {
  term from, alias;  // alias: a reference
  std::optional<term> trace_token;
};
// {35, Id, FromPid, ToPid}
struct unlink_id {
  std::uint64_t id = 0;
  term from, to;
};
// {36, Id, FromPid, ToPid}
struct unlink_id_ack {
  std::uint64_t id = 0;
  term from, to;
};

}  // namespace ctrl

using control_message =
    std::variant<ctrl::link, ctrl::send, ctrl::exit, ctrl::unlink, ctrl::node_link, ctrl::reg_send,
                 ctrl::group_leader, ctrl::exit2, ctrl::monitor_p, ctrl::demonitor_p,
                 ctrl::monitor_p_exit, ctrl::send_sender, ctrl::payload_exit, ctrl::payload_exit2,
                 ctrl::payload_monitor_p_exit, ctrl::spawn_request, ctrl::spawn_reply,
                 ctrl::alias_send, ctrl::unlink_id, ctrl::unlink_id_ack>;

// A control message and, for the operations that have one, its payload term.
struct dist_message {
  control_message control;
  std::optional<term> payload;
};

// The wire operation code (the _TT code when a trace token is set).
int operation(const control_message& m) noexcept;
// True for the operations followed by a payload term (message, reason or argument list).
bool has_payload(const control_message& m) noexcept;
bool has_payload(int operation) noexcept;

// The control tuple.
term to_term(const control_message& m);
// Appends the encoding of the control tuple: the bytes etf::encode(to_term(m), out, options)
// appends (atoms through options.atom_cache in the same order), written from m's fields
// without building the tuple; then, when given, what etf::encode(*payload, out, options)
// appends, in the same pass.
void encode_control(const control_message& m, etf::encode_buffer& out,
                    const etf::encode_options& options, const term* payload = nullptr);
// Parses a control tuple; errc::bad_control_message for an unknown operation or a field of
// the wrong shape (detail, when given, says which).
std::error_code from_term(const term& t, control_message& out, std::string* detail = nullptr);
// The same for the elements of the control tuple, taken apart (etf::decode_tuple_elements):
// from_elements(t.tuple_elements(), ...) gives what from_term(t, ...) gives for any tuple t.
std::error_code from_elements(std::span<const term> elements, control_message& out,
                              std::string* detail = nullptr);

}  // namespace edist::dist
