// Erlang term order, exact and arithmetic equality, and hashing.
#include <algorithm>
#include <cmath>
#include <edist/etf/term.hpp>
#include <vector>

#include "term_nodes.hpp"

namespace edist::etf {

namespace {

// The class a kind sorts in. In exact mode floats form a class of their own after integers,
// which makes the order total and consistent with =:= (Erlang's map key order).
int order_class(kind k, bool exact) noexcept {
  switch (k) {
    case kind::integer:
    case kind::big_integer:
      return 0;
    case kind::float_:
      return exact ? 1 : 0;
    case kind::atom:
      return 2;
    case kind::reference:
      return 3;
    case kind::fun:
      return 4;
    case kind::port:
      return 5;
    case kind::pid:
      return 6;
    case kind::tuple:
      return 7;
    case kind::map:
      return 8;
    case kind::nil:
      return 9;
    case kind::list:
      return 10;
    case kind::binary:
    case kind::bitstring:
      return 11;
  }
  return 12;
}

template <class T>
int three_way(const T& a, const T& b) noexcept {
  return a < b ? -1 : (b < a ? 1 : 0);
}

int compare_magnitudes(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  for (std::size_t i = a.size(); i-- > 0;) {
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}

int compare_signed_magnitudes(bool a_neg, std::span<const std::uint8_t> a, bool b_neg,
                              std::span<const std::uint8_t> b) noexcept {
  if (a_neg != b_neg) return a_neg ? -1 : 1;
  int c = compare_magnitudes(a, b);
  return a_neg ? -c : c;
}

int compare_int_double(std::int64_t i, double d) noexcept {
  if (d >= 9223372036854775808.0) return -1;
  if (d < -9223372036854775808.0) return 1;
  double whole = std::trunc(d);
  auto t = static_cast<std::int64_t>(whole);
  if (i != t) return i < t ? -1 : 1;
  double fraction = d - whole;
  return fraction > 0 ? -1 : (fraction < 0 ? 1 : 0);
}

// A big integer (never within int64) against a double.
int compare_big_double(const term& big, double d) noexcept {
  bool negative = big.big_negative();
  if (std::fabs(d) < 9223372036854775808.0) return negative ? -1 : 1;
  // |d| >= 2^63, so d is integral: write its magnitude out exactly.
  int exponent = 0;
  double mantissa = std::frexp(std::fabs(d), &exponent);  // d = mantissa * 2^exponent
  auto bits = static_cast<std::uint64_t>(std::ldexp(mantissa, 53));
  int shift = exponent - 53;  // >= 11 here
  std::vector<std::uint8_t> magnitude(static_cast<std::size_t>(shift / 8) + 9, 0);
  unsigned bit_shift = static_cast<unsigned>(shift % 8);
  std::size_t byte = static_cast<std::size_t>(shift / 8);
  unsigned carry = 0;
  for (std::size_t k = 0; k < 9; ++k) {
    unsigned piece = k < 8 ? static_cast<unsigned>((bits >> (8 * k)) & 0xff) : 0u;
    unsigned shifted = (piece << bit_shift) | carry;
    magnitude[byte + k] = static_cast<std::uint8_t>(shifted & 0xff);
    carry = shifted >> 8;
  }
  while (!magnitude.empty() && magnitude.back() == 0) magnitude.pop_back();
  return compare_signed_magnitudes(negative, big.big_magnitude(), d < 0, magnitude);
}

int compare_numbers(const term& a, const term& b, bool exact) noexcept {
  kind ka = a.type(), kb = b.type();
  if (ka == kind::float_ && kb == kind::float_) {
    double x = a.as_double(), y = b.as_double();
    if (int c = three_way(x, y)) return c;
    // As in OTP 27, -0.0 and 0.0 are equal (==) but not exactly equal (=:=).
    return exact ? three_way(!std::signbit(x), !std::signbit(y)) : 0;
  }
  if (ka == kind::float_ || kb == kind::float_) {
    if (exact) return ka == kind::float_ ? 1 : -1;
    if (ka == kind::float_) return -compare_numbers(b, a, exact);
    double d = b.as_double();
    if (ka == kind::integer) return compare_int_double(*a.to_int64(), d);
    return compare_big_double(a, d);
  }
  if (ka == kind::integer && kb == kind::integer) return three_way(*a.to_int64(), *b.to_int64());
  if (ka == kind::integer) return b.big_negative() ? 1 : -1;
  if (kb == kind::integer) return a.big_negative() ? -1 : 1;
  return compare_signed_magnitudes(a.big_negative(), a.big_magnitude(), b.big_negative(),
                                   b.big_magnitude());
}

int compare_bits(const term& a, const term& b) noexcept {
  auto ab = a.binary_bytes(), bb = b.binary_bytes();
  std::size_t a_bits = a.bit_size(), b_bits = b.bit_size();
  std::size_t common = std::min(a_bits, b_bits);
  std::size_t full = common / 8;
  if (full > 0) {
    int c = std::memcmp(ab.data(), bb.data(), full);
    if (c != 0) return c < 0 ? -1 : 1;
  }
  if (unsigned rest = common % 8) {
    auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    int c = three_way(static_cast<std::uint8_t>(ab[full] & mask),
                      static_cast<std::uint8_t>(bb[full] & mask));
    if (c != 0) return c;
  }
  return three_way(a_bits, b_bits);
}

int compare_terms(const term& a, const term& b, bool exact) noexcept;

// A reference's id words without its high zero words, which BEAM ignores when comparing.
std::size_t significant_words(const reference_fields& r) noexcept {
  std::size_t n = r.word_count;
  while (n > 0 && r.words[n - 1] == 0) --n;
  return n;
}

// Entries of a map in key order, without copying the terms.
std::vector<const term_pair*> sorted_entries(const term& m) {
  auto entries = m.map_entries();
  std::vector<const term_pair*> out;
  out.reserve(entries.size());
  for (auto& e : entries) out.push_back(&e);
  if (!std::is_sorted(out.begin(), out.end(),
                      [](const term_pair* x, const term_pair* y) { return x->first < y->first; })) {
    std::sort(out.begin(), out.end(),
              [](const term_pair* x, const term_pair* y) { return x->first < y->first; });
  }
  return out;
}

int compare_maps(const term& a, const term& b, bool exact) noexcept {
  int c = three_way(a.map_size(), b.map_size());
  if (c != 0) return c;
  auto sa = sorted_entries(a), sb = sorted_entries(b);
  for (std::size_t i = 0; i < sa.size(); ++i) {
    c = compare_terms(sa[i]->first, sb[i]->first, true);
    if (c != 0) return c;
  }
  for (std::size_t i = 0; i < sa.size(); ++i) {
    c = compare_terms(sa[i]->second, sb[i]->second, exact);
    if (c != 0) return c;
  }
  return 0;
}

int compare_lists(const term& a, const term& b, bool exact) noexcept {
  auto ea = a.list_elements(), eb = b.list_elements();
  std::size_t n = std::min(ea.size(), eb.size());
  for (std::size_t i = 0; i < n; ++i) {
    int c = compare_terms(ea[i], eb[i], exact);
    if (c != 0) return c;
  }
  // A list's tail is never itself a non-empty list (construction flattens it), so what is left
  // of the longer list is a non-empty list that compares by class against the other's tail.
  if (ea.size() == eb.size()) return compare_terms(a.list_tail(), b.list_tail(), exact);
  int list_class = order_class(kind::list, exact);
  if (ea.size() < eb.size()) {
    return three_way(order_class(a.list_tail().type(), exact), list_class) <= 0 ? -1 : 1;
  }
  return three_way(list_class, order_class(b.list_tail().type(), exact)) < 0 ? -1 : 1;
}

int compare_terms(const term& a, const term& b, bool exact) noexcept {
  int ca = order_class(a.type(), exact), cb = order_class(b.type(), exact);
  if (ca != cb) return ca < cb ? -1 : 1;
  switch (a.type()) {
    case kind::integer:
    case kind::big_integer:
    case kind::float_:
      return compare_numbers(a, b, exact);
    case kind::atom: {
      int c = a.atom_name().compare(b.atom_name());
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    case kind::reference: {
      auto& ra = a.as_reference();
      auto& rb = b.as_reference();
      // As BEAM (checked with lists:sort on OTP 25 and 27): node, creation, then the id words
      // from the most significant down; high zero words do not count ([5, 0, 0] =:= [5]).
      if (int c = compare_terms(ra.node, rb.node, exact)) return c;
      if (int c = three_way(ra.creation, rb.creation)) return c;
      std::size_t na = significant_words(ra), nb = significant_words(rb);
      if (int c = three_way(na, nb)) return c;
      for (std::size_t i = na; i-- > 0;) {
        if (int c = three_way(ra.words[i], rb.words[i])) return c;
      }
      return 0;
    }
    case kind::fun: {
      auto& fa = a.as_fun();
      auto& fb = b.as_fun();
      if (fa.is_export != fb.is_export) return fa.is_export ? 1 : -1;
      if (int c = compare_terms(fa.module, fb.module, exact)) return c;
      if (fa.is_export) {
        if (int c = compare_terms(fa.function, fb.function, exact)) return c;
        return three_way(fa.arity, fb.arity);
      }
      // As BEAM: module, old index, old uniq, the number of free variables, then the free
      // variables. The creator pid is no part of a fun's identity: funs made by different
      // processes from the same code and values are =:= (OTP 25 and 27). Index, Uniq and Arity
      // follow from the first three for any fun BEAM makes; they only break ties between
      // hand-made funs.
      if (int c = compare_terms(fa.old_index, fb.old_index, exact)) return c;
      if (int c = compare_terms(fa.old_uniq, fb.old_uniq, exact)) return c;
      if (int c = three_way(fa.free_vars.size(), fb.free_vars.size())) return c;
      for (std::size_t i = 0; i < fa.free_vars.size(); ++i) {
        if (int c = compare_terms(fa.free_vars[i], fb.free_vars[i], exact)) return c;
      }
      if (int c = three_way(fa.index, fb.index)) return c;
      if (int c = std::memcmp(fa.uniq.data(), fb.uniq.data(), 16)) return c < 0 ? -1 : 1;
      return three_way(fa.arity, fb.arity);
    }
    case kind::port: {
      auto& pa = a.as_port();
      auto& pb = b.as_port();
      // As BEAM: node, creation, id.
      if (int c = compare_terms(pa.node, pb.node, exact)) return c;
      if (int c = three_way(pa.creation, pb.creation)) return c;
      return three_way(pa.id, pb.id);
    }
    case kind::pid: {
      auto& pa = a.as_pid();
      auto& pb = b.as_pid();
      // As BEAM: serial and id first (a pid's number), and only then node and creation.
      if (int c = three_way(pa.serial, pb.serial)) return c;
      if (int c = three_way(pa.id, pb.id)) return c;
      if (int c = compare_terms(pa.node, pb.node, exact)) return c;
      return three_way(pa.creation, pb.creation);
    }
    case kind::tuple: {
      auto ea = a.tuple_elements(), eb = b.tuple_elements();
      if (int c = three_way(ea.size(), eb.size())) return c;
      for (std::size_t i = 0; i < ea.size(); ++i) {
        if (int c = compare_terms(ea[i], eb[i], exact)) return c;
      }
      return 0;
    }
    case kind::map:
      return compare_maps(a, b, exact);
    case kind::nil:
      return 0;
    case kind::list:
      return compare_lists(a, b, exact);
    case kind::binary:
    case kind::bitstring:
      return compare_bits(a, b);
  }
  return 0;
}

std::size_t mix(std::size_t h, std::size_t v) noexcept {
  // 64-bit variant of boost::hash_combine's mixing.
  v *= 0x9e3779b97f4a7c15ull;
  v ^= v >> 32;
  return (h ^ v) * 0xbf58476d1ce4e5b9ull + 0x94d049bb133111ebull;
}

std::size_t hash_bytes(const void* data, std::size_t n) noexcept {
  return std::hash<std::string_view>{}({static_cast<const char*>(data), n});
}

std::size_t hash_term(const term& t) noexcept {
  std::size_t h = static_cast<std::size_t>(t.type()) + 1;
  switch (t.type()) {
    case kind::integer:
      return mix(h, static_cast<std::size_t>(*t.to_int64()));
    case kind::big_integer: {
      auto m = t.big_magnitude();
      return mix(mix(h, t.big_negative()), hash_bytes(m.data(), m.size()));
    }
    case kind::float_: {
      double d = t.as_double();
      std::uint64_t bits;
      std::memcpy(&bits, &d, 8);
      return mix(h, bits);
    }
    case kind::atom:
      return mix(h, std::hash<std::string_view>{}(t.atom_name()));
    case kind::reference: {
      auto& r = t.as_reference();
      h = mix(mix(h, hash_term(r.node)), r.creation);
      for (std::size_t i = 0; i < significant_words(r); ++i) h = mix(h, r.words[i]);
      return h;
    }
    case kind::fun: {
      auto& f = t.as_fun();
      h = mix(mix(mix(h, f.is_export), hash_term(f.module)), f.arity);
      if (f.is_export) return mix(h, hash_term(f.function));
      h = mix(mix(h, f.index), hash_bytes(f.uniq.data(), 16));
      for (auto& v : f.free_vars) h = mix(h, hash_term(v));
      return h;
    }
    case kind::port: {
      auto& p = t.as_port();
      return mix(mix(mix(h, hash_term(p.node)), p.id), p.creation);
    }
    case kind::pid: {
      auto& p = t.as_pid();
      return mix(mix(mix(mix(h, hash_term(p.node)), p.id), p.serial), p.creation);
    }
    case kind::tuple:
      for (auto& e : t.tuple_elements()) h = mix(h, hash_term(e));
      return h;
    case kind::map: {
      // Order-independent: two equal maps may store their entries in different orders.
      std::size_t sum = 0;
      for (auto& [k, v] : t.map_entries()) sum += mix(hash_term(k), hash_term(v));
      return mix(h, sum);
    }
    case kind::nil:
      return h;
    case kind::list:
      for (auto& e : t.list_elements()) h = mix(h, hash_term(e));
      return mix(h, hash_term(t.list_tail()));
    case kind::binary:
    case kind::bitstring: {
      auto b = t.binary_bytes();
      return mix(mix(h, t.bits_in_last_byte()), hash_bytes(b.data(), b.size()));
    }
  }
  return h;
}

}  // namespace

bool operator==(const term& a, const term& b) noexcept {
  if (a.bytes_ == b.bytes_) return true;  // same immediate value or same shared node
  if (a.type() != b.type()) return false;
  return compare_terms(a, b, true) == 0;
}

std::strong_ordering operator<=>(const term& a, const term& b) noexcept {
  if (a.bytes_ == b.bytes_) return std::strong_ordering::equal;
  int c = compare_terms(a, b, true);
  return c < 0 ? std::strong_ordering::less
               : (c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal);
}

std::weak_ordering compare(const term& a, const term& b) noexcept {
  int c = compare_terms(a, b, false);
  return c < 0 ? std::weak_ordering::less
               : (c > 0 ? std::weak_ordering::greater : std::weak_ordering::equivalent);
}

bool equal(const term& a, const term& b) noexcept {
  return compare_terms(a, b, false) == 0;
}

std::size_t term::hash() const noexcept {
  return hash_term(*this);
}

}  // namespace edist::etf
