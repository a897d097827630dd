#include "edist/epmd/client.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <exception>
#include <memory>
#include <system_error>
#include <utility>
#include <vector>

#include "registration_access.hpp"

namespace edist::epmd {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost_error = boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

template <typename T>
struct outcome {
  std::error_code error;
  T value{};
};

// One exchange with EPMD. The coroutine and the deadline handler both run on the strand the
// objects were made with, so the handler may close the socket without racing the coroutine.
struct exchange {
  explicit exchange(const asio::any_io_executor& strand)
      : socket(strand), resolver(strand), timer(strand) {}
  tcp::socket socket;
  tcp::resolver resolver;
  asio::steady_timer timer;
  bool timed_out = false;
};

void arm_deadline(const std::shared_ptr<exchange>& x, std::chrono::milliseconds timeout) {
  x->timer.expires_after(timeout);
  x->timer.async_wait([x](const boost_error& ec) {
    if (ec) return;
    x->timed_out = true;
    x->resolver.cancel();
    boost_error ignored;
    x->socket.close(ignored);
  });
}

// Cancels the deadline when an operation ends, however it ends, so that a blocking call's
// io_context runs out of work at once.
struct deadline_guard {
  exchange& x;
  ~deadline_guard() { x.timer.cancel(); }
};

// An I/O failure as the caller should see it.
std::error_code io_failure(const exchange& x, const boost_error& ec) {
  if (x.timed_out) return errc::timeout;
  if (ec == asio::error::eof) return errc::truncated_reply;
  return ec;
}

asio::awaitable<std::error_code> connect(exchange& x, const client_options& options) {
  const auto port = resolve_port(options.port);
  auto [rec, endpoints] =
      co_await x.resolver.async_resolve(options.host, std::to_string(port), use_tuple);
  if (rec) co_return x.timed_out ? errc::timeout : errc::unreachable;
  auto [cec, endpoint] = co_await asio::async_connect(x.socket, endpoints, use_tuple);
  (void)endpoint;
  if (cec) co_return x.timed_out ? errc::timeout : errc::unreachable;
  co_return std::error_code{};
}

asio::awaitable<std::error_code> send(exchange& x, const std::vector<std::uint8_t>& request) {
  auto [ec, n] = co_await asio::async_write(x.socket, asio::buffer(request), use_tuple);
  (void)n;
  co_return ec ? io_failure(x, ec) : std::error_code{};
}

// Reads until `decode` yields a value or an error (ALIVE2 and PORT2 replies say their own
// length, and are never longer than a few KiB).
template <typename T, typename Decode>
asio::awaitable<outcome<T>> receive(exchange& x, Decode decode) {
  std::vector<std::uint8_t> in;
  std::array<std::uint8_t, 1024> chunk{};
  for (;;) {
    auto [ec, n] = co_await x.socket.async_read_some(asio::buffer(chunk), use_tuple);
    if (ec) co_return outcome<T>{io_failure(x, ec), T{}};
    in.insert(in.end(), chunk.begin(), chunk.begin() + static_cast<long>(n));
    auto d = decode(std::span<const std::uint8_t>(in));
    if (d.error) co_return outcome<T>{d.error, T{}};
    if (d.value) co_return outcome<T>{{}, std::move(*d.value)};
  }
}

asio::awaitable<outcome<registration>> do_register(std::shared_ptr<exchange> x,
                                                   client_options options, node_info node) {
  std::vector<std::uint8_t> request;
  if (auto ec = encode_alive2_request(node, request)) co_return outcome<registration>{ec, {}};
  arm_deadline(x, options.timeout);
  deadline_guard guard{*x};
  if (auto ec = co_await connect(*x, options)) co_return outcome<registration>{ec, {}};
  if (auto ec = co_await send(*x, request)) co_return outcome<registration>{ec, {}};
  auto [ec, reply] = co_await receive<alive2_reply>(*x, decode_alive2_reply);
  if (ec) co_return outcome<registration>{ec, {}};
  if (x->timed_out) co_return outcome<registration>{errc::timeout, {}};
  if (reply.result != 0) co_return outcome<registration>{errc::name_in_use, {}};
  co_return outcome<registration>{
      {}, detail::registration_access::make(std::move(x->socket), std::move(node), reply.creation)};
}

asio::awaitable<outcome<node_info>> do_lookup(std::shared_ptr<exchange> x, client_options options,
                                              std::string name) {
  std::vector<std::uint8_t> request;
  if (auto ec = encode_port_please2_request(name, request)) co_return outcome<node_info>{ec, {}};
  arm_deadline(x, options.timeout);
  deadline_guard guard{*x};
  if (auto ec = co_await connect(*x, options)) co_return outcome<node_info>{ec, {}};
  if (auto ec = co_await send(*x, request)) co_return outcome<node_info>{ec, {}};
  auto [ec, reply] = co_await receive<port2_reply>(*x, decode_port2_reply);
  if (ec) co_return outcome<node_info>{ec, {}};
  if (reply.result != 0 || !reply.node) co_return outcome<node_info>{errc::name_not_found, {}};
  co_return outcome<node_info>{{}, std::move(*reply.node)};
}

asio::awaitable<outcome<names_reply>> do_names(std::shared_ptr<exchange> x,
                                               client_options options) {
  std::vector<std::uint8_t> request;
  encode_names_request(request);
  arm_deadline(x, options.timeout);
  deadline_guard guard{*x};
  if (auto ec = co_await connect(*x, options)) co_return outcome<names_reply>{ec, {}};
  if (auto ec = co_await send(*x, request)) co_return outcome<names_reply>{ec, {}};
  // The reply ends when EPMD closes the connection.
  std::vector<std::uint8_t> in;
  std::array<std::uint8_t, 4096> chunk{};
  for (;;) {
    auto [ec, n] = co_await x->socket.async_read_some(asio::buffer(chunk), use_tuple);
    if (ec == asio::error::eof && !x->timed_out) break;
    if (ec) co_return outcome<names_reply>{io_failure(*x, ec), {}};
    if (in.size() + n > options.max_names_reply)
      co_return outcome<names_reply>{errc::reply_too_large, {}};
    in.insert(in.end(), chunk.begin(), chunk.begin() + static_cast<long>(n));
  }
  auto d = decode_names_reply(in);
  if (d.error) co_return outcome<names_reply>{d.error, {}};
  co_return outcome<names_reply>{{}, std::move(*d.value)};
}

// Runs `op` on a fresh strand and delivers its outcome to `handler` through the handler's
// associated executor. co_spawn guarantees the completion is never inline.
template <typename T, typename MakeOp>
void launch(const asio::any_io_executor& ex,
            asio::any_completion_handler<void(std::error_code, T)> handler, MakeOp make_op) {
  asio::any_io_executor strand = asio::make_strand(ex);
  auto x = std::make_shared<exchange>(strand);
  auto handler_ex = asio::get_associated_executor(handler, strand);
  asio::co_spawn(strand, make_op(std::move(x)),
                 asio::bind_executor(handler_ex, [h = std::move(handler)](std::exception_ptr e,
                                                                          outcome<T> r) mutable {
                   // Only allocation can throw in the operations; report it as an error.
                   if (e) r = {std::make_error_code(std::errc::not_enough_memory), T{}};
                   std::move(h)(r.error, std::move(r.value));
                 }));
}

template <typename T, typename Start>
T run_blocking(const client_options& options, std::error_code& ec, Start start,
               std::shared_ptr<asio::io_context>* keep = nullptr) {
  auto ctx = std::make_shared<asio::io_context>(1);
  T result{};
  ec = make_error_code(errc::timeout);
  start(ctx->get_executor(), options, [&](std::error_code e, T value) {
    ec = e;
    result = std::move(value);
  });
  ctx->run();
  if (keep) *keep = std::move(ctx);
  return result;
}

template <typename T>
T value_or_throw(T value, const std::error_code& ec, const char* what) {
  if (ec) throw std::system_error(ec, what);
  return value;
}

}  // namespace

