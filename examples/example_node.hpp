// The few lines every example shares: an edist node on the network, with threads that run it.
// Copy this file along with the example you start from.
//
//   example_node n("hello_cpp", "beam@localhost", cookie);  // exits with a message on failure
//   n.node().spawn() ... n.connect("beam@localhost") ...
//
// Ownership: example_node owns the io_context, its threads and the network object; the
// destructor stops the node (closing connections, unregistering from EPMD) and joins the
// threads. EPMD is found at $ERL_EPMD_PORT (default 4369); when none answers there, one is
// started inside this process.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <edist/node/network.hpp>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

class example_node {
 public:
  // `name` without a host gets the host of `peer`, so that short names match (a node named
  // name@localhost talks to beam@localhost).
  example_node(const std::string& name, const std::string& peer, const std::string& cookie) {
    edist::node::node_options options;
    const auto at = peer.find('@');
    options.name = name.find('@') != std::string::npos || at == std::string::npos
                       ? name
                       : name + peer.substr(at);
    options.cookie = cookie;
    // Two threads: one may block in a handler while the other keeps the connections going.
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
    std::error_code ec;
    std::string why;
    net_ = edist::node::network::start(io_.get_executor(), options, {}, ec, &why);
    if (!net_) {
      std::cerr << "cannot start node " << options.name << ": " << ec.message() << " " << why
                << "\n";
      stop_threads();
      std::exit(1);
    }
  }

  ~example_node() {
    net_->stop();
    stop_threads();
  }

  example_node(const example_node&) = delete;
  example_node& operator=(const example_node&) = delete;

  edist::node::node& node() { return net_->get_node(); }
  // Where coroutines and other asynchronous work of the example run.
  boost::asio::any_io_executor executor() { return io_.get_executor(); }

  // Connects now instead of on the first message, so that the peer lists this node at once
  // and a failure (wrong cookie, no such node) shows up here.
  bool connect(const std::string& peer) {
    auto done = std::make_shared<std::promise<std::error_code>>();
    node().connect(peer, [done](std::error_code ec) { done->set_value(ec); });
    auto result = done->get_future();
    if (result.wait_for(std::chrono::seconds(15)) != std::future_status::ready) return false;
    if (auto ec = result.get()) {
      std::cerr << "cannot connect to " << peer << ": " << ec.message() << " "
                << net_->failure_detail(peer) << "\n";
      return false;
    }
    return true;
  }

 private:
  void stop_threads() {
    // Let the handlers that close connections run before stopping hard.
    work_.reset();
    for (int i = 0; i < 100 && !io_.stopped(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    io_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::vector<std::thread> threads_;
  std::shared_ptr<edist::node::network> net_;
};
