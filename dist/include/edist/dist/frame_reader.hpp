// Cuts the byte stream of an established connection into packets: u32 length + body, where a
// zero length is a tick.
//
// Sans-I/O and allocation-free in steady state: the reader owns one buffer that the driver
// reads into directly (prepare()/commit()), and packets are returned as views into it. The
// buffer grows geometrically only as bytes actually arrive, so a peer that announces a huge
// packet cannot make us allocate more than it sends (and never beyond max_frame_size).
//
// Ownership: a view returned by next() stays valid until the next call to prepare() or feed()
// (several packets taken in a row may be used together). Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <system_error>

namespace edist::dist {

// Default bound for one packet. With FRAGMENTS a BEAM peer splits large messages, but a peer
// without it sends each message as one packet, so the bound must leave room for big messages.
inline constexpr std::size_t default_max_frame_size = std::size_t{128} << 20;

class frame_reader {
 public:
  enum class kind { need_more, tick, packet, error };

  struct frame {
    kind what = kind::need_more;
    std::span<const std::uint8_t> body;  // for packet
    std::error_code error;               // for error (errc::frame_too_large)
  };

  explicit frame_reader(std::size_t max_frame_size = default_max_frame_size);

  // A writable region of at least `min_bytes` to read into; commit() how much was filled.
  std::span<std::uint8_t> prepare(std::size_t min_bytes = 16 * 1024);
  void commit(std::size_t n) noexcept { end_ += n; }
  // Copying alternative to prepare()/commit(), e.g. for bytes left over from the handshake.
  void feed(std::span<const std::uint8_t> bytes);

  // The next tick or packet; need_more when incomplete. After an error the reader stays failed.
  frame next();

  // After next() said need_more: the packet whose length has arrived but not all of its body
  // (size 0 when there is none, e.g. fewer than 4 bytes are here). `head` is the part of the
  // body buffered so far; it is valid until the next call to prepare(), feed() or
  // drop_partial_packet().
  struct partial_packet {
    std::size_t size = 0;
    std::span<const std::uint8_t> head;
  };
  partial_packet partial() const noexcept;
  // Forgets the buffered bytes of partial(), whose body the caller reads elsewhere from now on
  // (the reader holds nothing else then: a partial packet is always the last thing buffered).
  void drop_partial_packet() noexcept;

  std::size_t buffered() const noexcept { return end_ - begin_; }
  std::size_t max_frame_size() const noexcept { return max_; }

 private:
  void reserve_tail(std::size_t min_bytes);

  std::size_t max_;
  std::unique_ptr<std::uint8_t[]> buf_;
  std::size_t cap_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::error_code failed_;
};

// Writes the u32 length prefix of a packet of `body_size` bytes (0 = tick) into `out`.
void put_frame_header(std::uint8_t (&out)[4], std::uint32_t body_size) noexcept;

}  // namespace edist::dist
