// Parsing Erlang term syntax: values (checked against what erl_parse:parse_term/1 gives on
// OTP 25), errors with positions, limits, and print/parse round trips.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <edist/etf/convert.hpp>
#include <edist/etf/text.hpp>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace edist::etf;
using namespace edist::etf::literals;

term parse(std::string_view text) {
  parse_result r = parse_erlang(text);
  EXPECT_TRUE(r) << text << ": " << r.describe();
  return r.value.value_or(term("parse_failed"_atom));
}

// Parses and prints back in Erlang syntax (unicode printable range).
std::string reprint(std::string_view text) {
  return to_erlang_string(parse(text));
}

term bytes(std::initializer_list<int> values) {
  std::vector<std::uint8_t> v;
  for (int b : values) v.push_back(static_cast<std::uint8_t>(b));
  return term::binary(std::span<const std::uint8_t>(v));
}

TEST(TextParse, Atoms) {
  EXPECT_EQ(parse("ok"), "ok"_atom);
  EXPECT_EQ(parse("'hello world'"), "hello world"_atom);
  EXPECT_EQ(parse("abc@def"), "abc@def"_atom);
  EXPECT_EQ(parse("a_B9"), "a_B9"_atom);
  EXPECT_EQ(parse("''"), ""_atom);
  EXPECT_EQ(parse("'case'"), "case"_atom);
  EXPECT_EQ(parse("ünï"), atom("ünï"));
  EXPECT_EQ(parse("'中文'"), atom("中文"));
  EXPECT_EQ(parse("'\\s'"), " "_atom);
  EXPECT_EQ(parse("'\\z'"), "z"_atom);
  EXPECT_EQ(parse("'\\^['"), atom("\x1b"));
  EXPECT_EQ(parse("'a\\'b'"), "a'b"_atom);
  EXPECT_EQ(parse("'\\x{4E2D}'"), atom("中"));
  EXPECT_EQ(parse("maybe"), "maybe"_atom);
  EXPECT_EQ(parse("true"), term(true));
  EXPECT_EQ(parse(std::string(255, 'a')), atom(std::string(255, 'a')));
  // erl_scan refuses these two code points, but an atom may hold them and prints them as they
  // are; its text must read back.
  EXPECT_EQ(parse("'\\x{FFFE}\\x{FFFF}'"), atom("\uFFFE\uFFFF"));
  EXPECT_EQ(parse(to_erlang_string(atom("a\uFFFE"))), atom("a\uFFFE"));
  EXPECT_EQ(parse(to_erlang_string(atom("\U0010FFFF\u00A0\u0080"))),
            atom("\U0010FFFF\u00A0\u0080"));
}

TEST(TextParse, Integers) {
  EXPECT_EQ(parse("0"), term(0));
  EXPECT_EQ(parse("42"), term(42));
  EXPECT_EQ(parse("-42"), term(-42));
  EXPECT_EQ(parse("+5"), term(5));
  EXPECT_EQ(parse("- 1"), term(-1));
  EXPECT_EQ(parse("1_000"), term(1000));
  EXPECT_EQ(parse("00012"), term(12));
  EXPECT_EQ(parse("16#ff_ff"), term(65535));
  EXPECT_EQ(parse("-16#ff"), term(-255));
  EXPECT_EQ(parse("2#101"), term(5));
  EXPECT_EQ(parse("36#zz"), term(1295));
  EXPECT_EQ(parse("36#ZZ"), term(1295));
  EXPECT_EQ(parse("$a"), term(97));
  EXPECT_EQ(parse("$ "), term(32));
  EXPECT_EQ(parse("$\\n"), term(10));
  EXPECT_EQ(parse("$\\^A"), term(1));
  EXPECT_EQ(parse("$\\x41"), term(65));
  EXPECT_EQ(parse("$\\101"), term(65));
  EXPECT_EQ(parse("$中"), term(0x4e2d));
  EXPECT_EQ(parse("9223372036854775807"), term(INT64_MAX));
  EXPECT_EQ(parse("-9223372036854775808"), term(INT64_MIN));
  EXPECT_EQ(parse("9223372036854775808"), term(std::uint64_t{9223372036854775808u}));
  EXPECT_EQ(parse("18446744073709551615"), term(UINT64_MAX));
  EXPECT_EQ(parse("123456789012345678901234567890"),
            *term::integer_from_decimal("123456789012345678901234567890"));
  EXPECT_EQ(parse("-123456789012345678901234567890"),
            *term::integer_from_decimal("-123456789012345678901234567890"));
  EXPECT_EQ(parse("16#FFFFFFFFFFFFFFFFFFFFFFFF"),
            *term::integer_from_decimal("79228162514264337593543950335"));
  std::string big(5000, '7');
  EXPECT_EQ(parse(big), *term::integer_from_decimal(big));
  EXPECT_EQ(parse(big).integer_to_decimal(), big);
}

