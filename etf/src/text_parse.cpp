// Parsing one term written in Erlang syntax (what erl_parse:parse_term/1 accepts).
//
// A lexer turns the text into tokens; the parser keeps open tuples, lists and maps on an
// explicit stack, so nesting costs heap, not call stack, and is bounded by parse_limits.
// Failures travel as a private exception inside this file and come out as a parse_result.
#include <bit>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <edist/etf/text.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "text_shared.hpp"
#include "utf8.hpp"

namespace edist::etf {

namespace {

struct position {
  std::size_t offset = 0;
  std::size_t line = 1;
  std::size_t column = 1;
};

struct failure {
  text_errc code;
  std::string message;
  position where;
};

[[noreturn]] void fail(text_errc code, std::string message, position where) {
  throw failure{code, std::move(message), where};
}

enum class tok {
  end,
  atom,
  string,
  integer,
  float_,
  lbrace,
  rbrace,
  lbracket,
  rbracket,
  bar,
  comma,
  arrow,
  map_open,
  bin_open,
  bin_close,
  colon,
  slash,
  minus,
  plus,
  dot,
  lparen,
  rparen,
};

struct token {
  tok type = tok::end;
  position start;
  std::string atom;      // atom: the name (UTF-8)
  std::u32string chars;  // string: the code points
  term number;           // integer, float
};

std::string show_char(char32_t c) {
  if (c >= 0x21 && c <= 0x7e) return std::string("'") + static_cast<char>(c) + "'";
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(c));
  return buf;
}

std::string describe(const token& t) {
  switch (t.type) {
    case tok::end:
      return "the end of the text";
    case tok::atom: {
      std::string s = "atom ";
      detail::append_erlang_quoted(s, t.atom, '\'');
      return s;
    }
    case tok::string:
      return "a string";
    case tok::integer:
      return "integer " + t.number.integer_to_decimal();
    case tok::float_:
      return "a float";
    case tok::lbrace:
      return "'{'";
    case tok::rbrace:
      return "'}'";
    case tok::lbracket:
      return "'['";
    case tok::rbracket:
      return "']'";
    case tok::bar:
      return "'|'";
    case tok::comma:
      return "','";
    case tok::arrow:
      return "'=>'";
    case tok::map_open:
      return "'#{'";
    case tok::bin_open:
      return "'<<'";
    case tok::bin_close:
      return "'>>'";
    case tok::colon:
      return "':'";
    case tok::slash:
      return "'/'";
    case tok::minus:
      return "'-'";
    case tok::plus:
      return "'+'";
    case tok::dot:
      return "'.'";
    case tok::lparen:
      return "'('";
    case tok::rparen:
      return "')'";
  }
  return "a token";
}

bool latin1_lower(char32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 0xdf && c <= 0xff && c != 0xf7);
}
bool latin1_upper(char32_t c) {
  return (c >= 'A' && c <= 'Z') || (c >= 0xc0 && c <= 0xde && c != 0xd7);
}
bool name_char(char32_t c) {
  return latin1_lower(c) || latin1_upper(c) || (c >= '0' && c <= '9') || c == '_' || c == '@';
}

int digit_value(char32_t c) {
  if (c >= '0' && c <= '9') return static_cast<int>(c - '0');
  if (c >= 'a' && c <= 'z') return static_cast<int>(c - 'a' + 10);
  if (c >= 'A' && c <= 'Z') return static_cast<int>(c - 'A' + 10);
  return 99;
}

// Digits (0..base-1, most significant first) to a non-negative integer term. Works on 32-bit
// limbs, taking as many digits at a time as fit, so long literals convert in reasonable time.
term digits_to_integer(std::string_view digits, unsigned base) {
  std::uint32_t chunk_multiplier = 1;
  std::size_t chunk_digits = 0;
  while (static_cast<std::uint64_t>(chunk_multiplier) * base <= UINT32_MAX) {
    chunk_multiplier *= base;
    ++chunk_digits;
  }
  std::vector<std::uint32_t> limbs;  // little-endian
  std::size_t i = 0;
  while (i < digits.size()) {
    std::size_t n = std::min(chunk_digits, digits.size() - i);
    std::uint32_t multiplier = 1;
    std::uint32_t chunk = 0;
    for (std::size_t k = 0; k < n; ++k) {
      multiplier *= base;
      chunk = chunk * base +
              static_cast<std::uint32_t>(digit_value(static_cast<unsigned char>(digits[i + k])));
    }
    i += n;
    std::uint64_t carry = chunk;
    for (auto& limb : limbs) {
      std::uint64_t v = static_cast<std::uint64_t>(limb) * multiplier + carry;
      limb = static_cast<std::uint32_t>(v);
      carry = v >> 32;
    }
    if (carry != 0) limbs.push_back(static_cast<std::uint32_t>(carry));
  }
  std::vector<std::uint8_t> magnitude(limbs.size() * 4);
  for (std::size_t k = 0; k < limbs.size(); ++k) {
    for (int b = 0; b < 4; ++b)
      magnitude[4 * k + b] = static_cast<std::uint8_t>(limbs[k] >> (8 * b));
  }
  return term::big_integer(false, magnitude);
}

