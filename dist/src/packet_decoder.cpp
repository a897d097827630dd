#include "edist/dist/packet_decoder.hpp"

#include <array>
#include <mutex>

#include "edist/dist/error.hpp"
#include "wire.hpp"

namespace edist::dist {
namespace {

constexpr std::uint8_t pass_through = 112;
constexpr std::uint8_t version_magic = 131;
constexpr std::uint8_t dist_header = 68;
constexpr std::uint8_t dist_frag_header = 69;
constexpr std::uint8_t dist_frag_cont = 70;
// The most elements a control tuple has (SPAWN_REQUEST_TT); a longer tuple is malformed and
// left to the general path, which reports it.
constexpr std::size_t max_control_arity = 7;

}  // namespace

// Thread-safe: buffers come back from whichever thread drops the last binary sliced from them.
struct packet_decoder::buffer_pool {
  explicit buffer_pool(std::size_t max_bytes) : max_bytes_(max_bytes) {
    spares_.reserve(max_spares);  // so that give(), called from a deleter, never allocates
  }

  // A buffer with room for `size` bytes if one is kept, else an empty one.
  std::vector<std::uint8_t> take(std::size_t size) {
    std::lock_guard lock(mutex_);
    for (auto it = spares_.begin(); it != spares_.end(); ++it) {
      if (it->capacity() >= size) {
        std::vector<std::uint8_t> v = std::move(*it);
        pooled_ -= v.capacity();
        spares_.erase(it);
        return v;
      }
    }
    return {};
  }

  void give(std::vector<std::uint8_t>&& v) {
    v.clear();
    std::lock_guard lock(mutex_);
    if (spares_.size() == max_spares || pooled_ + v.capacity() > max_bytes_) return;
    pooled_ += v.capacity();
    spares_.push_back(std::move(v));
  }

 private:
  static constexpr std::size_t max_spares = 8;

