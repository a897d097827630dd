// The binary codec against live nodes of every available OTP release.
//
// The node compiles edist_etf_corpus.erl and builds about 340 varied terms (integers at every
// tag boundary and bignums of thousands of digits, special floats, Latin-1 and Unicode atoms up
// to 255 characters, binaries and bitstrings, strings at the STRING_EXT limit, improper lists,
// tuples, small and large maps with mixed keys, its own pids, ports, references, aliases and
// funs, identifiers of other nodes, deep nesting, realistic messages). For each term we check:
//   - our decoder accepts term_to_binary(T, [{minor_version, 2}]) and our encoder gives back
//     exactly those bytes (decoded maps keep their order, so this holds for maps too);
//   - the same for the compressed form at levels 1..9;
//   - the node's binary_to_term of our bytes is =:= the original.
// Then the other direction: seeded random terms built in C++ go to the node and come back as
// its own encoding. And the node's lists:sort/1 of a mixed list must order it as we do.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <edist/etf/decode.hpp>
#include <edist/etf/encode.hpp>
#include <edist/etf/text.hpp>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "corpus_module.hpp"
#include "edist/testing/beam_node.hpp"
#include "edist/testing/epmd_instance.hpp"
#include "edist/testing/gtest.hpp"
#include "random_term.hpp"

namespace {

namespace et = edist::testing;
using namespace edist::etf;
using bytes = std::vector<std::uint8_t>;

bytes to_vector(std::span<const std::uint8_t> s) {
  return bytes(s.begin(), s.end());
}

// Decodes what the node sent over its control channel (also a test of the decoder).
term decode_reply(const bytes& b) {
  auto r = decode(b);
  if (!r) {
    ADD_FAILURE() << "cannot decode the node's reply: " << r.error.message() << " at "
                  << r.error_offset;
  }
  return r.value;
}

std::string show(const term& t) {
  std::string s = to_erlang_string(t);
  if (s.size() > 300) s = s.substr(0, 300) + "...";
  return s;
}

// The first place where two terms differ, as "path: ours vs theirs".
std::string difference(const term& a, const term& b, std::string path = "") {
  if (a == b) return "";
  if (a.type() == b.type()) {
    if (a.is_tuple() && a.tuple_size() == b.tuple_size()) {
      for (std::size_t i = 0; i < a.tuple_size(); ++i) {
        auto d = difference(a[i], b[i], path + "/" + std::to_string(i));
        if (!d.empty()) return d;
      }
    } else if (a.is_list() && a.list_elements().size() == b.list_elements().size()) {
      for (std::size_t i = 0; i < a.list_elements().size(); ++i) {
        auto d =
            difference(a.list_elements()[i], b.list_elements()[i], path + "/" + std::to_string(i));
        if (!d.empty()) return d;
      }
      return difference(a.list_tail(), b.list_tail(), path + "/tail");
    } else if (a.is_map() && a.map_size() == b.map_size()) {
      for (auto& [k, v] : a.map_entries()) {
        const term* other = b.find(k);
        if (other == nullptr) return path + ": key " + show(k) + " missing";
        auto d = difference(v, *other, path + "/" + show(k));
        if (!d.empty()) return d;
      }
    }
  }
  return (path.empty() ? "/" : path) + ": " + show(a) + " vs " + show(b);
}

// Where two encodings first differ, with some bytes of each from there.
std::string byte_difference(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  auto part = [i](std::span<const std::uint8_t> s) {
    std::string out;
    for (std::size_t k = i; k < s.size() && k < i + 24; ++k) out += std::to_string(s[k]) + ",";
    return out;
  };
  return "sizes " + std::to_string(a.size()) + " and " + std::to_string(b.size()) +
         ", first difference at byte " + std::to_string(i) + ": " + part(a) + " vs " + part(b);
}

bool contains_map(const term& t) {
  std::vector<const term*> todo{&t};
  while (!todo.empty()) {
    const term* x = todo.back();
    todo.pop_back();
    switch (x->type()) {
      case kind::map:
        return true;
      case kind::tuple:
        for (auto& e : x->tuple_elements()) todo.push_back(&e);
        break;
      case kind::list:
        for (auto& e : x->list_elements()) todo.push_back(&e);
        todo.push_back(&x->list_tail());
        break;
      case kind::fun:
        for (auto& e : x->as_fun().free_vars) todo.push_back(&e);
        break;
      default:
        break;
    }
  }
  return false;
}

class CodecInterop : public et::otp_test {
 protected:
  void SetUp() override {
    et::otp_test::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    epmd_.emplace(et::epmd_instance::start(otp()));
    et::beam_options o;
    o.epmd_port = epmd_->port();
    node_.emplace(et::beam_node::start(otp(), o));
    et::load_etf_corpus_module(*node_);
    release_ = std::stoi(otp().release);
  }

