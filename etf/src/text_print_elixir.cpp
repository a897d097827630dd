// Printing terms in Elixir syntax, as Elixir 1.14 prints them with
// inspect(T, limit: :infinity, printable_limit: :infinity, width: :infinity).
#include <cmath>
#include <edist/etf/text.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "text_shared.hpp"
#include "utf8.hpp"

namespace edist::etf {

namespace {

using detail::utf8_decode;

// ---- Escapes (Code.Identifier.escape/2) ------------------------------------------------------

void append_hex(std::string& out, char32_t c, int digits) {
  for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) {
    out += detail::hex_digit_upper((c >> shift) & 0xf);
  }
}

void append_escaped_char(std::string& out, char32_t c) {
  switch (c) {
    case 7:
      out += "\\a";
      return;
    case 8:
      out += "\\b";
      return;
    case 9:
      out += "\\t";
      return;
    case 10:
      out += "\\n";
      return;
    case 11:
      out += "\\v";
      return;
    case 12:
      out += "\\f";
      return;
    case 13:
      out += "\\r";
      return;
    case 27:
      out += "\\e";
      return;
    case 127:
      out += "\\d";
      return;
    case '\\':
      out += "\\\\";
      return;
    case 0:
      out += "\\0";
      return;
    case 0xfeff:
      out += "\\uFEFF";
      return;
    default:
      break;
  }
  if ((c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) ||
      (c >= 0x10000 && c <= 0x10ffff)) {
    detail::utf8_append(out, c);
  } else if (c < 0x100) {
    out += "\\x";
    append_hex(out, c, 2);
  } else if (c < 0x10000) {
    out += "\\x{";
    append_hex(out, c, 4);
    out += '}';
  } else {
    out += "\\x{";
    append_hex(out, c, 6);
    out += '}';
  }
}

// Quoted text: the quote itself and "#{" are escaped so that the text reads back literally.
void append_escaped(std::string& out, std::string_view utf8, char quote) {
  out += quote;
  for (std::size_t pos = 0; pos < utf8.size();) {
    char ch = utf8[pos];
    if (ch == quote) {
      out += '\\';
      out += quote;
      ++pos;
      continue;
    }
    if (ch == '#' && pos + 1 < utf8.size() && utf8[pos + 1] == '{') {
      out += "\\#{";
      pos += 2;
      continue;
    }
    std::size_t at = pos;
    if (auto c = utf8_decode(utf8, pos)) {
      append_escaped_char(out, *c);
    } else {
      pos = at + 1;
      out += "\\x";
      append_hex(out, static_cast<unsigned char>(ch), 2);
    }
  }
  out += quote;
}

// ---- Atoms (Macro.inspect_atom/2 and its classification) ------------------------------------

enum class atom_class {
  not_callable,
  quoted_operator,
  unquoted_operator,
  alias,
  identifier,
  other
};

bool is_unary_operator(std::string_view a) {
  static constexpr std::string_view ops[] = {"&", "!", "^", "not", "+", "-", "~~~", "@"};
  for (auto op : ops) {
    if (op == a) return true;
  }
  return false;
}

// Binary operators, without "//" (an operator only as part of "..//").
bool is_binary_operator(std::string_view a) {
  static constexpr std::string_view ops[] = {
      "<-",  "\\\\", "when", "::",  "|",   "=",   "||",  "|||", "or", "&&",  "&&&",
      "and", "==",   "!=",   "=~",  "===", "!==", "<",   "<=",  ">=", ">",   "|>",
      "<<<", ">>>",  "<~",   "~>",  "<<~", "~>>", "<~>", "<|>", "in", "^^^", "++",
      "--",  "..",   "<>",   "+++", "---", "+",   "-",   "*",   "/",  "**",  "."};
  for (auto op : ops) {
    if (op == a) return true;
  }
  return false;
}

bool ascii_upper(char32_t c) {
  return c >= 'A' && c <= 'Z';
}
bool ascii_lower(char32_t c) {
  return c >= 'a' && c <= 'z';
}
bool ascii_digit(char32_t c) {
  return c >= '0' && c <= '9';
}

// "Elixir" followed by any number of ".Upper[A-Za-z0-9_]*" pieces.
bool valid_alias(std::string_view a) {
  if (a.substr(0, 6) != "Elixir") return false;
  std::size_t i = 6;
  while (i < a.size()) {
    if (a[i] != '.' || i + 1 >= a.size() || !ascii_upper(static_cast<unsigned char>(a[i + 1]))) {
      return false;
    }
    i += 2;
    while (i < a.size()) {
      auto c = static_cast<unsigned char>(a[i]);
      if (!(ascii_upper(c) || ascii_lower(c) || ascii_digit(c) || c == '_')) break;
      ++i;
    }
  }
  return true;
}

// Non-ASCII letters Elixir 1.14 takes in identifiers, limited to the Latin script (where no
// mixed-script rule applies): 'U' may start an alias-like atom, 'L' may start an identifier,
// 'C' may only continue one, 'N' is taken but normalised (MICRO SIGN), which Elixir accepts in
// alias-like atoms only. Code points outside this table are treated as needing quotes, which
// Elixir reads back as the same atom.
struct letter_range {
  char32_t first;
  char32_t last;
  char kind;  // 'U', 'L', 'C', 'N', or 'A' (alternating: 'U' at first, then 'L', 'U', ...)
};
constexpr letter_range latin_letters[] = {
    {0xb5, 0xb5, 'N'},   {0xb7, 0xb7, 'C'},   {0xc0, 0xd6, 'U'},   {0xd8, 0xde, 'U'},
    {0xdf, 0xf6, 'L'},   {0xf8, 0xff, 'L'},   {0x100, 0x131, 'A'}, {0x134, 0x137, 'A'},
    {0x138, 0x138, 'L'}, {0x139, 0x13e, 'A'}, {0x141, 0x148, 'A'}, {0x14a, 0x177, 'A'},
    {0x178, 0x179, 'U'}, {0x17a, 0x17a, 'L'}, {0x17b, 0x17b, 'U'}, {0x17c, 0x17c, 'L'},
    {0x17d, 0x17d, 'U'}, {0x17e, 0x17e, 'L'}, {0x18f, 0x18f, 'U'}, {0x1a0, 0x1a1, 'A'},
    {0x1af, 0x1af, 'U'}, {0x1b0, 0x1b0, 'L'}, {0x1cd, 0x1dc, 'A'}, {0x1de, 0x1e3, 'A'},
    {0x1e6, 0x1ef, 'A'}, {0x1f0, 0x1f0, 'L'}, {0x1f4, 0x1f5, 'A'}, {0x1f8, 0x21b, 'A'},
    {0x21e, 0x21f, 'A'}, {0x226, 0x233, 'A'}, {0x259, 0x259, 'L'}, {0x2bb, 0x2bc, 'L'},
    {0x2ec, 0x2ec, 'L'},
};

char latin_letter_kind(char32_t c) {
  for (const auto& r : latin_letters) {
    if (c < r.first || c > r.last) continue;
    if (r.kind != 'A') return r.kind;
    return (c - r.first) % 2 == 0 ? 'U' : 'L';
  }
  return 0;
}

// String.Tokenizer's view of the whole atom text: `other` unless it is one identifier-like token.
atom_class tokenize_class(std::string_view a) {
  std::size_t pos = 0;
  if (a.empty()) return atom_class::other;
  auto first = utf8_decode(a, pos);
  if (!first) return atom_class::other;
  bool identifier;
  bool normalised = false;
  if (ascii_upper(*first)) {
    identifier = false;
  } else if (ascii_lower(*first) || *first == '_') {
    identifier = true;
  } else if (*first >= 0x80) {
    char k = latin_letter_kind(*first);
    if (k != 'U' && k != 'L' && k != 'N') return atom_class::other;
    identifier = k != 'U';
    normalised = k == 'N';
  } else {
    return atom_class::other;
  }
  bool at = false;
  while (pos < a.size()) {
    auto c = utf8_decode(a, pos);
    if (!c) return atom_class::other;
    if (*c == '!' || *c == '?') {
      // A trailing ! or ? ends the token; anything after it makes the atom need quotes.
      if (pos != a.size()) return atom_class::other;
      break;
    }
    if (*c == '@') {
      at = true;
    } else if (*c < 0x80) {
      if (!(ascii_upper(*c) || ascii_lower(*c) || ascii_digit(*c) || *c == '_')) {
        return atom_class::other;
      }
    } else {
      char k = latin_letter_kind(*c);
      if (k == 0) return atom_class::other;
      if (k == 'N') normalised = true;
    }
  }
  if (!identifier || at) return atom_class::not_callable;
  return normalised ? atom_class::other : atom_class::identifier;
}

atom_class classify(std::string_view a) {
  static constexpr std::string_view not_callable[] = {"%",  "%{}", "{}",   "<<>>", "...",
                                                      "..", ".",   "..//", "->"};
  for (auto s : not_callable) {
    if (s == a) return atom_class::not_callable;
  }
  if (a == "::" || a == "^^^" || a == "~~~" || a == "<|>") return atom_class::quoted_operator;
  if (is_unary_operator(a) || is_binary_operator(a)) return atom_class::unquoted_operator;
  if (valid_alias(a)) return atom_class::alias;
  return tokenize_class(a);
}

void append_atom_literal(std::string& out, std::string_view a) {
  if (a == "nil" || a == "true" || a == "false") {
    out += a;
    return;
  }
  switch (classify(a)) {
    case atom_class::alias:
      if (a == "Elixir" || a == "Elixir.Elixir" || a.substr(0, 14) == "Elixir.Elixir.") {
        out += a;
      } else {
        out += a.substr(7);
      }
      return;
    case atom_class::quoted_operator:
    case atom_class::other:
      out += ':';
      append_escaped(out, a, '"');
      return;
    default:
      out += ':';
      out += a;
      return;
  }
}

void append_atom_key(std::string& out, std::string_view a) {
  switch (classify(a)) {
    case atom_class::alias:
      out += '"';
      out += a;
      out += "\":";
      return;
    case atom_class::quoted_operator:
    case atom_class::other:
      append_escaped(out, a, '"');
      out += ':';
      return;
    default:
      out += a;
      out += ':';
      return;
  }
}

void append_atom_remote_call(std::string& out, std::string_view a) {
  switch (classify(a)) {
    case atom_class::identifier:
    case atom_class::unquoted_operator:
    case atom_class::quoted_operator:
      out += a;
      return;
    case atom_class::not_callable:
    case atom_class::alias:
      out += '"';
      out += a;
      out += '"';
      return;
    case atom_class::other:
      append_escaped(out, a, '"');
      return;
  }
}

// ---- Other leaves ---------------------------------------------------------------------------

// Inspect.Float: integral values from 1 to 1e16 print as integers with ".0"; everything else as
// Erlang's shortest form.
void append_float(std::string& out, double v) {
  double a = std::fabs(v);
  if (a >= 1.0 && a < 1.0e16 && std::trunc(v) == v) {
    out += std::to_string(static_cast<std::int64_t>(v));
    out += ".0";
    return;
  }
  detail::append_erlang_float(out, v);
}

// String.printable?/1.
bool printable_string(std::string_view bytes) {
  for (std::size_t pos = 0; pos < bytes.size();) {
    auto c = utf8_decode(bytes, pos);
    if (!c) return false;
    char32_t ch = *c;
    bool ok = (ch >= 0x20 && ch <= 0x7e) || (ch >= 7 && ch <= 13) || ch == 27 || ch == 127 ||
              (ch >= 0xa0 && ch <= 0xd7ff) || (ch >= 0xe000 && ch <= 0xfffd) ||
              (ch >= 0x10000 && ch <= 0x10ffff);
    if (!ok) return false;
  }
  return true;
}

void append_bitstring(std::string& out, const term& bits) {
  if (bits.type() == kind::binary && printable_string(bits.binary_string_view())) {
    append_escaped(out, bits.binary_string_view(), '"');
    return;
  }
  auto bytes = bits.binary_bytes();
  unsigned last_bits = bits.bits_in_last_byte();
  std::size_t whole = last_bits == 8 ? bytes.size() : bytes.size() - 1;
  out += "<<";
  for (std::size_t i = 0; i < whole; ++i) {
    if (i != 0) out += ", ";
    detail::append_decimal(out, bytes[i]);
  }
  if (last_bits != 8) {
    if (whole != 0) out += ", ";
    detail::append_decimal(out, static_cast<unsigned>(bytes.back() >> (8 - last_bits)));
    out += "::size(";
    detail::append_decimal(out, last_bits);
    out += ')';
  }
  out += ">>";
}

// List.ascii_printable?/1: proper lists of 7..13, 27 and 32..126.
bool ascii_printable(const term& list) {
  if (!list.is_proper_list()) return false;
  for (const term& e : list.list_elements()) {
    auto c = e.to_int64();
    if (!c || !((*c >= 7 && *c <= 13) || *c == 27 || (*c >= 32 && *c <= 126))) return false;
  }
  return true;
}

bool keyword_key(const term& k) {
  return k.is_atom() && k.atom_name().substr(0, 7) != "Elixir.";
}

bool keyword_list(const term& list) {
  if (!list.is_proper_list()) return false;
  for (const term& e : list.list_elements()) {
    if (!e.is_tuple(2) || !keyword_key(e[0])) return false;
  }
  return true;
}

bool keyword_map(const term& map) {
  for (const auto& [k, v] : map.map_entries()) {
    if (!keyword_key(k)) return false;
  }
  return true;
}

void append_fun(std::string& out, const fun_fields& fun) {
  if (fun.is_export) {
    out += '&';
    append_atom_literal(out, fun.module.atom_name());
    out += '.';
    append_atom_remote_call(out, fun.function.atom_name());
    out += '/';
    detail::append_decimal(out, fun.arity);
    return;
  }
  out += "#Function<";
  detail::append_decimal(out, fun.index);
  out += '.';
  if (fun.old_uniq.is_integer()) out += fun.old_uniq.integer_to_decimal();
  out += '/';
  detail::append_decimal(out, fun.arity);
  out += " in ";
  if (fun.module.is_atom()) append_atom_literal(out, fun.module.atom_name());
  out += '>';
}

// ---- The walk -------------------------------------------------------------------------------

class elixir_printer {
 public:
  elixir_printer(std::string& out, const print_options& options) : out_(out), options_(options) {}

