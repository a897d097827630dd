#include "edist/epmd/server_core.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "edist/epmd/error.hpp"

namespace edist::epmd {
namespace {

// What the real epmd sends in the creation field of a refused ALIVE2.
constexpr std::uint32_t refused_creation = 99;

std::uint32_t bump(std::uint32_t counter) {
  ++counter;
  return counter < 4 ? 4 : counter;
}

void put_text(std::vector<std::uint8_t>& out, std::string_view s) {
  out.insert(out.end(), s.begin(), s.end());
}

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

server_core::action close_with(std::error_code reason) {
  server_core::action a;
  a.close = true;
  a.reason = reason;
  return a;
}

}  // namespace

server_core::server_core(server_config config) : config_(std::move(config)) {}

std::optional<connection_id> server_core::open(bool local_peer, time_point now) {
  if (connections_.size() >= config_.limits.max_connections) return std::nullopt;
  const auto id = next_id_++;
  connection c;
  c.local_peer = local_peer;
  c.deadline = now + config_.limits.request_timeout;
  connections_.emplace(id, std::move(c));
  return id;
}

server_core::action server_core::receive(connection_id id, std::span<const std::uint8_t> bytes,
                                         time_point now) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return close_with({});
  auto& c = it->second;
  if (bytes.empty()) return {};
  switch (c.state) {
    case phase::registered: {
      // A registered node never writes to epmd again; the real epmd unregisters it when it
      // does, and so do we, at once.
      auto a = close_with(errc::unexpected_data);
      a.unregistered = unregister(c);
      return a;
    }
    case phase::replied:
      // The request was answered; anything more is not part of the protocol.
      return close_with(errc::malformed_request);
    case phase::reading:
      break;
  }
  while (!bytes.empty()) {
    const std::size_t target = c.want == 0 ? 2 : c.want;
    const std::size_t take = std::min(target - c.buffer.size(), bytes.size());
    c.buffer.insert(c.buffer.end(), bytes.begin(), bytes.begin() + static_cast<long>(take));
    bytes = bytes.subspan(take);
    if (c.want == 0 && c.buffer.size() == 2) {
      const std::size_t length = (std::size_t{c.buffer[0]} << 8) | c.buffer[1];
      if (length == 0 || length > config_.limits.max_request_body)
        return close_with(errc::request_too_large);
      c.want = 2 + length;
      c.buffer.reserve(c.want);
    } else if (c.want != 0 && c.buffer.size() == c.want) {
      // One request per connection: bytes beyond it are a protocol error, as in the real epmd.
      if (!bytes.empty()) return close_with(errc::malformed_request);
      std::vector<std::uint8_t> whole = std::move(c.buffer);
      c.buffer = {};
      return handle(id, c, std::span<const std::uint8_t>(whole).subspan(2), now);
    }
  }
  return {};
}

server_core::action server_core::handle(connection_id id, connection& c,
                                        std::span<const std::uint8_t> body, time_point now) {
  request req;
  if (auto ec = decode_request(body, req)) return close_with(ec);
  action a;
  a.close = true;
  // The reply must be taken within a fresh timeout; a registered connection has none.
  c.state = phase::replied;
  c.deadline = now + config_.limits.request_timeout;

  if (auto* r = std::get_if<alive2_request>(&req)) {
    if (!c.local_peer) return close_with(errc::not_local);
    return handle_alive2(id, c, *r);
  }
  if (auto* r = std::get_if<port_please2_request>(&req)) {
    // The real epmd closes without a reply on a name that is not 1..255 characters of UTF-8;
    // any other name is looked up (and may simply not be found).
    std::size_t chars = 0;
    if (!is_valid_utf8(r->name, &chars) || chars < 1 || chars > max_name_chars)
      return close_with(errc::malformed_request);
    const auto* found = find(r->name);
    encode_port2_reply(found ? &found->node : nullptr, a.reply);
    return a;
  }
  if (std::holds_alternative<names_request>(req)) {
    std::vector<name_entry> names;
    for (const auto* e : ordered()) names.push_back({e->record.node.name, e->record.node.port});
    encode_names_reply(config_.port, names, a.reply);
    return a;
  }
  if (std::holds_alternative<dump_request>(req)) {
    if (!c.local_peer) return close_with(errc::not_local);
    // Same text as the real epmd (each line NUL-terminated); "fd" is our connection id.
    put_u32(a.reply, config_.port);
    for (const auto* e : ordered()) {
      put_text(a.reply, "active name     <" + e->record.node.name + "> at port " +
                            std::to_string(e->record.node.port) +
                            ", fd = " + std::to_string(e->record.connection) + "\n");
      a.reply.push_back(0);
    }
    for (const auto& old : remembered_) {
      put_text(a.reply, "old/unused name <" + old.name + ">, port = " + std::to_string(old.port) +
                            ", fd = " + std::to_string(old.connection) + " \n");
      a.reply.push_back(0);
    }
    return a;
  }
  if (std::holds_alternative<kill_request>(req)) {
    if (!c.local_peer) return close_with(errc::not_local);
    if (!config_.relaxed_command_check) {
      put_text(a.reply, "NO");
      a.reason = errc::command_refused;
      return a;
    }
    put_text(a.reply, "OK");
    a.stop_server = true;
    return a;
  }
  if (auto* r = std::get_if<stop_request>(&req)) {
    if (!c.local_peer) return close_with(errc::not_local);
    if (!config_.relaxed_command_check) return close_with(errc::command_refused);
    auto found = registrations_.find(r->name);
    if (found == registrations_.end()) {
      put_text(a.reply, "NOEXIST");
      return a;
    }
    const auto victim = found->second.record.connection;
    a.unregistered = close(victim);
    a.close_also.push_back(victim);
    put_text(a.reply, "STOPPED");
    return a;
  }
  return close_with(errc::malformed_request);
}

