#include <edist/etf/convert.hpp>

#include "utf8.hpp"

namespace edist::etf {

std::optional<std::string> term_traits<std::string>::from_term(const term& t) {
  if (t.is_binary()) return std::string(t.binary_string_view());
  if (!t.is_proper_list()) return std::nullopt;
  // A charlist: every element must be a Unicode code point.
  std::string out;
  out.reserve(t.list_elements().size());
  for (auto& e : t.list_elements()) {
    auto cp = e.to_int64();
    if (!cp || *cp < 0 || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff)) return std::nullopt;
    detail::utf8_append(out, static_cast<char32_t>(*cp));
  }
  return out;
}

std::string describe_for_error(const term& t) {
  std::string out(to_string(t.type()));
  switch (t.type()) {
    case kind::atom:
      return out + " '" + std::string(t.atom_name()) + "'";
    case kind::integer:
      return out + " " + t.integer_to_decimal();
    case kind::tuple:
      return out + " of " + std::to_string(t.tuple_size()) + " elements";
    case kind::list:
      return out + " of " + std::to_string(t.list_elements().size()) + " elements";
    case kind::map:
      return out + " of " + std::to_string(t.map_size()) + " entries";
    case kind::binary:
      return out + " of " + std::to_string(t.binary_bytes().size()) + " bytes";
    default:
      return out;
  }
}

}  // namespace edist::etf
