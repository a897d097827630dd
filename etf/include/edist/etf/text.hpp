// Erlang and Elixir text syntax for terms: printing in both, parsing Erlang term syntax.
//
// Printing
// - to_erlang_string(t) is what an OTP 25 node prints with io_lib:format("~0tp", [T]) (single
//   line, Unicode-aware), as UTF-8. Which lists count as strings (and which binaries as
//   <<"..."/utf8>>) depends on the node's printable range (erl +pc latin1|unicode);
//   print_options::printable chooses it. The default is `unicode`, the more readable one
//   ("中文" rather than [20013,25991]); `latin1` matches a node started without +pc.
// - to_elixir_string(t) is what Elixir 1.14 prints with
//   inspect(T, limit: :infinity, printable_limit: :infinity, width: :infinity) (one line):
//   charlists as 'abc', keyword lists, %{a: 1}, Foo for :"Elixir.Foo", floats as 1000.0, ...
// - Identifiers have no portable text: BEAM shows the node of a pid as an index into its own
//   connection table. Here a pid, port or reference of print_options::local_node prints as a
//   node prints its own (<0.ID.SERIAL>, #Port<0.ID>, #Ref<0.W2.W1.W0>); any other shows its
//   node name as a quoted atom in that place: <'b@host'.ID.SERIAL>, #Port<'b@host'.ID>,
//   #Ref<'b@host'.W2.W1.W0> (Elixir: #PID<'b@host'.ID.SERIAL>, ...). Creations are not shown.
// - Maps print in their stored order: term order for maps built in C++, arrival order for
//   decoded ones, which is what a node prints - except that OTP 25 prints a map of more than
//   32 keys (sent in hash order) back to front, and so does to_erlang_string for a map of more
//   than 32 keys that is not in term order. Elixir prints arrival order.
// - Funs: fun M:F/A and #Fun<M.INDEX.UNIQ> in Erlang syntax; &M.f/A and
//   #Function<INDEX.UNIQ/ARITY in M> in Elixir syntax (Elixir adds the name of the enclosing
//   function, which only the node that loaded the module knows). BEAM writes fun M:F/A itself,
//   not io_lib: reserved words stay bare (fun erlang:and/2), and where BEAM shows the UTF-8
//   bytes of a non-ASCII atom as Latin-1 characters, this shows the characters.
// - NaN and infinities (only C++ can make them) print as nan, inf and -inf.
// - Elixir structs (maps with a __struct__ key) print as plain maps, as Elixir does when the
//   struct's module is not loaded.
// - Non-ASCII atoms in Elixir syntax: bare (:ünï) when every character is a Latin-script letter
//   that Elixir accepts in identifiers, else quoted (:"中文"); Elixir 1.14 itself leaves some
//   more scripts bare. Both forms read back as the same atom.
// Printing never fails and uses no recursion, so any term built in C++ can be printed.
//
// Parsing
// - parse_erlang(text) reads one term written in Erlang syntax, as erl_parse:parse_term/1
//   accepts it: atoms (bare, quoted), integers of any size (also 16#FF, 1_000, $a), floats,
//   strings (adjacent strings concatenate, "\x{4E2D}" escapes), binaries with literal segments
//   (<<"abc">>, <<1,2:4>>, <<"é"/utf8>>, <<1:16/little>>, <<1.5/float>>), tuples, lists
//   (also [H|T]), maps. Whitespace and %-comments may surround it, and a final '.' is allowed.
// - Pids, ports, references, funs, records and variables have no term syntax and are errors.
// - Slightly more is accepted than erl_scan takes: U+FFFE and U+FFFF in strings and quoted
//   atoms (an atom holding them prints them as they are, so its text must read back).
// - Positions: line and column start at 1; columns count Unicode code points; offset is in
//   bytes. The input must be UTF-8.
// - The parser does not recurse: nesting, input size, integer digits and binary sizes are
//   bounded by parse_limits, so untrusted text cannot exhaust the stack or memory.
//
// Ownership: every function here returns values that own their data; the input text may be
// freed as soon as a call returns. All functions are thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <edist/etf/term.hpp>
#include <iosfwd>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace edist::etf {

