// edist::etf::term — an immutable Erlang term value.
//
// Ownership and lifetime:
// - A term is a 16-byte value. Integers that fit in 64 bits, floats, nil and atoms of up to
//   14 bytes of UTF-8 live inside the term itself; everything else (bignums, longer atoms,
//   tuples, lists, maps, binaries, pids, ports, references, funs) lives in a heap node shared
//   by reference counting. Copying a term is cheap (at most one atomic increment).
// - Terms are immutable once built, so a term and every copy of it may be read from any
//   number of threads at once. Distinct term objects may be assigned concurrently; a single
//   term object written while another thread reads it is a data race, as for any value.
// - Views returned by accessors (std::string_view of an atom, spans of elements, binary bytes)
//   stay valid as long as the term they came from (or any copy of it) is alive.
// - A binary may be a zero-copy slice of a received buffer; it keeps that buffer alive through
//   shared ownership (see binary_view()).
// - A term made by decode() lives in one block of memory with everything else that decode made
//   (edist/etf/decode.hpp), counted once for all: a subterm keeps its whole decoded message
//   alive, with the buffer under its zero-copy binaries. Copy what you keep out of a large
//   message into new terms (term::binary(), term::tuple(), ...) if the rest should be freed.
//   Copying and dropping such terms follows the same rules as any term, on any thread.
// - Destroying, comparing, hashing, encoding and printing terms never recurse: any depth of
//   nesting is safe.
//
// Equality and order:
// - operator== is Erlang's exact equality (=:=): 1 =:= 1.0 is false.
// - operator<=> is Erlang's term order, refined so that it is a strict total order consistent
//   with =:= (all integers sort before all floats that compare equal by value, as in map key
//   order). It is what std::map<term, ...> and std::sort use.
// - compare() is Erlang's standard order as used by <, == and lists:sort (1 == 1.0).
#pragma once

#include <array>
#include <atomic>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edist::etf {

// The kinds of term, listed in Erlang's term order (number < atom < reference < fun < port
// < pid < tuple < map < nil < list < bitstring).
enum class kind : std::uint8_t {
  integer,      // fits in int64
  big_integer,  // any integer outside int64 (never holds a value that fits in int64)
  float_,
  atom,
  reference,
  fun,
  port,
  pid,
  tuple,
  map,
  nil,        // the empty list []
  list,       // a non-empty list, proper or improper
  binary,     // byte-aligned bitstring
  bitstring,  // bitstring whose length is not a multiple of 8
};

std::string_view to_string(kind k) noexcept;

// Thrown by accessors used on a term of the wrong kind (a programming error, not bad input:
// decoding never throws it).
class bad_term_access : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// Thrown when a term cannot be built from the given C++ values (an atom longer than 255
// characters or not valid UTF-8, a bitstring with an impossible bit count, ...).
class invalid_term : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class term;
using term_pair = std::pair<term, term>;

namespace detail {
struct node;
}  // namespace detail

// Fields of a pid: node name (an atom), id, serial, creation — as in NEW_PID_EXT.
struct pid_fields;
// Fields of a port: node name, id (up to 64 bits, V4_PORT_EXT), creation.
struct port_fields;
// Fields of a reference: node name, creation, and 1 to 5 32-bit id words.
struct reference_fields;
// Fields of a fun: either an export (fun M:F/A) or a closure (NEW_FUN_EXT), kept whole so
// that it re-encodes to the same bytes.
struct fun_fields;

class term {
 public:
  // The default term is nil ([]).
  term() noexcept { set_kind(kind::nil); }
  // Inline: most terms hold no node, and for those copying and destroying is a few moves.
  term(const term& other) noexcept : bytes_(other.bytes_) {
    if (holds_node()) retain_node();
  }
  term(term&& other) noexcept : bytes_(other.bytes_) { other.set_kind(kind::nil); }
  term& operator=(const term& other) noexcept {
    if (this != &other) {
      if (other.holds_node()) other.retain_node();
      if (holds_node()) release_node();
      bytes_ = other.bytes_;
    }
    return *this;
  }
  term& operator=(term&& other) noexcept {
    if (this != &other) {
      if (holds_node()) release_node();
      bytes_ = other.bytes_;
      other.set_kind(kind::nil);
    }
    return *this;
  }
  ~term() {
    if (holds_node()) release_node();
  }

