// Destructuring terms with patterns, in the spirit of Erlang's `{ok, Value} = Reply`.
//
//   using namespace edist::etf;
//   namespace p = edist::etf::pattern;
//   std::int64_t value;
//   if (match(reply, p::tuple(atom("ok"), p::bind(value)))) { ... }
//   else if (term reason; match(reply, p::tuple(atom("error"), p::bind(reason)))) { ... }
//
// A pattern is one of:
//   - a term, or any C++ value convertible to a term: matches a term exactly equal (=:=) to it;
//   - pattern::any: matches anything;
//   - pattern::bind(x): matches a term convertible to decltype(x) (see convert.hpp) and stores
//     it in x; bind(t) with a `term t` matches anything;
//   - pattern::tuple(p...) / pattern::list(p...): a tuple of that arity / a proper list of that
//     length whose elements match p...;
//   - pattern::is(kind::pid) and friends: any term of that kind;
//   - pattern::where(predicate): a term for which predicate(const term&) is true.
// Bound variables are written as matching proceeds: after a failed match, some of them may
// have been written.
#pragma once

#include <edist/etf/convert.hpp>
#include <tuple>
#include <type_traits>

namespace edist::etf {

namespace pattern {

struct any_t {};
inline constexpr any_t any{};

template <class T>
struct bind_t {
  T* target;
};
template <class T>
bind_t<T> bind(T& target) {
  return {&target};
}

template <class... P>
struct tuple_t {
  std::tuple<P...> parts;
};
template <class... P>
tuple_t<std::decay_t<P>...> tuple(P&&... parts) {
  return {{std::forward<P>(parts)...}};
}

template <class... P>
struct list_t {
  std::tuple<P...> parts;
};
template <class... P>
list_t<std::decay_t<P>...> list(P&&... parts) {
  return {{std::forward<P>(parts)...}};
}

struct kind_t {
  etf::kind expected;
};
inline kind_t is(etf::kind k) {
  return {k};
}

template <class F>
struct where_t {
  F predicate;
};
template <class F>
where_t<std::decay_t<F>> where(F&& predicate) {
  return {std::forward<F>(predicate)};
}

}  // namespace pattern

template <class P>
bool match(const term& t, const P& p);

namespace detail {

template <class P>
struct is_tuple_pattern : std::false_type {};
template <class... Ps>
struct is_tuple_pattern<pattern::tuple_t<Ps...>> : std::true_type {};
template <class P>
struct is_list_pattern : std::false_type {};
template <class... Ps>
struct is_list_pattern<pattern::list_t<Ps...>> : std::true_type {};

template <class Tuple, std::size_t... I>
bool match_elements(std::span<const term> elements, const Tuple& parts, std::index_sequence<I...>) {
  return (match(elements[I], std::get<I>(parts)) && ...);
}

}  // namespace detail

template <class P>
bool match(const term& t, const P& p) {
  if constexpr (std::is_same_v<P, pattern::any_t>) {
    return true;
  } else if constexpr (std::is_same_v<P, pattern::kind_t>) {
    return t.type() == p.expected;
  } else if constexpr (requires { p.predicate(t); }) {
    return static_cast<bool>(p.predicate(t));
  } else if constexpr (requires { p.target; }) {
    using target_type = std::remove_cvref_t<decltype(*p.target)>;
    auto v = term_traits<target_type>::from_term(t);
    if (!v) return false;
    *p.target = std::move(*v);
    return true;
  } else if constexpr (detail::is_tuple_pattern<P>::value) {
    constexpr std::size_t n = std::tuple_size_v<decltype(p.parts)>;
    if (!t.is_tuple(n)) return false;
    return detail::match_elements(t.tuple_elements(), p.parts, std::make_index_sequence<n>{});
  } else if constexpr (detail::is_list_pattern<P>::value) {
    constexpr std::size_t n = std::tuple_size_v<decltype(p.parts)>;
    if (!t.is_proper_list() || t.list_elements().size() != n) return false;
    return detail::match_elements(t.list_elements(), p.parts, std::make_index_sequence<n>{});
  } else {
    return t == make_term(p);
  }
}

}  // namespace edist::etf
