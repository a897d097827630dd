// Internal: how the client builds registration objects.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include "edist/epmd/registration.hpp"

namespace edist::epmd::detail {

struct registration_access {
  static registration make(boost::asio::ip::tcp::socket socket, node_info node,
                           std::uint32_t creation) {
    registration r;
    r.socket_ = std::make_shared<boost::asio::ip::tcp::socket>(std::move(socket));
    r.node_ = std::move(node);
    r.creation_ = creation;
    return r;
  }
  static void adopt_context(registration& r, std::shared_ptr<boost::asio::io_context> ctx) {
    r.owned_context_ = std::move(ctx);
  }
};

}  // namespace edist::epmd::detail
