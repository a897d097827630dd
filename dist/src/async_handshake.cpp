#include "edist/dist/async_handshake.hpp"

#include <array>
#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <type_traits>

#include "edist/dist/error.hpp"

namespace edist::dist {
namespace {

namespace asio = boost::asio;
using handler_type = asio::any_completion_handler<handshake_signature>;

template <typename Machine>
class runner : public std::enable_shared_from_this<runner<Machine>> {
 public:
  runner(transport& tp, Machine machine, handshake_options opts, handler_type handler)
      : tp_(tp),
        machine_(std::move(machine)),
        opts_(std::move(opts)),
        handler_(std::move(handler)),
        timer_(tp.get_executor()),
        work_(asio::prefer(asio::get_associated_executor(handler_, tp.get_executor()),
                           asio::execution::outstanding_work.tracked)) {}

  void start() { step(machine_.start()); }

 private:
  void step(handshake_action a) {
    for (;;) {
      switch (a.step) {
        case handshake_step::write:
          reading_ = false;
          arm_timer();
          started_async_ = true;
          asio::async_write(
              tp_, asio::buffer(a.data.data(), a.data.size()),
              [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
                self->on_written(ec);
              });
          return;
        case handshake_step::read:
          if (!reading_) {  // a new step starts: the peer gets a fresh net_setuptime
            reading_ = true;
            arm_timer();
          }
          started_async_ = true;
          tp_.async_read_some(asio::buffer(buf_), [self = this->shared_from_this()](
                                                      boost::system::error_code ec, std::size_t n) {
            self->on_read(ec, n);
          });
          return;
        case handshake_step::decide_status:
          reading_ = false;
          if constexpr (std::is_same_v<Machine, handshake_acceptor>) {
            const accept_decision d =
                opts_.hooks.on_peer
                    ? opts_.hooks.on_peer(machine_.peer_node(), machine_.peer_flags())
                    : accept_decision::ok;
            if (opts_.hooks.cookie_for) {
              std::string cookie = opts_.hooks.cookie_for(machine_.peer_node());
              if (!cookie.empty()) machine_.use_cookie(std::move(cookie));
            }
            a = machine_.decide(d);
            continue;
          } else {
            a = {handshake_step::failed, {}, make_error_code(errc::unexpected_message)};
            continue;
          }
        case handshake_step::decide_alive:
          reading_ = false;
          if constexpr (std::is_same_v<Machine, handshake_initiator>) {
            const bool keep =
                opts_.hooks.on_alive ? opts_.hooks.on_alive(machine_.result().peer_node) : true;
            a = machine_.answer_alive(keep);
            continue;
          } else {
            a = {handshake_step::failed, {}, make_error_code(errc::unexpected_message)};
            continue;
          }
        case handshake_step::done:
          complete({});
          return;
        case handshake_step::failed:
          tp_.close();
          complete(a.error ? a.error : make_error_code(errc::malformed_handshake));
          return;
      }
    }
  }

  void arm_timer() {
    timer_.expires_after(opts_.net_setuptime);
    timer_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
      if (ec || self->finished_) return;
      self->timed_out_ = true;
      self->tp_.close();  // the pending read or write completes with operation_aborted
    });
  }

  void on_written(boost::system::error_code ec) {
    if (finished_) return;
    if (timed_out_) return fail(errc::setup_timeout);
    if (ec) return fail(ec);
    step(machine_.on_written());
  }

  void on_read(boost::system::error_code ec, std::size_t n) {
    if (finished_) return;
    if (timed_out_) return fail(errc::setup_timeout);
    if (ec == asio::error::eof || ec == asio::error::connection_reset) {
      return step(machine_.on_eof());
    }
    if (ec) return fail(ec);
    step(machine_.on_read(std::span<const std::uint8_t>(buf_.data(), n)));
  }

  void fail(std::error_code ec) {
    tp_.close();
    complete(ec);
  }

  void complete(std::error_code ec) {
    finished_ = true;
    timer_.cancel();
    handshake_outcome out;
    out.result = machine_.result();
    if (ec) {
      out.detail = machine_.error_detail();
      if (out.detail.empty()) out.detail = ec.message();
    } else {
      out.leftover = machine_.take_leftover();
    }
    auto work = std::move(work_);
    if (started_async_) {
      asio::dispatch(tp_.get_executor(), asio::append(std::move(handler_), ec, std::move(out)));
    } else {
      asio::post(tp_.get_executor(), asio::append(std::move(handler_), ec, std::move(out)));
    }
  }

  transport& tp_;
  Machine machine_;
  handshake_options opts_;
  handler_type handler_;
  asio::steady_timer timer_;
  asio::any_completion_executor work_;
  std::array<std::uint8_t, 1024> buf_{};
  bool reading_ = false;
  bool timed_out_ = false;
  bool finished_ = false;
  bool started_async_ = false;
};

}  // namespace

namespace detail {

void start_handshake_initiate(transport& tp, handshake_config cfg, std::string peer_node,
                              handshake_options opts,
                              boost::asio::any_completion_handler<handshake_signature> handler) {
  cfg.prefix = tp.handshake_prefix();
  auto r = std::make_shared<runner<handshake_initiator>>(
      tp, handshake_initiator(std::move(cfg), std::move(peer_node)), std::move(opts),
      std::move(handler));
  r->start();
}

void start_handshake_accept(transport& tp, handshake_config cfg, handshake_options opts,
                            boost::asio::any_completion_handler<handshake_signature> handler) {
  cfg.prefix = tp.handshake_prefix();
  auto r = std::make_shared<runner<handshake_acceptor>>(tp, handshake_acceptor(std::move(cfg)),
                                                        std::move(opts), std::move(handler));
  r->start();
}

}  // namespace detail
}  // namespace edist::dist
