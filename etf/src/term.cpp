#include <algorithm>
#include <cmath>
#include <edist/etf/term.hpp>
#include <numeric>

#include "term_access.hpp"
#include "term_nodes.hpp"
#include "utf8.hpp"

namespace edist::etf {

using namespace detail;

std::string_view to_string(kind k) noexcept {
  switch (k) {
    case kind::integer:
      return "integer";
    case kind::big_integer:
      return "big_integer";
    case kind::float_:
      return "float";
    case kind::atom:
      return "atom";
    case kind::reference:
      return "reference";
    case kind::fun:
      return "fun";
    case kind::port:
      return "port";
    case kind::pid:
      return "pid";
    case kind::tuple:
      return "tuple";
    case kind::map:
      return "map";
    case kind::nil:
      return "nil";
    case kind::list:
      return "list";
    case kind::binary:
      return "binary";
    case kind::bitstring:
      return "bitstring";
  }
  return "unknown";
}

namespace detail {

namespace {

using access = term_builder_access;

// Destruction walks the tree of dying nodes without recursion and without allocating: the
// slots of a dying container are released in order, and before descending into a child that
// died too, the way back (the container above and the slot to resume at) is stashed in the
// container's first slot, which has been released already. The slots of a dying node are
// thus a linked stack of unbounded depth at no cost.

// How many term slots of n may hold nodes that die with it (0: none, or not a container).
std::uint32_t slot_count(const node* n) noexcept {
  switch (n->k) {
    case kind::tuple:
      return static_cast<const tuple_node*>(n)->size;
    case kind::list:
      return static_cast<const list_node*>(n)->size + 1;  // the elements, then the tail
    case kind::map:
      return 2 * static_cast<const map_node*>(n)->size;
    case kind::fun:
      return static_cast<std::uint32_t>(static_cast<const fun_node*>(n)->fields.free_vars.size());
    default:
      return 0;
  }
}

term& slot_at(node* n, std::uint32_t i) noexcept {
  switch (n->k) {
    case kind::tuple:
      return static_cast<tuple_node*>(n)->elements()[i];
    case kind::list: {
      auto* l = static_cast<list_node*>(n);
      return i < l->size ? l->elements()[i] : l->tail;
    }
    case kind::map: {
      term_pair& e = static_cast<map_node*>(n)->entries()[i / 2];
      return (i & 1) != 0 ? e.second : e.first;
    }
    default:
      return static_cast<fun_node*>(n)->fields.free_vars[i];
  }
}

// Frees a node whose slots (slot_count) have been released already. What else it holds (the
// node atom of a pid, a fun's module and creator) is shallow: at most a pid holding an atom.
void free_node(node* n) noexcept {
  const std::uint8_t pool_class = n->pool_class;
  switch (n->k) {
    case kind::atom:
      static_cast<atom_node*>(n)->~atom_node();
      break;
    case kind::big_integer:
      static_cast<big_node*>(n)->~big_node();
      break;
    case kind::tuple:
    case kind::list:
    case kind::map:
      break;  // their slots are released; nothing else in them needs destroying
    case kind::binary:
    case kind::bitstring:
      static_cast<binary_node*>(n)->~binary_node();
      break;
    case kind::pid:
      static_cast<pid_node*>(n)->~pid_node();
      break;
    case kind::port:
      static_cast<port_node*>(n)->~port_node();
      break;
    case kind::reference:
      static_cast<reference_node*>(n)->~reference_node();
      break;
    case kind::fun: {
      auto* f = static_cast<fun_node*>(n);
      for (term& v : f->fields.free_vars) access::forget(v);
      f->~fun_node();
      break;
    }
    default:
      break;
  }
  node_deallocate(static_cast<void*>(n), pool_class);
}

}  // namespace

void destroy(node* n) noexcept {
  node* current = n;
  node* parent = nullptr;  // the dying container current was found in
  std::uint32_t next = 0;  // the next slot of current to release
  for (;;) {
    std::uint32_t count = slot_count(current);
    node* child = nullptr;
    while (next < count) {
      node* dead = access::release_deferred_dying(slot_at(current, next++));
      if (dead == nullptr) continue;
      if (slot_count(dead) == 0) {
        free_node(dead);
        continue;
      }
      child = dead;
      break;
    }
    if (child != nullptr) {
      access::stash(slot_at(current, 0), parent, next);
      parent = current;
      current = child;
      next = 0;
      continue;
    }
    node* up = parent;
    if (up != nullptr) {
      const term& way_back = slot_at(up, 0);
      parent = static_cast<node*>(const_cast<void*>(access::stashed_pointer(way_back)));
      next = access::stashed_index(way_back);
    }
    free_node(current);
    if (up == nullptr) return;
    current = up;
  }
}

void destroy_region(region* r) noexcept {
  for (region_finalizer* f = r->finalizers; f != nullptr;) {
    region_finalizer* after = f->next;  // f lives in a chunk, which stays until the end
    f->run(f);
    f = after;
  }
  for (region_chunk* c = r->next; c != nullptr;) {
    region_chunk* after = c->next;
    ::operator delete(static_cast<void*>(c));
    c = after;
  }
  const std::uint8_t pool_class = r->pool_class;
  r->~region();
  node_deallocate(static_cast<void*>(r), pool_class);
}

}  // namespace detail

// ---- Lifetime ---------------------------------------------------------------------------------

void term::retain_node() const noexcept {
  node* n = node_ptr();
  if (n->pool_class == region_pool_class) {
    retain_region(region_of(n));
  } else {
    n->refs.fetch_add(1, std::memory_order_relaxed);
  }
}

void term::release_node() noexcept {
  node* n = node_ptr();
  if (n->pool_class == region_pool_class) {
    release_region(region_of(n));
    return;
  }
  // The last owner needs no atomic read-modify-write: nobody else can reach the node any more.
  if (n->refs.load(std::memory_order_acquire) == 1 ||
      n->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    destroy(n);
  }
}

void term::retain() const noexcept {
  if (holds_node()) retain_node();
}

void term::release() noexcept {
  if (holds_node()) release_node();
}

// ---- Numbers ----------------------------------------------------------------------------------

void term::init_uint(std::uint64_t v) {
  if (v <= static_cast<std::uint64_t>(INT64_MAX)) {
    init_int(static_cast<std::int64_t>(v));
    return;
  }
  std::uint8_t digits[8];
  for (int i = 0; i < 8; ++i) digits[i] = static_cast<std::uint8_t>(v >> (8 * i));
  auto* n = allocate_node<big_node>(8, false, 8u);
  std::memcpy(trailing<std::uint8_t>(n), digits, 8);
  adopt(kind::big_integer, n);
}

term term::big_integer(bool negative, std::span<const std::uint8_t> magnitude) {
  std::size_t size = magnitude.size();
  while (size > 0 && magnitude[size - 1] == 0) --size;
  magnitude = magnitude.first(size);
  if (size <= 8) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < size; ++i) v |= static_cast<std::uint64_t>(magnitude[i]) << (8 * i);
    if (!negative && v <= static_cast<std::uint64_t>(INT64_MAX)) {
      return term(static_cast<std::int64_t>(v));
    }
    if (negative && v <= static_cast<std::uint64_t>(INT64_MAX) + 1) {
      return term(static_cast<std::int64_t>(0 - v));
    }
  }
  if (size > UINT32_MAX) throw invalid_term("integer too large");
  auto* n = allocate_node<big_node>(size, negative, static_cast<std::uint32_t>(size));
  if (size > 0) std::memcpy(trailing<std::uint8_t>(n), magnitude.data(), size);
  return term_builder_access::adopt(kind::big_integer, n);
}

