// Fuzzes edist::etf::decode. Properties checked on every input:
//   - decoding never crashes, never throws, and a failure leaves nil and a specific error code;
//   - decoding from a span and from shared bytes agree;
//   - anything that decodes re-encodes to bytes that decode to an equal term, encoded_size()
//     is exact, and re-encoding that term gives the same bytes again (a fixed point);
//   - a compressed encoding decodes to the same term;
//   - a subterm stays valid after the decoded term it came from is dropped;
//   - the same bytes read as a distribution-message term (no version byte, trailing bytes
//     allowed, an atom-cache table) are handled just as safely.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <edist/etf/decode.hpp>
#include <edist/etf/encode.hpp>
#include <vector>

using namespace edist::etf;

namespace {

[[noreturn]] void fail() {
  std::abort();
}

void check(bool condition) {
  if (!condition) fail();
}

decode_options small_limits() {
  decode_options o;
  o.limits.max_depth = 64;
  o.limits.max_input_size = 1 << 20;
  o.limits.max_elements = 1 << 16;
  o.limits.zero_copy_threshold = 16;
  return o;
}

void round_trip(const term& value) {
  std::vector<std::uint8_t> bytes = term_to_binary(value);
  check(bytes.size() == encoded_size(value));
  decode_result again = decode(bytes);
  check(!again.error);
  check(again.consumed == bytes.size());
  check(again.value == value);
  check(compare(again.value, value) == 0);
  check(again.value.hash() == value.hash());
  check(term_to_binary(again.value) == bytes);
  if (bytes.size() < 4096) {
    encode_options z;
    z.compression_level = 1;
    decode_result unpacked = decode(term_to_binary(value, z));
    check(!unpacked.error);
    check(unpacked.value == value);
  }
}

void run(std::span<const std::uint8_t> input, const decode_options& options) {
  decode_result r = decode(input, options);
  decode_result shared = decode(shared_bytes::copy_of(input), options);
  check(r.error == shared.error);
  check(r.error_offset == shared.error_offset);
  if (r.error) {
    check(r.value.is_nil());
    check(r.error.category() == etf_category());
    check(r.error_offset <= input.size());
    return;
  }
  check(r.consumed == shared.consumed);
  check(r.consumed <= input.size());
  check(r.value == shared.value);
  round_trip(r.value);
  // A subterm keeps its decoded message (the decode's region) alive on its own.
  const term& root = shared.value;
  if ((root.is_tuple() && root.tuple_size() > 0) || (root.is_list() && !root.is_nil())) {
    term part = root.is_tuple() ? root[0] : root.list_elements()[0];
    std::vector<std::uint8_t> expected = term_to_binary(part);
    r = decode_result{};
    shared = decode_result{};
    check(term_to_binary(part) == expected);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> input(data, size);
  run(input, small_limits());

  static const std::vector<term> cache = {atom("net_kernel"), atom("a_node_name@some.host"),
                                          atom("")};
  decode_options dist = small_limits();
  dist.without_version = true;
  dist.allow_trailing = true;
  dist.atom_cache_refs = cache;
  if (size > 0) run(input.subspan(1), dist);
  return 0;
}
