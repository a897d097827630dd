// The cookie challenge of the handshake, on OpenSSL.
//
// digest = MD5(cookie bytes ++ decimal text of the challenge as an unsigned 32-bit number).
// Challenges come from OpenSSL's CSPRNG, and digests are compared in constant time so that a
// peer learns nothing about our cookie from response timing. Thread-safe (OpenSSL 3 is).
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

#include "edist/dist/handshake_messages.hpp"

namespace edist::dist {

// errc::crypto_failure when OpenSSL's MD5 is unavailable (e.g. a FIPS-only configuration).
std::error_code compute_digest(std::string_view cookie, std::uint32_t challenge, md5_digest& out);

// A fresh challenge from RAND_bytes; errc::crypto_failure if the CSPRNG is not seeded.
std::error_code random_challenge(std::uint32_t& out);

// Constant-time equality (CRYPTO_memcmp).
bool digests_equal(const md5_digest& a, const md5_digest& b) noexcept;

}  // namespace edist::dist