  // Numbers and booleans convert implicitly, so term t = 42; and tuple(ok, 3.5) read naturally.
  template <class I>
  requires(std::is_integral_v<I> && !std::is_same_v<I, bool> && !std::is_same_v<I, char>)
      term(I value) {  // NOLINT(google-explicit-constructor)
    if constexpr (std::is_signed_v<I> || sizeof(I) < sizeof(std::int64_t)) {
      init_int(static_cast<std::int64_t>(value));
    } else {
      init_uint(static_cast<std::uint64_t>(value));
    }
  }
  term(double value) noexcept {  // NOLINT(google-explicit-constructor)
    set_kind(kind::float_);
    store_word(value);
  }
  // true and false are the atoms 'true' and 'false'.
  term(bool value) noexcept;  // NOLINT(google-explicit-constructor)
  // Text is ambiguous in Erlang (atom, binary or charlist): say which with atom(), binary()
  // or charlist(). Deleted so that a string literal does not silently become the atom 'true'.
  term(const char*) = delete;
  term(std::string_view) = delete;
  term(const std::string&) = delete;

  // ---- Construction -------------------------------------------------------------------------
  static term integer(std::int64_t value) { return term(value); }
  static term integer(std::uint64_t value) { return term(value); }
  // An integer of any size from sign and magnitude (little-endian base-256 digits, as in
  // SMALL_BIG_EXT). Normalised: a value that fits in int64 becomes a plain integer.
  static term big_integer(bool negative, std::span<const std::uint8_t> magnitude_le);
  // Parses optional '-' then decimal digits (any length). Empty on malformed text.
  static std::optional<term> integer_from_decimal(std::string_view text);
  static term float_(double value) noexcept { return term(value); }

  // An atom from UTF-8 text; throws invalid_term if it is not valid UTF-8 or longer than 255
  // characters (Erlang's limit).
  static term atom(std::string_view utf8);
  static term boolean(bool value) noexcept { return term(value); }

  // A binary holding a copy of the bytes.
  static term binary(std::span<const std::uint8_t> bytes);
  static term binary(std::string_view bytes);
  // A binary that refers to bytes owned by `owner` (zero-copy). The term keeps `owner` alive;
  // the bytes must not change while any copy of the term exists.
  static term binary_view(std::span<const std::uint8_t> bytes, std::shared_ptr<const void> owner);
  // A bitstring: `bytes` holds the bits, and only the `bits_in_last_byte` (1..8) most
  // significant bits of the last byte count. With 8 it is a binary. Unused bits are cleared.
  static term bitstring(std::span<const std::uint8_t> bytes, unsigned bits_in_last_byte);

  static term tuple(std::initializer_list<term> elements);
  static term tuple(std::span<const term> elements);
  static term tuple(std::vector<term>&& elements);

  // A list; a tail other than nil makes it improper. An empty element list yields the tail
  // itself (so list({}, nil) is nil).
  static term list(std::initializer_list<term> elements);
  static term list(std::span<const term> elements, term tail = term());
  static term list(std::vector<term>&& elements, term tail = term());
  // A charlist: the list of Unicode code points of UTF-8 text ("abc" is [97,98,99]).
  // Throws invalid_term on invalid UTF-8.
  static term charlist(std::string_view utf8);

  // A map. Keys are compared with =:=; a repeated key keeps its last value (like
  // maps:from_list/1). Entries are stored in term order (for at most 32 keys this is the
  // order BEAM writes small maps in).
  static term map(std::initializer_list<term_pair> entries);
  static term map(std::vector<term_pair> entries);
  // A map whose entries are kept exactly in the given order (used by the decoder so that a
  // map re-encodes to the bytes it came from). Returns empty if a key repeats.
  static std::optional<term> map_in_order(std::vector<term_pair> entries);