term negate(const term& number) {
  if (number.is_float()) return term(-number.as_double());
  if (number.type() == kind::integer) return term(-*number.to_int64());  // never INT64_MIN here
  return term::big_integer(!number.big_negative(), number.big_magnitude());
}

// ---- Lexer ----------------------------------------------------------------------------------

class lexer {
 public:
  lexer(std::string_view text, const parse_limits& limits) : text_(text), limits_(limits) {}

  position where() const { return pos_; }

  token next() {
    skip_space();
    token t;
    t.start = pos_;
    if (at_end()) return t;
    char32_t c = current();
    if (c >= '0' && c <= '9') return number(t);
    if (latin1_lower(c)) return bare_atom(t);
    if (latin1_upper(c) || c == '_') variable();
    switch (c) {
      case '\'':
        return quoted_atom(t);
      case '"':
        return string(t);
      case '$':
        return char_literal(t);
      case '{':
        return simple(t, tok::lbrace);
      case '}':
        return simple(t, tok::rbrace);
      case '[':
        return simple(t, tok::lbracket);
      case ']':
        return simple(t, tok::rbracket);
      case ',':
        return simple(t, tok::comma);
      case '(':
        return simple(t, tok::lparen);
      case ')':
        return simple(t, tok::rparen);
      case '/':
        return simple(t, tok::slash);
      case '-':
        return simple(t, tok::minus);
      case '+':
        return simple(t, tok::plus);
      case '.':
        return simple(t, tok::dot);
      case '|':
        if (byte_at(1) == '|') fail(text_errc::syntax_error, "unexpected '||'", pos_);
        return simple(t, tok::bar);
      case ':':
        if (byte_at(1) == '=') {
          fail(text_errc::syntax_error,
               "':=' only matches map keys; a map term is written with '=>'", pos_);
        }
        return simple(t, tok::colon);
      case '=':
        if (byte_at(1) == '>') return simple(t, tok::arrow, 2);
        fail(text_errc::syntax_error, "unexpected '='", pos_);
      case '<':
        if (byte_at(1) == '<') return simple(t, tok::bin_open, 2);
        if (byte_at(1) >= '0' && byte_at(1) <= '9') {
          fail(text_errc::not_a_literal, "a pid has no term syntax (use list_to_pid/1 in Erlang)",
               pos_);
        }
        fail(text_errc::syntax_error, "unexpected '<'", pos_);
      case '>':
        if (byte_at(1) == '>') return simple(t, tok::bin_close, 2);
        fail(text_errc::syntax_error, "unexpected '>'", pos_);
      case '#':
        return hash(t);
      default:
        break;
    }
    fail(text_errc::invalid_character, "unexpected character " + show_char(c), pos_);
  }

 private:
  bool at_end() const { return pos_.offset >= text_.size(); }
  unsigned char byte_at(std::size_t ahead) const {
    std::size_t i = pos_.offset + ahead;
    return i < text_.size() ? static_cast<unsigned char>(text_[i]) : 0;
  }

  // The code point at the cursor (the text must not be at its end).
  char32_t current() const {
    std::size_t p = pos_.offset;
    auto c = detail::utf8_decode(text_, p);
    if (!c) fail(text_errc::invalid_character, "invalid UTF-8", pos_);
    return *c;
  }

  void advance() {
    std::size_t p = pos_.offset;
    char32_t c = current();
    detail::utf8_decode(text_, p);
    pos_.offset = p;
    if (c == '\n') {
      ++pos_.line;
      pos_.column = 1;
    } else {
      ++pos_.column;
    }
  }

  token simple(token& t, tok type, int length = 1) {
    for (int i = 0; i < length; ++i) advance();
    t.type = type;
    return std::move(t);
  }

  // Blanks as erl_scan sees them (code points up to U+0020 and U+0080..U+00A0) and comments.
  void skip_space() {
    while (!at_end()) {
      unsigned char b = byte_at(0);
      if (b == '%') {
        while (!at_end() && byte_at(0) != '\n') advance();
      } else if (b <= 0x20) {
        advance();
      } else if (b >= 0x80) {
        char32_t c = current();
        if (c > 0xa0) return;
        advance();
      } else {
        return;
      }
    }
  }

  // ---- Names

  std::string read_name() {
    std::string name;
    while (!at_end() && name_char(current())) {
      detail::utf8_append(name, current());
      advance();
    }
    return name;
  }

  token bare_atom(token& t) {
    std::string name = read_name();
    if (name == "fun") {
      fail(text_errc::not_a_literal, "a fun has no term syntax", t.start);
    }
    if (detail::erlang_reserved_word(name)) {
      fail(text_errc::syntax_error,
           "'" + name + "' is a reserved word; write it in quotes to make it an atom", t.start);
    }
    check_atom_length(name, t.start);
    t.type = tok::atom;
    t.atom = std::move(name);
    return std::move(t);
  }