std::optional<term> term::integer_from_decimal(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (text.empty()) return std::nullopt;
  // Magnitude in base 256, little-endian; each decimal digit multiplies by 10 and adds.
  std::vector<std::uint8_t> magnitude;
  magnitude.reserve(text.size() / 2 + 1);
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    unsigned carry = static_cast<unsigned>(c - '0');
    for (auto& digit : magnitude) {
      unsigned v = digit * 10u + carry;
      digit = static_cast<std::uint8_t>(v & 0xff);
      carry = v >> 8;
    }
    while (carry) {
      magnitude.push_back(static_cast<std::uint8_t>(carry & 0xff));
      carry >>= 8;
    }
  }
  return big_integer(negative, magnitude);
}

std::optional<std::int64_t> term::to_int64() const noexcept {
  if (type() == kind::integer) return load_word<std::int64_t>();
  return std::nullopt;  // a big_integer never fits in int64
}

std::optional<std::uint64_t> term::to_uint64() const noexcept {
  if (type() == kind::integer) {
    auto v = load_word<std::int64_t>();
    if (v < 0) return std::nullopt;
    return static_cast<std::uint64_t>(v);
  }
  if (type() == kind::big_integer) {
    auto* n = static_cast<const big_node*>(node_ptr());
    if (n->negative || n->size > 8) return std::nullopt;
    std::uint64_t v = 0;
    for (std::uint32_t i = 0; i < n->size; ++i) {
      v |= static_cast<std::uint64_t>(n->magnitude()[i]) << (8 * i);
    }
    return v;
  }
  return std::nullopt;
}