TEST(TextParse, Floats) {
  EXPECT_EQ(parse("1.0"), term(1.0));
  EXPECT_EQ(parse("-1.0"), term(-1.0));
  EXPECT_EQ(parse("-0.0"), term(-0.0));
  EXPECT_TRUE(std::signbit(parse("-0.0").as_double()));
  EXPECT_EQ(parse("0.1"), term(0.1));
  EXPECT_EQ(parse("1.0E5"), term(1.0e5));
  EXPECT_EQ(parse("1.5e+3"), term(1500.0));
  EXPECT_EQ(parse("2.5e-3"), term(0.0025));
  EXPECT_EQ(parse("1_0.2_5"), term(10.25));
  EXPECT_EQ(parse("1.0e308"), term(1.0e308));
  EXPECT_EQ(parse("1.0e-323"), term(1.0e-323));
  EXPECT_EQ(parse("1.0e-400"), term(0.0));  // as erl_scan: underflow is zero
  EXPECT_EQ(parse("0.0e99999"), term(0.0));
  EXPECT_EQ(parse("0.1000000000000000055511151231257827021181583404541015625"), term(0.1));
}

TEST(TextParse, StringsAndLists) {
  EXPECT_EQ(parse("\"abc\""), charlist("abc"));
  EXPECT_EQ(parse("\"\""), nil);
  EXPECT_EQ(parse("\"a\" \"b\"  \"c\""), charlist("abc"));
  EXPECT_EQ(parse("\"\\x{4e2d}\""), charlist("中"));
  EXPECT_EQ(parse("\"中文\""), charlist("中文"));
  EXPECT_EQ(parse("\"\\1011\""), charlist("A1"));
  EXPECT_EQ(parse("\"\\^?\""), charlist("\x1f"));
  EXPECT_EQ(parse("\"\\^@\""), term::list({term(0)}));
  EXPECT_EQ(parse("\"\\b\\d\\e\\f\\n\\r\\s\\t\\v\\\\\\\"\\'\""),
            charlist("\b\x7f\x1b\f\n\r \t\v\\\"'"));
  EXPECT_EQ(parse("\"line1\nline2\""), charlist("line1\nline2"));
  EXPECT_EQ(parse("[]"), nil);
  EXPECT_EQ(parse("[1,2,3]"), list(1, 2, 3));
  EXPECT_EQ(parse("[1|2]"), term::list({term(1)}, term(2)));
  EXPECT_EQ(parse("[1,2|3]"), term::list({term(1), term(2)}, term(3)));
  EXPECT_EQ(parse("[a|[b|[c]]]"), list("a"_atom, "b"_atom, "c"_atom));
  EXPECT_EQ(parse("[1|[]]"), list(1));
  EXPECT_EQ(parse("[[]]"), term::list({nil}));
}

TEST(TextParse, TuplesAndMaps) {
  EXPECT_EQ(parse("{}"), term::tuple({}));
  EXPECT_EQ(parse("{ok, [1,2]}"), tuple("ok"_atom, list(1, 2)));
  EXPECT_EQ(parse(" { a , { b , { } } } . "), tuple("a"_atom, tuple("b"_atom, term::tuple({}))));
  EXPECT_EQ(parse("#{}"), map({}));
  EXPECT_EQ(parse("#{a => 1, \"b\" => [2]}"), map({{"a"_atom, 1}, {charlist("b"), list(2)}}));
  EXPECT_EQ(parse("#{a=>1, a=>2}"), map({{"a"_atom, 2}}));
  EXPECT_EQ(parse("#{#{} => #{k => {}}}"), map({{map({}), map({{"k"_atom, term::tuple({})}})}}));
  EXPECT_EQ(parse("% a comment\n{1, % another\n 2}.% done"), tuple(1, 2));
}

