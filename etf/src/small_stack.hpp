// A stack that keeps its first N entries inline, so that the codec does not allocate for the
// nesting depth of ordinary terms, and doubles into the heap beyond (private to the etf
// library). The largest heap block a thread used is kept for the next stack of the same type
// on that thread, so decoding deep terms over and over does not allocate and copy every time.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <type_traits>

namespace edist::etf::detail {

template <class T, std::size_t N>
class small_stack {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_default_constructible_v<T>);

 public:
  small_stack() noexcept = default;
  small_stack(const small_stack&) = delete;
  small_stack& operator=(const small_stack&) = delete;
  ~small_stack() {
    if (heap_ && heap_capacity_ > spare().capacity) {
      spare().block = std::move(heap_);
      spare().capacity = heap_capacity_;
    }
  }

  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }
  T& back() noexcept { return data_[size_ - 1]; }
  void pop_back() noexcept { --size_; }
  void clear() noexcept { size_ = 0; }
  void push_back(const T& v) {
    if (size_ == capacity_) grow();
    data_[size_++] = v;
  }

 private:
  struct spare_block {
    std::unique_ptr<T[]> block;
    std::size_t capacity = 0;
  };
  static spare_block& spare() noexcept {
    thread_local spare_block s;
    return s;
  }

  void grow() {
    std::size_t capacity = capacity_ * 2;
    std::unique_ptr<T[]> bigger;
    spare_block& s = spare();
    if (s.capacity >= capacity) {
      bigger = std::move(s.block);
      capacity = s.capacity;
      s.capacity = 0;
    } else {
      bigger = std::make_unique_for_overwrite<T[]>(capacity);
    }
    std::memcpy(bigger.get(), data_, size_ * sizeof(T));
    heap_ = std::move(bigger);
    heap_capacity_ = capacity;
    data_ = heap_.get();
    capacity_ = capacity;
  }

  T inline_[N];
  std::unique_ptr<T[]> heap_;
  std::size_t heap_capacity_ = 0;
  T* data_ = inline_;
  std::size_t size_ = 0;
  std::size_t capacity_ = N;
};

}  // namespace edist::etf::detail