std::int64_t term::as_int64() const {
  if (auto v = to_int64()) return *v;
  throw bad_term_access(is_integer()
                            ? "integer does not fit in int64"
                            : "expected an integer, got " + std::string(to_string(type())));
}

bool term::big_negative() const {
  if (type() != kind::big_integer) throw bad_term_access("expected a big integer");
  return static_cast<const big_node*>(node_ptr())->negative;
}

std::span<const std::uint8_t> term::big_magnitude() const {
  if (type() != kind::big_integer) throw bad_term_access("expected a big integer");
  return static_cast<const big_node*>(node_ptr())->magnitude();
}

std::string term::integer_to_decimal() const {
  if (type() == kind::integer) return std::to_string(load_word<std::int64_t>());
  if (type() != kind::big_integer) throw bad_term_access("expected an integer");
  auto* n = static_cast<const big_node*>(node_ptr());
  // Repeated division by 10^9 of a base-2^32 copy of the magnitude.
  std::vector<std::uint32_t> limbs((n->size + 3) / 4, 0);
  for (std::uint32_t i = 0; i < n->size; ++i) {
    limbs[i / 4] |= static_cast<std::uint32_t>(n->magnitude()[i]) << (8 * (i % 4));
  }
  std::vector<std::uint32_t> chunks;  // base 10^9, least significant first
  while (!limbs.empty()) {
    std::uint64_t remainder = 0;
    for (std::size_t i = limbs.size(); i-- > 0;) {
      std::uint64_t cur = (remainder << 32) | limbs[i];
      limbs[i] = static_cast<std::uint32_t>(cur / 1000000000u);
      remainder = cur % 1000000000u;
    }
    chunks.push_back(static_cast<std::uint32_t>(remainder));
    while (!limbs.empty() && limbs.back() == 0) limbs.pop_back();
  }
  std::string out = n->negative ? "-" : "";
  out += std::to_string(chunks.back());
  for (std::size_t i = chunks.size() - 1; i-- > 0;) {
    std::string part = std::to_string(chunks[i]);
    out.append(9 - part.size(), '0');
    out += part;
  }
  return out;
}

double term::as_double() const {
  if (type() != kind::float_) throw bad_term_access("expected a float");
  return load_word<double>();
}

std::optional<double> term::to_double() const noexcept {
  switch (type()) {
    case kind::float_:
      return load_word<double>();
    case kind::integer:
      return static_cast<double>(load_word<std::int64_t>());
    case kind::big_integer: {
      auto* n = static_cast<const big_node*>(node_ptr());
      double v = 0;
      for (std::uint32_t i = n->size; i-- > 0;) v = v * 256.0 + n->magnitude()[i];
      return n->negative ? -v : v;
    }
    default:
      return std::nullopt;
  }
}

// ---- Atoms ------------------------------------------------------------------------------------

term::term(bool value) noexcept {
  set_kind(kind::atom);
  std::string_view name = value ? "true" : "false";
  bytes_[1] = static_cast<std::uint8_t>(name.size());
  std::memcpy(bytes_.data() + 2, name.data(), name.size());
}

term term::atom(std::string_view utf8) {
  auto characters = utf8_count(utf8);
  if (!characters) throw invalid_term("atom is not valid UTF-8");
  if (*characters > 255) throw invalid_term("atom longer than 255 characters");
  term t;
  if (utf8.size() <= inline_atom_capacity) {
    t.set_kind(kind::atom);
    t.bytes_[1] = static_cast<std::uint8_t>(utf8.size());
    if (!utf8.empty()) std::memcpy(t.bytes_.data() + 2, utf8.data(), utf8.size());
    return t;
  }
  auto* n = allocate_node<atom_node>(utf8.size(), static_cast<std::uint32_t>(utf8.size()));
  std::memcpy(trailing<char>(n), utf8.data(), utf8.size());
  t.set_kind(kind::atom);
  t.bytes_[1] = heap_atom_marker;
  t.store_word(static_cast<node*>(n));
  return t;
}

std::string_view term::atom_name() const {
  if (type() != kind::atom) {
    throw bad_term_access("expected an atom, got " + std::string(to_string(type())));
  }
  if (bytes_[1] == heap_atom_marker) return static_cast<const atom_node*>(node_ptr())->text();
  return {reinterpret_cast<const char*>(bytes_.data() + 2), bytes_[1]};
}

