#include "completion_batch.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <cstddef>
#include <vector>

namespace edist::node::detail {

namespace asio = boost::asio;

namespace {

// Work run inline by one outermost batch before the rest is posted: enough for the turns of
// the actors a read of many small messages wakes, little enough that other connections served
// by the same thread wait at most for a few of them.
constexpr std::size_t max_inline_runs = 64;

struct deferred_work {
  asio::any_io_executor via;
  asio::any_completion_handler<void()> work;
};

struct thread_batch {
  int depth = 0;         // open batches
  bool running = false;  // the outermost batch is running its queue
  std::vector<deferred_work> queue;
  std::size_t next = 0;  // the first queued item not yet taken
};

thread_local thread_batch this_thread;

void post_remaining() noexcept {
  auto& tb = this_thread;
  for (; tb.next < tb.queue.size(); ++tb.next) {
    deferred_work item(std::move(tb.queue[tb.next]));
    try {
      asio::post(item.via, std::move(item.work));
    } catch (...) {
      // Out of memory while posting: the work is dropped with its handler, as a failed post
      // would drop it.
    }
  }
  tb.queue.clear();
  tb.next = 0;
}

}  // namespace

void completion_batch::enter() noexcept {
  ++this_thread.depth;
}

void completion_batch::leave() {
  auto& tb = this_thread;
  if (--tb.depth != 0 || tb.running) return;
  tb.running = true;
  std::size_t runs = 0;
  try {
    while (tb.next < tb.queue.size()) {
      // Moved out first: the work may queue more, which may reallocate the queue.
      deferred_work item(std::move(tb.queue[tb.next]));
      ++tb.next;
      if (runs++ < max_inline_runs) {
        asio::dispatch(item.via, std::move(item.work));
      } else {
        asio::post(item.via, std::move(item.work));
      }
    }
  } catch (...) {
    post_remaining();
    tb.running = false;
    throw;
  }
  tb.queue.clear();
  tb.next = 0;
  tb.running = false;
}

void completion_batch::leave_posting() noexcept {
  auto& tb = this_thread;
  if (--tb.depth != 0 || tb.running) return;
  post_remaining();
}

bool completion_batch::defer(const asio::any_io_executor& via,
                             asio::any_completion_handler<void()>& work) {
  auto& tb = this_thread;
  if (tb.depth == 0 && !tb.running) return false;
  tb.queue.push_back({via, std::move(work)});
  return true;
}

}  // namespace edist::node::detail
