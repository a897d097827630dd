// Seeded random terms for round-trip tests (unit tests, interop tests, fuzz seeds, benchmarks).
// The same seed gives the same terms on every machine: only std::mt19937_64's raw output is
// used, never the distributions of the standard library (their results vary between libraries).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <edist/etf/term.hpp>
#include <random>
#include <string>
#include <vector>

namespace edist::etf::testing {

struct random_term_options {
  std::size_t max_depth = 4;
  std::size_t max_width = 8;  // elements of a tuple, list or map
  bool closures = false;      // local funs (BEAM accepts them, but they name no real code)
  bool large_values = true;   // bignums of hundreds of bytes, binaries of kilobytes, big maps
  // -0.0 (OTP 25 and older treat -0.0 =:= 0.0, so a map holding both as keys is refused there).
  bool negative_zero = true;
  // The creator pid of every closure; nil means a random pid. OTP 27 keeps no creator pid and
  // writes its own <0.0.0> for every local fun, so a test against OTP 27 sets that one here.
  term fun_pid;
};

class random_term_generator {
 public:
  explicit random_term_generator(std::uint64_t seed, random_term_options options = {})
      : rng_(seed), opts_(options) {}

  term next() { return make(0); }

  std::uint64_t bits() { return rng_(); }
  // Uniform enough in [0, n) for tests (n > 0).
  std::uint64_t below(std::uint64_t n) { return rng_() % n; }
  bool chance(unsigned percent) { return below(100) < percent; }

  term random_atom() {
    static const char* const pool[] = {
        "ok",    "error",  "undefined", "true", "false",    "a_rather_long_atom_stored_on_the_heap",
        "héllo", "日本語", "Ωμέγα",     "",     "'quoted'", "with space"};
    switch (below(4)) {
      case 0:
      case 1:
        return term::atom(pool[below(std::size(pool))]);
      case 2: {
        std::string s;
        std::size_t n = below(opts_.large_values ? 40 : 16);
        for (std::size_t i = 0; i < n; ++i) s += static_cast<char>('a' + below(26));
        return term::atom(s);
      }
      default: {
        // Up to 255 characters of mixed width: ASCII, 2-, 3- and 4-byte UTF-8.
        std::string s;
        std::size_t n = below(opts_.large_values ? 256 : 20);
        for (std::size_t i = 0; i < n; ++i) append_code_point(s);
        return term::atom(s);
      }
    }
  }

  term random_node() {
    static const char* const nodes[] = {"a@h", "nonode@nohost",
                                        "edist_node_with_long_name@localhost", "x@127.0.0.1"};
    return term::atom(nodes[below(std::size(nodes))]);
  }

