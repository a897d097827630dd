// Erlang term order, exact and arithmetic equality, and hashing, all without recursion (terms may
// nest far deeper than a call stack could follow).
#include <algorithm>
#include <cmath>
#include <edist/etf/term.hpp>
#include <vector>

#include "small_stack.hpp"
#include "term_access.hpp"
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

// A reference's id words without its high zero words, which BEAM ignores when comparing.
std::size_t significant_words(const reference_fields& r) noexcept {
  std::size_t n = r.word_count;
  while (n > 0 && r.words[n - 1] == 0) --n;
  return n;
}

int compare_atoms(const term& a, const term& b) noexcept {
  int c = term_builder_access::atom_text(a).compare(term_builder_access::atom_text(b));
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

// ---- Comparison -------------------------------------------------------------------------------
//
// Terms are compared without recursion: a container whose own parts (size, class) compare
// equal pushes a frame, and the pairs of children are then compared in order from the top
// frame. Everything but tuples, lists, maps and closures compares in one step.

struct compare_frame {
  const term* a;  // the containers whose children are being compared
  const term* b;
  std::size_t sorted_at;  // maps: where a's entries in key order start in the sorted arena
  std::uint32_t next;     // the next pair of children
  std::uint32_t count;    // how many pairs there are
  bool exact;
};

class comparer {
  using access = term_builder_access;

 public:
  explicit comparer(bool exact) noexcept : exact_(exact) {}

  int run(const term& a0, const term& b0) noexcept {
    const term* a = &a0;
    const term* b = &b0;
    bool exact = exact_;
    for (;;) {
      if (int c = open(*a, *b, exact)) return c;
      for (;;) {  // the next pair of children, closing the containers that are done
        if (stack_.empty()) return 0;
        compare_frame& f = stack_.back();
        if (f.next < f.count) {
          if (int c = next_pair(f, a, b, exact)) return c;
          break;
        }
        int c = close(f);
        if (f.a->type() == kind::map) sorted_.resize(f.sorted_at);
        stack_.pop_back();
        if (c != 0) return c;
      }
    }
  }

 private:
  // Compares a and b as far as their children; a container whose children are left to compare
  // pushes a frame.
  int open(const term& a, const term& b, bool exact) noexcept {
    kind ka = a.type(), kb = b.type();
    int ca = order_class(ka, exact), cb = order_class(kb, exact);
    if (ca != cb) return ca < cb ? -1 : 1;
    if (term_builder_access::same_bytes(a, b)) return 0;  // the same value or the same node
    switch (ka) {
      case kind::integer:
      case kind::big_integer:
      case kind::float_:
        return compare_numbers(a, b, exact);
      case kind::atom:
        return compare_atoms(a, b);
      case kind::reference: {
        auto& ra = a.as_reference();
        auto& rb = b.as_reference();
        // As BEAM (checked with lists:sort on OTP 25 and 27): node, creation, then the id words
        // from the most significant down; high zero words do not count ([5, 0, 0] =:= [5]).
        if (int c = compare_atoms(ra.node, rb.node)) return c;
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
        if (int c = compare_atoms(fa.module, fb.module)) return c;
        if (fa.is_export) {
          if (int c = compare_atoms(fa.function, fb.function)) return c;
          return three_way(fa.arity, fb.arity);
        }
        // As BEAM: module, old index, old uniq, the number of free variables, then the free
        // variables (the pairs of the frame: old index, old uniq, then the free variables; the
        // count is checked between). The creator pid is no part of a fun's identity: funs made
        // by different processes from the same code and values are =:= (OTP 25 and 27). Index,
        // Uniq and Arity follow from the first three for any fun BEAM makes; they only break
        // ties between hand-made funs (see close()).
        std::size_t common = std::min(fa.free_vars.size(), fb.free_vars.size());
        push(a, b, 2 + common, exact);
        return 0;
      }
      case kind::port: {
        auto& pa = a.as_port();
        auto& pb = b.as_port();
        // As BEAM: node, creation, id.
        if (int c = compare_atoms(pa.node, pb.node)) return c;
        if (int c = three_way(pa.creation, pb.creation)) return c;
        return three_way(pa.id, pb.id);
      }
      case kind::pid: {
        auto& pa = a.as_pid();
        auto& pb = b.as_pid();
        // As BEAM: serial and id first (a pid's number), and only then node and creation.
        if (int c = three_way(pa.serial, pb.serial)) return c;
        if (int c = three_way(pa.id, pb.id)) return c;
        if (int c = compare_atoms(pa.node, pb.node)) return c;
        return three_way(pa.creation, pb.creation);
      }
      case kind::tuple: {
        std::size_t na = a.tuple_size(), nb = b.tuple_size();
        if (int c = three_way(na, nb)) return c;
        if (na != 0) push(a, b, na, exact);
        return 0;
      }
      case kind::map: {
        std::size_t na = a.map_size(), nb = b.map_size();
        if (int c = three_way(na, nb)) return c;
        if (na == 0) return 0;
        // Keys (exactly) in key order, then values in the same order.
        std::size_t at = sorted_.size();
        append_sorted_entries(a);
        append_sorted_entries(b);
        push(a, b, 2 * na, exact).sorted_at = at;
        return 0;
      }
      case kind::nil:
        return 0;
      case kind::list: {
        // The common elements, then the tails when the lengths are equal (see close()).
        std::size_t na = a.list_elements().size(), nb = b.list_elements().size();
        push(a, b, std::min(na, nb) + (na == nb ? 1 : 0), exact);
        return 0;
      }
      case kind::binary:
      case kind::bitstring:
        return compare_bits(a, b);
    }
    return 0;
  }

  compare_frame& push(const term& a, const term& b, std::size_t pairs, bool exact) noexcept {
    stack_.push_back({&a, &b, 0, 0, static_cast<std::uint32_t>(pairs), exact});
    return stack_.back();
  }

  // Entries of a map in key order, without copying the terms.
  void append_sorted_entries(const term& m) noexcept {
    auto entries = m.map_entries();
    std::size_t from = sorted_.size();
    for (auto& e : entries) sorted_.push_back(&e);
    auto first = sorted_.begin() + static_cast<std::ptrdiff_t>(from);
    auto by_key = [](const term_pair* x, const term_pair* y) { return x->first < y->first; };
    if (!std::is_sorted(first, sorted_.end(), by_key)) std::sort(first, sorted_.end(), by_key);
  }

  // Sets a, b and exact to the next pair of f's children; nonzero when f's containers are
  // ordered before that (a closure's number of free variables).
  int next_pair(compare_frame& f, const term*& a, const term*& b, bool& exact) noexcept {
    std::uint32_t i = f.next++;
    exact = f.exact;
    switch (f.a->type()) {
      case kind::tuple:
        a = &access::node_of<detail::tuple_node>(*f.a).elements()[i];
        b = &access::node_of<detail::tuple_node>(*f.b).elements()[i];
        return 0;
      case kind::list: {
        const auto& la = access::node_of<detail::list_node>(*f.a);
        const auto& lb = access::node_of<detail::list_node>(*f.b);
        if (i < la.size && i < lb.size) {
          a = &la.elements()[i];
          b = &lb.elements()[i];
        } else {
          a = &la.tail;
          b = &lb.tail;
        }
        return 0;
      }
      case kind::map: {
        std::size_t n = f.a->map_size();
        const term_pair* const* sa = sorted_.data() + f.sorted_at;
        const term_pair* const* sb = sa + n;
        if (i < n) {
          a = &sa[i]->first;
          b = &sb[i]->first;
          exact = true;
        } else {
          a = &sa[i - n]->second;
          b = &sb[i - n]->second;
        }
        return 0;
      }
      default: {  // a closure
        auto& fa = f.a->as_fun();
        auto& fb = f.b->as_fun();
        if (i == 0) {
          a = &fa.old_index;
          b = &fb.old_index;
        } else if (i == 1) {
          a = &fa.old_uniq;
          b = &fb.old_uniq;
        } else {
          if (i == 2) {
            if (int c = three_way(fa.free_vars.size(), fb.free_vars.size())) return c;
          }
          a = &fa.free_vars[i - 2];
          b = &fb.free_vars[i - 2];
        }
        return 0;
      }
    }
  }

  // The order of f's containers once all their pairs of children compared equal.
  int close(const compare_frame& f) noexcept {
    switch (f.a->type()) {
      case kind::list: {
        // A list's tail is never itself a non-empty list (construction flattens it), so what
        // is left of the longer list is a non-empty list that compares by class against the
        // other's tail.
        std::size_t na = f.a->list_elements().size(), nb = f.b->list_elements().size();
        if (na == nb) return 0;
        int list_class = order_class(kind::list, f.exact);
        if (na < nb) {
          return three_way(order_class(f.a->list_tail().type(), f.exact), list_class) <= 0 ? -1 : 1;
        }
        return three_way(list_class, order_class(f.b->list_tail().type(), f.exact)) < 0 ? -1 : 1;
      }
      case kind::fun: {
        auto& fa = f.a->as_fun();
        auto& fb = f.b->as_fun();
        // Closures without free variables have not compared their counts yet.
        if (int c = three_way(fa.free_vars.size(), fb.free_vars.size())) return c;
        if (int c = three_way(fa.index, fb.index)) return c;
        if (int c = std::memcmp(fa.uniq.data(), fb.uniq.data(), 16)) return c < 0 ? -1 : 1;
        return three_way(fa.arity, fb.arity);
      }
      default:
        return 0;
    }
  }

  bool exact_;
  detail::small_stack<compare_frame, 16> stack_;
  std::vector<const term_pair*> sorted_;  // map entries in key order, for the open map frames
};

int compare_terms(const term& a, const term& b, bool exact) noexcept {
  // The commonest keys of sorts and maps, without setting up a comparer.
  kind k = a.type();
  if (k == b.type()) {
    if (k == kind::integer) {
      return three_way(term_builder_access::int_value(a), term_builder_access::int_value(b));
    }
    if (k == kind::atom) return compare_atoms(a, b);
  }
  return comparer(exact).run(a, b);
}

// ---- Hashing ----------------------------------------------------------------------------------
//
// Without recursion, like comparison: a container pushes a frame that folds the hashes of its
// children as they are computed.

std::size_t mix(std::size_t h, std::size_t v) noexcept {
  // 64-bit variant of boost::hash_combine's mixing.
  v *= 0x9e3779b97f4a7c15ull;
  v ^= v >> 32;
  return (h ^ v) * 0xbf58476d1ce4e5b9ull + 0x94d049bb133111ebull;
}

std::size_t hash_bytes(const void* data, std::size_t n) noexcept {
  return std::hash<std::string_view>{}({static_cast<const char*>(data), n});
}

// Atoms are hashed on hot paths (the atom cache, registered names), so without touching their
// text: an inline atom by its two words (the bytes past its text are zero), a longer one by
// the hash its node keeps. Inline and heap atoms never hold the same text, so the two forms
// may hash differently.
std::size_t hash_atom(const term& t) noexcept {
  using access = term_builder_access;
  constexpr std::size_t seed = static_cast<std::size_t>(kind::atom) + 1;
  if (!access::is_heap_atom(t)) {
    std::uint64_t w[2];
    access::words(t, w);
    return mix(mix(seed, w[0]), w[1]);
  }
  const auto& n = access::node_of<detail::atom_node>(t);
  std::uint32_t h = n.text_hash.load(std::memory_order_relaxed);
  if (h == 0) {
    const std::size_t full = std::hash<std::string_view>{}(n.text());
    h = static_cast<std::uint32_t>(full ^ (full >> 32));
    if (h == 0) h = 1;  // 0 means "not computed yet"
    n.text_hash.store(h, std::memory_order_relaxed);
  }
  return mix(seed, h);
}

// Exact equality of two atoms that are not the same bytes: only two heap atoms can still be
// equal (two inline atoms with the same text have the same bytes).
bool atoms_equal_apart(const term& a, const term& b) noexcept {
  using access = term_builder_access;
  if (!access::is_heap_atom(a) || !access::is_heap_atom(b)) return false;
  const auto& na = access::node_of<detail::atom_node>(a);
  const auto& nb = access::node_of<detail::atom_node>(b);
  if (na.size != nb.size) return false;
  const std::uint32_t ha = na.text_hash.load(std::memory_order_relaxed);
  const std::uint32_t hb = nb.text_hash.load(std::memory_order_relaxed);
  if (ha != 0 && hb != 0 && ha != hb) return false;
  return na.text() == nb.text();
}

struct hash_frame {
  // Tuples, lists and closures: their children in a row (a list's tail apart). Maps: null.
  const term* row;
  const term* container;
  std::size_t h;
  std::size_t sum;       // maps: the sum of the entries' hashes (order-independent)
  std::size_t key_hash;  // maps: the hash of the key whose value comes next
  std::uint32_t next;
  std::uint32_t count;
};

// The hash of a term without children to hash apart; false (and h set to the container's
// initial value) for a container whose children follow.
[[gnu::always_inline]] inline bool hash_head(const term& t, std::size_t& h,
                                             std::uint32_t& children) noexcept {
  h = static_cast<std::size_t>(t.type()) + 1;
  children = 0;
  switch (t.type()) {
    case kind::integer:
      h = mix(h, static_cast<std::size_t>(*t.to_int64()));
      return true;
    case kind::big_integer: {
      auto m = t.big_magnitude();
      h = mix(mix(h, t.big_negative()), hash_bytes(m.data(), m.size()));
      return true;
    }
    case kind::float_: {
      double d = t.as_double();
      std::uint64_t bits;
      std::memcpy(&bits, &d, 8);
      h = mix(h, bits);
      return true;
    }
    case kind::atom:
      h = hash_atom(t);
      return true;
    case kind::reference: {
      auto& r = t.as_reference();
      h = mix(mix(h, hash_atom(r.node)), r.creation);
      for (std::size_t i = 0; i < significant_words(r); ++i) h = mix(h, r.words[i]);
      return true;
    }
    case kind::fun: {
      auto& f = t.as_fun();
      h = mix(mix(mix(h, f.is_export), hash_atom(f.module)), f.arity);
      if (f.is_export) {
        h = mix(h, hash_atom(f.function));
        return true;
      }
      h = mix(mix(h, f.index), hash_bytes(f.uniq.data(), 16));
      children = static_cast<std::uint32_t>(f.free_vars.size());
      return children == 0;
    }
    case kind::port: {
      auto& p = t.as_port();
      h = mix(mix(mix(h, hash_atom(p.node)), p.id), p.creation);
      return true;
    }
    case kind::pid: {
      auto& p = t.as_pid();
      h = mix(mix(mix(mix(h, hash_atom(p.node)), p.id), p.serial), p.creation);
      return true;
    }
    case kind::tuple:
      children = static_cast<std::uint32_t>(t.tuple_size());
      return children == 0;
    case kind::map:
      children = static_cast<std::uint32_t>(2 * t.map_size());
      if (children == 0) h = mix(h, 0);
      return children == 0;
    case kind::nil:
      return true;
    case kind::list:
      children = static_cast<std::uint32_t>(t.list_elements().size()) + 1;  // and the tail
      return false;
    case kind::binary:
    case kind::bitstring: {
      auto b = t.binary_bytes();
      h = mix(mix(h, t.bits_in_last_byte()), hash_bytes(b.data(), b.size()));
      return true;
    }
  }
  return true;
}

hash_frame open_hash_frame(const term& c, std::size_t h, std::uint32_t children) noexcept {
  using access = term_builder_access;
  const term* row = nullptr;
  switch (c.type()) {
    case kind::tuple:
      row = access::node_of<detail::tuple_node>(c).elements();
      break;
    case kind::list:
      row = access::node_of<detail::list_node>(c).elements();
      break;
    case kind::fun:
      row = access::node_of<detail::fun_node>(c).fields.free_vars.data();
      break;
    default:
      break;
  }
  return {row, &c, h, 0, 0, 0, children};
}

// The next child of f (f.next < f.count).
const term& next_hash_child(hash_frame& f) noexcept {
  using access = term_builder_access;
  std::uint32_t i = f.next++;
  if (f.row != nullptr) {
    // A list's last child is its tail, after its elements.
    if (f.container->type() == kind::list && i + 1 == f.count) {
      return access::node_of<detail::list_node>(*f.container).tail;
    }
    return f.row[i];
  }
  const term_pair& e = access::node_of<detail::map_node>(*f.container).entries()[i / 2];
  return (i & 1) != 0 ? e.second : e.first;
}

// A container's hash, from its initial value and its number of children (hash_head).
std::size_t hash_container(const term& root, std::size_t h, std::uint32_t children) noexcept {
  detail::small_stack<hash_frame, 16> stack;
  stack.push_back(open_hash_frame(root, h, children));
  const term* t = &next_hash_child(stack.back());
  for (;;) {
    std::size_t v;
    if (!hash_head(*t, v, children)) {
      stack.push_back(open_hash_frame(*t, v, children));
      t = &next_hash_child(stack.back());
      continue;
    }
    // v is the hash of the term just done: fold it into its container, and so on up.
    for (;;) {
      if (stack.empty()) return v;
      hash_frame& f = stack.back();
      if (f.row != nullptr) {
        f.h = mix(f.h, v);
      } else if ((f.next & 1) != 0) {
        f.key_hash = v;
      } else {
        f.sum += mix(f.key_hash, v);
      }
      if (f.next < f.count) {
        t = &next_hash_child(f);
        break;
      }
      v = f.row != nullptr ? f.h : mix(f.h, f.sum);
      stack.pop_back();
    }
  }
}

std::size_t hash_term(const term& t) noexcept {
  std::size_t h;
  std::uint32_t children;
  if (hash_head(t, h, children)) return h;
  return hash_container(t, h, children);
}

}  // namespace

bool operator==(const term& a, const term& b) noexcept {
  // The same immediate value or the same shared node.
  if (term_builder_access::same_bytes(a, b)) return true;
  if (a.type() != b.type()) return false;
  if (a.type() == kind::atom) return atoms_equal_apart(a, b);
  return compare_terms(a, b, true) == 0;
}

std::strong_ordering operator<=>(const term& a, const term& b) noexcept {
  if (term_builder_access::same_bytes(a, b)) return std::strong_ordering::equal;
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
  if (type() == kind::atom) return hash_atom(*this);
  return hash_term(*this);
}

}  // namespace edist::etf
