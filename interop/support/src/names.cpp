#include "edist/testing/names.hpp"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <random>

namespace edist::testing {
namespace {

// Seeded per thread from the OS so that forked processes and threads do not share sequences.
std::mt19937_64& rng() {
  thread_local std::mt19937_64 engine{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), static_cast<unsigned>(::getpid())};
    return std::mt19937_64(seq);
  }()};
  return engine;
}

std::string random_chars(std::string_view alphabet, std::size_t n) {
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::string s;
  s.reserve(n);
  for (std::size_t i = 0; i < n; ++i) s += alphabet[pick(rng())];
  return s;
}

}  // namespace

std::string unique_name(std::string_view prefix) {
  static std::atomic<unsigned> counter{0};
  std::string name;
  for (char c : prefix) {
    const auto u = static_cast<unsigned char>(c);
    name += (std::isalnum(u) != 0 && u < 0x80) ? static_cast<char>(std::tolower(u)) : '_';
  }
  if (name.empty()) name = "n";
  // Node names are limited to 255 bytes in total; keep the prefix short.
  if (name.size() > 64) name.resize(64);
  name += '_' + std::to_string(::getpid()) + '_' + std::to_string(counter.fetch_add(1)) + '_' +
          random_chars("abcdefghijklmnopqrstuvwxyz0123456789", 6);
  return name;
}

std::string random_cookie() {
  return random_chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 20);
}

}  // namespace edist::testing