  // Identifiers. `node` must be an atom. Throws invalid_term otherwise, or for a reference with
  // 0 or more than 5 id words.
  static term pid(const term& node, std::uint32_t id, std::uint32_t serial, std::uint32_t creation);
  static term port(const term& node, std::uint64_t id, std::uint32_t creation);
  static term reference(const term& node, std::uint32_t creation,
                        std::span<const std::uint32_t> id_words);
  // fun Module:Function/Arity.
  static term export_fun(const term& module, const term& function, std::uint8_t arity);
  // A local fun (closure) as received in NEW_FUN_EXT.
  static term closure(std::uint8_t arity, std::span<const std::uint8_t, 16> uniq,
                      std::uint32_t index, const term& module, const term& old_index,
                      const term& old_uniq, const term& pid, std::span<const term> free_vars);

  // ---- Inspection ---------------------------------------------------------------------------
  kind type() const noexcept { return static_cast<kind>(bytes_[0]); }
  bool is_integer() const noexcept {
    return type() == kind::integer || type() == kind::big_integer;
  }
  bool is_float() const noexcept { return type() == kind::float_; }
  bool is_number() const noexcept { return is_integer() || is_float(); }
  bool is_atom() const noexcept { return type() == kind::atom; }
  bool is_atom(std::string_view name) const noexcept { return is_atom() && atom_name() == name; }
  bool is_boolean() const noexcept { return is_atom("true") || is_atom("false"); }
  bool is_reference() const noexcept { return type() == kind::reference; }
  bool is_fun() const noexcept { return type() == kind::fun; }
  bool is_port() const noexcept { return type() == kind::port; }
  bool is_pid() const noexcept { return type() == kind::pid; }
  bool is_tuple() const noexcept { return type() == kind::tuple; }
  bool is_tuple(std::size_t arity) const noexcept { return is_tuple() && tuple_size() == arity; }
  bool is_map() const noexcept { return type() == kind::map; }
  bool is_nil() const noexcept { return type() == kind::nil; }
  // A list in Erlang's is_list/1 sense: nil or a non-empty list (proper or not).
  bool is_list() const noexcept { return type() == kind::list || type() == kind::nil; }
  bool is_proper_list() const noexcept;
  bool is_binary() const noexcept { return type() == kind::binary; }
  bool is_bitstring() const noexcept { return type() == kind::binary || type() == kind::bitstring; }

  // Integers. to_* return empty when the term is not an integer or does not fit.
  std::optional<std::int64_t> to_int64() const noexcept;
  std::optional<std::uint64_t> to_uint64() const noexcept;
  // Throwing forms (bad_term_access).
  std::int64_t as_int64() const;
  // Sign and magnitude of a big_integer (little-endian base 256, no trailing zero bytes).
  bool big_negative() const;
  std::span<const std::uint8_t> big_magnitude() const;
  // Decimal text of any integer.
  std::string integer_to_decimal() const;

  // The float's value (floats only).
  double as_double() const;
  // Any number as a double (integers rounded to nearest); empty for non-numbers.
  std::optional<double> to_double() const noexcept;

  // Atom text (UTF-8).
  std::string_view atom_name() const;

  // Tuples.
  std::size_t tuple_size() const;
  std::span<const term> tuple_elements() const;
  // Element i (0-based) of a tuple; bad_term_access when out of range.
  const term& operator[](std::size_t i) const;

  // Lists: the elements of a non-empty list (empty span for nil) and its tail (nil for a
  // proper list). Nil is accepted.
  std::span<const term> list_elements() const;
  const term& list_tail() const;

  // Maps: the entries, in stored order, and a lookup by =:= key.
  std::span<const term_pair> map_entries() const;
  std::size_t map_size() const;
  const term* find(const term& key) const;

  // Binaries and bitstrings: the bytes (the last one partial for a bitstring), and how many
  // bits of the last byte count (8 for binaries, 1..7 for bitstrings; 8 for an empty binary).
  std::span<const std::uint8_t> binary_bytes() const;
  std::string_view binary_string_view() const;
  unsigned bits_in_last_byte() const;
  std::size_t bit_size() const;

  const pid_fields& as_pid() const;
  const port_fields& as_port() const;
  const reference_fields& as_reference() const;
  const fun_fields& as_fun() const;

  // Conversion to C++ types (defined in <edist/etf/convert.hpp>): to<T>() is empty when the
  // term does not have T's shape or range; as<T>() throws bad_term_access instead.
  template <class T>
  std::optional<T> to() const;
  template <class T>
  T as() const;

  // A hash consistent with operator== (exact equality).
  std::size_t hash() const noexcept;