 private:
  void append_code_point(std::string& s) {
    char32_t cp;
    switch (below(4)) {
      case 0:
        cp = static_cast<char32_t>(0x20 + below(0x5f));
        break;
      case 1:
        cp = static_cast<char32_t>(0x80 + below(0x800 - 0x80));
        break;
      case 2:
        cp = static_cast<char32_t>(0x800 + below(0xd800 - 0x800));
        break;
      default:
        cp = static_cast<char32_t>(0x10000 + below(0x110000 - 0x10000));
        break;
    }
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xc0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xe0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      s += static_cast<char>(0xf0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  term random_integer() {
    switch (below(7)) {
      case 0:
        return term(static_cast<std::int64_t>(below(256)));
      case 1:
        return term(static_cast<std::int64_t>(static_cast<std::int32_t>(bits())));
      case 2:
        return term(static_cast<std::int64_t>(bits()));
      case 3:
        return term(bits());
      case 4: {
        static const std::int64_t edges[] = {0,
                                             255,
                                             256,
                                             -1,
                                             INT32_MIN,
                                             INT32_MAX,
                                             -256,
                                             std::int64_t{INT32_MAX} + 1,
                                             INT64_MIN,
                                             INT64_MAX,
                                             std::int64_t{INT32_MIN} - 1};
        return term(edges[below(std::size(edges))]);
      }
      default: {
        std::vector<std::uint8_t> mag(1 + below(opts_.large_values ? 400 : 24));
        for (auto& b : mag) b = static_cast<std::uint8_t>(bits());
        return term::big_integer(chance(50), mag);
      }
    }
  }

  term random_float() {
    switch (below(4)) {
      case 0:
        return term(chance(50) && opts_.negative_zero ? -0.0 : 0.0);
      case 1:
        return term(static_cast<double>(static_cast<std::int32_t>(bits())) / 8.0);
      default: {
        for (;;) {
          std::uint64_t b = bits();
          double d;
          std::memcpy(&d, &b, 8);
          if (std::isfinite(d) && (d != 0 || opts_.negative_zero)) return term(d);
        }
      }
    }
  }

  term random_binary() {
    std::size_t n = below(4) == 0 && opts_.large_values ? below(3000) : below(40);
    std::vector<std::uint8_t> data(n);
    for (auto& b : data) b = static_cast<std::uint8_t>(bits());
    if (n > 0 && chance(25)) return term::bitstring(data, 1 + static_cast<unsigned>(below(7)));
    return term::binary(data);
  }

  term random_identifier() {
    switch (below(4)) {
      // Every random draw is a statement of its own: the order in which function arguments are
      // evaluated differs between compilers, and the same seed must give the same terms.
      case 0: {
        term node = random_node();
        auto id = static_cast<std::uint32_t>(below(1u << 28));
        auto serial = static_cast<std::uint32_t>(below(8));
        auto creation = static_cast<std::uint32_t>(bits());
        return term::pid(node, id, serial, creation);
      }
      case 1: {
        term node = random_node();
        std::uint64_t id = chance(30) ? bits() : below(1u << 28);
        auto creation = static_cast<std::uint32_t>(bits());
        return term::port(node, id, creation);
      }
      case 2: {
        std::vector<std::uint32_t> words(1 + below(5));
        for (auto& w : words) w = static_cast<std::uint32_t>(bits());
        term node = random_node();
        auto creation = static_cast<std::uint32_t>(bits());
        return term::reference(node, creation, words);
      }
      default: {
        term module = random_atom();
        term function = random_atom();
        auto arity = static_cast<std::uint8_t>(below(256));
        return term::export_fun(module, function, arity);
      }
    }
  }

  term make(std::size_t depth) {
    unsigned choice = static_cast<unsigned>(below(depth >= opts_.max_depth ? 7 : 13));
    switch (choice) {
      case 0:
        return random_integer();
      case 1:
        return random_float();
      case 2:
        return random_atom();
      case 3:
        return random_binary();
      case 4:
        return random_identifier();
      case 5:
        return term();
      case 6: {
        // A charlist: STRING_EXT on the wire when every element is a byte.
        std::vector<term> chars(below(30));
        for (auto& c : chars) c = term(static_cast<std::int64_t>(below(chance(80) ? 256 : 0x3000)));
        return term::list(std::move(chars));
      }
      case 7:
      case 8: {
        std::vector<term> elements(below(opts_.max_width + 1));
        for (auto& e : elements) e = make(depth + 1);
        return term::tuple(std::move(elements));
      }
      case 9:
      case 10: {
        std::vector<term> elements(1 + below(opts_.max_width));
        for (auto& e : elements) e = make(depth + 1);
        term tail = chance(20) ? make(depth + 1) : term();
        return term::list(std::move(elements), std::move(tail));
      }
      case 11: {
        std::size_t n = below(opts_.max_width + 1);
        if (opts_.large_values && chance(10)) n = 33 + below(40);  // a hash map in BEAM
        std::vector<term_pair> entries;
        for (std::size_t i = 0; i < n; ++i) {
          term key = depth + 1 < opts_.max_depth && chance(20) ? make(depth + 1) : random_scalar();
          term value = make(depth + 1);
          entries.emplace_back(std::move(key), std::move(value));
        }
        return term::map(std::move(entries));
      }
      default: {
        if (!opts_.closures) return random_identifier();
        std::array<std::uint8_t, 16> uniq;
        for (auto& u : uniq) u = static_cast<std::uint8_t>(bits());
        std::vector<term> free_vars(below(4));
        for (auto& v : free_vars) v = make(depth + 1);
        auto arity = static_cast<std::uint8_t>(below(5));
        auto index = static_cast<std::uint32_t>(below(100));
        term module = random_atom();
        term old_index(static_cast<std::int64_t>(below(100)));
        term old_uniq(static_cast<std::int64_t>(static_cast<std::int32_t>(bits())));
        term creator = opts_.fun_pid;
        if (!creator.is_pid()) {
          term node = random_node();
          auto id = static_cast<std::uint32_t>(below(1000));
          auto creation = static_cast<std::uint32_t>(bits());
          creator = term::pid(node, id, 0, creation);
        }
        return term::closure(arity, uniq, index, module, old_index, old_uniq, creator, free_vars);
      }
    }
  }

  term random_scalar() {
    switch (below(4)) {
      case 0:
        return random_integer();
      case 1:
        return random_atom();
      case 2:
        return random_float();
      default:
        return random_binary();
    }
  }

  std::mt19937_64 rng_;
  random_term_options opts_;
};

}  // namespace edist::etf::testing