  [[noreturn]] void variable() {
    position start = pos_;
    std::string name = read_name();
    fail(text_errc::not_a_literal,
         "'" + name +
             "' is a variable; an atom that starts with an upper-case letter or '_' "
             "must be quoted",
         start);
  }

  void check_atom_length(std::string_view utf8, position start) {
    auto count = detail::utf8_count(utf8);
    if (count && *count > 255) {
      fail(text_errc::atom_too_long,
           "an atom has at most 255 characters, this one " + std::to_string(*count), start);
    }
  }

  // ---- Quoted text

  // After a backslash: the character an escape sequence stands for.
  char32_t escape() {
    position start = pos_;
    advance();  // the backslash
    if (at_end()) fail(text_errc::unexpected_end, "the text ends inside an escape sequence", start);
    char32_t c = current();
    advance();
    switch (c) {
      case 'b':
        return 8;
      case 'd':
        return 127;
      case 'e':
        return 27;
      case 'f':
        return 12;
      case 'n':
        return 10;
      case 'r':
        return 13;
      case 's':
        return 32;
      case 't':
        return 9;
      case 'v':
        return 11;
      case '^': {
        if (at_end()) {
          fail(text_errc::unexpected_end, "the text ends inside an escape sequence", start);
        }
        char32_t control = current();
        advance();
        return control & 31;
      }
      case 'x': {
        char32_t value = 0;
        if (!at_end() && byte_at(0) == '{') {
          advance();
          int count = 0;
          while (!at_end() && digit_value(current()) < 16) {
            value = value * 16 + static_cast<char32_t>(digit_value(current()));
            if (value > 0x10ffff) {
              fail(text_errc::invalid_escape, "\\x{...} above the last code point U+10FFFF", start);
            }
            ++count;
            advance();
          }
          if (count == 0 || at_end() || byte_at(0) != '}') {
            fail(text_errc::invalid_escape, "\\x{ needs hex digits and a closing '}'", start);
          }
          advance();
        } else {
          for (int i = 0; i < 2; ++i) {
            if (at_end() || digit_value(current()) >= 16) {
              fail(text_errc::invalid_escape, "\\x needs two hex digits or {hex digits}", start);
            }
            value = value * 16 + static_cast<char32_t>(digit_value(current()));
            advance();
          }
        }
        if (value >= 0xd800 && value <= 0xdfff) {
          fail(text_errc::invalid_escape, "a surrogate code point is not a character", start);
        }
        return value;
      }
      default:
        break;
    }
    if (c >= '0' && c <= '7') {
      char32_t value = c - '0';
      for (int i = 0; i < 2 && !at_end() && byte_at(0) >= '0' && byte_at(0) <= '7'; ++i) {
        value = value * 8 + (byte_at(0) - '0');
        advance();
      }
      return value;
    }
    return c;  // \\, \', \" and any other character stand for themselves
  }

  std::u32string quoted(char quote, position start, const char* what) {
    advance();  // the opening quote
    std::u32string chars;
    for (;;) {
      if (at_end()) {
        fail(text_errc::unexpected_end,
             std::string(what) + " that starts at " + std::to_string(start.line) + ":" +
                 std::to_string(start.column) + " is not closed",
             pos_);
      }
      unsigned char b = byte_at(0);
      if (b == static_cast<unsigned char>(quote)) {
        advance();
        return chars;
      }
      if (b == '\\') {
        chars += escape();
      } else {
        chars += current();
        advance();
      }
    }
  }

  token quoted_atom(token& t) {
    std::u32string chars = quoted('\'', t.start, "a quoted atom");
    if (chars.size() > 255) {
      fail(text_errc::atom_too_long,
           "an atom has at most 255 characters, this one " + std::to_string(chars.size()), t.start);
    }
    t.type = tok::atom;
    for (char32_t c : chars) detail::utf8_append(t.atom, c);
    return std::move(t);
  }

  token string(token& t) {
    t.chars = quoted('"', t.start, "a string");
    t.type = tok::string;
    return std::move(t);
  }

  token char_literal(token& t) {
    advance();  // '$'
    if (at_end()) fail(text_errc::unexpected_end, "'$' needs a character after it", t.start);
    char32_t c;
    if (byte_at(0) == '\\') {
      c = escape();
    } else {
      c = current();
      advance();
    }
    t.type = tok::integer;
    t.number = term(static_cast<std::int64_t>(c));
    return std::move(t);
  }

  // ---- Numbers