  friend bool operator==(const term& a, const term& b) noexcept;
  friend std::strong_ordering operator<=>(const term& a, const term& b) noexcept;

  void swap(term& other) noexcept { std::swap(bytes_, other.bytes_); }

 private:
  friend struct detail::node;
  friend class term_builder_access;

  static constexpr std::uint8_t heap_atom_marker = 0xff;
  static constexpr std::size_t inline_atom_capacity = 14;

  void set_kind(kind k) noexcept {
    // A constant-size memset becomes two stores; array::fill(0) ended up as a memset call.
    std::memset(bytes_.data(), 0, sizeof bytes_);
    bytes_[0] = static_cast<std::uint8_t>(k);
  }
  template <class T>
  void store_word(T value) noexcept {
    static_assert(sizeof(T) == 8);
    std::memcpy(bytes_.data() + 8, &value, 8);
  }
  template <class T>
  T load_word() const noexcept {
    static_assert(sizeof(T) == 8);
    T value;
    std::memcpy(&value, bytes_.data() + 8, 8);
    return value;
  }
  void init_int(std::int64_t v) noexcept {
    set_kind(kind::integer);
    store_word(v);
  }
  void init_uint(std::uint64_t v);
  bool holds_node() const noexcept {
    constexpr unsigned never = (1u << static_cast<unsigned>(kind::integer)) |
                               (1u << static_cast<unsigned>(kind::float_)) |
                               (1u << static_cast<unsigned>(kind::nil));
    unsigned k = bytes_[0];
    if ((never >> k) & 1u) return false;
    return k != static_cast<unsigned>(kind::atom) || bytes_[1] == heap_atom_marker;
  }
  // Reference counting of the node this term holds (holds_node() must be true).
  void retain_node() const noexcept;
  void release_node() noexcept;
  detail::node* node_ptr() const noexcept { return load_word<detail::node*>(); }
  void adopt(kind k, detail::node* n) noexcept {
    set_kind(k);
    store_word(n);
  }
  void retain() const noexcept;
  void release() noexcept;
  const term* tuple_data() const noexcept;

  alignas(8) std::array<std::uint8_t, 16> bytes_;
};

static_assert(sizeof(term) == 16);

struct pid_fields {
  term node;
  std::uint32_t id;
  std::uint32_t serial;
  std::uint32_t creation;
};

struct port_fields {
  term node;
  std::uint64_t id;
  std::uint32_t creation;
};

struct reference_fields {
  term node;
  std::uint32_t creation;
  std::uint8_t word_count;  // 1..5
  std::array<std::uint32_t, 5> words;
  std::span<const std::uint32_t> id_words() const { return {words.data(), word_count}; }
};

struct fun_fields {
  bool is_export = false;
  std::uint8_t arity = 0;
  term module;
  // Export funs: the function name. Closures: unused (nil).
  term function;
  // Closures only (NEW_FUN_EXT).
  std::array<std::uint8_t, 16> uniq{};
  std::uint32_t index = 0;
  term old_index;
  term old_uniq;
  term pid;
  std::vector<term> free_vars;
};

// Erlang's standard order (as <, ==, > in Erlang): numbers compare by value across integers
// and floats, so compare(1, 1.0) is equivalent.
std::weak_ordering compare(const term& a, const term& b) noexcept;
// Erlang's == (arithmetic equality): equal(1, 1.0) is true.
bool equal(const term& a, const term& b) noexcept;

inline void swap(term& a, term& b) noexcept {
  a.swap(b);
}

// ---- Short construction helpers ------------------------------------------------------------
inline term atom(std::string_view utf8) {
  return term::atom(utf8);
}
inline term binary(std::string_view bytes) {
  return term::binary(bytes);
}
inline term charlist(std::string_view utf8) {
  return term::charlist(utf8);
}
inline const term nil{};

namespace literals {
// "ok"_atom, "hello"_bin
inline term operator""_atom(const char* s, std::size_t n) {
  return term::atom({s, n});
}
inline term operator""_bin(const char* s, std::size_t n) {
  return term::binary({s, n});
}
}  // namespace literals

}  // namespace edist::etf

template <>
struct std::hash<edist::etf::term> {
  std::size_t operator()(const edist::etf::term& t) const noexcept { return t.hash(); }
};