server_core::action server_core::handle_alive2(connection_id id, connection& c, alive2_request& r) {
  action a;
  a.close = true;
  const bool extended = r.node.highest_version >= 6;
  auto refuse = [&](errc why) {
    encode_alive2_reply({1, refused_creation, extended}, a.reply);
    a.reason = why;
    return a;
  };
  if (validate_node_name(r.node.name)) return refuse(errc::invalid_name);
  if (r.node.extra.size() > max_extra_bytes) return refuse(errc::extra_too_large);
  if (registrations_.count(r.node.name) != 0) return refuse(errc::name_in_use);
  if (registrations_.size() >= config_.limits.max_registrations)
    return refuse(errc::too_many_registrations);

  entry e;
  e.counter = next_counter(r.node.name);
  e.sequence = next_sequence_++;
  e.record.creation = extended ? e.counter : e.counter % 3 + 1;
  e.record.connection = id;
  e.record.node = std::move(r.node);
  const auto creation = e.record.creation;
  c.registered_name = e.record.node.name;
  registrations_.emplace(c.registered_name, std::move(e));
  c.state = phase::registered;
  c.deadline.reset();
  a.close = false;
  a.registered = registrations_.find(c.registered_name)->second.record;
  encode_alive2_reply({0, creation, extended}, a.reply);
  return a;
}

std::uint32_t server_core::next_counter(const std::string& name) {
  auto known = remembered_index_.find(name);
  if (known != remembered_index_.end()) {
    const auto counter = known->second->counter;
    remembered_.erase(known->second);
    remembered_index_.erase(known);
    return bump(counter);
  }
  // A new name: start from the seed (time-based in the servers) so that creations differ from
  // those a previous server instance handed out; distinct new names get distinct counters.
  return bump(config_.creation_seed + new_names_++);
}

void server_core::remember(const entry& e) {
  if (config_.limits.max_remembered_names == 0) return;
  while (remembered_.size() >= config_.limits.max_remembered_names) {
    remembered_index_.erase(remembered_.front().name);
    remembered_.pop_front();
  }
  const auto& name = e.record.node.name;
  remembered_.push_back({name, e.counter, e.record.node.port, e.record.connection});
  remembered_index_[name] = std::prev(remembered_.end());
}

std::optional<registration_record> server_core::unregister(connection& c) {
  if (c.state != phase::registered) return std::nullopt;
  std::optional<registration_record> removed;
  auto it = registrations_.find(c.registered_name);
  if (it != registrations_.end()) {
    remember(it->second);
    removed = std::move(it->second.record);
    registrations_.erase(it);
  }
  c.registered_name.clear();
  c.state = phase::replied;
  return removed;
}

std::optional<registration_record> server_core::close(connection_id id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return std::nullopt;
  auto removed = unregister(it->second);
  connections_.erase(it);
  return removed;
}

std::vector<connection_id> server_core::expire(time_point now) {
  std::vector<connection_id> expired;
  for (const auto& [id, c] : connections_)
    if (c.deadline && *c.deadline <= now) expired.push_back(id);
  for (auto id : expired) close(id);
  return expired;
}

std::optional<server_core::time_point> server_core::next_deadline() const {
  std::optional<time_point> earliest;
  for (const auto& [id, c] : connections_)
    if (c.deadline && (!earliest || *c.deadline < *earliest)) earliest = c.deadline;
  return earliest;
}

std::vector<const server_core::entry*> server_core::ordered() const {
  std::vector<const entry*> out;
  out.reserve(registrations_.size());
  for (const auto& [name, e] : registrations_) out.push_back(&e);
  std::sort(out.begin(), out.end(),
            [](const entry* a, const entry* b) { return a->sequence > b->sequence; });
  return out;
}

std::vector<registration_record> server_core::registrations() const {
  std::vector<registration_record> out;
  for (const auto* e : ordered()) out.push_back(e->record);
  return out;
}

const registration_record* server_core::find(std::string_view name) const {
  auto it = registrations_.find(name);
  return it == registrations_.end() ? nullptr : &it->second.record;
}

}  // namespace edist::epmd