  // Digits of `base` with '_' allowed between two digits; appends them without the '_'.
  void read_digits(std::string& out, int base) {
    while (!at_end()) {
      unsigned char b = byte_at(0);
      if (digit_value(b) < base) {
        out += static_cast<char>(b);
        advance();
      } else if (b == '_' && !out.empty() && digit_value(byte_at(1)) < base) {
        advance();
      } else {
        return;
      }
      if (out.size() > limits_.max_integer_digits) {
        fail(text_errc::too_large,
             "a number with more than " + std::to_string(limits_.max_integer_digits) + " digits",
             start_of_number_);
      }
    }
  }

  token number(token& t) {
    start_of_number_ = t.start;
    std::string digits;
    read_digits(digits, 10);
    if (byte_at(0) == '#') {
      std::size_t base = 0;
      for (char c : digits) {
        base = base * 10 + static_cast<std::size_t>(c - '0');
        if (base > 36) break;
      }
      if (base < 2 || base > 36) {
        fail(text_errc::invalid_number, "base " + digits + " is not between 2 and 36", t.start);
      }
      advance();
      std::string value;
      read_digits(value, static_cast<int>(base));
      if (value.empty()) {
        fail(text_errc::invalid_number, "no base-" + digits + " digits after '#'", t.start);
      }
      t.type = tok::integer;
      t.number = digits_to_integer(value, static_cast<unsigned>(base));
      return std::move(t);
    }
    if (byte_at(0) == '.' && byte_at(1) >= '0' && byte_at(1) <= '9') {
      advance();
      std::string fraction;
      read_digits(fraction, 10);
      std::string exponent;
      bool exponent_negative = false;
      unsigned char e = byte_at(0);
      unsigned char e1 = byte_at(1);
      if ((e == 'e' || e == 'E') &&
          ((e1 >= '0' && e1 <= '9') ||
           ((e1 == '+' || e1 == '-') && byte_at(2) >= '0' && byte_at(2) <= '9'))) {
        advance();
        if (e1 == '+' || e1 == '-') {
          exponent_negative = e1 == '-';
          advance();
        }
        read_digits(exponent, 10);
      }
      t.type = tok::float_;
      t.number = term(to_double(digits, fraction, exponent, exponent_negative, t.start));
      return std::move(t);
    }
    t.type = tok::integer;
    t.number = digits_to_integer(digits, 10);
    return std::move(t);
  }

  // Correctly rounded; values too small for a double become 0.0 as in Erlang, values too large
  // are an error.
  double to_double(const std::string& whole, const std::string& fraction,
                   const std::string& exponent, bool exponent_negative, position start) {
    std::string text = whole + "." + fraction;
    if (!exponent.empty()) text += (exponent_negative ? "e-" : "e") + exponent;
    double value = 0;
    auto r = std::from_chars(text.data(), text.data() + text.size(), value);
    if (r.ec == std::errc()) return value;
    // Out of range: decide between overflow and underflow from the decimal magnitude.
    long long exp = 0;
    for (char c : exponent) {
      exp = exp * 10 + (c - '0');
      if (exp > 1000000) break;
    }
    if (exponent_negative) exp = -exp;
    std::size_t lead = whole.find_first_not_of('0');
    long long magnitude;
    if (lead != std::string::npos) {
      magnitude = static_cast<long long>(whole.size() - lead) + exp;
    } else {
      std::size_t first = fraction.find_first_not_of('0');
      if (first == std::string::npos) return 0.0;
      magnitude = exp - static_cast<long long>(first);
    }
    if (magnitude > 0) {
      fail(text_errc::invalid_number, "float too large for a 64-bit double", start);
    }
    return 0.0;
  }

  // ---- '#'

  token hash(token& t) {
    if (byte_at(1) == '{') return simple(t, tok::map_open, 2);
    advance();
    std::string name;
    while (!at_end() && name_char(current())) {
      detail::utf8_append(name, current());
      advance();
    }
    if (!at_end() && byte_at(0) == '<') {
      if (name == "Ref" || name == "Reference") {
        fail(text_errc::not_a_literal, "a reference has no term syntax", t.start);
      }
      if (name == "Port") fail(text_errc::not_a_literal, "a port has no term syntax", t.start);
      if (name == "Fun" || name == "Function") {
        fail(text_errc::not_a_literal, "a fun has no term syntax", t.start);
      }
      if (name == "PID") fail(text_errc::not_a_literal, "a pid has no term syntax", t.start);
    }
    if (!name.empty()) {
      fail(text_errc::not_a_literal, "records (#" + name + "{...}) are not terms", t.start);
    }
    fail(text_errc::syntax_error, "unexpected '#'", t.start);
  }

  std::string_view text_;
  const parse_limits& limits_;
  position pos_;
  position start_of_number_;
};

// ---- Binaries -------------------------------------------------------------------------------

class bit_writer {
 public:
  explicit bit_writer(std::uint64_t max_bits) : max_bits_(max_bits) {}

  bool room_for(std::uint64_t bits) const { return bits <= max_bits_ - total_bits_; }