  // How this release writes ports (OTP 26 made V4_PORT_EXT the rule).
  encode_options native_options() const {
    encode_options o;
    o.v4_ports = release_ >= 26;
    return o;
  }

  std::optional<et::epmd_instance> epmd_;
  std::optional<et::beam_node> node_;
  int release_ = 0;
};

TEST_P(CodecInterop, CorpusRoundTripsByteExact) {
  term corpus = decode_reply(node_->eval_binary("edist_etf_corpus:prepare()"));
  ASSERT_TRUE(corpus.is_proper_list());
  auto entries = corpus.list_elements();
  ASSERT_GE(entries.size(), 300u);

  std::vector<term> ours;
  std::size_t compressed_identical = 0, maps = 0;
  encode_options plain_options = native_options();
  for (const term& e : entries) {
    ASSERT_TRUE(e.is_tuple(4));
    std::string name(e[0].binary_string_view());
    auto plain = e[1].binary_bytes();
    int level = static_cast<int>(e[2].as_int64());
    auto compressed = e[3].binary_bytes();
    SCOPED_TRACE(name);

    auto d = decode(plain);
    ASSERT_FALSE(d.error) << d.error.message() << " at " << d.error_offset;
    if (contains_map(d.value)) ++maps;
    bytes again = term_to_binary(d.value, plain_options);
    EXPECT_EQ(again, to_vector(plain)) << show(d.value);
    EXPECT_EQ(again.size(), encoded_size(d.value, plain_options));

    auto dc = decode(compressed);
    ASSERT_FALSE(dc.error) << dc.error.message() << " at " << dc.error_offset;
    // Compared through our encoding: the corpus nests 3000 deep, and term comparison recurses
    // (too deep for a sanitizer build's stack).
    EXPECT_TRUE(term_to_binary(dc.value, plain_options) == again) << "compressed form differs";
    encode_options z = plain_options;
    z.compression_level = level;
    bytes our_compressed = term_to_binary(d.value, z);
    if (our_compressed == to_vector(compressed)) {
      ++compressed_identical;
    } else {
      ADD_FAILURE() << "compressed bytes differ at level " << level;
    }
    ours.push_back(term::tuple({term::binary(again), term::binary(our_compressed)}));
  }
  std::cout << "[ corpus   ] OTP " << otp().release << ": " << entries.size() << " terms (" << maps
            << " with maps), " << compressed_identical << " compressed encodings byte-identical\n";

  // The node checks binary_to_term(Ours) =:= Original for every plain and compressed encoding.
  term failures = decode_reply(
      node_->apply_binary("edist_etf_corpus", "check", {term_to_binary(term::list(ours))}));
  EXPECT_TRUE(failures.is_nil()) << show(failures);
}

TEST_P(CodecInterop, OldTagsFromTheNode) {
  // minor_version 0 writes FLOAT_EXT and Latin-1 atom tags, minor_version 1 Latin-1 atom tags
  // where the atom allows; both must decode to the terms minor_version 2 describes.
  term pairs = decode_reply(node_->eval_binary(R"ERL(
      Ts = [1.5, -0.0, 1.0e300, 5.0e-324, 'caf\x{e9}', [a, 'b\x{ff}c', {'\x{e0}'}],
            list_to_atom(lists:duplicate(255, 16#FF)), #{key => 'v\x{f1}'}, self(), make_ref(),
            {3.14159, [2.718281828459045 | 0.1]}, 'Elixir.Enum'],
      [{term_to_binary(T, [{minor_version, 0}]), term_to_binary(T, [{minor_version, 1}]),
        term_to_binary(T, [{minor_version, 2}])} || T <- Ts].)ERL"));
  ASSERT_TRUE(pairs.is_proper_list());
  for (const term& p : pairs.list_elements()) {
    auto modern = decode(p[2].binary_bytes());
    ASSERT_FALSE(modern.error);
    for (int v = 0; v < 2; ++v) {
      auto old = decode(p[static_cast<std::size_t>(v)].binary_bytes());
      ASSERT_FALSE(old.error) << old.error.message() << " (minor_version " << v << ")";
      EXPECT_EQ(old.value, modern.value) << show(modern.value);
    }
  }
}

TEST_P(CodecInterop, RandomCxxTermsAsTheNodeSeesThem) {
  std::uint64_t seed = 0x5eed0000 + static_cast<std::uint64_t>(release_);
  if (const char* s = std::getenv("EDIST_ETF_SEED")) seed = std::strtoull(s, nullptr, 0);
  std::cout << "[ seed     ] " << seed << " (set EDIST_ETF_SEED to reproduce)\n";
  SCOPED_TRACE("seed " + std::to_string(seed));
  edist::etf::testing::random_term_options ro;
  ro.closures = true;
  ro.negative_zero = release_ >= 27;  // before OTP 27, -0.0 =:= 0.0
  // OTP 27 funs have no creator pid: the node writes its own <0.0.0> instead.
  if (release_ >= 27) ro.fun_pid = decode_reply(node_->eval_binary("list_to_pid(\"<0.0.0>\")"));
  edist::etf::testing::random_term_generator gen(seed, ro);

  encode_options ours_options = native_options();
  std::vector<term> originals;
  std::vector<term> encoded;
  for (int i = 0; i < 200; ++i) {
    originals.push_back(gen.next());
    encoded.push_back(term::binary(term_to_binary(originals.back(), ours_options)));
  }
  term back = decode_reply(
      node_->apply_binary("edist_etf_corpus", "roundtrip", {term_to_binary(term::list(encoded))}));
  ASSERT_TRUE(back.is_proper_list());
  ASSERT_EQ(back.list_elements().size(), originals.size());
  std::size_t identical = 0, map_free = 0;
  for (std::size_t i = 0; i < originals.size(); ++i) {
    const term& reply = back.list_elements()[i];
    SCOPED_TRACE("term " + std::to_string(i) + ": " + show(originals[i]));
    ASSERT_TRUE(reply.is_binary()) << "the node failed: " << show(reply);
    auto d = decode(reply.binary_bytes());
    ASSERT_FALSE(d.error) << d.error.message();
    EXPECT_TRUE(d.value == originals[i]) << difference(originals[i], d.value);
    // Without maps, the node writes exactly our bytes (maps: BEAM's order is its own).
    if (!contains_map(originals[i])) {
      ++map_free;
      if (to_vector(reply.binary_bytes()) == to_vector(encoded[i].binary_bytes())) {
        ++identical;
      } else {
        ADD_FAILURE() << "the node's encoding differs from ours: "
                      << byte_difference(encoded[i].binary_bytes(), reply.binary_bytes());
      }
    }
  }
  std::cout << "[ random   ] OTP " << otp().release << ": 200 terms equal after the node's round "
            << "trip; " << identical << " of " << map_free << " map-free terms byte-identical\n";
}

TEST_P(CodecInterop, TermOrderMatchesListsSort) {
  term sample = decode_reply(node_->eval_binary("edist_etf_corpus:sort_sample()"));
  ASSERT_TRUE(sample.is_tuple(2));
  std::vector<term> items(sample[0].list_elements().begin(), sample[0].list_elements().end());
  auto beam_sorted = sample[1].list_elements();
  ASSERT_EQ(items.size(), beam_sorted.size());
  std::stable_sort(items.begin(), items.end(),
                   [](const term& a, const term& b) { return compare(a, b) < 0; });
  for (std::size_t i = 0; i < items.size(); ++i) {
    EXPECT_TRUE(equal(items[i], beam_sorted[i])) << "position " << i << ": ours " << show(items[i])
                                                 << ", lists:sort " << show(beam_sorted[i]);
  }
  term verdict = decode_reply(
      node_->apply_binary("edist_etf_corpus", "check_sorted", {term_to_binary(term::list(items))}));
  ASSERT_TRUE(verdict.is_map());
  for (const char* key : {"same_length", "same_as_lists_sort", "non_decreasing"}) {
    const term* v = verdict.find(atom(key));
    ASSERT_NE(v, nullptr);
    EXPECT_TRUE(v->is_atom("true")) << key << ": " << show(verdict);
  }
}

EDIST_INSTANTIATE_OTP_TEST_SUITE(CodecInterop);

}  // namespace
