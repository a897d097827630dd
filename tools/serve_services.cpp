#include "serve_services.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <edist/node/gen_server.hpp>
#include <edist/node/rpc.hpp>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "commands.hpp"

namespace edist::tools {

namespace {

using etf::atom;
using etf::term;
namespace asio = boost::asio;

// Sign and magnitude (little-endian base 256) of an integer term.
struct magnitude {
  bool negative = false;
  std::vector<std::uint8_t> digits;
};

magnitude to_magnitude(const term& t) {
  magnitude m;
  if (t.type() == etf::kind::big_integer) {
    m.negative = t.big_negative();
    const auto d = t.big_magnitude();
    m.digits.assign(d.begin(), d.end());
    return m;
  }
  const std::int64_t v = t.as_int64();
  m.negative = v < 0;
  // Through unsigned arithmetic so that the magnitude of INT64_MIN does not overflow.
  std::uint64_t u = m.negative ? ~static_cast<std::uint64_t>(v) + 1 : static_cast<std::uint64_t>(v);
  while (u != 0) {
    m.digits.push_back(static_cast<std::uint8_t>(u & 0xff));
    u >>= 8;
  }
  return m;
}

int compare_digits(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  for (std::size_t i = a.size(); i-- > 0;)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

void trim(std::vector<std::uint8_t>& d) {
  while (!d.empty() && d.back() == 0) d.pop_back();
}

// The processes and their restart state. Shared with the handlers, which may outlive the
// services object until the runtime has finished with them.
struct services_state : std::enable_shared_from_this<services_state> {
  std::shared_ptr<node::node> node_ptr;
  std::function<void(const term&)> on_kv_started;  // set before kv first starts
  std::atomic<bool> stopping{false};

  void start_echo() {
    auto pid = node_ptr->local().spawn_actor([](node::process& self, const term& m) {
      if (m.is_tuple(2)) self.send(m[0], term::tuple({atom("echo"), m[1]}));
    });
    if (auto ec = node_ptr->local().register_name(atom("echo"), pid))
      exit_with(1, "cannot register echo: " + ec.message());
  }

  void start_sink() {
    struct counting {
      term to;
      std::int64_t wanted = 0;
      std::int64_t left = 0;
    };
    auto state = std::make_shared<std::optional<counting>>();
    auto pid = node_ptr->local().spawn_actor([state](node::process& self, const term& m) {
      if (!*state) {
        if (m.is_tuple(3) && m[0].is_atom("count") && m[2].type() == etf::kind::integer &&
            m[2].as_int64() >= 0) {
          const auto n = m[2].as_int64();
          if (n == 0)
            self.send(m[1], term::tuple({atom("done"), term::integer(n)}));
          else
            *state = counting{m[1], n, n};
        }
        return;
      }
      if (--(*state)->left == 0) {
        self.send((*state)->to, term::tuple({atom("done"), term::integer((*state)->wanted)}));
        state->reset();
      }
    });
    if (auto ec = node_ptr->local().register_name(atom("sink"), pid))
      exit_with(1, "cannot register sink: " + ec.message());
  }

  // Starts kv; `attempt` counts retries while the previous incarnation's name is released.
  std::error_code start_kv() {
    auto store = std::make_shared<std::map<term, term>>();
    node::gen::server_handlers h;
    h.on_call = [store](node::process& self, const node::gen::from& caller,
                        const term& req) -> std::optional<term> {
      if (req.is_tuple(3) && req[0].is_atom("put")) {
        (*store)[req[1]] = req[2];
        return atom("ok");
      }
      if (req.is_tuple(2) && req[0].is_atom("get")) {
        auto it = store->find(req[1]);
        if (it == store->end()) return atom("error");
        return term::tuple({atom("ok"), it->second});
      }
      if (req.is_atom("stop")) {
        // As gen_server's {stop, normal, ok, State}: the reply goes out before the exit.
        node::gen::reply(self, caller, atom("ok"));
        self.exit(atom("normal"));
        return std::nullopt;
      }
      return term::tuple({atom("error"), term::tuple({atom("unknown_call"), req})});
    };
    h.on_cast = [store](node::process&, const term& req) {
      if (req.is_tuple(3) && req[0].is_atom("put")) (*store)[req[1]] = req[2];
    };
    std::weak_ptr<services_state> weak = weak_from_this();
    h.on_exit = [weak](const term&) {
      if (auto self = weak.lock()) self->restart_kv(0);
    };
    std::error_code ec;
    auto pid = node::gen::start_server(node_ptr->local(), std::move(h), atom("kv"), ec);
    if (!ec && on_kv_started) on_kv_started(pid);
    return ec;
  }

  void restart_kv(int attempt) {
    if (stopping) return;
    auto ec = start_kv();
    if (!ec || stopping || attempt >= 200) return;
    // The ended incarnation may still hold the name for a moment: try again shortly.
    auto timer = std::make_shared<asio::steady_timer>(node_ptr->local().get_executor(),
                                                      std::chrono::milliseconds(10));
    std::weak_ptr<services_state> weak = weak_from_this();
    timer->async_wait([timer, weak, attempt](const boost::system::error_code& e) {
      if (auto self = weak.lock(); self && !e) self->restart_kv(attempt + 1);
    });
  }

  void start_rex() {
    const auto& fns = node_ptr->rpc_functions();
    fns->add(
        "demo", "add",
        [](std::span<const term> a) {
          auto sum = add_integers(a[0], a[1]);
          if (!sum) throw node::rpc::exception(node::rpc::exception_class::error, atom("badarith"));
          return *sum;
        },
        2);
    fns->add(
        "demo", "echo", [](std::span<const term> a) { return a[0]; }, 1);
    auto name = node_ptr->name_atom();
    fns->add(
        "demo", "node", [name](std::span<const term>) { return name; }, 0);
    std::error_code ec;
    node_ptr->start_rex(ec);
    if (ec) exit_with(1, "cannot start rex: " + ec.message());
  }
};

class services_impl final : public serve_services {
 public:
  explicit services_impl(std::shared_ptr<services_state> s) : state_(std::move(s)) {}
  ~services_impl() override { stop(); }
  void stop() override { state_->stopping = true; }

 private:
  std::shared_ptr<services_state> state_;
};

}  // namespace

std::optional<term> add_integers(const term& a, const term& b) {
  if (!a.is_integer() || !b.is_integer()) return std::nullopt;
  auto x = to_magnitude(a);
  auto y = to_magnitude(b);
  magnitude r;
  if (x.negative == y.negative) {
    r.negative = x.negative;
    unsigned carry = 0;
    for (std::size_t i = 0; i < std::max(x.digits.size(), y.digits.size()) || carry; ++i) {
      unsigned s = carry;
      if (i < x.digits.size()) s += x.digits[i];
      if (i < y.digits.size()) s += y.digits[i];
      r.digits.push_back(static_cast<std::uint8_t>(s & 0xff));
      carry = s >> 8;
    }
  } else {
    // |larger| - |smaller|, with the sign of the larger.
    if (compare_digits(x.digits, y.digits) < 0) std::swap(x, y);
    r.negative = x.negative;
    int borrow = 0;
    for (std::size_t i = 0; i < x.digits.size(); ++i) {
      int d = x.digits[i] - borrow - (i < y.digits.size() ? y.digits[i] : 0);
      borrow = d < 0 ? 1 : 0;
      r.digits.push_back(static_cast<std::uint8_t>(d + (borrow ? 256 : 0)));
    }
  }
  trim(r.digits);
  if (r.digits.empty()) return term::integer(std::int64_t{0});
  return term::big_integer(r.negative, r.digits);
}

std::unique_ptr<serve_services> start_serve_services(
    node::network& net, std::function<void(const term&)> on_kv_started) {
  auto state = std::make_shared<services_state>();
  state->node_ptr = net.node_ptr();
  state->on_kv_started = std::move(on_kv_started);
  state->start_echo();
  state->start_sink();
  if (auto ec = state->start_kv()) exit_with(1, "cannot start kv: " + ec.message());
  state->start_rex();
  return std::make_unique<services_impl>(std::move(state));
}

}  // namespace edist::tools
