#include "edist/dist/handshake.hpp"

#include <utility>

#include "edist/dist/cookie_digest.hpp"
#include "edist/dist/error.hpp"
#include "edist/dist/node_name.hpp"

namespace edist::dist {

// ---------------------------------------------------------------------------------------------
// Shared plumbing

handshake_machine::handshake_machine(handshake_config cfg)
    : cfg_(std::move(cfg)), reader_(cfg_.prefix) {}

handshake_action handshake_machine::on_eof() {
  if (failed_) return {handshake_step::failed, {}, failure_};
  return fail(errc::peer_closed);
}

handshake_action handshake_machine::write_then(handshake_step after) {
  after_write_ = after;
  return {handshake_step::write, out_, {}};
}

handshake_action handshake_machine::fail(std::error_code ec, std::string detail) {
  if (!failed_) {
    failed_ = true;
    failure_ = ec;
    if (!detail.empty()) detail_ = std::move(detail);
  }
  return {handshake_step::failed, {}, failure_};
}

bool handshake_machine::next_message(std::span<const std::uint8_t>& body,
                                     handshake_action& otherwise) {
  std::error_code ec;
  auto msg = reader_.next(ec);
  if (ec) {
    otherwise = fail(ec);
    return false;
  }
  if (!msg) {
    otherwise = read_more();
    return false;
  }
  body = *msg;
  return true;
}

std::error_code handshake_machine::check_flags(dist_flags peer_flags, dist_flags required) {
  const dist_flags missing = missing_flags(required, peer_flags);
  if (missing == 0) return {};
  detail_ = "node " + (result_.peer_node.empty() ? std::string("(unknown)") : result_.peer_node) +
            " lacks mandatory distribution flags: " + flag_names(missing);
  return errc::missing_mandatory_flags;
}

// ---------------------------------------------------------------------------------------------
// Initiator

handshake_initiator::handshake_initiator(handshake_config cfg, std::string peer_node)
    : handshake_machine(std::move(cfg)) {
  result_.peer_node = std::move(peer_node);
}

handshake_action handshake_initiator::start() {
  if (failed_) return fail(failure_);
  if (state_ != state::initial) return fail(errc::unexpected_message, "start() called twice");
  std::string detail;
  if (auto ec = check_node_names(cfg_.this_node, result_.peer_node, &detail)) {
    return fail(ec, std::move(detail));
  }
  // Always version 6: every peer we accept (OTP 25+) has HANDSHAKE_23.
  name_message name;
  name.version = 6;
  name.flags = cfg_.flags;
  name.creation = cfg_.creation;
  name.name = cfg_.this_node;
  out_.clear();
  encode_name(name, cfg_.prefix, out_);
  state_ = state::recv_status;
  return write_then(handshake_step::read);
}

handshake_action handshake_initiator::on_written() {
  out_.clear();
  if (failed_) return fail(failure_);
  switch (after_write_) {
    case handshake_step::done:
      state_ = state::done;
      return finish();
    case handshake_step::failed:
      return fail(failure_);
    default:
      return process();
  }
}

handshake_action handshake_initiator::on_read(std::span<const std::uint8_t> bytes) {
  if (failed_) return fail(failure_);
  reader_.feed(bytes);
  if (state_ != state::recv_status && state_ != state::recv_challenge &&
      state_ != state::recv_ack) {
    return fail(errc::unexpected_message, "bytes fed while no read was requested");
  }
  return process();
}

handshake_action handshake_initiator::answer_alive(bool keep) {
  if (failed_) return fail(failure_);
  if (state_ != state::alive_pending) {
    return fail(errc::unexpected_message, "answer_alive() without an alive status");
  }
  status_message answer;
  answer.status = keep ? handshake_status::true_ : handshake_status::false_;
  out_.clear();
  encode_status(answer, cfg_.prefix, out_);
  if (keep) {
    state_ = state::recv_challenge;
    return write_then(handshake_step::read);
  }
  failed_ = true;
  failure_ = errc::already_connected;
  detail_ = "answered false to alive from " + result_.peer_node + ": the existing connection stays";
  return write_then(handshake_step::failed);
}

handshake_action handshake_initiator::process() {
  for (;;) {
    std::span<const std::uint8_t> body;
    handshake_action otherwise;
    if (!next_message(body, otherwise)) return otherwise;

    switch (state_) {
      case state::recv_status: {
        status_message st;
        if (auto ec = parse_status(body, st)) return fail(ec, "bad status message");
        switch (st.status) {
          case handshake_status::ok:
          case handshake_status::ok_simultaneous:
            state_ = state::recv_challenge;
            continue;
          case handshake_status::nok:
            return fail(errc::simultaneous_connect_lost,
                        result_.peer_node + " answered nok: its own connection to us wins");
          case handshake_status::not_allowed:
            return fail(errc::not_allowed, result_.peer_node + " answered not_allowed");
          case handshake_status::alive:
            state_ = state::alive_pending;
            if (reader_.buffered() != 0) {
              return fail(errc::unexpected_message, "data after the alive status");
            }
            return {handshake_step::decide_alive, {}, {}};
          case handshake_status::named:
            return fail(errc::dynamic_name_unsupported,
                        result_.peer_node + " assigned a dynamic name we did not ask for");
          case handshake_status::true_:
          case handshake_status::false_:
            return fail(errc::unexpected_message, "alive answer received as status");
        }
        return fail(errc::malformed_handshake);
      }

      case state::recv_challenge: {
        if (!body.empty() && body[0] == 'n') {
          return fail(errc::missing_mandatory_flags,
                      result_.peer_node + " answered with a version 5 challenge (no HANDSHAKE_23)");
        }
        challenge_message ch;
        if (auto ec = parse_challenge(body, ch)) return fail(ec, "bad challenge message");
        if (ch.name != result_.peer_node) {
          return fail(errc::name_mismatch,
                      "dialled " + result_.peer_node + " but " + ch.name + " answered");
        }
        const dist_flags peer = expand_flags(ch.flags);
        if ((peer & dflag::handshake_23) == 0) {
          return fail(errc::missing_mandatory_flags,
                      result_.peer_node + " lacks mandatory distribution flags: HANDSHAKE_23");
        }
        if (auto ec = check_flags(peer, cfg_.required_flags)) return fail(ec);
        result_.peer_flags = peer;
        result_.peer_creation = ch.creation;
        result_.peer_version = 6;
        result_.flags = negotiate_flags(cfg_.flags, peer);

        challenge_reply_message reply;
        if (random_challenge(our_challenge_) ||
            compute_digest(cfg_.cookie, ch.challenge, reply.digest)) {
          return fail(errc::crypto_failure);
        }
        reply.challenge = our_challenge_;
        out_.clear();
        encode_challenge_reply(reply, cfg_.prefix, out_);
        state_ = state::recv_ack;
        if (reader_.buffered() != 0) {
          return fail(errc::unexpected_message, "data after the challenge");
        }
        return write_then(handshake_step::read);
      }

      case state::recv_ack: {
        challenge_ack_message ack;
        if (auto ec = parse_challenge_ack(body, ack)) return fail(ec, "bad challenge ack");
        md5_digest expected;
        if (compute_digest(cfg_.cookie, our_challenge_, expected)) {
          return fail(errc::crypto_failure);
        }
        if (!digests_equal(expected, ack.digest)) {
          return fail(errc::bad_cookie,
                      result_.peer_node + " does not share our cookie (challenge ack mismatch)");
        }
        state_ = state::done;
        return finish();
      }

      default:
        return fail(errc::unexpected_message);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Acceptor

handshake_acceptor::handshake_acceptor(handshake_config cfg) : handshake_machine(std::move(cfg)) {}

handshake_action handshake_acceptor::start() {
  if (failed_) return fail(failure_);
  if (state_ != state::initial) return fail(errc::unexpected_message, "start() called twice");
  if (!split_node_name(cfg_.this_node)) {
    return fail(errc::invalid_node_name, "invalid local node name '" + cfg_.this_node + "'");
  }
  state_ = state::recv_name;
  return read_more();
}

handshake_action handshake_acceptor::on_written() {
  out_.clear();
  switch (after_write_) {
    case handshake_step::done:
      state_ = state::done;
      return finish();
    case handshake_step::failed:
      return fail(failure_);
    default:
      if (failed_) return fail(failure_);
      return process();
  }
}

handshake_action handshake_acceptor::on_read(std::span<const std::uint8_t> bytes) {
  if (failed_) return fail(failure_);
  reader_.feed(bytes);
  if (state_ != state::recv_name && state_ != state::recv_alive_answer &&
      state_ != state::recv_complement && state_ != state::recv_reply) {
    return fail(errc::unexpected_message, "bytes fed while no read was requested");
  }
  return process();
}

handshake_action handshake_acceptor::decide(accept_decision d) {
  if (failed_) return fail(failure_);
  if (state_ != state::deciding) {
    return fail(errc::unexpected_message, "decide() outside decide_status");
  }
  status_message st;
  switch (d) {
    case accept_decision::ok:
      return send_challenge(handshake_status::ok, true);
    case accept_decision::ok_simultaneous:
      return send_challenge(handshake_status::ok_simultaneous, true);
    case accept_decision::alive:
      st.status = handshake_status::alive;
      out_.clear();
      encode_status(st, cfg_.prefix, out_);
      state_ = state::recv_alive_answer;
      return write_then(handshake_step::read);
    case accept_decision::nok:
      st.status = handshake_status::nok;
      failed_ = true;
      failure_ = errc::simultaneous_connect_lost;
      detail_ = "refused " + result_.peer_node + " with nok: our own connection to it wins";
      break;
    case accept_decision::not_allowed:
      st.status = handshake_status::not_allowed;
      failed_ = true;
      failure_ = errc::not_allowed;
      detail_ = "refused " + result_.peer_node + " with not_allowed";
      break;
  }
  out_.clear();
  encode_status(st, cfg_.prefix, out_);
  state_ = state::failed;
  return write_then(handshake_step::failed);
}

handshake_action handshake_acceptor::send_challenge(handshake_status status, bool with_status) {
  out_.clear();
  if (with_status) {
    status_message st;
    st.status = status;
    encode_status(st, cfg_.prefix, out_);
  }
  challenge_message ch;
  if (random_challenge(our_challenge_)) return fail(errc::crypto_failure);
  ch.flags = cfg_.flags;
  ch.challenge = our_challenge_;
  ch.creation = cfg_.creation;
  ch.name = cfg_.this_node;
  encode_challenge(ch, cfg_.prefix, out_);
  // A version 5 peer that has HANDSHAKE_23 sends its high flags and creation in a complement.
  state_ = result_.peer_version == 5 ? state::recv_complement : state::recv_reply;
  return write_then(handshake_step::read);
}

handshake_action handshake_acceptor::process() {
  for (;;) {
    std::span<const std::uint8_t> body;
    handshake_action otherwise;
    if (!next_message(body, otherwise)) return otherwise;

    switch (state_) {
      case state::recv_name: {
        name_message name;
        if (auto ec = parse_name(body, name)) return fail(ec, "bad send_name message");
        if (reader_.buffered() != 0) return fail(errc::unexpected_message, "data after the name");
        result_.peer_node = name.name;
        result_.peer_version = name.version;
        result_.peer_creation = name.creation;
        result_.peer_flags = expand_flags(name.flags);

        // The refusals below answer not_allowed first, so that the peer logs a clear reason
        // instead of a dropped connection.
        auto refuse = [this](std::error_code ec, std::string detail) {
          status_message st;
          st.status = handshake_status::not_allowed;
          out_.clear();
          encode_status(st, cfg_.prefix, out_);
          failed_ = true;
          failure_ = ec;
          detail_ = std::move(detail);
          state_ = state::failed;
          return write_then(handshake_step::failed);
        };

        if ((name.flags & dflag::name_me) != 0) {
          return refuse(errc::dynamic_name_unsupported,
                        "peer on host " + name.name + " asked for a dynamic node name");
        }
        std::string detail;
        if (auto ec = check_node_names(cfg_.this_node, name.name, &detail)) {
          if (ec == errc::invalid_node_name) return fail(ec, std::move(detail));
          return refuse(ec, std::move(detail));
        }
        // We only speak the version 6 challenge, which a version 5 peer understands only if
        // it has HANDSHAKE_23 itself (whatever else its flags imply).
        if (name.version == 5 && (name.flags & dflag::handshake_23) == 0) {
          return refuse(errc::missing_mandatory_flags,
                        "node " + name.name +
                            " lacks mandatory distribution flags: HANDSHAKE_23 (version 5 "
                            "handshake)");
        }
        // A version 5 name carries only the low flag word; the rest is checked after the
        // complement.
        const dist_flags required =
            name.version == 5 ? (cfg_.required_flags & 0xffffffffULL) : cfg_.required_flags;
        if (auto ec = check_flags(result_.peer_flags, required)) return refuse(ec, detail_);
        state_ = state::deciding;
        return {handshake_step::decide_status, {}, {}};
      }

      case state::recv_alive_answer: {
        status_message st;
        if (auto ec = parse_status(body, st)) return fail(ec, "bad answer to alive");
        if (st.status == handshake_status::true_) {
          result_.replaces_existing = true;
          return send_challenge(handshake_status::ok, false);
        }
        if (st.status == handshake_status::false_) {
          return fail(
              errc::already_connected,
              result_.peer_node + " answered false to alive: the existing connection stays");
        }
        return fail(errc::unexpected_message, "answer to alive is neither true nor false");
      }

      case state::recv_complement: {
        complement_message c;
        if (auto ec = parse_complement(body, c)) return fail(ec, "bad complement message");
        result_.peer_flags = expand_flags(result_.peer_flags | (dist_flags{c.flags_high} << 32));
        result_.peer_creation = c.creation;
        if (auto ec = check_flags(result_.peer_flags, cfg_.required_flags)) return fail(ec);
        state_ = state::recv_reply;
        continue;
      }

      case state::recv_reply: {
        challenge_reply_message reply;
        if (auto ec = parse_challenge_reply(body, reply)) return fail(ec, "bad challenge reply");
        md5_digest expected;
        if (compute_digest(cfg_.cookie, our_challenge_, expected)) {
          return fail(errc::crypto_failure);
        }
        if (!digests_equal(expected, reply.digest)) {
          return fail(errc::bad_cookie,
                      result_.peer_node + " does not share our cookie (challenge reply mismatch)");
        }
        challenge_ack_message ack;
        if (compute_digest(cfg_.cookie, reply.challenge, ack.digest)) {
          return fail(errc::crypto_failure);
        }
        result_.flags = negotiate_flags(cfg_.flags, result_.peer_flags);
        out_.clear();
        encode_challenge_ack(ack, cfg_.prefix, out_);
        state_ = state::send_ack;
        return write_then(handshake_step::done);
      }

      default:
        return fail(errc::unexpected_message);
    }
  }
}

}  // namespace edist::dist
