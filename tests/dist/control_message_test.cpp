#include "edist/dist/control_message.hpp"

#include <gtest/gtest.h>

#include <edist/etf/term.hpp>
#include <string>
#include <vector>

#include "control_samples.hpp"
#include "edist/dist/error.hpp"

namespace edist::dist {
namespace {

using etf::term;

const term node = term::atom("peer@localhost");
const term p1 = term::pid(node, 1, 0, 3);
const term p2 = term::pid(node, 2, 0, 3);
const std::uint32_t ref_words[] = {1, 2, 3};
const term r1 = term::reference(node, 3, ref_words);
const term token = term::tuple({term(0), term::atom("label"), term(1), p1, term(0)});

const auto samples = test_samples::control_samples;

TEST(ControlMessage, EveryOperationRoundTrips) {
  for (const auto& m : samples()) {
    const term t = to_term(m);
    ASSERT_TRUE(t.is_tuple());
    EXPECT_EQ(t[0].to_int64(), operation(m));
    control_message back;
    std::string detail;
    ASSERT_FALSE(from_term(t, back, &detail)) << operation(m) << ": " << detail;
    EXPECT_EQ(back.index(), m.index());
    EXPECT_EQ(to_term(back), t) << operation(m);
  }
}

TEST(ControlMessage, WireShapes) {
  // As in the protocol notes: SEND {2, '', To}, REG_SEND {6, From, '', Name}, EXIT_TT puts the
  // token before the reason, SPAWN_REQUEST carries {M, F, A}.
  EXPECT_EQ(to_term(ctrl::send{p2, {}}), term::tuple({term(2), term::atom(""), p2}));
  EXPECT_EQ(to_term(ctrl::reg_send{p1, term::atom("rex"), {}}),
            term::tuple({term(6), p1, term::atom(""), term::atom("rex")}));
  EXPECT_EQ(to_term(ctrl::exit{p1, p2, term::atom("r"), token}),
            term::tuple({term(13), p1, p2, token, term::atom("r")}));
  EXPECT_EQ(
      to_term(ctrl::spawn_request{r1, p1, p2, term::atom("m"), term::atom("f"), 2, term(), {}}),
      term::tuple({term(29), r1, p1, p2, term::tuple({term::atom("m"), term::atom("f"), term(2)}),
                   term()}));
  EXPECT_EQ(to_term(ctrl::unlink_id{9, p1, p2}), term::tuple({term(35), term(9), p1, p2}));
}

TEST(ControlMessage, PayloadOperations) {
  for (int op : {2, 6, 12, 16, 22, 23, 24, 25, 26, 27, 28, 29, 30, 33, 34}) {
    EXPECT_TRUE(has_payload(op)) << op;
  }
  for (int op : {1, 3, 4, 5, 7, 8, 13, 18, 19, 20, 21, 31, 32, 35, 36}) {
    EXPECT_FALSE(has_payload(op)) << op;
  }
}

TEST(ControlMessage, RejectsWrongShapes) {
  const std::vector<term> bad = {
      term(1),
      term::tuple({}),
      term::tuple({term::atom("link"), p1, p2}),
      term::tuple({term(1), p1}),                      // arity
      term::tuple({term(1), p1, term::atom("x")}),     // to is not a pid
      term::tuple({term(6), p1, term::atom(""), p2}),  // name is not an atom
      term::tuple({term(19), p1, p2, term(5)}),        // ref is not a reference
      term::tuple({term(35), term(-1), p1, p2}),       // negative id
      term::tuple({term(29), r1, p1, p2, term::tuple({term::atom("m"), term::atom("f")}),
                   term()}),  // MFA arity
      term::tuple({term(29), r1, p1, p2, term::tuple({term::atom("m"), term::atom("f"), term(256)}),
                   term()}),
      term::tuple({term(29), r1, p1, p2, term::tuple({term::atom("m"), term::atom("f"), term(1)}),
                   term(3)}),
      term::tuple({term(99), p1, p2}),  // unknown operation
  };
  for (const term& t : bad) {
    control_message m;
    std::string detail;
    EXPECT_EQ(from_term(t, m, &detail), errc::bad_control_message);
    EXPECT_FALSE(detail.empty());
  }
}

}  // namespace
}  // namespace edist::dist
