// The EPMD server as a state machine, without sockets: the registration table and, per client
// connection, the parsing of its one request. The Asio driver (server.hpp) feeds it bytes and
// carries out what it answers (write these bytes, close this connection); tests and the fuzzer
// drive it directly.
//
// It behaves like the real epmd: one request per connection, after which the connection is
// closed, except for a successful ALIVE2 (registration), whose connection stays open and whose
// closing unregisters the name. A malformed request closes that connection without a reply.
// ALIVE2, DUMP, KILL and STOP are accepted from local peers only. KILL and STOP are refused
// unless relaxed_command_check is set (KILL is answered "NO"; STOP gets no reply). Unlike the
// real epmd, which also grants KILL when no node is registered, KILL is refused whenever the
// check is not relaxed: an embedded server must not be stopped by a stray `epmd -kill`.
//
// Creation numbers follow the real epmd: each name has a counter, seeded from
// server_config::creation_seed for a new name and incremented on every re-registration of a
// remembered name (at least 4, so never 0); ALIVE2_X_RESP returns the counter, ALIVE2_RESP
// (peers with highest version < 6) returns counter % 3 + 1. Unregistered names are remembered,
// up to server_limits::max_remembered_names, oldest forgotten first.
//
// Time is passed in by the caller (a steady_clock time point), so timeouts are testable.
// Thread-safety: none; one server_core is used from one thread (or strand) at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "edist/epmd/protocol.hpp"

namespace edist::epmd {

struct server_limits {
  // Largest request body accepted (the length prefix's value); larger closes the connection.
  std::size_t max_request_body = epmd::max_request_body;
  std::size_t max_connections = 2048;    // open client connections, registered ones included
  std::size_t max_registrations = 1024;  // live registrations
  std::size_t max_remembered_names = 1000;
  // A connection must deliver its whole request within this time of being opened, and a reply
  // must be taken by the client within this time of being produced. Registered connections
  // have no deadline.
  std::chrono::milliseconds request_timeout{5000};
};

struct server_config {
  std::uint16_t port = 0;  // the port reported in NAMES and DUMP replies
  server_limits limits;
  std::uint32_t creation_seed = 1;  // the servers use the wall-clock time in seconds
  bool relaxed_command_check = false;
};

using connection_id = std::uint64_t;

// A live registration.
struct registration_record {
  node_info node;
  std::uint32_t creation = 0;  // as returned in the ALIVE2 reply
  connection_id connection = 0;
};

class server_core {
 public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  // What the driver must do after receive().
  struct action {
    std::vector<std::uint8_t> reply;        // write these bytes (may be empty)
    bool close = false;                     // then close this connection
    std::error_code reason;                 // why it is closed or refused, when not a normal end
    std::vector<connection_id> close_also;  // close these other connections (STOP_REQ)
    bool stop_server = false;               // a KILL_REQ was granted: stop after writing
    std::optional<registration_record> registered;    // an ALIVE2 succeeded: this is the record
    std::optional<registration_record> unregistered;  // a registration this request ended
  };

  explicit server_core(server_config config);

  // A new client connection. nullopt when max_connections are open (close the socket).
  // local_peer: the peer address is a loopback address or this host's address of the socket.
  std::optional<connection_id> open(bool local_peer, time_point now);

  // Bytes received on a connection. Unknown or closed ids get {close = true}.
  action receive(connection_id id, std::span<const std::uint8_t> bytes, time_point now);

  // The connection is gone (peer closed, error, or the driver closed it): its registration,
  // if any, is removed and returned. Unknown ids are ignored.
  std::optional<registration_record> close(connection_id id);

  // Closes (as close() does) every connection whose deadline is not after `now` and returns
  // their ids, for the driver to close their sockets.
  std::vector<connection_id> expire(time_point now);
  // The earliest deadline of any open connection.
  std::optional<time_point> next_deadline() const;

  // Live registrations, most recent first (the order of NAMES replies).
  std::vector<registration_record> registrations() const;
  const registration_record* find(std::string_view name) const;
  std::size_t connection_count() const { return connections_.size(); }
  std::size_t registration_count() const { return registrations_.size(); }
  std::size_t remembered_count() const { return remembered_.size(); }
  const server_config& config() const { return config_; }
  void set_port(std::uint16_t port) { config_.port = port; }

 private:
  enum class phase { reading, replied, registered };
  struct connection {
    bool local_peer = false;
    phase state = phase::reading;
    std::vector<std::uint8_t> buffer;  // the request so far, length prefix included
    std::size_t want = 0;              // full request size once the prefix is known
    std::optional<time_point> deadline;
    std::string registered_name;
  };
  struct entry {
    registration_record record;
    std::uint64_t sequence = 0;  // registration order, for NAMES
    std::uint32_t counter = 0;   // the creation counter
  };

  action handle(connection_id id, connection& c, std::span<const std::uint8_t> body,
                time_point now);
  action handle_alive2(connection_id id, connection& c, alive2_request& r);
  std::optional<registration_record> unregister(connection& c);
  std::uint32_t next_counter(const std::string& name);
  void remember(const entry& e);
  std::vector<const entry*> ordered() const;

  server_config config_;
  std::unordered_map<connection_id, connection> connections_;
  std::map<std::string, entry, std::less<>> registrations_;
  struct old_name {
    std::string name;
    std::uint32_t counter = 0;  // the last creation counter
    std::uint16_t port = 0;     // the last port, for DUMP
    connection_id connection = 0;
  };
  // Names no longer registered, oldest first.
  std::list<old_name> remembered_;
  std::unordered_map<std::string, std::list<old_name>::iterator> remembered_index_;
  connection_id next_id_ = 1;
  std::uint64_t next_sequence_ = 1;
  std::uint32_t new_names_ = 0;
};

}  // namespace edist::epmd
