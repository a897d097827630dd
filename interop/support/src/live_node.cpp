#include "edist/testing/live_node.hpp"

#include <stdexcept>

#include "edist/testing/names.hpp"

namespace edist::testing {

namespace {

// 'text' with quotes and backslashes escaped: any text is a valid atom this way.
std::string quote_atom(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

// The tag of the requests to the mailbox process. Messages of this shape are the only ones
// the mailbox does not keep for the test.
constexpr const char* take_tag = "'$edist_live_node_take'";

// The mailbox process: on a take request, hands the oldest other message to the requester
// (or `timeout`), leaving later ones queued in order, as the BEAM's selective receive does.
std::string mailbox_source(const std::string& name) {
  const std::string tag = take_tag;
  return "Take = fun Take() -> receive {" + tag +
         ", From, Ref, Timeout} -> receive M when not is_tuple(M); tuple_size(M) =/= 4; "
         "element(1, M) =/= " +
         tag +
         " -> From ! {Ref, {message, M}} after Timeout -> From ! {Ref, timeout} end, Take() "
         "end end, register(" +
         quote_atom(name) + ", spawn(Take)), ok";
}

std::string take_expression(const std::string& name, std::chrono::milliseconds timeout,
                            const std::string& on_message) {
  return "Ref = make_ref(), " + quote_atom(name) + " ! {" + take_tag + ", self(), Ref, " +
         std::to_string(timeout.count()) + "}, receive {Ref, {message, M}} -> " + on_message +
         "; {Ref, timeout} -> timeout end";
}

// The reply arrives within `timeout`; the control channel gets a margin on top.
std::chrono::milliseconds channel_timeout(std::chrono::milliseconds timeout) {
  return timeout + std::chrono::seconds(30);
}

}  // namespace

struct live_node::impl {
  epmd_instance epmd;
  beam_node beam;
  std::string mailbox;
};

live_node live_node::start(live_node_options options) {
  std::optional<erlang_install> otp = options.otp ? options.otp : system_otp();
  if (!otp || !otp->present())
    throw std::runtime_error("live_node: no Erlang/OTP (erl on PATH) to start a node with");
  auto epmd = epmd_instance::start(*otp);
  beam_options b;
  b.name = unique_name(options.name_prefix);
  b.cookie = options.cookie.empty() ? random_cookie() : options.cookie;
  b.hidden = options.hidden;
  b.elixir = options.elixir;
  b.epmd_port = epmd.port();
  b.extra_args = options.extra_args;
  b.start_timeout = options.start_timeout;
  auto beam = beam_node::start(*otp, b);
  beam.eval(mailbox_source(options.mailbox_name));
  return live_node(std::unique_ptr<impl>(
      new impl{std::move(epmd), std::move(beam), std::move(options.mailbox_name)}));
}

live_node::live_node(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
live_node::live_node(live_node&&) noexcept = default;
live_node& live_node::operator=(live_node&& other) noexcept {
  if (this != &other) {
    stop();
    impl_ = std::move(other.impl_);
  }
  return *this;
}
live_node::~live_node() {
  stop();
}

const std::string& live_node::node_name() const {
  return impl_->beam.node_name();
}
const std::string& live_node::cookie() const {
  return impl_->beam.cookie();
}
std::uint16_t live_node::epmd_port() const {
  return impl_->epmd.port();
}
const std::string& live_node::mailbox_name() const {
  return impl_->mailbox;
}
std::vector<std::pair<std::string, std::string>> live_node::environment() const {
  return {{"ERL_EPMD_PORT", std::to_string(epmd_port())}};
}

std::string live_node::eval(std::string_view expressions, std::chrono::milliseconds timeout) {
  return impl_->beam.eval(expressions, timeout);
}

std::string live_node::call(std::string_view module, std::string_view function,
                            std::string_view args, std::chrono::milliseconds timeout) {
  return impl_->beam.eval("erlang:apply(" + quote_atom(module) + ", " + quote_atom(function) +
                              ", " + std::string(args) + ")",
                          timeout);
}

std::vector<std::uint8_t> live_node::call_binary(
    std::string_view module, std::string_view function,
    const std::vector<std::vector<std::uint8_t>>& args_as_etf, std::chrono::milliseconds timeout) {
  return impl_->beam.apply_binary(module, function, args_as_etf, timeout);
}

std::optional<std::string> live_node::receive(std::chrono::milliseconds timeout) {
  // {message, M} formatted, so that a message that is the atom `timeout` stays distinct.
  const std::string r = impl_->beam.eval(take_expression(impl_->mailbox, timeout, "{message, M}"),
                                         channel_timeout(timeout));
  const std::string prefix = "{message,";
  if (r.rfind(prefix, 0) != 0 || r.back() != '}') return std::nullopt;
  return r.substr(prefix.size(), r.size() - prefix.size() - 1);
}

std::optional<std::vector<std::uint8_t>> live_node::receive_binary(
    std::chrono::milliseconds timeout) {
  // The message as a binary of its own encoding, so that the outer encoding is a
  // BINARY_EXT (131, 109, length, bytes) exactly when a message came.
  const auto r = impl_->beam.eval_binary(
      take_expression(impl_->mailbox, timeout, "term_to_binary(M, [{minor_version, 2}])"),
      channel_timeout(timeout));
  if (r.size() < 6 || r[0] != 131 || r[1] != 109) return std::nullopt;
  const std::size_t length = (std::size_t{r[2]} << 24) | (std::size_t{r[3]} << 16) |
                             (std::size_t{r[4]} << 8) | std::size_t{r[5]};
  if (r.size() != 6 + length) return std::nullopt;
  return std::vector<std::uint8_t>(r.begin() + 6, r.end());
}

std::string live_node::output() const {
  return impl_->beam.output();
}
beam_node& live_node::beam() {
  return impl_->beam;
}
epmd_instance& live_node::epmd() {
  return impl_->epmd;
}

void live_node::stop() {
  if (!impl_) return;
  impl_->beam.stop();
  impl_->epmd.stop();
}

}  // namespace edist::testing
