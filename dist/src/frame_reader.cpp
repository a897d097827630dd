#include "edist/dist/frame_reader.hpp"

#include <algorithm>
#include <cstring>

#include "edist/dist/error.hpp"
#include "wire.hpp"

namespace edist::dist {

frame_reader::frame_reader(std::size_t max_frame_size) : max_(max_frame_size) {}

void frame_reader::reserve_tail(std::size_t min_bytes) {
  if (cap_ - end_ >= min_bytes) return;
  // Move unread bytes to the front first; a new buffer is needed only if that is not enough.
  const std::size_t live = end_ - begin_;
  if (begin_ > 0 && cap_ - live >= min_bytes) {
    std::memmove(buf_.get(), buf_.get() + begin_, live);
    begin_ = 0;
    end_ = live;
    return;
  }
  const std::size_t needed = live + min_bytes;
  const std::size_t new_cap = std::max({needed, cap_ * 2, std::size_t{4096}});
  auto fresh = std::make_unique_for_overwrite<std::uint8_t[]>(new_cap);
  if (live != 0) std::memcpy(fresh.get(), buf_.get() + begin_, live);
  buf_ = std::move(fresh);
  cap_ = new_cap;
  begin_ = 0;
  end_ = live;
}

std::span<std::uint8_t> frame_reader::prepare(std::size_t min_bytes) {
  if (min_bytes == 0) min_bytes = 1;
  // When a large packet is partly here, size the region so it can arrive in few reads, but
  // only double what is already buffered: memory follows the bytes actually received.
  const std::size_t live = end_ - begin_;
  if (live >= 4) {
    const std::size_t len = wire::get_u32(buf_.get() + begin_);
    if (len <= max_ && len + 4 > live) {
      const std::size_t missing = len + 4 - live;
      min_bytes = std::max(min_bytes, std::min(missing, std::max(live, min_bytes)));
    }
  }
  if (begin_ == end_) begin_ = end_ = 0;
  reserve_tail(min_bytes);
  return {buf_.get() + end_, cap_ - end_};
}

void frame_reader::feed(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return;
  if (begin_ == end_) begin_ = end_ = 0;
  reserve_tail(bytes.size());
  std::memcpy(buf_.get() + end_, bytes.data(), bytes.size());
  end_ += bytes.size();
}

frame_reader::frame frame_reader::next() {
  if (failed_) return {kind::error, {}, failed_};
  const std::size_t live = end_ - begin_;
  if (live < 4) return {};
  const std::size_t len = wire::get_u32(buf_.get() + begin_);
  if (len > max_) {
    failed_ = errc::frame_too_large;
    return {kind::error, {}, failed_};
  }
  if (len == 0) {
    begin_ += 4;
    return {kind::tick, {}, {}};
  }
  if (live - 4 < len) return {};
  std::span<const std::uint8_t> body(buf_.get() + begin_ + 4, len);
  begin_ += 4 + len;
  return {kind::packet, body, {}};
}

frame_reader::partial_packet frame_reader::partial() const noexcept {
  const std::size_t live = end_ - begin_;
  if (failed_ || live < 4) return {};
  const std::size_t len = wire::get_u32(buf_.get() + begin_);
  if (len > max_ || live - 4 >= len) return {};
  return {len, {buf_.get() + begin_ + 4, live - 4}};
}

void frame_reader::drop_partial_packet() noexcept {
  if (partial().size == 0) return;
  begin_ = end_ = 0;
}

void put_frame_header(std::uint8_t (&out)[4], std::uint32_t body_size) noexcept {
  wire::put_u32(out, body_size);
}

}  // namespace edist::dist
