// Printing terms in Erlang and Elixir syntax. Expected texts are what OTP 25 prints with
// io_lib:format("~0tp", [T]) and what Elixir 1.14 prints with inspect/2 (the interop test
// compares against live nodes for many more terms).
#include <gtest/gtest.h>

#include <cmath>
#include <edist/etf/convert.hpp>
#include <edist/etf/text.hpp>
#include <limits>
#include <sstream>
#include <vector>

namespace {

using namespace edist::etf;
using namespace edist::etf::literals;

std::string erl(const term& t) {
  return to_erlang_string(t);
}
std::string erl_latin1(const term& t) {
  print_options o;
  o.printable = printable_range::latin1;
  return to_erlang_string(t, o);
}
std::string ex(const term& t) {
  return to_elixir_string(t);
}

term bytes(std::initializer_list<int> values) {
  std::vector<std::uint8_t> v;
  for (int b : values) v.push_back(static_cast<std::uint8_t>(b));
  return term::binary(std::span<const std::uint8_t>(v));
}

term list_of(std::initializer_list<std::int64_t> values) {
  std::vector<term> v;
  for (auto x : values) v.emplace_back(x);
  return term::list(std::move(v));
}

TEST(TextPrintErlang, Atoms) {
  EXPECT_EQ(erl("hello"_atom), "hello");
  EXPECT_EQ(erl("hello world"_atom), "'hello world'");
  EXPECT_EQ(erl("Ok"_atom), "'Ok'");
  EXPECT_EQ(erl(""_atom), "''");
  EXPECT_EQ(erl("a@b"_atom), "a@b");
  EXPECT_EQ(erl("a.b"_atom), "'a.b'");
  EXPECT_EQ(erl("x_1"_atom), "x_1");
  EXPECT_EQ(erl("_x"_atom), "'_x'");
  EXPECT_EQ(erl("a-b"_atom), "'a-b'");
  EXPECT_EQ(erl("true"_atom), "true");
  EXPECT_EQ(erl("maybe"_atom), "maybe");  // not reserved in OTP 25
  for (const char* w : {"if", "case", "fun", "cond", "let", "andalso", "bnot", "div", "when"}) {
    EXPECT_EQ(erl(atom(w)), std::string("'") + w + "'") << w;
  }
  EXPECT_EQ(erl("a\nb"_atom), "'a\\nb'");
  EXPECT_EQ(erl("a'b"_atom), "'a\\'b'");
  EXPECT_EQ(erl("a\"b"_atom), "'a\"b'");
  EXPECT_EQ(erl("a\\b"_atom), "'a\\\\b'");
  EXPECT_EQ(erl(atom("\x01")), "'\\001'");
  EXPECT_EQ(erl(atom("\x7f")), "'\\d'");
  EXPECT_EQ(erl(atom("\x08")), "'\\b'");
  EXPECT_EQ(erl(atom("\x1b")), "'\\e'");
  EXPECT_EQ(erl(atom("\u0080")), "'\\200'");
  EXPECT_EQ(erl(atom("\u009f")), "'\\237'");
  EXPECT_EQ(erl(atom("\u00a0")), "'\u00a0'");
  // Latin-1 letters follow Erlang's own rules; anything beyond Latin-1 needs quotes.
  EXPECT_EQ(erl(atom("ünï")), "ünï");
  EXPECT_EQ(erl(atom("ßa")), "ßa");
  EXPECT_EQ(erl(atom("Ünï")), "'Ünï'");
  EXPECT_EQ(erl(atom("a×")), "'a×'");
  EXPECT_EQ(erl(atom("aª")), "'aª'");
  EXPECT_EQ(erl(atom("中")), "'中'");
  EXPECT_EQ(erl(atom("a中")), "'a中'");
}

TEST(TextPrintErlang, Numbers) {
  EXPECT_EQ(erl(term(0)), "0");
  EXPECT_EQ(erl(term(-5)), "-5");
  EXPECT_EQ(erl(term(std::numeric_limits<std::int64_t>::min())), "-9223372036854775808");
  EXPECT_EQ(erl(*term::integer_from_decimal("123456789012345678901234567890")),
            "123456789012345678901234567890");
  EXPECT_EQ(erl(*term::integer_from_decimal("-123456789012345678901234567890")),
            "-123456789012345678901234567890");
  const std::pair<double, const char*> floats[] = {
      {1.0, "1.0"},
      {0.1, "0.1"},
      {1.0e20, "1.0e20"},
      {-0.0, "-0.0"},
      {0.0, "0.0"},
      {1.0e-10, "1.0e-10"},
      {123456789012345.0, "123456789012345.0"},
      {1.0e15, "1.0e15"},
      {1.0e16, "1.0e16"},
      {3.14, "3.14"},
      {2.0e-5, "2.0e-5"},
      {5.0e-324, "5.0e-324"},
      {1.7976931348623157e308, "1.7976931348623157e308"},
      {0.0001, "0.0001"},
      {100.0, "100.0"},
      {1000.0, "1.0e3"},
      {12345.0, "12345.0"},
      {123456.0, "123456.0"},
      {9007199254740992.0, "9.007199254740992e15"},
      {9007199254740990.0, "9007199254740990.0"},
      {4503599627370496.0, "4503599627370496.0"},
      {1.5e300, "1.5e300"},
      {0.001, "0.001"},
      {0.00123, "0.00123"},
      {1.0e-5, "1.0e-5"},
      {0.000123, "1.23e-4"},
      {1.0e22, "1.0e22"},
      {-2.5, "-2.5"},
  };
  for (auto [value, text] : floats) EXPECT_EQ(erl(term(value)), text) << text;
}

TEST(TextPrintErlang, Strings) {
  EXPECT_EQ(erl(charlist("abc")), "\"abc\"");
  EXPECT_EQ(erl(charlist("a\nb\tc\"d\\e")), "\"a\\nb\\tc\\\"d\\\\e\"");
  EXPECT_EQ(erl(charlist("é")), "\"é\"");
  EXPECT_EQ(erl(charlist("a'b")), "\"a'b\"");
  EXPECT_EQ(erl(charlist("\x1b")), "\"\\e\"");
  EXPECT_EQ(erl(list_of({1, 2, 3})), "[1,2,3]");
  EXPECT_EQ(erl(list_of({7, 8, 9, 10, 11, 12, 13, 27, 127})), "[7,8,9,10,11,12,13,27,127]");
  EXPECT_EQ(erl(list_of({200})), "\"È\"");
  EXPECT_EQ(erl(list_of({160})), "\"\u00a0\"");
  EXPECT_EQ(erl(list_of({127})), "[127]");
  EXPECT_EQ(erl(list_of({128})), "[128]");
  EXPECT_EQ(erl(list_of({97, 0})), "[97,0]");
  EXPECT_EQ(erl(list_of({-1})), "[-1]");
  EXPECT_EQ(erl(list_of({0xd800, 97})), "[55296,97]");
  EXPECT_EQ(erl(list_of({97, 0x10ffff})), "\"a\U0010ffff\"");
  EXPECT_EQ(erl(list_of({97, 0xfffe})), "[97,65534]");
  // The printable range decides for code points above Latin-1.
  EXPECT_EQ(erl(charlist("中文")), "\"中文\"");
  EXPECT_EQ(erl_latin1(charlist("中文")), "[20013,25991]");
  EXPECT_EQ(erl_latin1(charlist("é")), "\"é\"");
  EXPECT_EQ(erl(nil), "[]");
  EXPECT_EQ(erl(term::list({charlist("abc"), charlist("def")})), "[\"abc\",\"def\"]");
  EXPECT_EQ(erl(term::list({nil})), "[[]]");
}

TEST(TextPrintErlang, Binaries) {
  EXPECT_EQ(erl("abc"_bin), "<<\"abc\">>");
  EXPECT_EQ(erl(bytes({1, 2, 3})), "<<1,2,3>>");
  EXPECT_EQ(erl(""_bin), "<<>>");
  EXPECT_EQ(erl(binary("é")), "<<\"é\"/utf8>>");
  EXPECT_EQ(erl(bytes({233})), "<<\"é\">>");
  EXPECT_EQ(erl(binary("a\nb")), "<<\"a\\nb\">>");
  EXPECT_EQ(erl(binary("a\"b\\c")), "<<\"a\\\"b\\\\c\">>");
  EXPECT_EQ(erl(bytes({97, 98, 99, 0})), "<<97,98,99,0>>");
  EXPECT_EQ(erl(binary("€")), "<<\"€\"/utf8>>");
  EXPECT_EQ(erl(bytes({128})), "<<128>>");
  EXPECT_EQ(erl(bytes({97, 194, 128})), "<<97,194,128>>");
  EXPECT_EQ(erl(bytes({127})), "<<127>>");
  EXPECT_EQ(erl(binary("\x1b")), "<<\"\\e\">>");
  // Not UTF-8: Latin-1 when every byte is printable Latin-1, numbers otherwise.
  EXPECT_EQ(erl(bytes({97, 98, 99, 200})), "<<\"abcÈ\">>");
  EXPECT_EQ(erl(bytes({0xc3, 0xa9, 255})), "<<\"Ã©ÿ\">>");
  EXPECT_EQ(erl(bytes({1, 255})), "<<1,255>>");
  EXPECT_EQ(erl(bytes({97, 195})), "<<\"aÃ\">>");
  EXPECT_EQ(erl(bytes({97, 128})), "<<97,128>>");
  EXPECT_EQ(erl(bytes({237, 160, 128})), "<<237,160,128>>");  // an encoded surrogate
  // UTF-8 outside the printable range prints as numbers, not as Latin-1.
  EXPECT_EQ(erl_latin1(binary("中")), "<<228,184,173>>");
  EXPECT_EQ(erl_latin1(binary("é")), "<<\"é\"/utf8>>");
  EXPECT_EQ(erl_latin1(binary("€")), "<<226,130,172>>");
  EXPECT_EQ(erl(binary("中")), "<<\"中\"/utf8>>");
  EXPECT_EQ(erl(binary("\xef\xbb\xbf")), "<<\"\ufeff\"/utf8>>");
  const std::uint8_t one[] = {0x20};
  EXPECT_EQ(erl(term::bitstring(one, 3)), "<<1:3>>");
  const std::uint8_t ab1[] = {97, 98, 0x20};
  EXPECT_EQ(erl(term::bitstring(ab1, 3)), "<<97,98,1:3>>");
  const std::uint8_t b255[] = {255, 0xc0};
  EXPECT_EQ(erl(term::bitstring(b255, 2)), "<<255,3:2>>");
  const std::uint8_t zero[] = {0};
  EXPECT_EQ(erl(term::bitstring(zero, 7)), "<<0:7>>");
}

TEST(TextPrintErlang, Containers) {
  EXPECT_EQ(erl(term::tuple({})), "{}");
  EXPECT_EQ(erl(tuple("ok"_atom, 1)), "{ok,1}");
  EXPECT_EQ(erl(term::tuple({term(1.0)})), "{1.0}");
  EXPECT_EQ(erl(term::list({term(1)}, term(2))), "[1|2]");
  EXPECT_EQ(erl(term::list({term(1), term(2)}, term(3))), "[1,2|3]");
  EXPECT_EQ(erl(term::list({term(97)}, "b"_atom)), "[97|b]");
  EXPECT_EQ(erl(term::list({term(97), term(98)}, "c"_bin)), "[97,98|<<\"c\">>]");
  EXPECT_EQ(erl(term::list({tuple("a"_atom, 1)})), "[{a,1}]");
  EXPECT_EQ(erl(map({})), "#{}");
  EXPECT_EQ(erl(map({{"a"_atom, 1}, {"b"_atom, 2}})), "#{a => 1,b => 2}");
  EXPECT_EQ(erl(map({{1, "a"_atom},
                     {"a"_atom, 1},
                     {charlist("s"), "x"_atom},
                     {term::tuple({"t"_atom}), "y"_atom},
                     {1.0, "f"_atom}})),
            "#{1 => a,1.0 => f,a => 1,{t} => y,\"s\" => x}");
  // A map decoded from the wire keeps its order.
  auto ordered = term::map_in_order({{"b"_atom, 1}, {"a"_atom, 2}});
  ASSERT_TRUE(ordered);
  EXPECT_EQ(erl(*ordered), "#{b => 1,a => 2}");
}

TEST(TextPrintErlang, LargeMapsInNodeOrder) {
  // Above 32 keys OTP 25 prints a map back to front relative to the order it sends it in.
  std::vector<term_pair> wire;
  for (int i = 0; i < 33; ++i) wire.emplace_back(term((i * 7) % 33), term(i));
  auto decoded = term::map_in_order(wire);
  ASSERT_TRUE(decoded);
  std::string expected = "#{";
  for (int i = 32; i >= 0; --i) {
    expected += std::to_string((i * 7) % 33) + " => " + std::to_string(i) + (i ? "," : "}");
  }
  EXPECT_EQ(erl(*decoded), expected);
  // Elixir's inspect walks maps:to_list/1, which is the order they arrive in.
  EXPECT_EQ(ex(*decoded).substr(0, 15), "%{0 => 0, 7 => ");
  // Built here, in term order: printed in term order.
  term built = term::map(std::move(wire));
  std::string ascending = "#{";
  for (int k = 0; k < 33; ++k) {
    ascending += std::to_string(k) + " => " + std::to_string((k * 19) % 33) + (k < 32 ? "," : "}");
  }
  EXPECT_EQ(erl(built), ascending);
  // 32 keys or fewer: the order they are stored in.
  std::vector<term_pair> small;
  for (int i = 0; i < 32; ++i) small.emplace_back(term(31 - i), term(i));
  EXPECT_EQ(erl(*term::map_in_order(small)).substr(0, 15), "#{31 => 0,30 =>");
}

TEST(TextPrintErlang, Identifiers) {
  term node = "a@host"_atom;
  term other = "b@other.example"_atom;
  print_options local;
  local.local_node = node;
  term pid = term::pid(node, 85, 0, 1);
  EXPECT_EQ(to_erlang_string(pid, local), "<0.85.0>");
  EXPECT_EQ(erl(pid), "<'a@host'.85.0>");
  EXPECT_EQ(to_erlang_string(term::pid(other, 1, 2, 3), local), "<'b@other.example'.1.2>");
  EXPECT_EQ(to_erlang_string(term::port(node, 5, 1), local), "#Port<0.5>");
  EXPECT_EQ(erl(term::port(other, 5, 1)), "#Port<'b@other.example'.5>");
  const std::uint32_t words[] = {137525, 1014497281, 3807535255u};
  EXPECT_EQ(to_erlang_string(term::reference(node, 1, words), local),
            "#Ref<0.3807535255.1014497281.137525>");
  EXPECT_EQ(erl(term::reference(other, 1, words)),
            "#Ref<'b@other.example'.3807535255.1014497281.137525>");
  EXPECT_EQ(erl(term::export_fun("lists"_atom, "map"_atom, 2)), "fun lists:map/2");
  EXPECT_EQ(erl(term::export_fun("a b"_atom, "c"_atom, 1)), "fun 'a b':c/1");
  EXPECT_EQ(erl(term::export_fun("erlang"_atom, "+"_atom, 2)), "fun erlang:'+'/2");
  // BEAM itself writes these, without io_lib's quoting of reserved words.
  EXPECT_EQ(erl(term::export_fun("erlang"_atom, "and"_atom, 2)), "fun erlang:and/2");
  EXPECT_EQ(erl(term::export_fun("lists"_atom, "case"_atom, 3)), "fun lists:case/3");
  const std::uint8_t uniq[16] = {};
  const term free[] = {term(1)};
  term closure = term::closure(1, uniq, 0, "Elixir.Foo"_atom, term(0), term(116338984), pid, free);
  EXPECT_EQ(erl(closure), "#Fun<Elixir.Foo.0.116338984>");
}

TEST(TextPrintErlang, StreamOperator) {
  std::ostringstream os;
  os << tuple("ok"_atom, list(1, 2));
  EXPECT_EQ(os.str(), "{ok,[1,2]}");
}

TEST(TextPrintErlang, DeepTermsDoNotRecurse) {
  term t = term::tuple({});
  for (int i = 0; i < 200000; ++i) t = term::list({t});
  std::string s = erl(t);
  EXPECT_EQ(s.size(), 2 * 200000 + 2u);
  EXPECT_EQ(s.substr(0, 3), "[[[");
  EXPECT_EQ(s.substr(200000 - 1, 4), "[{}]");
  std::string e = ex(t);
  EXPECT_EQ(e.size(), s.size());
}

TEST(TextPrintErlang, NonErlangFloats) {
  // Only C++ can build these; they must print as something that is clearly not a number.
  EXPECT_EQ(erl(term(std::numeric_limits<double>::infinity())), "inf");
  EXPECT_EQ(erl(term(-std::numeric_limits<double>::infinity())), "-inf");
  EXPECT_EQ(erl(term(std::nan(""))), "nan");
}

TEST(TextPrintElixir, Atoms) {
  const std::pair<const char*, const char*> cases[] = {
      {"ok", ":ok"},
      {"hello world", ":\"hello world\""},
      {"true", "true"},
      {"false", "false"},
      {"nil", "nil"},
      {"Foo", ":Foo"},
      {"Elixir.Foo", "Foo"},
      {"Elixir.Foo.Bar", "Foo.Bar"},
      {"Elixir.foo", ":\"Elixir.foo\""},
      {"Elixir.Foo.bar", ":\"Elixir.Foo.bar\""},
      {"Elixir", "Elixir"},
      {"Elixir.", ":\"Elixir.\""},
      {"Elixir.Foo..Bar", ":\"Elixir.Foo..Bar\""},
      {"Elixir.Foo-Bar", ":\"Elixir.Foo-Bar\""},
      {"Elixir.Elixir", "Elixir.Elixir"},
      {"Elixir.Elixir.Foo", "Elixir.Elixir.Foo"},
      {"ünï", ":ünï"},
      {"Élan", ":Élan"},
      {"éa", ":éa"},
      {"+", ":+"},
      {"-", ":-"},
      {"::", ":\"::\""},
      {"&&", ":&&"},
      {"||", ":||"},
      {"<>", ":<>"},
      {"..", ":.."},
      {"...", ":..."},
      {"%", ":%"},
      {"%{}", ":%{}"},
      {"{}", ":{}"},
      {"[]", ":\"[]\""},
      {"@", ":@"},
      {"a@b", ":a@b"},
      {"foo?", ":foo?"},
      {"foo!", ":foo!"},
      {"foo?x", ":\"foo?x\""},
      {"_", ":_"},
      {"_x", ":_x"},
      {"1a", ":\"1a\""},
      {"", ":\"\""},
      {"a\"b", ":\"a\\\"b\""},
      {"a\nb", ":\"a\\nb\""},
      {"Ok", ":Ok"},
      {"Ok!", ":Ok!"},
      {"@foo", ":\"@foo\""},
      {"a.b", ":\"a.b\""},
      {"do", ":do"},
      {"when", ":when"},
      {"not in", ":\"not in\""},
      {"^", ":^"},
      {"~~~", ":\"~~~\""},
      {"\\\\", ":\\\\"},
      {"=>", ":\"=>\""},
      {"|", ":|"},
      {"|>", ":|>"},
      {"<<>>", ":<<>>"},
      {"->", ":->"},
      {"=", ":="},
      {"//", ":\"//\""},
      {"**", ":**"},
      {"\\", ":\"\\\\\""},
      {"a#{b}", ":\"a\\#{b}\""},
      // MICRO SIGN normalises to a Greek letter: Elixir leaves it bare in alias-like atoms only.
      {"Aµ", ":Aµ"},
      {"aµ", ":\"aµ\""},
      {"µ", ":\"µ\""},
      {"Aª", ":\"Aª\""},
      {"a·b", ":a·b"},
      {"·", ":\"·\""},
      {"中", ":\"中\""},
  };
  for (auto [name, text] : cases) EXPECT_EQ(ex(atom(name)), text) << name;
}

TEST(TextPrintElixir, Strings) {
  EXPECT_EQ(ex("abc"_bin), "\"abc\"");
  EXPECT_EQ(ex(binary("a\nb\tc\"d\\e")), "\"a\\nb\\tc\\\"d\\\\e\"");
  EXPECT_EQ(ex(binary("é")), "\"é\"");
  EXPECT_EQ(ex(binary("中文")), "\"中文\"");
  EXPECT_EQ(ex(bytes({1, 2, 3})), "<<1, 2, 3>>");
  EXPECT_EQ(ex(bytes({97, 98, 99, 0})), "<<97, 98, 99, 0>>");
  EXPECT_EQ(ex(bytes({200})), "<<200>>");
  EXPECT_EQ(ex(""_bin), "\"\"");
  EXPECT_EQ(ex(binary("\x1b")), "\"\\e\"");
  EXPECT_EQ(ex(binary("a#{b}")), "\"a\\#{b}\"");
  EXPECT_EQ(ex(binary("\x7f")), "\"\\d\"");
  EXPECT_EQ(ex(bytes({0xc2, 0x80})), "<<194, 128>>");
  EXPECT_EQ(ex(binary("\u00a0")), "\"\u00a0\"");
  EXPECT_EQ(ex(binary("\ufeff")), "\"\\uFEFF\"");
  EXPECT_EQ(ex(bytes({0})), "<<0>>");
  EXPECT_EQ(ex(binary("\a\b\f\v\r")), "\"\\a\\b\\f\\v\\r\"");
  const std::uint8_t one[] = {0x20};
  EXPECT_EQ(ex(term::bitstring(one, 3)), "<<1::size(3)>>");
  const std::uint8_t ab1[] = {97, 98, 0x20};
  EXPECT_EQ(ex(term::bitstring(ab1, 3)), "<<97, 98, 1::size(3)>>");
}

TEST(TextPrintElixir, Lists) {
  EXPECT_EQ(ex(charlist("abc")), "'abc'");
  EXPECT_EQ(ex(charlist("é")), "[233]");
  EXPECT_EQ(ex(list_of({1, 2, 3})), "[1, 2, 3]");
  EXPECT_EQ(ex(list_of({7, 8, 9, 10, 11, 12, 13, 27, 127})), "[7, 8, 9, 10, 11, 12, 13, 27, 127]");
  EXPECT_EQ(ex(list_of({7, 8, 9, 10, 11, 12, 13, 27})), "'\\a\\b\\t\\n\\v\\f\\r\\e'");
  EXPECT_EQ(ex(nil), "[]");
  EXPECT_EQ(ex(charlist("a\nb")), "'a\\nb'");
  EXPECT_EQ(ex(charlist("a'b")), "'a\\'b'");
  EXPECT_EQ(ex(charlist("a\"b")), "'a\"b'");
  EXPECT_EQ(ex(list_of({97, 0})), "[97, 0]");
  EXPECT_EQ(ex(term::list({term(1)}, term(2))), "[1 | 2]");
  EXPECT_EQ(ex(term::list({term(1), term(2)}, term(3))), "[1, 2 | 3]");
  EXPECT_EQ(ex(term::list({term(97), term(98)}, "c"_atom)), "[97, 98 | :c]");
  EXPECT_EQ(ex(list(tuple("a"_atom, 1), tuple("b"_atom, 2))), "[a: 1, b: 2]");
  EXPECT_EQ(ex(list(tuple("hello world"_atom, 1))), "[\"hello world\": 1]");
  EXPECT_EQ(ex(list(tuple("Elixir.Foo"_atom, 1))), "[{Foo, 1}]");
  EXPECT_EQ(ex(list(tuple("a"_atom, 1), tuple("b"_bin, 2))), "[{:a, 1}, {\"b\", 2}]");
  EXPECT_EQ(ex(list(tuple("nil"_atom, 1))), "[nil: 1]");
  EXPECT_EQ(ex(list(tuple("+"_atom, 1))), "[+: 1]");
  EXPECT_EQ(ex(list(tuple("a@b"_atom, 1))), "[a@b: 1]");
  EXPECT_EQ(ex(list(tuple("Foo"_atom, 1))), "[Foo: 1]");
  EXPECT_EQ(ex(list(tuple("foo?"_atom, 1))), "[foo?: 1]");
  EXPECT_EQ(ex(list(tuple(""_atom, 1))), "[\"\": 1]");
  EXPECT_EQ(ex(list(tuple("Elixir"_atom, 1))), "[\"Elixir\": 1]");
}

TEST(TextPrintElixir, MapsTuplesNumbers) {
  EXPECT_EQ(ex(map({{"a"_atom, 1}, {"b"_atom, 2}})), "%{a: 1, b: 2}");
  EXPECT_EQ(ex(map({{"a"_atom, 1}, {"b"_bin, 2}})), "%{:a => 1, \"b\" => 2}");
  EXPECT_EQ(ex(map({{1, 2}})), "%{1 => 2}");
  EXPECT_EQ(ex(map({})), "%{}");
  EXPECT_EQ(ex(map({{"Elixir.Foo"_atom, 1}})), "%{Foo => 1}");
  EXPECT_EQ(ex(map({{"a b"_atom, 1}})), "%{\"a b\": 1}");
  EXPECT_EQ(ex(map({{term::tuple({1}), "a"_atom}, {"b"_atom, 2}, {3, 4}})),
            "%{3 => 4, :b => 2, {1} => :a}");
  EXPECT_EQ(ex(term::tuple({})), "{}");
  EXPECT_EQ(ex(tuple("ok"_atom, 1)), "{:ok, 1}");
  EXPECT_EQ(ex(term(1.0)), "1.0");
  EXPECT_EQ(ex(term(0.1)), "0.1");
  EXPECT_EQ(ex(term(1.0e20)), "1.0e20");
  EXPECT_EQ(ex(term(-0.0)), "-0.0");
  EXPECT_EQ(ex(term(1.0e-10)), "1.0e-10");
  EXPECT_EQ(ex(term(1000.0)), "1000.0");
  EXPECT_EQ(ex(term(1.0e15)), "1000000000000000.0");
  EXPECT_EQ(ex(term(-1.0e15)), "-1000000000000000.0");
  EXPECT_EQ(ex(term(1.0e16)), "1.0e16");
  EXPECT_EQ(ex(term(2.5)), "2.5");
  EXPECT_EQ(ex(*term::integer_from_decimal("123456789012345678901234567890")),
            "123456789012345678901234567890");
  EXPECT_EQ(ex(term(-5)), "-5");
}

TEST(TextPrintElixir, Identifiers) {
  term node = "a@host"_atom;
  print_options local;
  local.local_node = node;
  EXPECT_EQ(to_elixir_string(term::pid(node, 96, 0, 1), local), "#PID<0.96.0>");
  EXPECT_EQ(ex(term::pid(node, 96, 0, 1)), "#PID<'a@host'.96.0>");
  const std::uint32_t words[] = {222280, 1014235138, 1832209952};
  EXPECT_EQ(to_elixir_string(term::reference(node, 1, words), local),
            "#Reference<0.1832209952.1014235138.222280>");
  EXPECT_EQ(to_elixir_string(term::port(node, 0, 1), local), "#Port<0.0>");
  EXPECT_EQ(ex(term::export_fun("Elixir.Enum"_atom, "map"_atom, 2)), "&Enum.map/2");
  EXPECT_EQ(ex(term::export_fun("lists"_atom, "map"_atom, 2)), "&:lists.map/2");
  EXPECT_EQ(ex(term::export_fun("a b"_atom, "c"_atom, 1)), "&:\"a b\".c/1");
  EXPECT_EQ(ex(term::export_fun("erlang"_atom, "+"_atom, 2)), "&:erlang.+/2");
  EXPECT_EQ(ex(term::export_fun("Elixir.Foo"_atom, "a b"_atom, 1)), "&Foo.\"a b\"/1");
  const std::uint8_t uniq[16] = {};
  term closure = term::closure(1, uniq, 3, "erl_eval"_atom, term(3), term(81652634),
                               term::pid(node, 1, 0, 1), {});
  EXPECT_EQ(ex(closure), "#Function<3.81652634/1 in :erl_eval>");
}

}  // namespace
