#include "edist/node/mailbox.hpp"

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <utility>

#include "completion_batch.hpp"

namespace edist::node {

namespace asio = boost::asio;
using etf::term;

namespace detail {

void term_ring::push_back(term t) {
  if (size_ == slots_.size()) {
    // Grow by doubling and unroll the ring so that the oldest message is at index 0.
    std::vector<term> bigger(slots_.empty() ? 16 : slots_.size() * 2);
    for (std::size_t i = 0; i < size_; ++i) bigger[i] = std::move(at(i));
    slots_ = std::move(bigger);
    head_ = 0;
  }
  slots_[(head_ + size_) & (slots_.size() - 1)] = std::move(t);
  ++size_;
}

term term_ring::take(std::size_t i) {
  term out = std::move(at(i));
  // Close the gap from whichever end is nearer; taking the oldest (the common case) is O(1).
  if (i < size_ / 2) {
    for (std::size_t k = i; k > 0; --k) at(k) = std::move(at(k - 1));
    at(0) = term();
    head_ = (head_ + 1) & (slots_.size() - 1);
  } else {
    for (std::size_t k = i; k + 1 < size_; ++k) at(k) = std::move(at(k + 1));
    at(size_ - 1) = term();
  }
  --size_;
  return out;
}

void term_ring::clear() {
  for (std::size_t i = 0; i < size_; ++i) at(i) = term();
  head_ = 0;
  size_ = 0;
}

struct async_waiter : std::enable_shared_from_this<async_waiter> {
  // The handler is moved in by construction: Boost 1.81's any_completion_handler move
  // assignment recurses endlessly.
  explicit async_waiter(asio::any_completion_handler<receive_signature>&& h)
      : handler(std::move(h)) {}

  std::function<bool(const term&)> pred;
  asio::any_completion_handler<receive_signature> handler;
  // Both keep their contexts busy (outstanding work) while the wait is pending, so that
  // run() does not return under a coroutine waiting for a message from another thread.
  asio::any_completion_executor handler_work;
  asio::any_io_executor fallback;
  std::optional<asio::steady_timer> timer;
  bool done = false;  // guarded by the mailbox mutex

  bool accepts(const term& t) const { return !pred || pred(t); }

  // Called with the mailbox mutex held: ends the wait and returns what runs the handler, bound
  // to the handler's executor (else `fallback`). It holds the handler's executor busy until it
  // has run, so that a context with nothing else to do does not stop in between.
  asio::any_completion_handler<void()> take(std::error_code ec, term value) {
    done = true;
    if (timer) timer->cancel();
    auto ex = asio::get_associated_executor(handler, asio::any_completion_executor(fallback));
    return asio::bind_executor(std::move(ex), [h = std::move(handler), ec, v = std::move(value),
                                               work = std::move(handler_work)]() mutable {
      std::move(h)(ec, std::move(v));
    });
  }

  // Called with the mailbox mutex held; the handler runs later on its executor. post() never
  // runs it inline: it goes through `fallback` and on to the handler's associated executor.
  void complete(std::error_code ec, term value) {
    auto run = take(ec, std::move(value));
    auto via = std::move(fallback);
    asio::post(via, std::move(run));
  }

  // As complete(), with the mailbox mutex released in between: inside a completion batch
  // (completion_batch.hpp) the handler runs when the batch ends, on this thread when its
  // executor allows, instead of being posted.
  void complete_soon(std::error_code ec, term value, std::unique_lock<std::mutex>& lock) {
    auto run = take(ec, std::move(value));
    auto via = std::move(fallback);
    lock.unlock();
    if (!completion_batch::defer(via, run)) asio::post(via, std::move(run));
  }
};

}  // namespace detail

mailbox::~mailbox() = default;

bool mailbox::push(term message) {
  std::unique_lock lock(mu_);
  if (closed_) return false;
  for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
    if ((*it)->accepts(message)) {
      auto w = std::move(*it);
      waiters_.erase(it);
      w->complete_soon({}, std::move(message), lock);
      return true;
    }
  }
  queue_.push_back(std::move(message));
  const bool wake_blocked = blocked_ > 0;
  std::function<void()> wake_consumer = std::exchange(wake_, nullptr);
  lock.unlock();
  if (wake_blocked) cv_.notify_all();
  if (wake_consumer) wake_consumer();
  return true;
}

