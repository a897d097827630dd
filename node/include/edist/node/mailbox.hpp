// A process mailbox: an ordered queue of terms with selective, blocking and asynchronous
// receive.
//
// Messages are kept in arrival order in a ring buffer that grows by doubling and never
// shrinks, so a steady stream of messages costs no allocation beyond the terms themselves.
// Selective receive scans from the oldest message and takes the first one the predicate
// accepts; the others stay in order, as in Erlang's `receive`.
//
// Ownership: a mailbox is owned through std::shared_ptr (by its process; pending asynchronous
// waits hold a reference too, so a timer or a late message never touches a freed mailbox).
// Terms are moved in and out; nothing refers into the queue after a call returns.
//
// Thread-safety: every member function may be called from any thread at any time. One mutex
// guards the queue and is never held while a completion handler runs. Predicates do run under
// that mutex: keep them quick, and never touch the same mailbox from inside one. Completion
// handlers are never invoked inside push() or inside the initiating call: they are posted to
// the handler's associated executor, else to the executor given when the wait was started;
// except that a push() or a wait made on an io thread inside the node's own unit of work (a
// read from a connection, an actor's turn) leaves the handler to be dispatched, on the same
// thread where its executor allows, once that unit of work has returned.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <edist/etf/term.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <vector>

#include "edist/node/error.hpp"

namespace edist::node {

// The outcome of a receive: a message, or an error (errc::timeout, errc::process_exited).
struct receive_result {
  etf::term message;
  std::error_code error;

  explicit operator bool() const noexcept { return !error; }
  const etf::term& operator*() const noexcept { return message; }
  const etf::term* operator->() const noexcept { return &message; }
};

// A deadline for blocking receives; nullopt waits forever.
using receive_timeout = std::optional<std::chrono::steady_clock::duration>;

// The signature of asynchronous receives.
using receive_signature = void(std::error_code, etf::term);

namespace detail {

// A growable ring buffer of terms with removal at any position (for selective receive).
class term_ring {
 public:
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  etf::term& at(std::size_t i) noexcept { return slots_[(head_ + i) & (slots_.size() - 1)]; }
  void push_back(etf::term t);
  etf::term take(std::size_t i);
  void clear();

 private:
  std::vector<etf::term> slots_;  // size is zero or a power of two
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

// A non-owning reference to a predicate, so blocking receives need no std::function.
class predicate_ref {
 public:
  predicate_ref() = default;  // accepts everything
  template <class F>
  predicate_ref(F& f)  // NOLINT(google-explicit-constructor)
      : ctx_(&f), call_([](void* c, const etf::term& t) {
          return static_cast<bool>((*static_cast<F*>(c))(t));
        }) {}
  bool operator()(const etf::term& t) const { return call_ == nullptr || call_(ctx_, t); }

 private:
  void* ctx_ = nullptr;
  bool (*call_)(void*, const etf::term&) = nullptr;
};

struct async_waiter;

}  // namespace detail

class mailbox : public std::enable_shared_from_this<mailbox> {
 public:
  static std::shared_ptr<mailbox> create() { return std::make_shared<mailbox>(); }
  mailbox() = default;
  mailbox(const mailbox&) = delete;
  mailbox& operator=(const mailbox&) = delete;
  ~mailbox();

  // Appends a message, or hands it straight to a waiting asynchronous receive that accepts it.
  // Returns false (and drops the message) once the mailbox is closed.
  bool push(etf::term message);

  // Takes the oldest message the predicate accepts, waiting up to `timeout` for one.
  template <class Pred>
  requires std::predicate<Pred&, const etf::term&> receive_result
  receive(Pred&& pred, receive_timeout timeout = std::nullopt) {
    return receive_impl(detail::predicate_ref(pred), timeout);
  }
  receive_result receive(receive_timeout timeout = std::nullopt) {
    return receive_impl(detail::predicate_ref(), timeout);
  }
  // Without waiting: errc::timeout when nothing matches now.
  template <class Pred>
  requires std::predicate<Pred&, const etf::term&> receive_result try_receive(Pred&& pred) {
    return receive_impl(detail::predicate_ref(pred), std::chrono::steady_clock::duration::zero());
  }

  // Waits asynchronously for the oldest message `pred` accepts (an empty predicate accepts
  // all). Completes with (error_code{}, message), (errc::timeout, nil) after `timeout`, or
  // (errc::process_exited, nil) when the mailbox is closed. `fallback` runs the completion
  // when the handler has no associated executor, and runs the timer; it must stay valid
  // until completion.
  void async_wait(std::function<bool(const etf::term&)> pred, receive_timeout timeout,
                  boost::asio::any_io_executor fallback,
                  boost::asio::any_completion_handler<receive_signature> handler);

  // For a consumer that takes messages with try_receive (the actor runner): `wake` is called
  // once, with no lock held, by the push() or close() that makes a message available or closes
  // the mailbox; never inside this call. Returns false, leaving `wake` unused, when a message
  // is queued or the mailbox is closed already (go on at once). One such wait at a time;
  // asynchronous waits of async_wait() are served first. Cheaper than async_wait(): nothing
  // is allocated when `wake` is small (a lambda holding one shared_ptr).
  bool notify_when_ready(std::function<void()>& wake);

  // Removes every queued message the predicate accepts; returns how many.
  template <class Pred>
  requires std::predicate<Pred&, const etf::term&> std::size_t remove_if(Pred&& pred) {
    return remove_if_impl(detail::predicate_ref(pred));
  }

  // Closes the mailbox: queued messages are dropped, waiting receives complete with
  // errc::process_exited, later pushes are refused. Idempotent.
  void close();
  bool closed() const;
  std::size_t size() const;

 private:
  friend struct detail::async_waiter;
  receive_result receive_impl(detail::predicate_ref pred, receive_timeout timeout);
  std::size_t remove_if_impl(detail::predicate_ref pred);
  void expire(const std::shared_ptr<detail::async_waiter>& w);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  detail::term_ring queue_;
  std::vector<std::shared_ptr<detail::async_waiter>> waiters_;
  std::size_t blocked_ = 0;     // threads inside a blocking receive
  std::function<void()> wake_;  // notify_when_ready()'s, until a push or close takes it
  bool closed_ = false;
};

}  // namespace edist::node