  // The low `n` (1..8) bits of `value`, most significant first.
  void put_bits(unsigned value, unsigned n) {
    value &= (1u << n) - 1;
    unsigned offset = static_cast<unsigned>(total_bits_ % 8);
    if (offset == 0) {
      bytes_.push_back(static_cast<std::uint8_t>(value << (8 - n)));
    } else {
      unsigned free = 8 - offset;
      if (n <= free) {
        bytes_.back() = static_cast<std::uint8_t>(bytes_.back() | (value << (free - n)));
      } else {
        bytes_.back() = static_cast<std::uint8_t>(bytes_.back() | (value >> (n - free)));
        bytes_.push_back(static_cast<std::uint8_t>(value << (8 - (n - free))));
      }
    }
    total_bits_ += n;
  }

  // `bits` bits of a value given as little-endian bytes (as many as the bits need), written
  // big- or little-endian as a bit-syntax integer segment is.
  void put_integer(const std::vector<std::uint8_t>& le, std::uint64_t bits, bool little) {
    std::size_t full = static_cast<std::size_t>(bits / 8);
    unsigned rest = static_cast<unsigned>(bits % 8);
    if (little) {
      for (std::size_t i = 0; i < full; ++i) put_bits(le[i], 8);
      if (rest != 0) put_bits(le[full], rest);
    } else {
      if (rest != 0) put_bits(le[full], rest);
      for (std::size_t i = full; i-- > 0;) put_bits(le[i], 8);
    }
  }

  term finish() const {
    unsigned rest = static_cast<unsigned>(total_bits_ % 8);
    if (rest == 0) return term::binary(std::span<const std::uint8_t>(bytes_));
    return term::bitstring(bytes_, rest);
  }

 private:
  std::vector<std::uint8_t> bytes_;
  std::uint64_t total_bits_ = 0;
  std::uint64_t max_bits_;
};

// The two's complement of an integer term, truncated to `bits`, as little-endian bytes.
std::vector<std::uint8_t> twos_complement(const term& value, std::uint64_t bits) {
  std::size_t n = static_cast<std::size_t>((bits + 7) / 8);
  std::vector<std::uint8_t> out(n, 0);
  if (value.type() == kind::integer) {
    auto v = static_cast<std::uint64_t>(*value.to_int64());
    std::uint8_t fill = *value.to_int64() < 0 ? 0xff : 0;
    for (std::size_t i = 0; i < n; ++i)
      out[i] = i < 8 ? static_cast<std::uint8_t>(v >> (8 * i)) : fill;
    return out;
  }
  auto magnitude = value.big_magnitude();
  for (std::size_t i = 0; i < n && i < magnitude.size(); ++i) out[i] = magnitude[i];
  if (value.big_negative()) {
    unsigned carry = 1;
    for (auto& b : out) {
      unsigned v = static_cast<std::uint8_t>(~b) + carry;
      b = static_cast<std::uint8_t>(v);
      carry = v >> 8;
    }
  }
  return out;
}

std::uint16_t to_half(double d) {
  std::uint16_t sign = std::signbit(d) ? 0x8000 : 0;
  double a = std::fabs(d);
  if (a >= 65520.0) return sign | 0x7c00;  // rounds to infinity, as BEAM writes it
  auto round_even = [](double x) {
    double floor = std::floor(x);
    double diff = x - floor;
    if (diff > 0.5 || (diff == 0.5 && std::fmod(floor, 2.0) != 0)) floor += 1;
    return static_cast<std::uint32_t>(floor);
  };
  if (a < std::ldexp(1.0, -14))
    return sign | static_cast<std::uint16_t>(round_even(std::ldexp(a, 24)));
  int e;
  double m = std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  int exponent = e - 1;
  std::uint32_t mantissa = round_even(m * 2048.0);  // 1.f scaled by 2^10
  if (mantissa == 2048) {
    mantissa = 1024;
    ++exponent;
  }
  if (exponent + 15 >= 31) return sign | 0x7c00;
  return sign | static_cast<std::uint16_t>(((exponent + 15) << 10) | (mantissa - 1024));
}

std::uint32_t to_single_bits(double d) {
  float f;
  double a = std::fabs(d);
  constexpr double max = FLT_MAX;
  if (a > max) {
    // Beyond the largest float: up to half an ulp above it rounds down, from there to infinity.
    f = a < max + std::ldexp(1.0, 103) ? FLT_MAX : INFINITY;
    if (d < 0) f = -f;
  } else {
    f = static_cast<float>(d);
  }
  return std::bit_cast<std::uint32_t>(f);
}

// ---- Parser ---------------------------------------------------------------------------------

class parser {
 public:
  parser(std::string_view text, const parse_limits& limits) : lex_(text, limits), limits_(limits) {}

  term run() {
    term value = parse_value_tree();
    token t = take();
    if (t.type == tok::dot) t = take();
    if (t.type != tok::end) {
      fail(text_errc::syntax_error, "unexpected " + describe(t) + " after the term", t.start);
    }
    return value;
  }