bool mailbox::notify_when_ready(std::function<void()>& wake) {
  std::lock_guard lock(mu_);
  if (closed_ || !queue_.empty()) return false;
  wake_ = std::move(wake);
  return true;
}

receive_result mailbox::receive_impl(detail::predicate_ref pred, receive_timeout timeout) {
  std::unique_lock lock(mu_);
  const auto deadline = timeout ? std::chrono::steady_clock::now() + *timeout
                                : std::chrono::steady_clock::time_point{};
  std::size_t scanned = 0;  // messages already rejected by pred: never look at them twice
  for (;;) {
    if (closed_) return {term(), make_error_code(errc::process_exited)};
    for (; scanned < queue_.size(); ++scanned) {
      if (pred(queue_.at(scanned))) return {queue_.take(scanned), {}};
    }
    if (timeout && std::chrono::steady_clock::now() >= deadline) {
      return {term(), make_error_code(errc::timeout)};
    }
    ++blocked_;
    if (timeout) {
      const bool expired = cv_.wait_until(lock, deadline) == std::cv_status::timeout;
      --blocked_;
      if (expired && scanned == queue_.size() && !closed_) {
        return {term(), make_error_code(errc::timeout)};
      }
    } else {
      cv_.wait(lock);
      --blocked_;
    }
  }
}

void mailbox::async_wait(std::function<bool(const term&)> pred, receive_timeout timeout,
                         asio::any_io_executor fallback,
                         asio::any_completion_handler<receive_signature> handler) {
  auto handler_work =
      asio::prefer(asio::get_associated_executor(handler, asio::any_completion_executor(fallback)),
                   asio::execution::outstanding_work.tracked);
  auto w = std::make_shared<detail::async_waiter>(std::move(handler));
  w->pred = std::move(pred);
  w->handler_work = std::move(handler_work);
  w->fallback = asio::prefer(fallback, asio::execution::outstanding_work.tracked);

  std::unique_lock lock(mu_);
  if (closed_) {
    w->complete(make_error_code(errc::process_exited), term());
    return;
  }
  for (std::size_t i = 0; i < queue_.size(); ++i) {
    if (w->accepts(queue_.at(i))) {
      // Never inside this call: posted, or run when the completion batch this call is part of
      // ends (an actor taking its next turn).
      w->complete_soon({}, queue_.take(i), lock);
      return;
    }
  }
  if (timeout) {
    w->timer.emplace(fallback, *timeout);
    w->timer->async_wait(
        [self = shared_from_this(), w](const std::error_code&) { self->expire(w); });
  }
  waiters_.push_back(std::move(w));
}

void mailbox::expire(const std::shared_ptr<detail::async_waiter>& w) {
  std::lock_guard lock(mu_);
  if (w->done) return;
  std::erase(waiters_, w);
  w->complete(make_error_code(errc::timeout), term());
}

std::size_t mailbox::remove_if_impl(detail::predicate_ref pred) {
  std::lock_guard lock(mu_);
  std::size_t removed = 0;
  for (std::size_t i = 0; i < queue_.size();) {
    if (pred(queue_.at(i))) {
      queue_.take(i);
      ++removed;
    } else {
      ++i;
    }
  }
  return removed;
}

void mailbox::close() {
  std::unique_lock lock(mu_);
  if (closed_) return;
  closed_ = true;
  queue_.clear();
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& w : waiters) w->complete(make_error_code(errc::process_exited), term());
  std::function<void()> wake_consumer = std::exchange(wake_, nullptr);
  lock.unlock();
  cv_.notify_all();
  if (wake_consumer) wake_consumer();
}

bool mailbox::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

std::size_t mailbox::size() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

}  // namespace edist::node
