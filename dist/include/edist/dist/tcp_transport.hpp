// The plain TCP transport: a connected boost::asio::ip::tcp::socket.
//
// Owns the socket. Sets TCP_NODELAY (the distribution protocol is latency-bound and edist
// batches its own writes). Not thread-safe, like the socket.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include "edist/dist/transport.hpp"

namespace edist::dist {

class tcp_transport final : public transport {
 public:
  explicit tcp_transport(boost::asio::ip::tcp::socket socket);

  static std::unique_ptr<transport> make(boost::asio::ip::tcp::socket socket) {
    return std::make_unique<tcp_transport>(std::move(socket));
  }

  executor_type get_executor() const override;
  length_prefix handshake_prefix() const noexcept override { return length_prefix::u16; }
  void close() noexcept override;
  bool is_open() const noexcept override { return socket_.is_open(); }
  std::string remote_endpoint_text() const override;

  boost::asio::ip::tcp::socket& socket() noexcept { return socket_; }

 protected:
  void do_read_some(const mutable_buffers& buffers, io_handler handler) override;
  void do_write_some(const const_buffers& buffers, io_handler handler) override;

 private:
  boost::asio::ip::tcp::socket socket_;
};

}  // namespace edist::dist
