// A stack that keeps its first N entries inline, so that the codec does not allocate for the
// nesting depth of ordinary terms (private to the etf library).
#pragma once

#include <array>
#include <cstddef>
#include <type_traits>
#include <vector>

namespace edist::etf::detail {

template <class T, std::size_t N>
class small_stack {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }
  T& back() noexcept { return data()[size_ - 1]; }
  void pop_back() noexcept { --size_; }
  void clear() noexcept { size_ = 0; }
  void push_back(const T& v) {
    if (size_ < N) {
      inline_[size_++] = v;
      return;
    }
    if (size_ == N) heap_.assign(inline_.begin(), inline_.end());
    heap_.resize(size_ + 1);
    heap_[size_++] = v;
  }

 private:
  T* data() noexcept { return size_ <= N ? inline_.data() : heap_.data(); }

  std::array<T, N> inline_;
  std::vector<T> heap_;
  std::size_t size_ = 0;
};

}  // namespace edist::etf::detail
