// Conversions between C++ values and terms, and short builders.
//
//   using namespace edist::etf;
//   term reply = tuple(atom("ok"), std::vector<int>{1, 2, 3});
//   auto values = reply[1].as<std::vector<int>>();          // throws bad_term_access
//   std::optional<std::string> s = some_term.to<std::string>(); // empty when it does not fit
//
// Mapping (both ways unless noted):
//   integral types     <-> integer (range-checked on the way back)
//   double, float      <-> float (and, on the way back only, any integer)
//   bool               <-> the atoms true / false
//   std::string        <-> binary (UTF-8 bytes, as Elixir strings); from a charlist too
//   std::string_view   <-  binary (a view into the term: valid while the term lives)
//   std::vector<T>     <-> proper list
//   std::pair, std::tuple <-> tuple of the same arity
//   std::map, std::unordered_map <-> map
//   std::optional<T>   <-> T, or the atom undefined (nil is accepted on the way back too)
//   term               <-> itself
// Specialise edist::etf::term_traits<T> (static term to_term(const T&) and
// static std::optional<T> from_term(const term&)) to add your own types.
#pragma once

#include <edist/etf/term.hpp>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace edist::etf {

template <class T, class Enable = void>
struct term_traits;

template <class T>
concept convertible_to_term = requires(const T& v) {
  { term_traits<std::remove_cvref_t<T>>::to_term(v) } -> std::same_as<term>;
};
template <class T>
concept convertible_from_term = requires(const term& t) {
  { term_traits<std::remove_cvref_t<T>>::from_term(t) } -> std::same_as<std::optional<T>>;
};

// Builds a term from any convertible value.
template <convertible_to_term T>
term make_term(const T& value) {
  return term_traits<std::remove_cvref_t<T>>::to_term(value);
}

// Converts a term to T; empty if the term does not have T's shape or range.
template <convertible_from_term T>
std::optional<T> term_to(const term& t) {
  return term_traits<T>::from_term(t);
}

// Converts a term to T; throws bad_term_access with a description on mismatch.
template <convertible_from_term T>
T term_as(const term& t);

// ---- Builders ------------------------------------------------------------------------------
template <convertible_to_term... Ts>
term tuple(const Ts&... elements) {
  return term::tuple({make_term(elements)...});
}
template <convertible_to_term... Ts>
term list(const Ts&... elements) {
  return term::list({make_term(elements)...});
}
inline term map(std::initializer_list<term_pair> entries) {
  return term::map(entries);
}

// ---- Traits --------------------------------------------------------------------------------
template <>
struct term_traits<term> {
  static term to_term(const term& t) { return t; }
  static std::optional<term> from_term(const term& t) { return t; }
};

template <class I>
struct term_traits<I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>>> {
  static term to_term(I v) {
    if constexpr (std::is_signed_v<I>) {
      return term(static_cast<std::int64_t>(v));
    } else {
      return term(static_cast<std::uint64_t>(v));
    }
  }
  static std::optional<I> from_term(const term& t) {
    if constexpr (std::is_signed_v<I>) {
      auto v = t.to_int64();
      if (!v || *v < std::numeric_limits<I>::min() || *v > std::numeric_limits<I>::max()) {
        return std::nullopt;
      }
      return static_cast<I>(*v);
    } else {
      auto v = t.to_uint64();
      if (!v || *v > std::numeric_limits<I>::max()) return std::nullopt;
      return static_cast<I>(*v);
    }
  }
};

template <class F>
struct term_traits<F, std::enable_if_t<std::is_floating_point_v<F>>> {
  static term to_term(F v) { return term(static_cast<double>(v)); }
  static std::optional<F> from_term(const term& t) {
    auto d = t.to_double();
    if (!d) return std::nullopt;
    return static_cast<F>(*d);
  }
};

template <>
struct term_traits<bool> {
  static term to_term(bool v) { return term(v); }
  static std::optional<bool> from_term(const term& t) {
    if (t.is_atom("true")) return true;
    if (t.is_atom("false")) return false;
    return std::nullopt;
  }
};

template <>
struct term_traits<std::string> {
  static term to_term(const std::string& s) { return term::binary(std::string_view(s)); }
  static std::optional<std::string> from_term(const term& t);
};

template <>
struct term_traits<std::string_view> {
  static term to_term(std::string_view s) { return term::binary(s); }
  static std::optional<std::string_view> from_term(const term& t) {
    if (!t.is_binary()) return std::nullopt;
    return t.binary_string_view();
  }
};