  std::mutex mutex_;
  std::vector<std::vector<std::uint8_t>> spares_;
  std::size_t pooled_ = 0;
  const std::size_t max_bytes_;
};

packet_decoder::packet_decoder(packet_decoder_limits limits)
    : limits_(limits), pool_(std::make_shared<buffer_pool>(limits.max_pooled_bytes)) {}

packet_decoder::result packet_decoder::fail(std::error_code ec, std::string detail) {
  result r;
  r.what = status::error;
  r.error = ec;
  r.detail = std::move(detail);
  return r;
}

packet_decoder::result packet_decoder::decode_terms(std::span<const std::uint8_t> data,
                                                    const etf::shared_bytes* shared,
                                                    std::span<const etf::term> refs,
                                                    bool without_version) {
  etf::decode_options opts;
  opts.limits = limits_.terms;
  opts.atom_cache_refs = refs;
  opts.without_version = without_version;
  opts.allow_trailing = true;

  auto decode_at = [&](std::size_t offset) {
    if (shared != nullptr) {
      etf::shared_bytes part{shared->owner, shared->bytes.subspan(offset)};
      return etf::decode(part, opts);
    }
    return etf::decode(data.subspan(offset), opts);
  };

  // The control tuple is taken apart as it is read, without building it; what that path does
  // not take (unusual encodings, malformed input) goes through the whole decoder, which also
  // gives the error.
  result r;
  std::string detail;
  std::size_t at = 0;
  std::array<etf::term, max_control_arity> elements;
  std::size_t arity = 0;
  const bool direct = shared != nullptr
                          ? etf::decode_tuple_elements(*shared, opts, elements, arity, at)
                          : etf::decode_tuple_elements(data, opts, elements, arity, at);
  if (direct) {
    if (auto ec = from_elements(std::span<const etf::term>(elements.data(), arity),
                                r.message.control, &detail)) {
      return fail(ec, std::move(detail));
    }
  } else {
    auto control = decode_at(0);
    if (!control) {
      return fail(control.error, "control message at byte " + std::to_string(control.error_offset) +
                                     ": " + control.error.message());
    }
    if (auto ec = from_term(control.value, r.message.control, &detail)) {
      return fail(ec, std::move(detail));
    }
    at = control.consumed;
  }
  const bool needs_payload = has_payload(r.message.control);
  if (at == data.size()) {
    if (needs_payload) {
      return fail(errc::missing_payload,
                  "operation " + std::to_string(operation(r.message.control)));
    }
    r.what = status::message;
    return r;
  }
  if (!needs_payload) {
    return fail(errc::unexpected_payload,
                "operation " + std::to_string(operation(r.message.control)));
  }
  opts.allow_trailing = false;
  auto payload = decode_at(at);
  if (!payload) {
    return fail(payload.error, "payload at byte " + std::to_string(at + payload.error_offset) +
                                   ": " + payload.error.message());
  }
  r.message.payload = std::move(payload.value);
  r.what = status::message;
  return r;
}

packet_decoder::result packet_decoder::decode(std::span<const std::uint8_t> packet) {
  if (packet.empty()) return fail(errc::bad_packet, "empty packet");
  if (packet[0] == pass_through) {
    return decode_terms(packet.subspan(1), nullptr, {}, false);
  }
  if (packet[0] != version_magic || packet.size() < 2) {
    return fail(errc::bad_packet, "unknown packet type " + std::to_string(packet[0]));
  }
  const std::uint8_t kind = packet[1];
  auto body = packet.subspan(2);

  if (kind == dist_header) {
    std::size_t used = 0;
    if (auto ec = cache_.read_header(body, used, refs_)) return fail(ec, "distribution header");
    return decode_terms(body.subspan(used), nullptr, refs_, true);
  }

  if (kind != dist_frag_header && kind != dist_frag_cont) {
    return fail(errc::bad_packet, "unknown distribution header " + std::to_string(kind));
  }
  if (body.size() < 16) return fail(errc::bad_packet, "truncated fragment header");
  const std::uint64_t seq = wire::get_u64(body.data());
  const std::uint64_t frag = wire::get_u64(body.data() + 8);
  body = body.subspan(16);
  if (frag == 0) return fail(errc::bad_fragment, "fragment id 0");

  if (kind == dist_frag_header) {
    if (pending_.contains(seq)) {
      return fail(errc::bad_fragment, "sequence " + std::to_string(seq) + " started twice");
    }
    // The header takes effect now, not when the message completes: messages encoded after
    // this one may already rely on the cache entries it creates.
    std::size_t used = 0;
    std::vector<etf::term> refs;
    if (auto ec = cache_.read_header(body, used, refs)) return fail(ec, "fragment header");
    body = body.subspan(used);
    if (frag == 1) return decode_terms(body, nullptr, refs, true);
    if (pending_.size() >= limits_.max_pending_sequences) {
      return fail(errc::reassembly_limit, "too many fragmented messages in progress");
    }
    if (reassembly_bytes_ + body.size() > limits_.max_reassembly_bytes) {
      return fail(errc::reassembly_limit, "reassembly memory bound reached");
    }
    partial& p = pending_[seq];
    p.refs = std::move(refs);
    // Senders cut fragments of one size, so the first tells how big the message is: room for
    // all of it at once saves copying it again on every growth. The room is reserved only
    // within the bound, counted as if received, so announcing a huge message gains a peer
    // no memory.
    const std::size_t announced = body.size() * frag;
    if (announced / frag == body.size() && announced > body.size() &&
        reassembly_bytes_ + reserved_bytes_ + announced <= limits_.max_reassembly_bytes) {
      p.data = pool_->take(announced);
      p.data.reserve(announced);
      p.reserved = announced - body.size();
      reserved_bytes_ += p.reserved;
    }
    p.data.assign(body.begin(), body.end());
    p.next_fragment = frag - 1;
    reassembly_bytes_ += body.size();
    return {};
  }

  auto it = pending_.find(seq);
  if (it == pending_.end()) {
    return fail(errc::bad_fragment, "continuation of unknown sequence " + std::to_string(seq));
  }
  partial& p = it->second;
  if (frag != p.next_fragment) {
    return fail(errc::bad_fragment, "sequence " + std::to_string(seq) + ": fragment " +
                                        std::to_string(frag) + " where " +
                                        std::to_string(p.next_fragment) + " was due");
  }
  if (reassembly_bytes_ + body.size() > limits_.max_reassembly_bytes) {
    return fail(errc::reassembly_limit, "reassembly memory bound reached");
  }
  p.data.insert(p.data.end(), body.begin(), body.end());
  reassembly_bytes_ += body.size();
  const std::size_t now_used = std::min(p.reserved, body.size());
  p.reserved -= now_used;
  reserved_bytes_ -= now_used;
  p.next_fragment = frag - 1;
  if (frag != 1) return {};

  // Complete: hand the buffer to shared ownership so big binaries can be slices of it.
  partial done = std::move(p);
  pending_.erase(it);
  reassembly_bytes_ -= done.data.size();
  reserved_bytes_ -= done.reserved;
  std::shared_ptr<std::vector<std::uint8_t>> owner(
      new std::vector<std::uint8_t>(std::move(done.data)),
      [pool = pool_](std::vector<std::uint8_t>* v) {
        pool->give(std::move(*v));
        delete v;
      });
  etf::shared_bytes shared{owner, std::span<const std::uint8_t>(*owner)};
  return decode_terms(shared.bytes, &shared, done.refs, true);
}

}  // namespace edist::dist
