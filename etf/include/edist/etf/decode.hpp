// Decoding the External Term Format.
//
// The decoder is bounded and non-recursive: nesting is tracked on an explicit stack, every
// element count is checked against the bytes that remain before anything is allocated, and
// every failure is an etf::errc, never an exception or a crash.
//
// Ownership: the decoded term and all its subterms live in a region that decode() allocates in
// a few large chunks and that is freed at once when the last term referring into it goes (a
// subterm keeps the whole decoded message alive; see edist/etf/term.hpp). decode() with a span
// copies everything it needs, so the input may be freed when it returns. decode() with a
// shared_bytes buffer returns binaries of at least decode_limits::zero_copy_threshold bytes as
// slices of that buffer that share its ownership; everything else is copied. A compressed term (tag
// 80) is inflated into a buffer of its own, and large binaries inside it are slices of that buffer,
// whichever decode() was called.
//
// What is accepted is what OTP 25 and 27 accept (checked against binary_to_term/1), with these
// choices: the old tags (ATOM_EXT and SMALL_ATOM_EXT as Latin-1, FLOAT_EXT, PID_EXT, PORT_EXT,
// REFERENCE_EXT, NEW_REFERENCE_EXT) decode to the same values as the current ones; a LIST_EXT
// whose tail is itself a list is spliced into one list, and an empty LIST_EXT is its tail, as
// BEAM does; the Size field of NEW_FUN_EXT is ignored, as BEAM does (re-encoding writes the
// right one); NaN and infinities are refused, as BEAM refuses them. Stricter than BEAM: a
// reference with no id words (errc::invalid_term; the term type holds 1 to 5), an export fun
// of arity above 255, and bytes after the term unless decode_options::allow_trailing (BEAM's
// binary_to_term/1 ignores them).
#pragma once

#include <cstdint>
#include <edist/etf/errors.hpp>
#include <edist/etf/term.hpp>
#include <memory>
#include <span>
#include <system_error>

namespace edist::etf {

struct decode_limits {
  std::size_t max_depth = 4096;             // nested tuples/lists/maps/funs
  std::size_t max_input_size = 256u << 20;  // bytes of input (and of decompressed data)
  std::size_t max_elements = 64u << 20;     // total terms created by one decode
  std::size_t zero_copy_threshold = 64;     // binaries at least this long are slices
};

// A buffer shared by reference counting; binaries decoded from it may keep it alive.
struct shared_bytes {
  std::shared_ptr<const void> owner;
  std::span<const std::uint8_t> bytes;

  static shared_bytes copy_of(std::span<const std::uint8_t> data);
};

struct decode_options {
  decode_limits limits{};
  // The atoms of the current distribution message's atom-cache header, indexed as
  // ATOM_CACHE_REF (82) refers to them. Empty outside distribution.
  std::span<const term> atom_cache_refs{};
  // True when the term starts without the version byte 131 (terms inside a distribution
  // message after a 131,68 header).
  bool without_version = false;
  // True when bytes may follow the term (the caller reads them, e.g. a payload after a control
  // message); `consumed` tells where the term ended. False: trailing bytes are an error.
  bool allow_trailing = false;
};

struct decode_result {
  term value;
  std::size_t consumed = 0;  // bytes of input the term took
  std::error_code error;     // empty on success
  // Where in the input the error was found (for an error inside a compressed term: the
  // offset of its COMPRESSED tag).
  std::size_t error_offset = 0;
  explicit operator bool() const noexcept { return !error; }
};

decode_result decode(std::span<const std::uint8_t> input, const decode_options& options = {});
decode_result decode(const shared_bytes& input, const decode_options& options = {});

// The elements of a tuple, decoded one by one without making the tuple: for a caller that takes
// the tuple apart at once (the distribution layer's control messages). Small integers, atoms,
// pids and references in their current forms are made straight from the bytes, without a
// decode region; any other element is decoded with decode() (same options, limits per element).
//
// Returns true when `input` starts with a tuple of at most out.size() elements that decode()
// would accept: out[0, arity) then hold its elements (=:= to those decode() gives), and
// `consumed` the bytes of the tuple (with the version byte unless options.without_version).
// Bytes may follow the tuple whatever options.allow_trailing says. Returns false, leaving out
// unspecified, for anything else (not a tuple, too many elements, malformed or truncated
// input, a compressed term): decode() then tells what is wrong, or decodes it.
bool decode_tuple_elements(std::span<const std::uint8_t> input, const decode_options& options,
                           std::span<term> out, std::size_t& arity, std::size_t& consumed);
// The same with large binaries inside the elements as zero-copy slices of `input`.
bool decode_tuple_elements(const shared_bytes& input, const decode_options& options,
                           std::span<term> out, std::size_t& arity, std::size_t& consumed);

// Throwing convenience: binary_to_term. Throws std::system_error with an etf::errc.
term binary_to_term(std::span<const std::uint8_t> input);

}  // namespace edist::etf
