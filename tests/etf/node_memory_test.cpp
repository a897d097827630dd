// Term nodes recycled through per-thread free lists (etf/src/node_pool.hpp): terms made on one
// thread and dropped on another, threads that exit while holding free blocks, terms in
// thread_local storage that outlive the thread's lists, and destruction of very deep terms
// without recursion. Run under AddressSanitizer the pool is bypassed, so the same tests then
// check the plain new/delete path.
#include <gtest/gtest.h>

#include <edist/etf/decode.hpp>
#include <edist/etf/encode.hpp>
#include <edist/etf/term.hpp>
#include <thread>
#include <vector>

using namespace edist::etf;

namespace {

term sample(int i) {
  return term::tuple({atom("a_long_atom_kept_on_the_heap"), term::list({i, i + 1}),
                      term::binary(std::string(static_cast<std::size_t>(i % 200), 'x')),
                      term::pid(atom("n@h"), static_cast<std::uint32_t>(i), 0, 1)});
}

}  // namespace

TEST(NodeMemory, TermsMadeOnOneThreadDieOnAnother) {
  std::vector<term> made;
  std::thread producer([&] {
    for (int i = 0; i < 20000; ++i) made.push_back(sample(i));
  });
  producer.join();
  std::vector<std::uint8_t> first = term_to_binary(made[123]);
  std::thread consumer([&] {
    // Drops everything: the blocks join this thread's lists (up to their cap), and go back to
    // malloc when the thread exits.
    made.clear();
    for (int i = 0; i < 1000; ++i) EXPECT_EQ(sample(i), sample(i));
  });
  consumer.join();
  EXPECT_EQ(decode(first).value, sample(123));
}

TEST(NodeMemory, ManyThreadsChurn) {
  std::vector<std::thread> threads;
  std::vector<std::vector<std::uint8_t>> encoded(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &encoded] {
      encode_buffer buffer;
      for (int round = 0; round < 200; ++round) {
        std::vector<term> keep;
        for (int i = 0; i < 50; ++i) keep.push_back(sample(t * 1000 + i + round));
        buffer.clear();
        encode(term::list(keep), buffer);
        auto back = decode(buffer.bytes());
        ASSERT_FALSE(back.error);
        ASSERT_EQ(back.value, term::list(keep));
      }
      encoded[static_cast<std::size_t>(t)] = term_to_binary(sample(t));
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) {
    EXPECT_EQ(decode(encoded[static_cast<std::size_t>(t)]).value, sample(t));
  }
}

TEST(NodeMemory, ThreadLocalTermsOutliveTheThreadsLists) {
  // A thread_local made before the thread first freed a node is destroyed after the thread's
  // free lists were handed back; its nodes must then go straight back to malloc.
  std::thread t([] {
    thread_local std::vector<term> kept;
    for (int i = 0; i < 100; ++i) kept.push_back(sample(i));
    for (int i = 0; i < 100; ++i) {
      term scratch = sample(i);  // freed now: arms the lists' release at thread exit
    }
  });
  t.join();
  SUCCEED();
}

TEST(NodeMemory, DeepTermsAreFreedWithoutRecursion) {
  // 200000 levels would overflow the stack if destruction recursed once per level.
  term t = term::tuple({});
  for (int i = 0; i < 200000; ++i) t = term::tuple({t});
  term l;
  for (int i = 0; i < 200000; ++i) l = term::list({l});
  term m = term::map({});
  for (int i = 0; i < 200000; ++i) m = term::map({{i, m}});
  t = term();
  l = term();
  m = term();
  EXPECT_TRUE(t.is_nil());
}