template <std::size_t N>
struct term_traits<char[N]> {
  // A string literal in a builder is a binary, as in Elixir ("text" is <<"text">>).
  static term to_term(const char (&s)[N]) { return term::binary(std::string_view(s, N - 1)); }
};

template <class T>
struct term_traits<std::vector<T>> {
  static term to_term(const std::vector<T>& v) {
    std::vector<term> elements;
    elements.reserve(v.size());
    for (auto& e : v) elements.push_back(make_term(e));
    return term::list(std::move(elements));
  }
  static std::optional<std::vector<T>> from_term(const term& t) {
    if (!t.is_proper_list()) return std::nullopt;
    std::vector<T> out;
    out.reserve(t.list_elements().size());
    for (auto& e : t.list_elements()) {
      auto v = term_traits<T>::from_term(e);
      if (!v) return std::nullopt;
      out.push_back(std::move(*v));
    }
    return out;
  }
};

template <class... Ts>
struct term_traits<std::tuple<Ts...>> {
  static term to_term(const std::tuple<Ts...>& v) {
    return std::apply([](const auto&... e) { return term::tuple({make_term(e)...}); }, v);
  }
  static std::optional<std::tuple<Ts...>> from_term(const term& t) {
    if (!t.is_tuple(sizeof...(Ts))) return std::nullopt;
    return convert(t, std::index_sequence_for<Ts...>{});
  }

 private:
  template <std::size_t... I>
  static std::optional<std::tuple<Ts...>> convert(const term& t, std::index_sequence<I...>) {
    std::tuple<std::optional<Ts>...> parts{term_traits<Ts>::from_term(t[I])...};
    if (!(std::get<I>(parts).has_value() && ...)) return std::nullopt;
    return std::tuple<Ts...>{std::move(*std::get<I>(parts))...};
  }
};

template <class A, class B>
struct term_traits<std::pair<A, B>> {
  static term to_term(const std::pair<A, B>& v) {
    return term::tuple({make_term(v.first), make_term(v.second)});
  }
  static std::optional<std::pair<A, B>> from_term(const term& t) {
    if (!t.is_tuple(2)) return std::nullopt;
    auto a = term_traits<A>::from_term(t[0]);
    auto b = term_traits<B>::from_term(t[1]);
    if (!a || !b) return std::nullopt;
    return std::pair<A, B>{std::move(*a), std::move(*b)};
  }
};

namespace detail {
template <class Map>
struct map_traits {
  using K = typename Map::key_type;
  using V = typename Map::mapped_type;
  static term to_term(const Map& m) {
    std::vector<term_pair> entries;
    entries.reserve(m.size());
    for (auto& [k, v] : m) entries.emplace_back(make_term(k), make_term(v));
    return term::map(std::move(entries));
  }
  static std::optional<Map> from_term(const term& t) {
    if (!t.is_map()) return std::nullopt;
    Map out;
    for (auto& [k, v] : t.map_entries()) {
      auto key = term_traits<K>::from_term(k);
      auto value = term_traits<V>::from_term(v);
      if (!key || !value) return std::nullopt;
      out.emplace(std::move(*key), std::move(*value));
    }
    return out;
  }
};
}  // namespace detail

template <class K, class V, class C, class A>
struct term_traits<std::map<K, V, C, A>> : detail::map_traits<std::map<K, V, C, A>> {};
template <class K, class V, class H, class E, class A>
struct term_traits<std::unordered_map<K, V, H, E, A>>
    : detail::map_traits<std::unordered_map<K, V, H, E, A>> {};

template <class T>
struct term_traits<std::optional<T>> {
  static term to_term(const std::optional<T>& v) {
    return v ? make_term(*v) : term::atom("undefined");
  }
  static std::optional<std::optional<T>> from_term(const term& t) {
    // Built in place: GCC 12 at -O2 wrongly warns (maybe-uninitialized) when a disengaged
    // inner optional is moved into the outer one.
    std::optional<std::optional<T>> out;
    if (t.is_atom("undefined") || t.is_atom("nil")) {
      out.emplace();
    } else if (auto v = term_traits<T>::from_term(t)) {
      out.emplace(std::in_place, std::move(*v));
    }
    return out;
  }
};

std::string describe_for_error(const term& t);

template <convertible_from_term T>
T term_as(const term& t) {
  auto v = term_traits<T>::from_term(t);
  if (!v) {
    throw bad_term_access("term " + describe_for_error(t) +
                          " does not convert to the requested type");
  }
  return std::move(*v);
}

template <class T>
std::optional<T> term::to() const {
  return term_to<T>(*this);
}
template <class T>
T term::as() const {
  return term_as<T>(*this);
}

}  // namespace edist::etf