 private:
  enum class container { tuple, list, map };
  struct frame {
    container kind;
    position start;
    std::vector<term> items;
    std::vector<term_pair> pairs;
    std::optional<term> key;  // map: a key whose value comes next
    bool tail_next = false;   // list: the next value is the tail
  };

  token take() {
    if (peeked_) {
      peeked_ = false;
      return std::move(peek_);
    }
    return lex_.next();
  }
  const token& peek() {
    if (!peeked_) {
      peek_ = lex_.next();
      peeked_ = true;
    }
    return peek_;
  }

  // Every opening bracket counts, also of an empty container.
  void check_depth(position start) {
    if (stack_.size() >= limits_.max_depth) {
      fail(text_errc::depth_exceeded,
           "more than " + std::to_string(limits_.max_depth) + " nested tuples, lists and maps",
           start);
    }
  }

  void push(container kind, position start) {
    frame f;
    f.kind = kind;
    f.start = start;
    stack_.push_back(std::move(f));
  }

  // Adjacent strings are one string ("ab" "cd" is "abcd").
  std::u32string string_run(token& first) {
    std::u32string chars = std::move(first.chars);
    while (peek().type == tok::string) chars += take().chars;
    return chars;
  }

  static term string_term(const std::u32string& chars) {
    std::vector<term> items;
    items.reserve(chars.size());
    for (char32_t c : chars) items.emplace_back(static_cast<std::int64_t>(c));
    return term::list(std::move(items));
  }

  token signed_number(const token& sign) {
    token t = take();
    if (t.type != tok::integer && t.type != tok::float_) {
      fail(text_errc::syntax_error,
           "expected a number after " + describe(sign) + ", found " + describe(t), t.start);
    }
    if (sign.type == tok::minus) t.number = negate(t.number);
    return t;
  }

  // Reads one value; returns false when it opened a container whose elements come next.
  bool read_value(term& out) {
    token t = take();
    if (t.type == tok::lbrace || t.type == tok::lbracket || t.type == tok::map_open) {
      check_depth(t.start);
    }
    switch (t.type) {
      case tok::lbrace:
        if (peek().type == tok::rbrace) {
          take();
          out = term::tuple(std::vector<term>{});
          return true;
        }
        push(container::tuple, t.start);
        return false;
      case tok::lbracket:
        if (peek().type == tok::rbracket) {
          take();
          out = term();
          return true;
        }
        push(container::list, t.start);
        return false;
      case tok::map_open:
        if (peek().type == tok::rbrace) {
          take();
          out = term::map(std::vector<term_pair>{});
          return true;
        }
        push(container::map, t.start);
        return false;
      case tok::bin_open:
        out = binary(t);
        return true;
      case tok::minus:
      case tok::plus:
        out = signed_number(t).number;
        return true;
      case tok::integer:
      case tok::float_:
        out = t.number;
        return true;
      case tok::atom:
        out = term::atom(t.atom);
        return true;
      case tok::string:
        out = string_term(string_run(t));
        return true;
      case tok::end:
        fail(text_errc::unexpected_end,
             stack_.empty() ? "expected a term" : "expected a term before the end of the text",
             t.start);
      default:
        fail(text_errc::syntax_error, "expected a term, found " + describe(t), t.start);
    }
  }

  [[noreturn]] void expected(const char* what, const token& t, const frame& f) {
    if (t.type == tok::end) {
      std::string opener = f.kind == container::tuple  ? "'{'"
                           : f.kind == container::list ? "'['"
                                                       : "'#{'";
      fail(text_errc::unexpected_end,
           "expected " + std::string(what) + ": " + opener + " at " + std::to_string(f.start.line) +
               ":" + std::to_string(f.start.column) + " is not closed",
           t.start);
    }
    fail(text_errc::syntax_error, "expected " + std::string(what) + ", found " + describe(t),
         t.start);
  }

  term parse_value_tree() {
    for (;;) {
      term value;
      if (!read_value(value)) continue;
      // Hand the value to the innermost open container; closing it yields the next value.
      for (;;) {
        if (stack_.empty()) return value;
        frame& f = stack_.back();
        if (f.kind == container::tuple) {
          f.items.push_back(std::move(value));
          token t = take();
          if (t.type == tok::comma) break;
          if (t.type != tok::rbrace) expected("',' or '}'", t, f);
          value = term::tuple(std::move(f.items));
        } else if (f.kind == container::list) {
          if (f.tail_next) {
            token t = take();
            if (t.type != tok::rbracket) expected("']' after the tail of a list", t, f);
            value = term::list(std::move(f.items), std::move(value));
          } else {
            f.items.push_back(std::move(value));
            token t = take();
            if (t.type == tok::comma) break;
            if (t.type == tok::bar) {
              f.tail_next = true;
              break;
            }
            if (t.type != tok::rbracket) expected("',', '|' or ']'", t, f);
            value = term::list(std::move(f.items));
          }
        } else {
          if (!f.key) {
            f.key = std::move(value);
            token t = take();
            if (t.type != tok::arrow) expected("'=>'", t, f);
            break;
          }
          f.pairs.emplace_back(std::move(*f.key), std::move(value));
          f.key.reset();
          token t = take();
          if (t.type == tok::comma) break;
          if (t.type != tok::rbrace) expected("',' or '}'", t, f);
          value = term::map(std::move(f.pairs));
        }
        stack_.pop_back();
      }
    }
  }

