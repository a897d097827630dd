// Fuzzes the distribution handshake: every message parser, the handshake reader, and both
// state machines driven to completion by the input (which also chooses the chunking, the
// length prefix and the owner's decisions). Nothing may crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <span>

#include "edist/dist/handshake.hpp"
#include "edist/dist/handshake_messages.hpp"

namespace {

using namespace edist::dist;

void parse_all(std::span<const std::uint8_t> body) {
  name_message n;
  (void)parse_name(body, n);
  status_message s;
  (void)parse_status(body, s);
  challenge_message c;
  (void)parse_challenge(body, c);
  complement_message cm;
  (void)parse_complement(body, cm);
  challenge_reply_message r;
  (void)parse_challenge_reply(body, r);
  challenge_ack_message a;
  (void)parse_challenge_ack(body, a);
}

handshake_config config(length_prefix p) {
  handshake_config cfg;
  cfg.this_node = "fuzz@localhost";
  cfg.cookie = "cookie";
  cfg.prefix = p;
  return cfg;
}

template <typename Machine, typename Decide>
void drive(Machine& m, std::span<const std::uint8_t> input, std::size_t chunk, Decide decide) {
  handshake_action a = m.start();
  std::size_t pos = 0;
  for (int steps = 0; steps < 10000; ++steps) {
    switch (a.step) {
      case handshake_step::write:
        a = m.on_written();
        break;
      case handshake_step::read:
        if (pos >= input.size()) {
          a = m.on_eof();
          break;
        }
        {
          const std::size_t n = chunk < input.size() - pos ? chunk : input.size() - pos;
          a = m.on_read(input.subspan(pos, n));
          pos += n;
        }
        break;
      case handshake_step::decide_status:
      case handshake_step::decide_alive:
        a = decide(m, pos < input.size() ? input[pos] : 0);
        break;
      case handshake_step::done:
        (void)m.take_leftover();
        return;
      case handshake_step::failed:
        return;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t mode = data[0];
  std::span<const std::uint8_t> input(data + 1, size - 1);
  parse_all(input);

  const length_prefix p = (mode & 1) != 0 ? length_prefix::u32 : length_prefix::u16;
  const std::size_t chunk = 1 + ((mode >> 1) & 0x1f);

  handshake_reader reader(p);
  reader.feed(input);
  std::error_code ec;
  while (auto m = reader.next(ec)) parse_all(*m);

  handshake_acceptor acceptor(config(p));
  drive(acceptor, input, chunk, [](auto& m, std::uint8_t b) {
    if constexpr (requires { m.decide(accept_decision::ok); }) {
      return m.decide(static_cast<accept_decision>(b % 5));
    } else {
      return handshake_action{};
    }
  });

  handshake_initiator initiator(config(p), "peer@localhost");
  drive(initiator, input, chunk, [](auto& m, std::uint8_t b) {
    if constexpr (requires { m.answer_alive(true); }) {
      return m.answer_alive((b & 1) != 0);
    } else {
      return handshake_action{};
    }
  });
  return 0;
}
