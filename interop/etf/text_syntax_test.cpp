// Erlang and Elixir text syntax against live nodes.
//
// A node builds about 3000 varied terms (atoms of every Latin letter, every byte and
// single-character list, random and special floats, bignums, binaries, maps, keyword lists,
// identifiers, funs), prints each with io_lib:format("~0tp") and, on an Elixir node, with
// inspect/2, and sends terms and texts back in the External Term Format. Our printers must
// produce exactly the same text; the node must parse our Erlang text back (erl_scan +
// erl_parse:parse_term) and Elixir must evaluate our Elixir text back to the same term; and
// our parser must read the node's text back to the same term.
//
// The expressions are ASCII (the control channel hands them to erl_scan as Latin-1); other
// characters are written as \x{...} escapes.
//
// Two nodes cover both printable ranges: one started by `elixir` (the default range, latin1),
// one by `erl +pc unicode`.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <edist/etf/decode.hpp>
#include <edist/etf/text.hpp>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "edist/testing/beam_node.hpp"
#include "edist/testing/epmd_instance.hpp"
#include "edist/testing/gtest.hpp"

namespace {

namespace et = edist::testing;
using namespace edist::etf;

// Builds [{Tag, Term}] and keeps it in persistent_term for the later round-trip calls. Tags:
//   exact   - every comparison, and every round trip;
//   ident   - pids, ports, references, export funs: printed exactly, no term syntax;
//   closure - a local fun: Erlang text exact, Elixir text up to the enclosing function's name
//             (which only the node knows);
//   nonlatin - atoms with non-Latin letters: Erlang text exact; we quote them in Elixir where
//             Elixir 1.14 may not, so Elixir must read our text back to the same atom.
constexpr std::string_view terms_expr = R"ERL(
Latin = lists:seq(16#A0, 16#2FF),
rand:seed(exsss, {7, 11, 13}),
RandomFloats = [F || <<F/float>> <- [<<(rand:uniform(1 bsl 64) - 1):64>> || _ <- lists:seq(1, 400)]],
ScaledFloats = [(rand:uniform() - 0.5) * math:pow(10, rand:uniform(60) - 30) || _ <- lists:seq(1, 200)],
ShortFloats = [rand:uniform(99999) / math:pow(10, rand:uniform(12)) || _ <- lists:seq(1, 100)],
IntegralFloats = [float(X) || X <- [1, 10, 100, 1000, 12345, 123456, 1 bsl 52, (1 bsl 53) - 2,
                                    1 bsl 53, (1 bsl 53) + 2, 1 bsl 60, 999999999999999,
                                    9999999999999999, 99999999999999999, -1000, -1 bsl 53]]
                 ++ [math:pow(10, E) || E <- lists:seq(-12, 25)]
                 ++ [-math:pow(10, E) || E <- lists:seq(-5, 20)],
SpecialFloats = [0.0, -0.0, 1.0, -1.0, 0.1, 0.2, 0.3, 1/3, 2/3, 3.14, 2.5, 1.0e20, 1.0e-10, 5.0e-324,
                 2.2250738585072014e-308, 2.225073858507201e-308, 1.7976931348623157e308,
                 0.0001, 0.001, 0.00123, 0.000123, 1.0e-5, 2.0e-5, 123456789012345.0, 1.5e300,
                 4503599627370496.0, 9007199254740990.0, 1.0e21, 1.0e22, 1.0e23, 0.5, 0.25, 100.5],
Integers = [0, 1, -1, 7, 255, 256, -256, 1 bsl 31, (1 bsl 31) - 1, -(1 bsl 31), 1 bsl 32,
            (1 bsl 63) - 1, -(1 bsl 63), 1 bsl 63, -(1 bsl 63) - 1, 1 bsl 64, (1 bsl 64) - 1,
            123456789012345678901234567890, -123456789012345678901234567890, 1 bsl 1000,
            -(1 bsl 999) + 12345, 1 bsl 4000],
Atoms = [ok, 'hello world', 'Ok', '', 'a@b', 'a.b', true, false, nil, 'if', 'case', 'fun', 'cond',
         'let', 'maybe', 'else', 'catch', 'andalso', 'bnot', 'div', 'xor', 'spec', 'when', 'begin',
         'end', 'receive', 'after', 'of', 'try', 'rem', 'not', 'or', 'and', 'band', 'bor', 'bsl',
         'bsr', 'bxor', 'orelse', '_x', '_', 'x_1', 'a\nb', 'a\'b', 'a"b', 'a\\b', 'a#{b}',
         '\x{FC}n\x{EF}', '\x{DC}n\x{EF}', '\x{E9}a', '\x{C9}lan', '\x{DF}a', 'a\x{AA}', 'a\x{D7}',
         'Elixir.Foo', 'Elixir.Foo.Bar', 'Elixir.foo', 'Elixir.Foo.bar', 'Elixir', 'Elixir.',
         'Elixir.Foo..Bar', 'Elixir.Foo-Bar', 'Elixir.Elixir', 'Elixir.Elixir.Foo', 'Elixir.F_1.G2',
         'Foo', 'Foo!', 'Foo?', 'Foo@bar', 'foo?', 'foo!', 'foo?x', 'foo!!', 'foo@', '@', '@foo',
         '1a', 'do', 'end', 'fn', 'in', 'not in', 'when', 'and', '^', '~~~', '\\\\', '\\', '=>',
         '|', '|>', '<<>>', '->', '=', '==', '//', '**', '+', '-', '*', '/', '::', '&&', '||',
         '<>', '..', '...', '.', '..//', '%', '%{}', '{}', '[]', '!', '&', '<-', '|||', '&&&',
         '=~', '===', '!==', '!=', '<', '<=', '>=', '>', '<<<', '>>>', '<~', '~>', '<<~', '~>>',
         '<~>', '<|>', '^^^', '++', '--', '+++', '---', 'a b', 'a-b', 'A b', ' ', '$', '?'],
ControlAtoms = [list_to_atom([C]) || C <- lists:seq(0, 16#7F)],
C1Atoms = [list_to_atom(L) || C <- lists:seq(16#80, 16#9F), L <- [[C], [$a, C]]],
LatinAtoms = [list_to_atom([C]) || C <- Latin] ++ [list_to_atom([$a, C]) || C <- Latin]
             ++ [list_to_atom([C, $a]) || C <- Latin] ++ [list_to_atom([$A, C]) || C <- Latin],
NonLatin = [list_to_atom(L) || L <- [[16#4E2D], [16#4E2D, 16#6587], [$a, 16#4E2D],
                                     [16#3B1, 16#3B2], [16#43F, 16#440, 16#438], [16#1F600],
                                     [$a, 16#300], [16#FEFF], [16#10FFFF], [$a, 16#2028]]],
Strings = ["abc", "", "a\nb\tc\"d\\e", "a'b", "\e", "\x{E9}", "\x{4E2D}\x{6587}", [16#10FFFF], [16#FFFE], [16#FFFD],
           [16#D7FF], [16#E000], [1, 2, 3], [7, 8, 9, 10, 11, 12, 13, 27], [7, 8, 9, 10, 11, 12, 13, 27, 127],
           [200], [255], [256], [-1], [$a, 0], "a#{b}", "#{", lists:seq(32, 126), lists:seq(0, 127),
           lists:seq(160, 300), ["abc", "def"], [[]], [<<>>], [[$a]], "ab" ++ c, [$a | <<"b">>],
           [1 | 2], [1, 2 | 3], [a | b], [[1] | [2]]]
          ++ [[C] || C <- lists:seq(0, 300)] ++ [[$a, C] || C <- [16#7FF, 16#800, 16#D7FF, 16#E000, 16#FFFD, 16#FFFE, 16#FFFF, 16#10000]],
Binaries = [<<>>, <<"abc">>, <<1, 2, 3>>, <<"\x{E9}"/utf8>>, <<"\x{E9}">>, <<"\x{20AC}"/utf8>>, <<"\x{4E2D}\x{6587}"/utf8>>,
            <<128>>, <<"a", 200>>, <<"\x{E9}"/utf8, 255>>, <<1, 255>>, <<"a", 195>>, <<"a", 128>>,
            <<237, 160, 128>>, <<"a\"b\\c'd">>, <<"a#{b}">>, <<"\e\n\t">>, <<0>>, <<127>>,
            <<"\x{FEFF}"/utf8>>, <<"\x{10FFFF}"/utf8>>, <<16#FFFE/utf8>>, <<"a\x{2028}b"/utf8>>,
            <<1:1>>, <<0:7>>, <<"a", 1:1>>, <<1, 2:4>>, <<"ab", 1:3>>, <<255, 3:2>>,
            list_to_binary(lists:seq(0, 255)), list_to_binary(lists:seq(32, 126))]
           ++ [<<C>> || C <- lists:seq(0, 255)]
           ++ [<<C/utf8>> || C <- [160, 255, 256, 16#7FF, 16#800, 16#D7FF, 16#E000, 16#FEFF, 16#FFFD,
                                   16#FFFE, 16#FFFF, 16#10000, 16#10FFFF]],
Containers = [{}, {a}, {ok, 1}, {1.0}, {[], {}, #{}, <<>>}, #{}, #{a => 1, b => 2},
              #{a => 1, <<"b">> => 2}, #{1 => 2}, #{'Elixir.Foo' => 1}, #{'a b' => 1}, #{nil => 1},
              #{{1} => a, b => 2, 3 => 4}, #{1 => a, 1.0 => b, a => 1, {t} => y, "s" => x},
              #{#{} => #{k => [1]}}, maps:from_list([{I, I * I} || I <- lists:seq(1, 40)]),
              maps:from_list([{list_to_atom([$k | integer_to_list(I)]), I} || I <- lists:seq(1, 40)]),
              maps:from_list([{I, [I]} || I <- lists:seq(1, 1000)]),
              maps:from_list([{K, I} || {K, I} <- lists:zip([a, 1, 2.0, "s", <<"b">>, {t}, [l], #{}]
                                                            ++ lists:seq(100, 140), lists:seq(1, 49))]),
              #{big => maps:from_list([{{k, I}, #{I => I}} || I <- lists:seq(1, 50)])},
              #{'Elixir' => 1}, #{'__struct__' => 'Elixir.NotLoaded', a => 1},
              [{a, 1}, {b, 2}], [{'hello world', 1}], [{'Elixir.Foo', 1}], [{a, 1}, {"b", 2}],
              [{nil, 1}], [{true, 1}], [{'+', 1}], [{'a@b', 1}], [{'Foo', 1}], [{'foo?', 1}],
              [{'_', 1}], [{'', 1}], [{'Elixir', 1}], [{'::', 1}], [{a, 1} | b], [{a, 1, 2}],
              {ok, [{a, #{b => [<<"c">>, 1.5, -2]}}]}, [[[[[[]]]]]], {{{{{}}}}}],
BigMaps = [maps:from_list([{I, I} || I <- lists:seq(1, N)]) || N <- [31, 32, 33, 34, 64, 100, 333]],
Idents = [self(), make_ref(), hd(erlang:ports()), fun lists:map/2, fun erlang:'+'/2,
          fun erlang:'and'/2, fun erlang:'div'/2,
          erlang:make_fun('a b', c, 1), erlang:make_fun('Elixir.Enum', map, 2),
          erlang:make_fun('Elixir.Foo', 'a b', 1), erlang:make_fun('Elixir.Foo', 'Ok', 0),
          erlang:make_fun(lists, 'case', 3), {self(), [make_ref()]}],
Exact = Atoms ++ ControlAtoms ++ LatinAtoms ++ Integers ++ SpecialFloats ++ IntegralFloats
        ++ RandomFloats ++ ScaledFloats ++ ShortFloats ++ Strings ++ Binaries ++ Containers ++ BigMaps,
Terms = [{exact, T} || T <- Exact ++ C1Atoms] ++ [{ident, T} || T <- Idents]
        ++ [{closure, fun(X) -> X end}, {closure, fun() -> ok end}] ++ [{nonlatin, T} || T <- NonLatin],
persistent_term:put(edist_text_terms, Terms),
Terms.
)ERL";

// [{ErlangText, ElixirText | undefined}] for the stored terms, as binaries.
std::string print_expr(bool elixir) {
  std::string inspect =
      elixir ? "'Elixir.Kernel':inspect(T, [{limit, infinity}, {printable_limit, infinity}, "
               "{width, infinity}])"
             : "undefined";
  return "[{unicode:characters_to_binary(io_lib:format(\"~0tp\", [T])), " + inspect +
         "} || {_, T} <- persistent_term:get(edist_text_terms)].";
}

// Our texts back to the node: the positions (1-based) where the node reads a different term,
// with what it read. Elixir texts are evaluated by Code.eval_string/1.
std::string check_expr(const std::vector<std::string>& erlang,
                       const std::vector<std::string>* elixir) {
  auto literal = [](const std::string& text) {
    std::string out = "<<";
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (i != 0) out += ',';
      out += std::to_string(static_cast<unsigned char>(text[i]));
    }
    return out + ">>";
  };
  std::string expr = "Terms = persistent_term:get(edist_text_terms), Erl = [";
  for (std::size_t i = 0; i < erlang.size(); ++i) expr += (i ? "," : "") + literal(erlang[i]);
  expr += "], Ex = [";
  if (elixir != nullptr) {
    for (std::size_t i = 0; i < elixir->size(); ++i) expr += (i ? "," : "") + literal((*elixir)[i]);
  }
  expr += R"ERL(],
ReadErl = fun(Text) ->
    try
        {ok, Tokens, _} = erl_scan:string(unicode:characters_to_list(Text) ++ " ."),
        {ok, Term} = erl_parse:parse_term(Tokens),
        {ok, Term}
    catch C:R -> {C, R}
    end
end,
ReadEx = fun(Text) ->
    try {Term, _} = 'Elixir.Code':eval_string(Text), {ok, Term}
    catch C:R -> {C, R}
    end
end,
Indexed = lists:zip(lists:seq(1, length(Terms)), Terms),
ErlBad = [{erlang, I, R} || {I, {Tag, T}} <- Indexed, Tag =:= exact orelse Tag =:= nonlatin,
                            R <- [ReadErl(lists:nth(I, Erl))], R =/= {ok, T}],
Inspect = fun(T) ->
    'Elixir.Kernel':inspect(T, [{limit, infinity}, {printable_limit, infinity}, {width, infinity}])
end,
%% Elixir does not read all of its own texts back: :"\x80" is the byte 0x80, and :A\x{B5}
%% normalises to a Greek letter. Ours must then read as Elixir's own text does.
ExBad = case Ex of
    [] -> [];
    _ -> [{elixir, I, R} || {I, {Tag, T}} <- Indexed, Tag =:= exact orelse Tag =:= nonlatin,
                            R <- [ReadEx(lists:nth(I, Ex))], R =/= {ok, T},
                            R =/= ReadEx(Inspect(T))]
end,
ErlBad ++ ExBad.
)ERL";
  return expr;
}

std::string tag_of(const term& entry) {
  return std::string(entry[0].atom_name());
}

term decode_or_fail(const std::vector<std::uint8_t>& bytes) {
  decode_result r = decode(bytes);
  if (!r) throw std::runtime_error("cannot decode the node's answer: " + r.error.message());
  return r.value;
}

struct report {
  std::size_t compared = 0;
  std::vector<std::string> problems;
  void add(std::string s) { problems.push_back(std::move(s)); }
  std::string summary() const {
    std::ostringstream os;
    os << problems.size() << " problems in " << compared << " comparisons";
    for (std::size_t i = 0; i < problems.size() && i < 60; ++i) os << "\n  " << problems[i];
    return os.str();
  }
};

// Prints every stored term ourselves and compares with the node's texts, then has the node
// (and Elixir) read our texts back.
void check_node(et::beam_node& node, printable_range range, bool elixir) {
  term terms = decode_or_fail(node.eval_binary(terms_expr, std::chrono::seconds(120)));
  term printed = decode_or_fail(node.eval_binary(print_expr(elixir), std::chrono::seconds(120)));
  ASSERT_TRUE(terms.is_proper_list());
  ASSERT_TRUE(printed.is_proper_list());
  auto entries = terms.list_elements();
  auto texts = printed.list_elements();
  ASSERT_EQ(entries.size(), texts.size());
  ASSERT_GE(entries.size(), 300u);

  print_options options;
  options.printable = range;
  options.local_node = atom(node.node_name());
  report rep;
  std::vector<std::string> ours_erlang;
  std::vector<std::string> ours_elixir;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const term& t = entries[i][1];
    const std::string tag = tag_of(entries[i]);
    const std::string node_erlang(texts[i][0].binary_string_view());
    std::string erlang = to_erlang_string(t, options);
    ++rep.compared;
    if (erlang != node_erlang) {
      rep.add("#" + std::to_string(i + 1) + " erlang: node " + node_erlang + "  ours " + erlang);
    }
    ours_erlang.push_back(erlang);
    if (tag == "exact") {
      // Our parser reads the node's text back to the same term.
      parse_result back = parse_erlang(node_erlang);
      ++rep.compared;
      if (!back || !(*back.value == t)) {
        rep.add("#" + std::to_string(i + 1) + " our parser on " + node_erlang + ": " +
                (back ? to_erlang_string(*back.value) : back.describe()));
      }
    }
    if (elixir) {
      const std::string node_elixir(texts[i][1].binary_string_view());
      std::string ours = to_elixir_string(t, options);
      ours_elixir.push_back(ours);
      ++rep.compared;
      bool same = ours == node_elixir;
      if (tag == "closure") {
        // "#Function<I.U/A in :erl_eval>" against "#Function<I.U/A in :erl_eval.expr/6>".
        same = ours.back() == '>' &&
               node_elixir.compare(0, ours.size() - 1, ours, 0, ours.size() - 1) == 0 &&
               node_elixir[ours.size() - 1] == '.';
      } else if (tag == "nonlatin") {
        same = true;  // read back by Elixir below
      }
      if (!same) {
        rep.add("#" + std::to_string(i + 1) + " elixir: node " + node_elixir + "  ours " + ours);
      }
    }
  }

  term bad = decode_or_fail(node.eval_binary(
      check_expr(ours_erlang, elixir ? &ours_elixir : nullptr), std::chrono::seconds(300)));
  rep.compared += entries.size() * (elixir ? 2 : 1);
  for (const term& b : bad.list_elements()) {
    std::size_t i = static_cast<std::size_t>(*b[1].to_int64()) - 1;
    bool ex = b[0].is_atom("elixir");
    rep.add("#" + std::to_string(i + 1) + (ex ? " Elixir" : " the node") + " reads our " +
            (ex ? ours_elixir[i] : ours_erlang[i]) + " as " + to_erlang_string(b[2]));
  }
  std::cout << "[ text     ] " << node.node_name() << ": " << entries.size() << " terms, "
            << rep.compared << " comparisons\n";
  EXPECT_TRUE(rep.problems.empty()) << rep.summary();
}

class TextSyntaxInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    EDIST_REQUIRE_ERLANG();
    epmd_.emplace(et::epmd_instance::start(*et::system_otp()));
  }
  std::optional<et::epmd_instance> epmd_;
};

TEST_F(TextSyntaxInterop, LatinRangeAndElixir) {
  bool elixir = et::system_elixir().has_value();
  if (!elixir && et::interop_required()) FAIL() << "Elixir not found and EDIST_REQUIRE_INTEROP=1";
  et::beam_options o;
  o.epmd_port = epmd_->port();
  o.elixir = elixir;
  auto node = et::beam_node::start(*et::system_otp(), o);
  check_node(node, printable_range::latin1, elixir);
}

TEST_F(TextSyntaxInterop, UnicodeRange) {
  et::beam_options o;
  o.epmd_port = epmd_->port();
  o.extra_args = {"+pc", "unicode"};
  auto node = et::beam_node::start(*et::system_otp(), o);
  ASSERT_EQ(node.eval("io:printable_range()"), "unicode");
  check_node(node, printable_range::unicode, false);
}

}  // namespace