  // ---- Binaries

  enum class seg_type { integer, float_, utf8, utf16, utf32 };
  struct segment {
    position start;
    term number;           // integer or float value
    std::u32string chars;  // string value
    bool is_string = false;
    std::optional<std::uint64_t> size;
    std::optional<std::uint64_t> unit;
    seg_type type = seg_type::integer;
    bool little = false;
  };

  void segment_value(segment& s) {
    token t = take();
    s.start = t.start;
    switch (t.type) {
      case tok::integer:
      case tok::float_:
        s.number = t.number;
        return;
      case tok::minus:
      case tok::plus:
        s.number = signed_number(t).number;
        return;
      case tok::string:
        s.chars = string_run(t);
        s.is_string = true;
        return;
      case tok::bin_open:
        fail(text_errc::invalid_binary, "a binary inside a binary is not supported", t.start);
      case tok::end:
        fail(text_errc::unexpected_end, "expected a binary segment", t.start);
      default:
        fail(text_errc::syntax_error,
             "expected a number or a string in a binary segment, found " + describe(t), t.start);
    }
  }

  std::uint64_t small_integer(const char* what) {
    token t = take();
    auto v = t.type == tok::integer ? t.number.to_uint64() : std::nullopt;
    if (!v) {
      fail(t.type == tok::end ? text_errc::unexpected_end : text_errc::invalid_binary,
           std::string("expected ") + what + ", found " + describe(t), t.start);
    }
    return *v;
  }

  void segment_types(segment& s) {
    bool typed = false;
    for (;;) {
      token t = take();
      if (t.type != tok::atom) {
        fail(t.type == tok::end ? text_errc::unexpected_end : text_errc::syntax_error,
             "expected a type specifier, found " + describe(t), t.start);
      }
      const std::string& a = t.atom;
      auto set_type = [&](seg_type type) {
        if (typed) fail(text_errc::invalid_binary, "a segment has one type", t.start);
        typed = true;
        s.type = type;
      };
      if (a == "integer") {
        set_type(seg_type::integer);
      } else if (a == "float") {
        set_type(seg_type::float_);
      } else if (a == "utf8") {
        set_type(seg_type::utf8);
      } else if (a == "utf16") {
        set_type(seg_type::utf16);
      } else if (a == "utf32") {
        set_type(seg_type::utf32);
      } else if (a == "big") {
        s.little = false;
      } else if (a == "little") {
        s.little = true;
      } else if (a == "native") {
        s.little = std::endian::native == std::endian::little;
      } else if (a == "signed" || a == "unsigned") {
        // Signedness changes how bits are matched, not how a value is written.
      } else if (a == "unit") {
        token colon = take();
        if (colon.type != tok::colon) {
          fail(text_errc::syntax_error, "expected ':' after unit, found " + describe(colon),
               colon.start);
        }
        std::uint64_t unit = small_integer("a unit from 1 to 256");
        if (unit < 1 || unit > 256) {
          fail(text_errc::invalid_binary, "a unit is from 1 to 256", t.start);
        }
        s.unit = unit;
      } else if (a == "binary" || a == "bytes" || a == "bitstring" || a == "bits") {
        fail(text_errc::invalid_binary, "a " + a + " segment needs a binary value", t.start);
      } else {
        fail(text_errc::invalid_binary, "unknown type specifier '" + a + "'", t.start);
      }
      if (peek().type != tok::minus) return;
      take();
    }
  }

  void write_integer(bit_writer& w, const term& value, std::uint64_t bits, bool little,
                     position at) {
    if (!w.room_for(bits)) too_large(at);
    if (bits == 0) return;
    w.put_integer(twos_complement(value, bits), bits, little);
  }

  void write_code_point(bit_writer& w, const segment& s, std::int64_t c) {
    if (c < 0 || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
      fail(text_errc::invalid_binary, std::to_string(c) + " is not a Unicode code point", s.start);
    }
    auto cp = static_cast<char32_t>(c);
    if (s.type == seg_type::utf8) {
      std::string bytes;
      detail::utf8_append(bytes, cp);
      for (char b : bytes) {
        if (!w.room_for(8)) too_large(s.start);
        w.put_bits(static_cast<unsigned char>(b), 8);
      }
    } else if (s.type == seg_type::utf16) {
      if (cp < 0x10000) {
        write_integer(w, term(static_cast<std::int64_t>(cp)), 16, s.little, s.start);
      } else {
        char32_t v = cp - 0x10000;
        write_integer(w, term(static_cast<std::int64_t>(0xd800 + (v >> 10))), 16, s.little,
                      s.start);
        write_integer(w, term(static_cast<std::int64_t>(0xdc00 + (v & 0x3ff))), 16, s.little,
                      s.start);
      }
    } else {
      write_integer(w, term(static_cast<std::int64_t>(cp)), 32, s.little, s.start);
    }
  }