// ---- Binaries ---------------------------------------------------------------------------------

namespace {

term make_binary(std::span<const std::uint8_t> bytes, unsigned bits) {
  kind k = bits == 8 ? kind::binary : kind::bitstring;
  auto* n = allocate_node<binary_node>(bytes.size(), k, bytes.size(), bits);
  auto* data = trailing<std::uint8_t>(n);
  if (!bytes.empty()) std::memcpy(data, bytes.data(), bytes.size());
  if (bits != 8 && !bytes.empty()) {
    data[bytes.size() - 1] &= static_cast<std::uint8_t>(0xff << (8 - bits));
  }
  n->data = data;
  return term_builder_access::adopt(k, n);
}

}  // namespace

term term::binary(std::span<const std::uint8_t> bytes) {
  return make_binary(bytes, 8);
}

term term::binary(std::string_view bytes) {
  return make_binary({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, 8);
}

term term::binary_view(std::span<const std::uint8_t> bytes, std::shared_ptr<const void> owner) {
  if (!owner) return binary(bytes);
  auto* n = allocate_node<binary_node>(0, kind::binary, bytes.size(), 8u);
  n->data = bytes.data();
  n->owner = std::move(owner);
  return term_builder_access::adopt(kind::binary, n);
}

term term::bitstring(std::span<const std::uint8_t> bytes, unsigned bits_in_last_byte) {
  if (bits_in_last_byte < 1 || bits_in_last_byte > 8) {
    throw invalid_term("bits in the last byte must be 1..8");
  }
  if (bytes.empty() && bits_in_last_byte != 8) {
    throw invalid_term("an empty bitstring has no partial last byte");
  }
  return make_binary(bytes, bits_in_last_byte);
}

std::span<const std::uint8_t> term::binary_bytes() const {
  if (!is_bitstring()) {
    throw bad_term_access("expected a binary, got " + std::string(to_string(type())));
  }
  auto* n = static_cast<const binary_node*>(node_ptr());
  return {n->data, n->size};
}

std::string_view term::binary_string_view() const {
  auto bytes = binary_bytes();
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

unsigned term::bits_in_last_byte() const {
  if (!is_bitstring()) throw bad_term_access("expected a bitstring");
  return static_cast<const binary_node*>(node_ptr())->bits_in_last_byte;
}

std::size_t term::bit_size() const {
  auto* n = static_cast<const binary_node*>(is_bitstring() ? node_ptr() : nullptr);
  if (!n) throw bad_term_access("expected a bitstring");
  if (n->size == 0) return 0;
  return (n->size - 1) * 8 + n->bits_in_last_byte;
}

// ---- Tuples, lists, maps ----------------------------------------------------------------------

namespace {

template <class Range>
term make_tuple(Range&& elements, std::size_t size, bool move_elements) {
  if (size > UINT32_MAX) throw invalid_term("tuple too large");
  auto* n = allocate_node<tuple_node>(size * sizeof(term), static_cast<std::uint32_t>(size));
  term* out = n->elements();
  std::size_t i = 0;
  for (auto& e : elements) {
    if (move_elements) {
      new (out + i) term(std::move(const_cast<term&>(e)));
    } else {
      new (out + i) term(e);
    }
    ++i;
  }
  return term_builder_access::adopt(kind::tuple, n);
}

}  // namespace

term term::tuple(std::initializer_list<term> elements) {
  return make_tuple(elements, elements.size(), false);
}
term term::tuple(std::span<const term> elements) {
  return make_tuple(elements, elements.size(), false);
}
term term::tuple(std::vector<term>&& elements) {
  return make_tuple(elements, elements.size(), true);
}

const term* term::tuple_data() const noexcept {
  return static_cast<const tuple_node*>(node_ptr())->elements();
}

std::size_t term::tuple_size() const {
  if (!is_tuple()) throw bad_term_access("expected a tuple, got " + std::string(to_string(type())));
  return static_cast<const tuple_node*>(node_ptr())->size;
}

std::span<const term> term::tuple_elements() const {
  return {tuple_data(), tuple_size()};
}

const term& term::operator[](std::size_t i) const {
  if (i >= tuple_size()) throw bad_term_access("tuple index out of range");
  return tuple_data()[i];
}

namespace {

template <class Range>
term make_list(Range&& elements, std::size_t size, term tail, bool move_elements) {
  if (size == 0) return tail;
  // Keep the invariant that a list's tail is never a non-empty list: [1 | [2 | T]] is stored as
  // the elements [1, 2] with tail T, so order, equality and encoding see one shape per value.
  std::span<const term> tail_elements;
  term tail_tail;
  if (tail.type() == kind::list) {
    tail_elements = tail.list_elements();
    tail_tail = tail.list_tail();
  } else {
    tail_tail = std::move(tail);
  }
  std::size_t total = size + tail_elements.size();
  if (total > UINT32_MAX) throw invalid_term("list too long");
  auto* n = allocate_node<list_node>(total * sizeof(term), static_cast<std::uint32_t>(total),
                                     std::move(tail_tail));
  term* out = n->elements();
  std::size_t i = 0;
  for (auto& e : elements) {
    if (move_elements) {
      new (out + i) term(std::move(const_cast<term&>(e)));
    } else {
      new (out + i) term(e);
    }
    ++i;
  }
  for (auto& e : tail_elements) new (out + i++) term(e);
  return term_builder_access::adopt(kind::list, n);
}

}  // namespace

term term::list(std::initializer_list<term> elements) {
  return make_list(elements, elements.size(), term(), false);
}
term term::list(std::span<const term> elements, term tail) {
  return make_list(elements, elements.size(), std::move(tail), false);
}
term term::list(std::vector<term>&& elements, term tail) {
  return make_list(elements, elements.size(), std::move(tail), true);
}

term term::charlist(std::string_view utf8) {
  std::vector<term> chars;
  chars.reserve(utf8.size());
  std::size_t pos = 0;
  while (pos < utf8.size()) {
    auto cp = utf8_decode(utf8, pos);
    if (!cp) throw invalid_term("charlist text is not valid UTF-8");
    chars.emplace_back(static_cast<std::int64_t>(*cp));
  }
  return list(std::move(chars));
}

bool term::is_proper_list() const noexcept {
  if (type() == kind::nil) return true;
  if (type() != kind::list) return false;
  return static_cast<const list_node*>(node_ptr())->tail.is_nil();
}

std::span<const term> term::list_elements() const {
  if (type() == kind::nil) return {};
  if (type() != kind::list) {
    throw bad_term_access("expected a list, got " + std::string(to_string(type())));
  }
  auto* n = static_cast<const list_node*>(node_ptr());
  return {n->elements(), n->size};
}

const term& term::list_tail() const {
  if (type() == kind::nil) return *this;
  if (type() != kind::list) throw bad_term_access("expected a list");
  return static_cast<const list_node*>(node_ptr())->tail;
}

namespace {

term make_map(std::vector<term_pair>&& entries, bool sorted) {
  auto* n = allocate_node<map_node>(entries.size() * sizeof(term_pair),
                                    static_cast<std::uint32_t>(entries.size()), sorted);
  term_pair* out = n->entries();
  for (std::size_t i = 0; i < entries.size(); ++i) new (out + i) term_pair(std::move(entries[i]));
  return term_builder_access::adopt(kind::map, n);
}

}  // namespace

term term::map(std::initializer_list<term_pair> entries) {
  return map(std::vector<term_pair>(entries));
}

term term::map(std::vector<term_pair> entries) {
  if (entries.size() > UINT32_MAX) throw invalid_term("map too large");
  // Stable sort then keep the last of each run of equal keys (maps:from_list semantics).
  std::stable_sort(entries.begin(), entries.end(),
                   [](const term_pair& a, const term_pair& b) { return a.first < b.first; });
  std::vector<term_pair> unique;
  unique.reserve(entries.size());
  for (auto& e : entries) {
    if (!unique.empty() && unique.back().first == e.first) {
      unique.back().second = std::move(e.second);
    } else {
      unique.push_back(std::move(e));
    }
  }
  return make_map(std::move(unique), true);
}

std::optional<term> term::map_in_order(std::vector<term_pair> entries) {
  if (entries.size() > UINT32_MAX) return std::nullopt;
  bool sorted = true;
  for (std::size_t i = 1; i < entries.size(); ++i) {
    if (!(entries[i - 1].first < entries[i].first)) {
      sorted = false;
      break;
    }
  }
  if (!sorted) {
    std::vector<const term*> keys;
    keys.reserve(entries.size());
    for (auto& e : entries) keys.push_back(&e.first);
    std::sort(keys.begin(), keys.end(), [](const term* a, const term* b) { return *a < *b; });
    for (std::size_t i = 1; i < keys.size(); ++i) {
      if (*keys[i - 1] == *keys[i]) return std::nullopt;
    }
  }
  return make_map(std::move(entries), sorted);
}

std::span<const term_pair> term::map_entries() const {
  if (!is_map()) throw bad_term_access("expected a map, got " + std::string(to_string(type())));
  auto* n = static_cast<const map_node*>(node_ptr());
  return {n->entries(), n->size};
}

std::size_t term::map_size() const {
  return map_entries().size();
}

const term* term::find(const term& key) const {
  auto* n = static_cast<const map_node*>(is_map() ? node_ptr() : nullptr);
  if (!n) throw bad_term_access("expected a map");
  const term_pair* begin = n->entries();
  const term_pair* end = begin + n->size;
  if (n->sorted) {
    auto it = std::lower_bound(begin, end, key,
                               [](const term_pair& e, const term& k) { return e.first < k; });
    return it != end && it->first == key ? &it->second : nullptr;
  }
  for (auto* it = begin; it != end; ++it) {
    if (it->first == key) return &it->second;
  }
  return nullptr;
}

// ---- Identifiers ------------------------------------------------------------------------------

namespace {
void require_node_atom(const term& node) {
  if (!node.is_atom()) throw invalid_term("a node name must be an atom");
}
}  // namespace

term term::pid(const term& node, std::uint32_t id, std::uint32_t serial, std::uint32_t creation) {
  require_node_atom(node);
  auto* n = allocate_node<pid_node>(0, pid_fields{node, id, serial, creation});
  return term_builder_access::adopt(kind::pid, n);
}

term term::port(const term& node, std::uint64_t id, std::uint32_t creation) {
  require_node_atom(node);
  auto* n = allocate_node<port_node>(0, port_fields{node, id, creation});
  return term_builder_access::adopt(kind::port, n);
}

term term::reference(const term& node, std::uint32_t creation,
                     std::span<const std::uint32_t> id_words) {
  require_node_atom(node);
  if (id_words.empty() || id_words.size() > 5) {
    throw invalid_term("a reference has 1 to 5 id words");
  }
  reference_fields f{node, creation, static_cast<std::uint8_t>(id_words.size()), {}};
  std::copy(id_words.begin(), id_words.end(), f.words.begin());
  auto* n = allocate_node<reference_node>(0, std::move(f));
  return term_builder_access::adopt(kind::reference, n);
}

term term::export_fun(const term& module, const term& function, std::uint8_t arity) {
  if (!module.is_atom() || !function.is_atom()) {
    throw invalid_term("an export fun needs atom module and function");
  }
  fun_fields f;
  f.is_export = true;
  f.arity = arity;
  f.module = module;
  f.function = function;
  auto* n = allocate_node<fun_node>(0, std::move(f));
  return term_builder_access::adopt(kind::fun, n);
}

term term::closure(std::uint8_t arity, std::span<const std::uint8_t, 16> uniq, std::uint32_t index,
                   const term& module, const term& old_index, const term& old_uniq, const term& pid,
                   std::span<const term> free_vars) {
  if (!module.is_atom()) throw invalid_term("a fun's module must be an atom");
  fun_fields f;
  f.is_export = false;
  f.arity = arity;
  f.module = module;
  std::copy(uniq.begin(), uniq.end(), f.uniq.begin());
  f.index = index;
  f.old_index = old_index;
  f.old_uniq = old_uniq;
  f.pid = pid;
  f.free_vars.assign(free_vars.begin(), free_vars.end());
  auto* n = allocate_node<fun_node>(0, std::move(f));
  return term_builder_access::adopt(kind::fun, n);
}

const pid_fields& term::as_pid() const {
  if (!is_pid()) throw bad_term_access("expected a pid, got " + std::string(to_string(type())));
  return static_cast<const pid_node*>(node_ptr())->fields;
}
const port_fields& term::as_port() const {
  if (!is_port()) throw bad_term_access("expected a port, got " + std::string(to_string(type())));
  return static_cast<const port_node*>(node_ptr())->fields;
}
const reference_fields& term::as_reference() const {
  if (!is_reference()) {
    throw bad_term_access("expected a reference, got " + std::string(to_string(type())));
  }
  return static_cast<const reference_node*>(node_ptr())->fields;
}
const fun_fields& term::as_fun() const {
  if (!is_fun()) throw bad_term_access("expected a fun, got " + std::string(to_string(type())));
  return static_cast<const fun_node*>(node_ptr())->fields;
}

}  // namespace edist::etf
