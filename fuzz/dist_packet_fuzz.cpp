// Fuzzes the receive path of a connection: the input is a sequence of packets (each prefixed
// by a 2-byte length) for one packet_decoder, so atom-cache state and fragment reassembly
// carry over between packets. Nothing may crash; every decoded message must survive an
// encode/decode round trip through a fresh encoder/decoder pair unchanged. A second decoder
// takes the same packets as packet_stream takes large ones (start_packet() with a head of
// some length, the rest written where it says, finish_packet()) and must give the same
// results. The input is also read as a control tuple by the direct path, which must agree
// with the general decoder.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <edist/etf/decode.hpp>
#include <span>
#include <vector>

#include "edist/dist/packet_decoder.hpp"
#include "edist/dist/packet_encoder.hpp"

namespace {

using namespace edist::dist;

void check_roundtrip(const dist_message& m, dist_flags flags) {
  packet_encoder enc(flags, 256);
  packet_decoder dec;
  outgoing_message out;
  enc.encode(m, out);
  packet_decoder::result r;
  while (!out.done()) {
    std::vector<std::uint8_t> packet;
    for (auto part : out.next_packet()) packet.insert(packet.end(), part.begin(), part.end());
    r = dec.decode(packet);
    if (r.what == packet_decoder::status::error) std::abort();
  }
  if (r.what != packet_decoder::status::message) std::abort();
  if (!(to_term(r.message.control) == to_term(m.control))) std::abort();
  if (r.message.payload.has_value() != m.payload.has_value()) std::abort();
  if (m.payload && !(*r.message.payload == *m.payload)) std::abort();
}

// The packet through the placement path, from a head of `head` bytes (more when asked).
packet_decoder::result decode_placed(packet_decoder& dec, std::span<const std::uint8_t> packet,
                                     std::size_t head) {
  for (;;) {
    auto pl = dec.start_packet(packet.first(head), packet.size());
    switch (pl.what) {
      case packet_decoder::placement::kind::placed: {
        if (pl.taken > head || pl.into.size() != packet.size() - pl.taken) std::abort();
        std::copy(packet.begin() + static_cast<std::ptrdiff_t>(pl.taken), packet.end(),
                  pl.into.begin());
        return dec.finish_packet();
      }
      case packet_decoder::placement::kind::need_head:
        if (pl.need_head <= head || pl.need_head >= packet.size()) std::abort();
        head = pl.need_head;
        continue;
      case packet_decoder::placement::kind::whole:
        return dec.decode(packet);
      case packet_decoder::placement::kind::error: {
        packet_decoder::result r;
        r.what = packet_decoder::status::error;
        r.error = pl.error;
        return r;
      }
    }
  }
}

bool same(const packet_decoder::result& a, const packet_decoder::result& b) {
  if (a.what != b.what || a.error != b.error) return false;
  if (a.what != packet_decoder::status::message) return true;
  if (!(to_term(a.message.control) == to_term(b.message.control))) return false;
  if (a.message.payload.has_value() != b.message.payload.has_value()) return false;
  return !a.message.payload || *a.message.payload == *b.message.payload;
}

// The direct reading of a control tuple (etf::decode_tuple_elements) against the general
// decoder, on the raw input: whatever the direct path takes, the decoder takes with the same
// elements and length, and from_elements agrees with from_term.
void check_direct_control(std::span<const std::uint8_t> in, bool without_version) {
  const std::vector<edist::etf::term> refs = {edist::etf::term::atom("a"),
                                              edist::etf::term::atom("node_name@localhost"),
                                              edist::etf::term()};
  edist::etf::decode_options opts;
  opts.limits.max_input_size = 1 << 16;
  opts.limits.max_elements = 1 << 14;
  opts.atom_cache_refs = refs;
  opts.without_version = without_version;
  opts.allow_trailing = true;
  std::array<edist::etf::term, 7> elements;
  std::size_t arity = 0, consumed = 0;
  if (!edist::etf::decode_tuple_elements(in, opts, elements, arity, consumed)) return;
  const auto whole = edist::etf::decode(in, opts);
  if (!whole || !whole.value.is_tuple(arity) || whole.consumed != consumed) std::abort();
  for (std::size_t i = 0; i < arity; ++i) {
    if (!(elements[i] == whole.value[i])) std::abort();
  }
  control_message a, b;
  const auto ea = from_elements(std::span<const edist::etf::term>(elements.data(), arity), a);
  const auto eb = from_term(whole.value, b);
  if (ea != eb) std::abort();
  if (!ea && !(to_term(a) == to_term(b))) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_direct_control({data, size}, true);
  check_direct_control({data, size}, false);
  packet_decoder_limits limits;
  limits.max_reassembly_bytes = 1 << 16;
  limits.max_pending_sequences = 8;
  limits.terms.max_input_size = 1 << 16;
  limits.terms.max_elements = 1 << 14;
  packet_decoder dec(limits);
  packet_decoder placed(limits);
  std::span<const std::uint8_t> in(data, size);
  int messages = 0;
  while (in.size() >= 2) {
    const std::size_t len = (std::size_t{in[0]} << 8) | in[1];
    in = in.subspan(2);
    const std::size_t n = len < in.size() ? len : in.size();
    auto r = dec.decode(in.first(n));
    if (n > 0) {
      // The stream offers only packets not all here: heads of 0 to n - 1 bytes.
      const auto other = decode_placed(placed, in.first(n), (len * 31 + n) % n);
      if (!same(r, other)) std::abort();
    }
    in = in.subspan(n);
    if (r.what == packet_decoder::status::error) break;
    if (r.what == packet_decoder::status::message && ++messages <= 4) {
      check_roundtrip(r.message, advertised_flags(visibility::hidden));
      check_roundtrip(r.message, mandatory_otp26);  // pass-through packets
    }
  }
  return 0;
}