// ---- Printing -------------------------------------------------------------------------------

// Which code points make a list (or a UTF-8 binary) print as text in Erlang syntax: Latin-1
// only, or all of Unicode (as `erl +pc latin1` / `erl +pc unicode`).
enum class printable_range : std::uint8_t { latin1, unicode };

struct print_options {
  printable_range printable = printable_range::unicode;
  // The node whose pids, ports and references print as local ones (node index 0). Nil: none,
  // every identifier shows its node name.
  term local_node{};
};

// Erlang syntax, as io_lib:format("~0tp", [T]) prints it (UTF-8).
std::string to_erlang_string(const term& t, const print_options& options = {});
// Elixir syntax, as inspect(T, limit: :infinity, printable_limit: :infinity, width: :infinity).
std::string to_elixir_string(const term& t, const print_options& options = {});
// Append forms, to reuse one output buffer.
void append_erlang(std::string& out, const term& t, const print_options& options = {});
void append_elixir(std::string& out, const term& t, const print_options& options = {});

// Writes Erlang syntax with the default options.
std::ostream& operator<<(std::ostream& os, const term& t);

// ---- Parsing --------------------------------------------------------------------------------

enum class text_errc {
  ok = 0,
  syntax_error = 1,   // a token where another was expected, or text after the term
  unexpected_end,     // the text ended inside a term
  invalid_character,  // a character that starts no token, or invalid UTF-8
  invalid_escape,     // a bad escape sequence in a string, atom or character
  invalid_number,     // a malformed or out-of-range number (1.0e999, 37#1)
  atom_too_long,      // more than 255 characters
  depth_exceeded,     // nesting deeper than parse_limits::max_depth
  too_large,          // input, integer or binary above parse_limits
  invalid_binary,     // a binary segment that cannot be built (<<1.5:8>>, <<1/utf8:8>>)
  not_a_literal,      // valid Erlang but not a term: variables, pids, funs, records, ...
};

const std::error_category& text_category() noexcept;
inline std::error_code make_error_code(text_errc e) noexcept {
  return {static_cast<int>(e), text_category()};
}

struct parse_limits {
  std::size_t max_depth = 1024;             // nested tuples, lists and maps
  std::size_t max_input_size = 64u << 20;   // bytes of text
  std::size_t max_integer_digits = 100000;  // digits of one integer literal
  std::size_t max_binary_size = 64u << 20;  // bytes built by one binary literal
};

struct parse_result {
  std::optional<term> value;  // set on success
  std::error_code error;      // a text_errc; empty on success
  std::string message;        // what was wrong, e.g. "expected ',' or '}' before ']'"
  std::size_t line = 0;       // where (1-based; 0 on success)
  std::size_t column = 0;     // 1-based, in code points
  std::size_t offset = 0;     // in bytes from the start of the text

  explicit operator bool() const noexcept { return value.has_value(); }
  // "syntax error at 1:7: expected ',' or '}' before ']'" (empty on success).
  std::string describe() const;
};

// Parses one term in Erlang syntax. Never throws for bad text (only std::bad_alloc).
parse_result parse_erlang(std::string_view text, const parse_limits& limits = {});

class parse_error : public std::runtime_error {
 public:
  explicit parse_error(const parse_result& failed);
  const std::error_code& code() const noexcept { return code_; }
  std::size_t line() const noexcept { return line_; }
  std::size_t column() const noexcept { return column_; }
  std::size_t offset() const noexcept { return offset_; }

 private:
  std::error_code code_;
  std::size_t line_;
  std::size_t column_;
  std::size_t offset_;
};

// As parse_erlang, throwing parse_error (what() is parse_result::describe()).
term parse_erlang_or_throw(std::string_view text, const parse_limits& limits = {});

}  // namespace edist::etf

template <>
struct std::is_error_code_enum<edist::etf::text_errc> : std::true_type {};