void detail::client_ops::start_register(
    asio::any_io_executor ex, client_options options, node_info node,
    asio::any_completion_handler<void(std::error_code, registration)> handler) {
  launch<registration>(ex, std::move(handler), [&](std::shared_ptr<exchange> x) {
    return do_register(std::move(x), std::move(options), std::move(node));
  });
}

void detail::client_ops::start_lookup(
    asio::any_io_executor ex, client_options options, std::string name,
    asio::any_completion_handler<void(std::error_code, node_info)> handler) {
  launch<node_info>(ex, std::move(handler), [&](std::shared_ptr<exchange> x) {
    return do_lookup(std::move(x), std::move(options), std::move(name));
  });
}

void detail::client_ops::start_names(
    asio::any_io_executor ex, client_options options,
    asio::any_completion_handler<void(std::error_code, names_reply)> handler) {
  launch<names_reply>(ex, std::move(handler), [&](std::shared_ptr<exchange> x) {
    return do_names(std::move(x), std::move(options));
  });
}

registration register_node(const client_options& options, node_info node, std::error_code& ec) {
  std::shared_ptr<asio::io_context> ctx;
  auto r = run_blocking<registration>(
      options, ec,
      [&](asio::any_io_executor ex, const client_options& o, auto done) {
        client(ex, o).async_register_node(std::move(node), std::move(done));
      },
      &ctx);
  if (!ec) detail::registration_access::adopt_context(r, std::move(ctx));
  return r;
}

registration register_node(const client_options& options, node_info node) {
  std::error_code ec;
  auto r = register_node(options, std::move(node), ec);
  if (ec) throw std::system_error(ec, "epmd register");
  return r;
}

node_info lookup(const client_options& options, std::string_view name, std::error_code& ec) {
  return run_blocking<node_info>(options, ec,
                                 [&](asio::any_io_executor ex, const client_options& o, auto done) {
                                   client(ex, o).async_lookup(std::string(name), std::move(done));
                                 });
}

node_info lookup(const client_options& options, std::string_view name) {
  std::error_code ec;
  auto r = lookup(options, name, ec);
  return value_or_throw(std::move(r), ec, "epmd lookup");
}

names_reply names(const client_options& options, std::error_code& ec) {
  return run_blocking<names_reply>(
      options, ec, [&](asio::any_io_executor ex, const client_options& o, auto done) {
        client(ex, o).async_names(std::move(done));
      });
}

names_reply names(const client_options& options) {
  std::error_code ec;
  auto r = names(options, ec);
  return value_or_throw(std::move(r), ec, "epmd names");
}

}  // namespace edist::epmd