TEST(TextParse, Binaries) {
  EXPECT_EQ(parse("<<>>"), ""_bin);
  EXPECT_EQ(parse("<<\"\">>"), ""_bin);
  EXPECT_EQ(parse("<<\"abc\">>"), "abc"_bin);
  EXPECT_EQ(parse("<<1,2,3>>"), bytes({1, 2, 3}));
  EXPECT_EQ(parse("<<\"é\"/utf8>>"), binary("é"));
  EXPECT_EQ(parse("<<\"é\">>"), bytes({233}));
  EXPECT_EQ(parse("<<\"中\">>"), bytes({0x2d}));  // 8-bit segments keep the low byte
  EXPECT_EQ(reprint("<<1:3>>"), "<<1:3>>");
  EXPECT_EQ(reprint("<<1:3, 2:5>>"), "<<\"\\\"\">>");
  EXPECT_EQ(reprint("<<\"a\", 1:3, \"b\">>"), "<<97,44,2:3>>");
  EXPECT_EQ(parse("<<1.5/float>>"), bytes({63, 248, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(parse("<<1:16/little>>"), bytes({1, 0}));
  EXPECT_EQ(parse("<<\"ab\":16>>"), bytes({0, 97, 0, 98}));
  EXPECT_EQ(parse("<<-1>>"), bytes({255}));
  EXPECT_EQ(parse("<<256>>"), bytes({0}));
  EXPECT_EQ(parse("<<\"a\"/utf16>>"), bytes({0, 97}));
  EXPECT_EQ(parse("<<\"a\"/utf16-little>>"), bytes({97, 0}));
  EXPECT_EQ(parse("<<16#1F600/utf16>>"), bytes({0xd8, 0x3d, 0xde, 0x00}));
  EXPECT_EQ(parse("<<16#1F600/utf32>>"), bytes({0, 1, 0xf6, 0}));
  EXPECT_EQ(parse("<<16#1F600/utf8>>"), bytes({240, 159, 152, 128}));
  EXPECT_EQ(parse("<<1:0>>"), ""_bin);
  EXPECT_EQ(parse("<<1,2:4/unit:2>>"), bytes({1, 2}));
  EXPECT_EQ(parse("<<1:1/integer-unit:8>>"), bytes({1}));
  EXPECT_EQ(parse("<<\"a\"/utf8-little>>"), "a"_bin);
  EXPECT_EQ(parse("<<3.0:32/float>>"), bytes({64, 64, 0, 0}));
  EXPECT_EQ(parse("<<3.0:16/float>>"), bytes({66, 0}));
  EXPECT_EQ(parse("<<3:32/float>>"), bytes({64, 64, 0, 0}));
  EXPECT_EQ(parse("<<1.5:16/float>>"), bytes({62, 0}));
  EXPECT_EQ(parse("<<1.0e10:16/float>>"), bytes({124, 0}));
  EXPECT_EQ(parse("<<65519.0:16/float>>"), bytes({123, 255}));
  EXPECT_EQ(parse("<<65520.0:16/float>>"), bytes({124, 0}));
  EXPECT_EQ(parse("<<1.0e300:32/float>>"), bytes({127, 128, 0, 0}));
  EXPECT_EQ(parse("<<3.4028235e38:32/float>>"), bytes({127, 127, 255, 255}));
  EXPECT_EQ(parse("<<-1:8/unsigned>>"), bytes({255}));
  EXPECT_EQ(parse("<<1:8/big-signed-integer>>"), bytes({1}));
  EXPECT_EQ(reprint("<<16#123:12/little>>"), "<<35,1:4>>");
  EXPECT_EQ(reprint("<<16#ABCDE:20/little>>"), "<<222,188,10:4>>");
  EXPECT_EQ(reprint("<<16#ABCDE:20/big>>"), "<<171,205,14:4>>");
  EXPECT_EQ(reprint("<<-1:12/little>>"), "<<255,15:4>>");
  EXPECT_EQ(reprint("<<-1:100>>"), "<<255,255,255,255,255,255,255,255,255,255,255,255,15:4>>");
  EXPECT_EQ(parse("<<-123456789012345678901234567890:128>>"),
            bytes({255, 255, 255, 254, 113, 22, 240, 9, 60, 140, 31, 17, 177, 192, 245, 46}));
  EXPECT_EQ(parse("<<0:80000>>").binary_bytes().size(), 10000u);
}

TEST(TextParse, PrintedTermsReadBack) {
  const char* texts[] = {
      "{ok,[1,2]}",
      "#{a => 1,b => [\"x\",<<\"y\">>]}",
      "['hello world','Ok','','a\\'b','\\001',ünï,'中']",
      "[1.0,0.1,-0.0,1.0e20,1.0e-10,5.0e-324,1.7976931348623157e308]",
      "<<1,2,3>>",
      "<<\"é\"/utf8>>",
      "<<\"\\e\\n\">>",
      "<<97,98,1:3>>",
      "[1,2|3]",
      "\"a\\nb\\tc\\\"d\\\\e\"",
      "{}",
      "[[],{},#{},<<>>]",
      "-123456789012345678901234567890",
  };
  for (const char* text : texts) EXPECT_EQ(reprint(text), text) << text;
}

TEST(TextParse, RandomTermsRoundTrip) {
  std::mt19937_64 rng(12345);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  std::function<term(int)> make = [&](int depth) -> term {
    switch (pick(depth > 3 ? 8 : 12)) {
      case 0:
        return term(static_cast<std::int64_t>(rng()) >> pick(64));
      case 1: {
        double d;
        do {
          std::uint64_t bits = rng();
          std::memcpy(&d, &bits, sizeof d);
        } while (!std::isfinite(d));
        return term(d);
      }
      case 2: {
        static constexpr std::string_view pieces[] = {"a",  "Z",  "_",  "@", " ",  "é",    "'",
                                                      "\\", "\n", "\"", "x", "中", "\x01", "ÿ"};
        std::string s;
        for (std::size_t i = pick(6); i > 0; --i) s += pieces[pick(std::size(pieces))];
        return atom(s);
      }
      case 3: {
        std::vector<std::uint8_t> b(pick(6));
        for (auto& x : b) x = static_cast<std::uint8_t>(pick(4) == 0 ? rng() : 'a' + pick(26));
        return term::binary(std::span<const std::uint8_t>(b));
      }
      case 4: {
        std::vector<term> chars;
        for (std::size_t i = pick(5); i > 0; --i)
          chars.emplace_back(static_cast<std::int64_t>(pick(300)));
        return term::list(std::move(chars));
      }
      case 5: {
        std::string digits = std::to_string(1 + pick(9));
        for (std::size_t i = pick(40); i > 0; --i) digits += static_cast<char>('0' + pick(10));
        return *term::integer_from_decimal((pick(2) ? "-" : "") + digits);
      }
      case 6: {
        std::uint8_t b[3] = {static_cast<std::uint8_t>(rng()), static_cast<std::uint8_t>(rng()),
                             static_cast<std::uint8_t>(rng())};
        return term::bitstring(std::span<const std::uint8_t>(b, 1 + pick(3)),
                               1 + static_cast<unsigned>(pick(8)));
      }
      case 7:
        return nil;
      case 8: {
        std::vector<term> items;
        for (std::size_t i = pick(4); i > 0; --i) items.push_back(make(depth + 1));
        return term::tuple(std::move(items));
      }
      case 9: {
        std::vector<term> items;
        for (std::size_t i = pick(4); i > 0; --i) items.push_back(make(depth + 1));
        return term::list(std::move(items), pick(4) == 0 ? make(depth + 1) : term());
      }
      default: {
        std::vector<term_pair> entries;
        for (std::size_t i = pick(4); i > 0; --i)
          entries.emplace_back(make(depth + 1), make(depth + 1));
        return term::map(std::move(entries));
      }
    }
  };
  for (int i = 0; i < 3000; ++i) {
    term t = make(0);
    for (auto range : {printable_range::unicode, printable_range::latin1}) {
      print_options o;
      o.printable = range;
      std::string text = to_erlang_string(t, o);
      parse_result r = parse_erlang(text);
      ASSERT_TRUE(r) << text << ": " << r.describe();
      EXPECT_EQ(*r.value, t) << text;
    }
  }
}

struct bad_case {
  const char* text;
  text_errc code;
  std::size_t line;
  std::size_t column;
  const char* message_part;
};

TEST(TextParse, ErrorsHavePositions) {
  const bad_case cases[] = {
      {"", text_errc::unexpected_end, 1, 1, "expected a term"},
      {"   ", text_errc::unexpected_end, 1, 4, "expected a term"},
      {"{ok, [1,2}", text_errc::syntax_error, 1, 10, "expected ',', '|' or ']', found '}'"},
      {"{ok, [1,2]", text_errc::unexpected_end, 1, 11, "'{' at 1:1 is not closed"},
      {"{ok,\n  ]}", text_errc::syntax_error, 2, 3, "expected a term, found ']'"},
      {"[1,]", text_errc::syntax_error, 1, 4, "found ']'"},
      {"{1 2}", text_errc::syntax_error, 1, 4, "expected ',' or '}', found integer 2"},
      {"#{a}", text_errc::syntax_error, 1, 4, "expected '=>', found '}'"},
      {"#{a := 1}", text_errc::syntax_error, 1, 5, "':='"},
      {"ok ok", text_errc::syntax_error, 1, 4, "after the term"},
      {"ok..", text_errc::syntax_error, 1, 4, "'.'"},
      {"Foo", text_errc::not_a_literal, 1, 1, "'Foo' is a variable"},
      {"{a, _}", text_errc::not_a_literal, 1, 5, "'_' is a variable"},
      {"case", text_errc::syntax_error, 1, 1, "reserved word"},
      {"[fun]", text_errc::not_a_literal, 1, 2, "fun"},
      {"<0.1.0>", text_errc::not_a_literal, 1, 1, "pid"},
      {"#Ref<0.1.2.3>", text_errc::not_a_literal, 1, 1, "reference"},
      {"#Port<0.1>", text_errc::not_a_literal, 1, 1, "port"},
      {"#Fun<a.0.1>", text_errc::not_a_literal, 1, 1, "fun"},
      {"#rec{a = 1}", text_errc::not_a_literal, 1, 1, "records"},
      {"'abc", text_errc::unexpected_end, 1, 5, "quoted atom that starts at 1:1"},
      {"\"abc", text_errc::unexpected_end, 1, 5, "string that starts at 1:1"},
      {"\"a\\x4g\"", text_errc::invalid_escape, 1, 3, "two hex digits"},
      {"\"a\\x{}\"", text_errc::invalid_escape, 1, 3, "hex digits"},
      {"\"\\x{110000}\"", text_errc::invalid_escape, 1, 2, "U+10FFFF"},
      {"\"\\x{D800}\"", text_errc::invalid_escape, 1, 2, "surrogate"},
      {"'\\", text_errc::unexpected_end, 1, 2, "escape"},
      {"$", text_errc::unexpected_end, 1, 1, "'$'"},
      {"1.0e400", text_errc::invalid_number, 1, 1, "too large"},
      {"37#1", text_errc::invalid_number, 1, 1, "base 37"},
      {"1#1", text_errc::invalid_number, 1, 1, "base 1"},
      {"16#", text_errc::invalid_number, 1, 1, "no base-16 digits"},
      {"1e5", text_errc::syntax_error, 1, 2, "unexpected atom 'e5' after the term"},
      {"1.e5", text_errc::syntax_error, 1, 3, "atom 'e5'"},
      {"- -5", text_errc::syntax_error, 1, 3, "expected a number after '-'"},
      {"-a", text_errc::syntax_error, 1, 2, "expected a number"},
      {"{a, é!}", text_errc::invalid_character, 1, 6, "'!'"},
      {"[1, 2] \xff", text_errc::invalid_character, 1, 8, "invalid UTF-8"},
      {"{\"é\", \xc3}", text_errc::invalid_character, 1, 7, "invalid UTF-8"},
      {"héllo wörld €", text_errc::syntax_error, 1, 7, "after the term"},
      {"<<1.5>>", text_errc::invalid_binary, 1, 3, "/float"},
      {"<<1:3/binary>>", text_errc::invalid_binary, 1, 7, "binary value"},
      {"<<1/utf8:8>>", text_errc::syntax_error, 1, 9, "expected ',' or '>>'"},
      {"<<\"a\":8/utf8>>", text_errc::invalid_binary, 1, 3, "no size"},
      {"<<1:7/float>>", text_errc::invalid_binary, 1, 3, "16, 32 or 64"},
      {"<<(1):8>>", text_errc::syntax_error, 1, 3, "found '('"},
      {"<<<<1>>/binary>>", text_errc::invalid_binary, 1, 3, "binary inside a binary"},
      {"<<1/foo>>", text_errc::invalid_binary, 1, 5, "unknown type specifier 'foo'"},
      {"<<1/unit:0>>", text_errc::invalid_binary, 1, 5, "1 to 256"},
      {"<<16#110000/utf8>>", text_errc::invalid_binary, 1, 3, "code point"},
      {"<<1, 2", text_errc::unexpected_end, 1, 7, "'<<' at 1:1 is not closed"},
      {"<<a>>", text_errc::syntax_error, 1, 3, "found atom 'a'"},
      {"[1 || 2]", text_errc::syntax_error, 1, 4, "'||'"},
      {"a = 1", text_errc::syntax_error, 1, 3, "'='"},
      {"{a,\n b,\n\t c ]", text_errc::syntax_error, 3, 5, "found ']'"},
      {"\"中文\" x", text_errc::syntax_error, 1, 6, "atom 'x'"},
  };
  for (const auto& c : cases) {
    parse_result r = parse_erlang(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error, make_error_code(c.code)) << c.text << ": " << r.describe();
    EXPECT_EQ(r.line, c.line) << c.text << ": " << r.describe();
    EXPECT_EQ(r.column, c.column) << c.text << ": " << r.describe();
    EXPECT_NE(r.message.find(c.message_part), std::string::npos) << c.text << ": " << r.describe();
    EXPECT_FALSE(r.value.has_value());
  }
}

TEST(TextParse, OffsetsAreBytes) {
  parse_result r = parse_erlang("{\"中\", ]");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.column, 7u);
  EXPECT_EQ(r.offset, 8u);
}

TEST(TextParse, DescribeAndThrow) {
  parse_result r = parse_erlang("{ok, [1,2}");
  EXPECT_EQ(r.describe(), "syntax error at 1:10: expected ',', '|' or ']', found '}'");
  EXPECT_EQ(parse_erlang("ok").describe(), "");
  try {
    parse_erlang_or_throw("{ok, [1,2}");
    FAIL() << "no exception";
  } catch (const parse_error& e) {
    EXPECT_STREQ(e.what(), "syntax error at 1:10: expected ',', '|' or ']', found '}'");
    EXPECT_EQ(e.code(), make_error_code(text_errc::syntax_error));
    EXPECT_EQ(e.line(), 1u);
    EXPECT_EQ(e.column(), 10u);
    EXPECT_EQ(e.offset(), 9u);
  }
  EXPECT_EQ(parse_erlang_or_throw("{ok,1}"), tuple("ok"_atom, 1));
  EXPECT_EQ(make_error_code(text_errc::depth_exceeded).message(), "nesting too deep");
  EXPECT_STREQ(text_category().name(), "edist.etf.text");
}

TEST(TextParse, Limits) {
  parse_limits limits;
  limits.max_depth = 10;
  EXPECT_TRUE(parse_erlang(std::string(10, '[') + std::string(10, ']'), limits));
  parse_result deep = parse_erlang(std::string(11, '{') + std::string(11, '}'), limits);
  EXPECT_EQ(deep.error, make_error_code(text_errc::depth_exceeded));
  EXPECT_EQ(deep.column, 11u);
  // Far deeper than any call stack could take, with the default limit: a clean error.
  parse_result very_deep = parse_erlang(std::string(1000000, '['));
  EXPECT_EQ(very_deep.error, make_error_code(text_errc::depth_exceeded));
  // With the limit raised, depth costs heap, not stack.
  parse_limits unlimited;
  unlimited.max_depth = 1000000;
  std::string nested = std::string(200000, '[') + std::string(200000, ']');
  parse_result ok = parse_erlang(nested, unlimited);
  ASSERT_TRUE(ok) << ok.describe();
  EXPECT_EQ(to_erlang_string(*ok.value), nested);

  limits = {};
  limits.max_input_size = 5;
  EXPECT_EQ(parse_erlang("123456", limits).error, make_error_code(text_errc::too_large));
  limits = {};
  limits.max_integer_digits = 20;
  EXPECT_TRUE(parse_erlang(std::string(20, '9'), limits));
  EXPECT_EQ(parse_erlang(std::string(21, '9'), limits).error,
            make_error_code(text_errc::too_large));
  EXPECT_EQ(parse_erlang("1." + std::string(30, '0'), limits).error,
            make_error_code(text_errc::too_large));
  limits = {};
  limits.max_binary_size = 4;
  EXPECT_TRUE(parse_erlang("<<1:32>>", limits));
  EXPECT_EQ(parse_erlang("<<1:33>>", limits).error, make_error_code(text_errc::too_large));
  EXPECT_EQ(parse_erlang("<<\"abcde\">>", limits).error, make_error_code(text_errc::too_large));
  EXPECT_EQ(parse_erlang("<<0:18446744073709551615/unit:256>>").error,
            make_error_code(text_errc::too_large));
  EXPECT_EQ(parse_erlang("<<0:99999999999999999999>>").error,
            make_error_code(text_errc::invalid_binary));
  EXPECT_EQ(parse_erlang("'" + std::string(256, 'a') + "'").error,
            make_error_code(text_errc::atom_too_long));
  EXPECT_EQ(parse_erlang(std::string(256, 'a')).error, make_error_code(text_errc::atom_too_long));
}

}  // namespace
