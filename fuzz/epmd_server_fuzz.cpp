// Fuzzes edist::epmd::server_core: the input is a script of operations on up to eight
// connections (open, bytes in, close, time passing), mixing raw bytes with well-formed
// requests built from the input so that deep states (registrations, re-registrations, caps)
// are reached. After every step a shadow model of the registrations is compared with what
// the server says to clients: NAMES and PORT_PLEASE2 must tell the truth, caps must hold,
// creations must be non-zero. Any mismatch aborts (a finding).
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "edist/epmd/protocol.hpp"
#include "edist/epmd/server_core.hpp"

namespace {

using namespace edist::epmd;
using bytes = std::vector<std::uint8_t>;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "epmd_server_fuzz: invariant broken: %s\n", what);
  std::abort();
}

#define CHECK(cond)           \
  do {                        \
    if (!(cond)) fail(#cond); \
  } while (0)

class input {
 public:
  explicit input(std::span<const std::uint8_t> data) : data_(data) {}
  bool empty() const { return data_.empty(); }
  std::uint8_t byte() {
    if (data_.empty()) return 0;
    auto b = data_[0];
    data_ = data_.subspan(1);
    return b;
  }
  std::span<const std::uint8_t> take(std::size_t n) {
    n = std::min(n, data_.size());
    auto out = data_.first(n);
    data_ = data_.subspan(n);
    return out;
  }

 private:
  std::span<const std::uint8_t> data_;
};

bytes framed(const bytes& body) {
  bytes out{static_cast<std::uint8_t>(body.size() >> 8), static_cast<std::uint8_t>(body.size())};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// A short name from a small alphabet, so that names collide often.
std::string small_name(input& in) {
  static constexpr char alphabet[] = {'a', 'b', 'c', ' ', '@', '\n', '\xC3', '\xA9'};
  std::string name;
  const int len = in.byte() % 4;  // 0..3: empty names too
  for (int i = 0; i < len; ++i) name += alphabet[in.byte() % sizeof(alphabet)];
  return name;
}

struct harness {
  server_core core;
  server_core::time_point now{};
  std::vector<connection_id> open;              // connections the driver still has
  std::map<std::string, connection_id> shadow;  // what should be registered
  std::map<connection_id, std::string> registered_by;

  static server_config make_config() {
    server_config c;
    c.port = 4369;
    c.creation_seed = 0xFFFFFFF0;  // wraps quickly: creation must still never be 0
    c.limits.max_connections = 8;
    c.limits.max_registrations = 4;
    c.limits.max_remembered_names = 4;
    c.limits.max_request_body = 64;
    c.limits.request_timeout = std::chrono::milliseconds(100);
    c.relaxed_command_check = false;
    return c;
  }

  explicit harness(bool relaxed)
      : core([&] {
          auto c = make_config();
          c.relaxed_command_check = relaxed;
          return c;
        }()) {}

  void forget(connection_id id) {
    auto it = registered_by.find(id);
    if (it != registered_by.end()) {
      shadow.erase(it->second);
      registered_by.erase(it);
    }
    std::erase(open, id);
  }

  void drop(connection_id id) {
    auto removed = core.close(id);
    auto it = registered_by.find(id);
    CHECK(removed.has_value() == (it != registered_by.end()));
    if (removed) CHECK(removed->node.name == it->second);
    forget(id);
  }

  void feed(connection_id id, std::span<const std::uint8_t> data) {
    const bool was_registered = registered_by.count(id) != 0;
    auto a = core.receive(id, data, now);
    if (a.registered) {
      CHECK(!was_registered);
      CHECK(a.registered->creation != 0);
      CHECK(!validate_node_name(a.registered->node.name));
      CHECK(shadow.count(a.registered->node.name) == 0);  // never two of one name
      CHECK(a.reply.size() == 6 || a.reply.size() == 4);
      shadow[a.registered->node.name] = id;
      registered_by[id] = a.registered->node.name;
      CHECK(!a.close);
    }
    if (a.unregistered) {
      auto owner = shadow.find(a.unregistered->node.name);
      CHECK(owner != shadow.end());
      registered_by.erase(owner->second);
      shadow.erase(owner);
    }
    if (was_registered && !data.empty()) CHECK(a.close && a.reply.empty());
    for (auto other : a.close_also) forget(other);
    CHECK(!a.stop_server || core.config().relaxed_command_check);
    if (a.close) drop(id);
  }

  // Asks NAMES and PORT_PLEASE2 on fresh connections and compares with the shadow.
  void audit() {
    CHECK(core.registration_count() == shadow.size());
    CHECK(core.registration_count() <= core.config().limits.max_registrations);
    CHECK(core.connection_count() <= core.config().limits.max_connections);
    CHECK(core.connection_count() == open.size());
    for (const auto& r : core.registrations()) {
      auto it = shadow.find(r.node.name);
      CHECK(it != shadow.end() && it->second == r.connection);
    }
    // A spare slot is needed to ask; if all are taken, the caps were checked above.
    auto q = core.open(false, now);
    if (!q) return;
    auto a = core.receive(*q, framed({'n'}), now);
    CHECK(a.close);
    auto d = decode_names_reply(a.reply);
    CHECK(d.value.has_value());
    CHECK(d.value->nodes.size() == shadow.size());
    for (const auto& n : d.value->nodes) CHECK(shadow.count(n.name) == 1);
    CHECK(!core.close(*q));
    for (const auto& [name, id] : shadow) {
      auto p = core.open(false, now);
      CHECK(p.has_value());
      bytes req;
      CHECK(!encode_port_please2_request(name, req));
      auto r = core.receive(*p, req, now);
      auto lk = decode_port2_reply(r.reply);
      CHECK(lk.value && lk.value->node && lk.value->node->name == name);
      CHECK(lk.consumed == r.reply.size());
      core.close(*p);
    }
  }

  void run(input& in) {
    while (!in.empty()) {
      const auto op = in.byte();
      auto pick = [&]() -> std::optional<connection_id> {
        if (open.empty()) return std::nullopt;
        return open[in.byte() % open.size()];
      };
      switch (op % 7) {
        case 0: {
          if (auto id = core.open((op & 0x10) == 0, now)) open.push_back(*id);
          break;
        }
        case 1: {
          if (auto id = pick()) feed(*id, in.take(in.byte() % 32));
          break;
        }
        case 2: {
          if (auto id = pick()) drop(*id);
          break;
        }
        case 3: {
          now += std::chrono::milliseconds(in.byte());
          for (auto id : core.expire(now)) {
            CHECK(registered_by.count(id) == 0);  // registrations never time out
            forget(id);
          }
          break;
        }
        case 4: {
          if (auto id = pick()) {
            node_info n;
            n.name = small_name(in);
            n.port = static_cast<std::uint16_t>(in.byte() << 8 | in.byte());
            n.type = (op & 0x20) ? node_type::hidden : node_type::normal;
            n.highest_version = (op & 0x40) ? 5 : 6;
            n.lowest_version = 5;
            n.extra.assign(in.byte() % 3, 0x42);
            // Encode without the client's name check, so that bad names reach the server.
            bytes body{'x',
                       static_cast<std::uint8_t>(n.port >> 8),
                       static_cast<std::uint8_t>(n.port),
                       static_cast<std::uint8_t>(n.type),
                       0,
                       0,
                       static_cast<std::uint8_t>(n.highest_version),
                       0,
                       5,
                       0,
                       static_cast<std::uint8_t>(n.name.size())};
            body.insert(body.end(), n.name.begin(), n.name.end());
            body.push_back(0);
            body.push_back(static_cast<std::uint8_t>(n.extra.size()));
            body.insert(body.end(), n.extra.begin(), n.extra.end());
            const auto wire = framed(body);
            // Sometimes in two pieces, to exercise reassembly.
            const std::size_t cut = in.byte() % (wire.size() + 1);
            feed(*id, std::span(wire).first(cut));
            if (std::find(open.begin(), open.end(), *id) != open.end())
              feed(*id, std::span(wire).subspan(cut));
          }
          break;
        }
        case 5: {
          if (auto id = pick()) {
            static constexpr std::uint8_t tags[] = {'n', 'z', 'd', 'k', 's', 'x', 'y', 0};
            bytes body{tags[in.byte() % sizeof(tags)]};
            const auto name = small_name(in);
            body.insert(body.end(), name.begin(), name.end());
            feed(*id, framed(body));
          }
          break;
        }
        case 6:
          audit();
          break;
      }
    }
    audit();
    while (!open.empty()) drop(open.back());
    CHECK(core.registration_count() == 0);
    CHECK(core.connection_count() == 0);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  input in(std::span<const std::uint8_t>(data, size));
  harness h((size > 0) && (data[0] & 1));
  h.run(in);
  return 0;
}