  void write_float(bit_writer& w, const segment& s, std::uint64_t bits) {
    double v;
    if (s.number.is_float()) {
      v = s.number.as_double();
    } else {
      v = *s.number.to_double();
      if (std::isinf(v)) {
        fail(text_errc::invalid_binary, "integer too large for a float segment", s.start);
      }
    }
    std::uint64_t pattern;
    if (bits == 64) {
      pattern = std::bit_cast<std::uint64_t>(v);
    } else if (bits == 32) {
      pattern = to_single_bits(v);
    } else {
      pattern = to_half(v);
    }
    write_integer(w, term(pattern), bits, s.little, s.start);
  }

  [[noreturn]] void too_large(position at) {
    fail(text_errc::too_large,
         "a binary larger than " + std::to_string(limits_.max_binary_size) + " bytes", at);
  }

  void write_segment(bit_writer& w, const segment& s) {
    bool utf = s.type == seg_type::utf8 || s.type == seg_type::utf16 || s.type == seg_type::utf32;
    if (utf) {
      if (s.size || s.unit) {
        fail(text_errc::invalid_binary, "a utf8, utf16 or utf32 segment takes no size or unit",
             s.start);
      }
      if (s.is_string) {
        for (char32_t c : s.chars) write_code_point(w, s, c);
        return;
      }
      if (!s.number.is_integer()) {
        fail(text_errc::invalid_binary, "a utf segment needs an integer code point", s.start);
      }
      auto c = s.number.to_int64();
      write_code_point(w, s, c ? *c : -1);
      return;
    }
    if (s.unit && !s.size) {
      fail(text_errc::invalid_binary, "a unit needs a size", s.start);
    }
    std::uint64_t unit = s.unit.value_or(1);
    std::uint64_t size = s.size.value_or(s.type == seg_type::float_ ? 64 : 8);
    if (size != 0 && unit > UINT64_MAX / size) too_large(s.start);
    std::uint64_t bits = size * unit;
    if (s.type == seg_type::float_) {
      if (bits != 16 && bits != 32 && bits != 64) {
        fail(text_errc::invalid_binary, "a float segment has 16, 32 or 64 bits", s.start);
      }
      if (s.is_string) {
        fail(text_errc::invalid_binary, "a string cannot be a float segment", s.start);
      }
      write_float(w, s, bits);
      return;
    }
    if (s.is_string) {
      for (char32_t c : s.chars) {
        write_integer(w, term(static_cast<std::int64_t>(c)), bits, s.little, s.start);
      }
      return;
    }
    if (!s.number.is_integer()) {
      fail(text_errc::invalid_binary, "a float in a binary needs the type /float", s.start);
    }
    write_integer(w, s.number, bits, s.little, s.start);
  }

  term binary(const token& open) {
    std::uint64_t max_bits = static_cast<std::uint64_t>(limits_.max_binary_size) * 8;
    bit_writer w(max_bits);
    if (peek().type == tok::bin_close) {
      take();
      return w.finish();
    }
    for (;;) {
      segment s;
      segment_value(s);
      if (peek().type == tok::colon) {
        take();
        s.size = small_integer("a segment size (a non-negative integer)");
      }
      if (peek().type == tok::slash) {
        take();
        segment_types(s);
      }
      write_segment(w, s);
      token t = take();
      if (t.type == tok::comma) continue;
      if (t.type == tok::bin_close) return w.finish();
      if (t.type == tok::end) {
        fail(text_errc::unexpected_end,
             "expected ',' or '>>': '<<' at " + std::to_string(open.start.line) + ":" +
                 std::to_string(open.start.column) + " is not closed",
             t.start);
      }
      fail(text_errc::syntax_error, "expected ',' or '>>', found " + describe(t), t.start);
    }
  }

  lexer lex_;
  const parse_limits& limits_;
  std::vector<frame> stack_;
  token peek_;
  bool peeked_ = false;
};

}  // namespace

parse_result parse_erlang(std::string_view text, const parse_limits& limits) {
  parse_result result;
  if (text.size() > limits.max_input_size) {
    result.error = text_errc::too_large;
    result.message = "the text has " + std::to_string(text.size()) + " bytes, more than " +
                     std::to_string(limits.max_input_size);
    result.line = 1;
    result.column = 1;
    return result;
  }
  try {
    result.value = parser(text, limits).run();
  } catch (const failure& f) {
    result.error = f.code;
    result.message = f.message;
    result.line = f.where.line;
    result.column = f.where.column;
    result.offset = f.where.offset;
  }
  return result;
}

}  // namespace edist::etf
