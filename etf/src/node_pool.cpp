#include "node_pool.hpp"

namespace edist::etf::detail {

namespace {

struct releaser {
  ~releaser() {
    node_free_lists& l = tl_node_free_lists;
    for (std::size_t c = 1; c <= pool_classes; ++c) {
      while (free_node_block* b = l.head[c]) {
        l.head[c] = b->next;
        ::operator delete(static_cast<void*>(b));
      }
      l.bytes[c] = 0;
    }
    l.closed = true;
  }
};

}  // namespace

void arm_node_free_lists() noexcept {
  // A thread_local with a destructor is constructed (and its destructor registered) on first
  // use in each thread.
  thread_local releaser r;
  (void)r;
  tl_node_free_lists.armed = true;
}

}  // namespace edist::etf::detail
