// Pieces shared by the Erlang and Elixir printers and the parser (private to edist_etf).
#pragma once

#include <cstdint>
#include <edist/etf/term.hpp>
#include <edist/etf/text.hpp>
#include <string>
#include <string_view>

namespace edist::etf::detail {

// A float as io_lib_format:fwrite_g/1 writes it (the shortest text that reads back to the same
// double; fixed or exponent notation, whichever is shorter). Both ~p and Elixir's inspect use it.
void append_erlang_float(std::string& out, double value);

// Erlang's rules for atoms that print without quotes (io_lib:write_atom/1 in OTP 25). BEAM's
// own printer (erlang:fun_to_list/1) leaves reserved words bare: fun erlang:and/2.
bool erlang_atom_needs_quotes(std::string_view utf8, bool quote_reserved_words = true);
// Reserved words of OTP 25's erl_scan (they must be quoted to be atoms).
bool erlang_reserved_word(std::string_view name);

// Appends code point `c` as it appears inside Erlang quotes `quote` (' or "), as
// io_lib:write_string/2 writes it with Unicode output: characters from U+00A0 up are written as
// they are, control characters as \n, \e, \d, ... or 3-digit octal escapes.
void append_erlang_quoted_char(std::string& out, char32_t c, char quote);
// 'atom' or "string" from UTF-8 text, with escapes.
void append_erlang_quoted(std::string& out, std::string_view utf8, char quote);

// Hex digits as Elixir writes them in \x escapes (upper case).
inline char hex_digit_upper(unsigned v) {
  return static_cast<char>(v < 10 ? '0' + v : 'A' + (v - 10));
}

// "<0.", "<'node@host'." and so on: the node part of a pid, port or reference.
void append_node_part(std::string& out, const term& node, const print_options& options);
// The text inside <...> of a pid, port and reference after the node part: "ID.SERIAL", "ID",
// "W2.W1.W0" (the id words of a reference, most significant first, as BEAM prints them).
void append_pid_rest(std::string& out, const pid_fields& pid);
void append_port_rest(std::string& out, const port_fields& port);
void append_reference_rest(std::string& out, const reference_fields& ref);

// Unsigned decimal.
void append_decimal(std::string& out, std::uint64_t value);

}  // namespace edist::etf::detail
