#include "edist/dist/tcp_transport.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <sstream>

namespace edist::dist {

tcp_transport::tcp_transport(boost::asio::ip::tcp::socket socket) : socket_(std::move(socket)) {
  boost::system::error_code ignored;
  socket_.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
}

transport::executor_type tcp_transport::get_executor() const {
  return const_cast<boost::asio::ip::tcp::socket&>(socket_).get_executor();
}

void tcp_transport::close() noexcept {
  boost::system::error_code ignored;
  // shutdown first so the peer sees an orderly close even if a write is still queued.
  socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

std::string tcp_transport::remote_endpoint_text() const {
  boost::system::error_code ec;
  const auto ep = socket_.remote_endpoint(ec);
  if (ec) return {};
  std::ostringstream out;
  out << ep;
  return out.str();
}

void tcp_transport::do_read_some(const mutable_buffers& buffers, io_handler handler) {
  socket_.async_read_some(buffers, std::move(handler));
}

void tcp_transport::do_write_some(const const_buffers& buffers, io_handler handler) {
  socket_.async_write_some(buffers, std::move(handler));
}

}  // namespace edist::dist
