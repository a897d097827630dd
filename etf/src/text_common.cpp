// Shared pieces of the text printers: float formatting, Erlang atom quoting and escapes, and
// the text of identifiers.
#include <array>
#include <charconv>
#include <cmath>
#include <edist/etf/text.hpp>
#include <string>
#include <system_error>

#include "text_shared.hpp"
#include "utf8.hpp"

namespace edist::etf::detail {

void append_decimal(std::string& out, std::uint64_t value) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, r.ptr);
}

void append_erlang_float(std::string& out, double value) {
  if (std::isnan(value)) {
    // No Erlang float is NaN or infinite; a term built in C++ can hold one, so say what it is
    // in a form no parser mistakes for a number.
    out += "nan";
    return;
  }
  if (std::isinf(value)) {
    out += value < 0 ? "-inf" : "inf";
    return;
  }
  if (value == 0) {
    out += std::signbit(value) ? "-0.0" : "0.0";
    return;
  }
  // Shortest round-trip digits in scientific form: "-d.ddde+XX".
  std::array<char, 64> buf;
  auto r = std::to_chars(buf.data(), buf.data() + buf.size(), value, std::chars_format::scientific);
  std::string_view text(buf.data(), static_cast<std::size_t>(r.ptr - buf.data()));
  if (text.front() == '-') {
    out += '-';
    text.remove_prefix(1);
  }
  std::size_t e_pos = text.find('e');
  std::string digits;
  for (char c : text.substr(0, e_pos)) {
    if (c != '.') digits += c;
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  int exponent = 0;
  std::string_view exp_text = text.substr(e_pos + 1);
  if (!exp_text.empty() && exp_text.front() == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);

  // `place` is where the decimal point goes relative to the digits (value = 0.DIGITS * 10^place).
  // Fixed notation is used unless exponent notation is shorter, and never for integral values
  // of 2^53 or more (whose last digits a float cannot hold).
  const int length = static_cast<int>(digits.size());
  const int place = exponent + 1;
  const std::string exp_digits = std::to_string(place - 1);
  const int exp_cost = static_cast<int>(exp_digits.size()) + 1 + (length == 1 ? 2 : 1);
  auto append_exponent_form = [&] {
    out += digits[0];
    out += '.';
    if (length == 1) {
      out += '0';
    } else {
      out.append(digits, 1);
    }
    out += 'e';
    out += exp_digits;
  };
  if (place == 0) {
    out += "0.";
    out += digits;
  } else if (place < 0) {
    if (2 - place <= exp_cost) {
      out += "0.";
      out.append(static_cast<std::size_t>(-place), '0');
      out += digits;
    } else {
      append_exponent_form();
    }
  } else if (place < length) {
    out.append(digits, 0, static_cast<std::size_t>(place));
    out += '.';
    out.append(digits, static_cast<std::size_t>(place));
  } else if (place - length + 2 <= exp_cost && std::fabs(value) < 9007199254740992.0) {
    out += digits;
    out.append(static_cast<std::size_t>(place - length), '0');
    out += ".0";
  } else {
    append_exponent_form();
  }
}

bool erlang_reserved_word(std::string_view name) {
  static constexpr std::string_view words[] = {
      "after", "and",  "andalso", "band",   "begin",   "bnot", "bor", "bsl",  "bsr",
      "bxor",  "case", "catch",   "cond",   "div",     "end",  "fun", "if",   "let",
      "not",   "of",   "or",      "orelse", "receive", "rem",  "try", "when", "xor"};
  for (auto w : words) {
    if (w == name) return true;
  }
  return false;
}

namespace {

bool latin1_lower(char32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 0xdf && c <= 0xff && c != 0xf7);
}

bool erlang_name_char(char32_t c) {
  return latin1_lower(c) || (c >= 'A' && c <= 'Z') || (c >= 0xc0 && c <= 0xde && c != 0xd7) ||
         (c >= '0' && c <= '9') || c == '_' || c == '@';
}

}  // namespace

bool erlang_atom_needs_quotes(std::string_view utf8, bool quote_reserved_words) {
  if (utf8.empty() || (quote_reserved_words && erlang_reserved_word(utf8))) return true;
  std::size_t pos = 0;
  auto first = utf8_decode(utf8, pos);
  if (!first || !latin1_lower(*first)) return true;
  while (pos < utf8.size()) {
    auto c = utf8_decode(utf8, pos);
    if (!c || !erlang_name_char(*c)) return true;
  }
  return false;
}

void append_erlang_quoted_char(std::string& out, char32_t c, char quote) {
  if (c == static_cast<char32_t>(quote) || c == '\\') {
    out += '\\';
    out += static_cast<char>(c);
    return;
  }
  if ((c >= 0x20 && c <= 0x7e) || c >= 0xa0) {
    utf8_append(out, c);
    return;
  }
  switch (c) {
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\v':
      out += "\\v";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case 0x1b:
      out += "\\e";
      return;
    case 0x7f:
      out += "\\d";
      return;
    default:
      break;
  }
  out += '\\';
  out += static_cast<char>('0' + ((c >> 6) & 7));
  out += static_cast<char>('0' + ((c >> 3) & 7));
  out += static_cast<char>('0' + (c & 7));
}

void append_erlang_quoted(std::string& out, std::string_view utf8, char quote) {
  out += quote;
  for (std::size_t pos = 0; pos < utf8.size();) {
    auto c = utf8_decode(utf8, pos);
    // Text handed to this function is valid UTF-8 (atoms are checked when built); a stray
    // byte would be shown as the Latin-1 character it is rather than dropped.
    if (!c) c = static_cast<unsigned char>(utf8[pos++]);
    append_erlang_quoted_char(out, *c, quote);
  }
  out += quote;
}

void append_node_part(std::string& out, const term& node, const print_options& options) {
  out += '<';
  if (!options.local_node.is_nil() && node == options.local_node) {
    out += '0';
  } else {
    append_erlang_quoted(out, node.atom_name(), '\'');
  }
  out += '.';
}

void append_pid_rest(std::string& out, const pid_fields& pid) {
  append_decimal(out, pid.id);
  out += '.';
  append_decimal(out, pid.serial);
  out += '>';
}

void append_port_rest(std::string& out, const port_fields& port) {
  append_decimal(out, port.id);
  out += '>';
}

void append_reference_rest(std::string& out, const reference_fields& ref) {
  auto words = ref.id_words();
  for (std::size_t i = words.size(); i-- > 0;) {
    append_decimal(out, words[i]);
    if (i != 0) out += '.';
  }
  out += '>';
}

}  // namespace edist::etf::detail
