// Error codes of the etf layer.
#pragma once

#include <string>
#include <system_error>

namespace edist::etf {

enum class errc {
  ok = 0,
  truncated = 1,          // input ended inside a term
  bad_version,            // the first byte is not 131
  unknown_tag,            // a tag byte no OTP release writes
  local_ext_unsupported,  // LOCAL_EXT (121): only meaningful inside the node that wrote it
  depth_exceeded,         // nesting deeper than decode_limits::max_depth
  too_large,              // input or decompressed size above the limits
  count_exceeds_input,    // an element count larger than the remaining bytes could hold
  atom_too_long,          // more than 255 characters
  invalid_atom_encoding,  // not valid UTF-8 (or Latin-1 out of range)
  bad_atom_cache_ref,     // ATOM_CACHE_REF with no atom-cache table or an index out of range
  bad_compressed_data,    // zlib failed, or the size does not match
  invalid_term,           // structurally impossible (bit count 0 or > 8, a ref with 0 words, ...)
  duplicate_map_key,      // a map that repeats a key
  trailing_bytes,         // bytes left after a complete term where none may follow
};

const std::error_category& etf_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), etf_category()};
}

}  // namespace edist::etf

template <>
struct std::is_error_code_enum<edist::etf::errc> : std::true_type {};
