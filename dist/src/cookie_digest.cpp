#include "edist/dist/cookie_digest.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <memory>

#include "edist/dist/error.hpp"

namespace edist::dist {

std::error_code compute_digest(std::string_view cookie, std::uint32_t challenge, md5_digest& out) {
  char text[16];
  const auto [end, ec] = std::to_chars(text, text + sizeof text, challenge);
  if (ec != std::errc{}) return errc::crypto_failure;

  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                    &EVP_MD_CTX_free);
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), cookie.data(), cookie.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), text, static_cast<std::size_t>(end - text)) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size()) {
    return errc::crypto_failure;
  }
  return {};
}

std::error_code random_challenge(std::uint32_t& out) {
  unsigned char bytes[4];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return errc::crypto_failure;
  out = (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
        (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
  return {};
}

bool digests_equal(const md5_digest& a, const md5_digest& b) noexcept {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace edist::dist
