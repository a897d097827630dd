// A byte stream under a distribution connection: TCP now, TLS later, without the protocol
// code knowing which.
//
// transport is a small type-erased interface (one virtual call per read or write) that also
// models Asio's AsyncReadStream and AsyncWriteStream, so asio::async_read/async_write work on
// it. Completion handlers are type-erased with any_completion_handler, whose storage comes from
// the handler's associated allocator (by default Asio's thread-local recycling allocator), so a
// steady read or write loop does not hit the heap per operation.
//
// Ownership and threads: a transport owns its socket. Like an Asio socket it is not thread-safe:
// use it from one strand. At most one read and one write may be outstanding at a time. Handlers
// never run inline from the initiating call (they are dispatched through the I/O executor).
#pragma once

#include <array>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <string>

#include "edist/dist/handshake_messages.hpp"

namespace edist::dist {

// An owning, fixed-capacity buffer sequence: operations copy it, so it outlives the call that
// started them (a std::span of descriptors would dangle).
template <typename Buffer, std::size_t N>
struct buffer_list {
  std::array<Buffer, N> items{};
  std::size_t count = 0;

  const Buffer* begin() const noexcept { return items.data(); }
  const Buffer* end() const noexcept { return items.data() + count; }
};

class transport {
 public:
  using executor_type = boost::asio::any_io_executor;
  using io_signature = void(boost::system::error_code, std::size_t);
  using io_handler = boost::asio::any_completion_handler<io_signature>;

  // Enough for the writes of the distribution layer (header + body + a few queued packets);
  // longer buffer sequences are written in several calls by async_write.
  static constexpr std::size_t max_buffers = 16;
  using mutable_buffers = buffer_list<boost::asio::mutable_buffer, max_buffers>;
  using const_buffers = buffer_list<boost::asio::const_buffer, max_buffers>;

  transport() = default;
  transport(const transport&) = delete;
  transport& operator=(const transport&) = delete;
  virtual ~transport() = default;

  virtual executor_type get_executor() const = 0;
  // The handshake length prefix this transport uses (u16 for TCP, u32 for TLS).
  virtual length_prefix handshake_prefix() const noexcept = 0;
  // Closes the stream; outstanding operations complete with operation_aborted. Idempotent.
  // Once it returns, an outstanding read writes nothing more into its buffers (packet_stream
  // reads into memory its handler may free once told the stream is closed).
  virtual void close() noexcept = 0;
  virtual bool is_open() const noexcept = 0;
  // "address:port" of the peer, for logs; "" when unknown.
  virtual std::string remote_endpoint_text() const = 0;

  template <typename MutableBufferSequence, typename Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, io_signature>(
        [this](auto handler, const MutableBufferSequence& bufs) {
          mutable_buffers list;
          for (auto it = boost::asio::buffer_sequence_begin(bufs);
               it != boost::asio::buffer_sequence_end(bufs) && list.count < max_buffers; ++it) {
            list.items[list.count++] = boost::asio::mutable_buffer(*it);
          }
          do_read_some(list, io_handler(std::move(handler)));
        },
        token, buffers);
  }

  template <typename ConstBufferSequence, typename Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, io_signature>(
        [this](auto handler, const ConstBufferSequence& bufs) {
          const_buffers list;
          for (auto it = boost::asio::buffer_sequence_begin(bufs);
               it != boost::asio::buffer_sequence_end(bufs) && list.count < max_buffers; ++it) {
            list.items[list.count++] = boost::asio::const_buffer(*it);
          }
          do_write_some(list, io_handler(std::move(handler)));
        },
        token, buffers);
  }

 protected:
  // The implementation starts the operation before returning, copying the descriptor list if
  // it needs it later; the bytes described stay valid until completion.
  virtual void do_read_some(const mutable_buffers& buffers, io_handler handler) = 0;
  virtual void do_write_some(const const_buffers& buffers, io_handler handler) = 0;
};

}  // namespace edist::dist