  void run(const term& root) {
    open(root);
    while (!stack_.empty()) {
      frame& f = stack_.back();
      const term* child = next_child(f);
      if (child == nullptr) {
        out_ += f.container->type() == kind::list ? ']' : '}';
        stack_.pop_back();
        continue;
      }
      open(*child);
    }
  }

 private:
  struct frame {
    const term* container;
    std::size_t next;
    bool keyword;
  };

  void open(const term& t) {
    bool keyword = false;
    switch (t.type()) {
      case kind::integer:
      case kind::big_integer:
        out_ += t.integer_to_decimal();
        return;
      case kind::float_:
        append_float(out_, t.as_double());
        return;
      case kind::atom:
        append_atom_literal(out_, t.atom_name());
        return;
      case kind::binary:
      case kind::bitstring:
        append_bitstring(out_, t);
        return;
      case kind::pid:
        out_ += "#PID";
        detail::append_node_part(out_, t.as_pid().node, options_);
        detail::append_pid_rest(out_, t.as_pid());
        return;
      case kind::port:
        out_ += "#Port";
        detail::append_node_part(out_, t.as_port().node, options_);
        detail::append_port_rest(out_, t.as_port());
        return;
      case kind::reference:
        out_ += "#Reference";
        detail::append_node_part(out_, t.as_reference().node, options_);
        detail::append_reference_rest(out_, t.as_reference());
        return;
      case kind::fun:
        append_fun(out_, t.as_fun());
        return;
      case kind::nil:
        out_ += "[]";
        return;
      case kind::tuple:
        if (t.tuple_size() == 0) {
          out_ += "{}";
          return;
        }
        out_ += '{';
        break;
      case kind::list:
        if (ascii_printable(t)) {
          std::string text;
          for (const term& c : t.list_elements()) text += static_cast<char>(*c.to_int64());
          append_escaped(out_, text, '\'');
          return;
        }
        keyword = keyword_list(t);
        out_ += '[';
        break;
      case kind::map:
        if (t.map_size() == 0) {
          out_ += "%{}";
          return;
        }
        keyword = keyword_map(t);
        out_ += "%{";
        break;
    }
    stack_.push_back({&t, 0, keyword});
  }

