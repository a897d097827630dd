// Sample control messages for the dist tests: every operation, with and without a trace
// token, with pids, references and atoms at the edges of their encodings (long node names,
// a 200-character atom, five-word references, the largest ids).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edist/dist/control_message.hpp"

namespace edist::dist::test_samples {

using etf::term;

// Node names longer than an inline atom, and one that fits in it.
inline const term node = term::atom("a_peer_node_name@localhost");
inline const term other_node = term::atom("b@h");
inline const term p1 = term::pid(node, 1, 0, 3);
inline const term p2 = term::pid(other_node, 0x7fffffff, 0xffff, 0xffffffff);
inline const std::uint32_t ref_words[] = {1, 2, 3};
inline const term r1 = term::reference(node, 3, ref_words);
inline const std::uint32_t long_ref_words[] = {1, 2, 3, 4, 5};
inline const term r5 = term::reference(other_node, 0, long_ref_words);
inline const term token = term::tuple({term(0), term::atom("label"), term(1), p1, term(0)});

inline std::vector<control_message> control_samples() {
  const term long_name = term::atom(std::string(200, 'n'));
  return {
      ctrl::link{p1, p2},
      ctrl::send{p2, {}},
      ctrl::send{p2, token},
      ctrl::exit{p1, p2, term::atom("normal"), {}},
      ctrl::exit{p1, p2, term::tuple({term::atom("shutdown"), term::binary("why")}), token},
      ctrl::unlink{p1, p2},
      ctrl::node_link{},
      ctrl::reg_send{p1, term::atom("net_kernel"), {}},
      ctrl::reg_send{p2, long_name, {}},
      ctrl::reg_send{p1, term::atom("rex"), token},
      ctrl::group_leader{p1, p2},
      ctrl::exit2{p1, p2, term::atom("kill"), {}},
      ctrl::exit2{p1, p2, term::atom("kill"), token},
      ctrl::monitor_p{p1, p2, r1},
      ctrl::monitor_p{p1, term::atom("global_name_server"), r5},
      ctrl::demonitor_p{p1, term::atom("x"), r1},
      ctrl::monitor_p_exit{p2, p1, r1, term::atom("noproc")},
      ctrl::monitor_p_exit{term::atom("name"), p1, r1, term(-5)},
      ctrl::send_sender{p1, p2, {}},
      ctrl::send_sender{p1, p2, token},
      ctrl::payload_exit{p1, p2, {}},
      ctrl::payload_exit{p1, p2, token},
      ctrl::payload_exit2{p1, p2, {}},
      ctrl::payload_exit2{p1, p2, token},
      ctrl::payload_monitor_p_exit{p2, p1, r1},
      ctrl::spawn_request{r1,
                          p1,
                          p2,
                          term::atom("erpc"),
                          term::atom("execute_call"),
                          4,
                          term::list({term::atom("monitor")}),
                          {}},
      ctrl::spawn_request{r1, p1, p2, term::atom("m"), term::atom("f"), 0, term(), token},
      ctrl::spawn_reply{r1, p1, ctrl::spawn_reply::flag_monitor, p2, {}},
      ctrl::spawn_reply{r1, p1, 0xffffffffu, term::atom("badarg"), token},
      ctrl::alias_send{p1, r1, {}},
      ctrl::alias_send{p1, r5, token},
      ctrl::unlink_id{0xffffffffffULL, p1, p2},
      ctrl::unlink_id{0xffffffffffffffffULL, p1, p2},
      ctrl::unlink_id_ack{7, p1, p2},
  };
}

}  // namespace edist::dist::test_samples
