// What the node commands (names, ping, send, call, serve, demo) share: the erl/iex-style node
// flags, a running node with its own io threads, and the parsing of NODE and TERM arguments
// with one-line errors.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <edist/etf/term.hpp>
#include <edist/node/network.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "commands.hpp"

namespace edist::tools {

// --sname / --name / --cookie / --hidden, as erl and iex spell them, and --io-threads.
struct node_flags {
  std::string sname;
  std::string name;
  std::string cookie;
  bool hidden = false;
  // Threads running the node's io_context. One (the default) gives Asio's scheduler the
  // single-thread hint and no second thread to wake per event: the least CPU per message and
  // the lowest latency, on one core at most.
  unsigned io_threads = 1;
  // Microseconds an io thread keeps polling after its last piece of work before it sleeps
  // (node::run_options::busy_wait): lower latency for CPU; 0 sleeps at once.
  unsigned busy_wait_us = 0;
};

void add_node_flags(CLI::App& cmd, node_flags& flags);

// A started node and the threads that run it. The destructor stops the node (unregistering
// it from EPMD) before the threads end.
class running_node {
 public:
  ~running_node();
  running_node(const running_node&) = delete;
  running_node& operator=(const running_node&) = delete;

  node::network& net() { return *net_; }
  node::node& get_node() { return net_->get_node(); }
  boost::asio::any_io_executor executor() { return io_.get_executor(); }
  void stop();

  // A node named by `flags`; without a name, a unique hidden client name on the host of
  // `peer` (so that short and long names match the peer's, as erl_call does). Ends the program
  // with a one-line error when the node cannot start.
  // `epmd_port`: where EPMD is (else $ERL_EPMD_PORT, else 4369); with `embedded_epmd`, one
  // is started there in this process when none answers.
  static std::unique_ptr<running_node> start(const node_flags& flags, const std::string& peer,
                                             bool embedded_epmd,
                                             std::optional<std::uint16_t> epmd_port = {});
  // The same, but a node that cannot start gives nullptr and the reason in `error` (so that a
  // caller can try again, e.g. on another port).
  static std::unique_ptr<running_node> try_start(const node_flags& flags, const std::string& peer,
                                                 bool embedded_epmd,
                                                 std::optional<std::uint16_t> epmd_port,
                                                 std::string& error);

 private:
  explicit running_node(unsigned io_threads)
      : io_(static_cast<int>(io_threads)), io_threads_(io_threads) {}
  boost::asio::io_context io_;
  unsigned io_threads_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::vector<std::thread> threads_;
  std::shared_ptr<node::network> net_;
};

// NODE as given on the command line: "name@host", or "name" for name@<this host>.
std::string full_node_name(const std::string& text);

// Parses TERM (Erlang syntax); ends the program with status 2 and the position of the error.
etf::term parse_term_argument(const std::string& what, const std::string& text);

// Connects to `peer` (blocking up to `timeout`); ends the program with status 1 and the reason
// (unreachable, refused, bad cookie) when it cannot.
void connect_or_exit(running_node& n, const std::string& peer, std::chrono::milliseconds timeout);

// True when every signal sent to `peer` before this call has left this node and been read by
// the peer (a ping round trip on the same, ordered, connection).
bool flush_to(running_node& n, const std::string& peer, std::chrono::milliseconds timeout);

}  // namespace edist::tools