  const term* next_child(frame& f) {
    const term& c = *f.container;
    std::size_t i = f.next++;
    switch (c.type()) {
      case kind::tuple:
        if (i >= c.tuple_size()) return nullptr;
        if (i != 0) out_ += ", ";
        return &c.tuple_elements()[i];
      case kind::list: {
        auto elements = c.list_elements();
        if (i < elements.size()) {
          if (i != 0) out_ += ", ";
          if (f.keyword) {
            append_atom_key(out_, elements[i][0].atom_name());
            out_ += ' ';
            return &elements[i][1];
          }
          return &elements[i];
        }
        if (i == elements.size() && !c.list_tail().is_nil()) {
          out_ += " | ";
          return &c.list_tail();
        }
        return nullptr;
      }
      case kind::map: {
        auto entries = c.map_entries();
        if (f.keyword) {
          if (i >= entries.size()) return nullptr;
          if (i != 0) out_ += ", ";
          append_atom_key(out_, entries[i].first.atom_name());
          out_ += ' ';
          return &entries[i].second;
        }
        if (i >= 2 * entries.size()) return nullptr;
        if (i % 2 == 0) {
          if (i != 0) out_ += ", ";
          return &entries[i / 2].first;
        }
        out_ += " => ";
        return &entries[i / 2].second;
      }
      default:
        return nullptr;
    }
  }

  std::string& out_;
  const print_options& options_;
  std::vector<frame> stack_;
};

}  // namespace

void append_elixir(std::string& out, const term& t, const print_options& options) {
  elixir_printer(out, options).run(t);
}

std::string to_elixir_string(const term& t, const print_options& options) {
  std::string out;
  append_elixir(out, t, options);
  return out;
}

}  // namespace edist::etf
