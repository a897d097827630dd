#include "edist/dist/packet_decoder.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <mutex>
#include <stdexcept>

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

  // The smallest kept buffer with room for `size` bytes, else a new one.
  byte_buffer take(std::size_t size) {
    {
      std::lock_guard lock(mutex_);
      auto best = spares_.end();
      for (auto it = spares_.begin(); it != spares_.end(); ++it) {
        if (it->capacity >= size && (best == spares_.end() || it->capacity < best->capacity)) {
          best = it;
        }
      }
      if (best != spares_.end()) {
        byte_buffer b = std::move(*best);
        pooled_ -= b.capacity;
        spares_.erase(best);
        return b;
      }
    }
    return {std::make_unique_for_overwrite<std::uint8_t[]>(size), size};
  }

  // Keeps the buffer within the bounds; a bigger one replaces smaller spares (a run of large
  // messages after small ones would otherwise allocate fresh memory for each). Buffers not
  // kept are freed after the lock is released.
  void give(byte_buffer&& b) noexcept {
    byte_buffer given = std::move(b);
    std::array<byte_buffer, max_spares> evicted;
    std::lock_guard lock(mutex_);
    // Spares smaller than the given buffer, smallest first: those it may replace.
    std::array<std::size_t, max_spares> smaller{};
    std::size_t n_smaller = 0;
    for (std::size_t i = 0; i < spares_.size(); ++i) {
      if (spares_[i].capacity < given.capacity) smaller[n_smaller++] = i;
    }
    std::sort(
        smaller.begin(), smaller.begin() + static_cast<std::ptrdiff_t>(n_smaller),
        [&](std::size_t x, std::size_t y) { return spares_[x].capacity < spares_[y].capacity; });
    std::size_t count = spares_.size();
    std::size_t bytes = pooled_;
    std::size_t n_evict = 0;
    auto full = [&] { return count >= max_spares || bytes + given.capacity > max_bytes_; };
    while (full() && n_evict < n_smaller) {
      --count;
      bytes -= spares_[smaller[n_evict++]].capacity;
    }
    if (full()) return;
    // Erase from the highest index down, so that the other indices stay valid.
    std::sort(smaller.begin(), smaller.begin() + static_cast<std::ptrdiff_t>(n_evict),
              std::greater<>());
    for (std::size_t k = 0; k < n_evict; ++k) {
      evicted[k] = std::move(spares_[smaller[k]]);
      spares_.erase(spares_.begin() + static_cast<std::ptrdiff_t>(smaller[k]));
    }
    pooled_ = bytes + given.capacity;
    spares_.push_back(std::move(given));
  }

 private:
  static constexpr std::size_t max_spares = 8;

  std::mutex mutex_;
  std::vector<byte_buffer> spares_;
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

packet_decoder::placement packet_decoder::refuse(std::error_code ec, std::string detail) {
  placement pl;
  pl.what = placement::kind::error;
  pl.error = ec;
  pl.detail = std::move(detail);
  return pl;
}

etf::shared_bytes packet_decoder::share(byte_buffer&& buffer, std::size_t size) {
  const std::size_t capacity = buffer.capacity;
  std::uint8_t* bytes = buffer.bytes.release();
  // Should allocating the control block throw, shared_ptr gives the buffer to the deleter.
  std::shared_ptr<const std::uint8_t> owner(bytes, [pool = pool_, capacity](const std::uint8_t* b) {
    pool->give({std::unique_ptr<std::uint8_t[]>(const_cast<std::uint8_t*>(b)), capacity});
  });
  return {std::move(owner), std::span<const std::uint8_t>(bytes, size)};
}

void packet_decoder::make_room(partial& p, std::size_t needed) {
  if (p.data.capacity >= needed) return;
  // Geometric growth: a message whose first fragment announced too little grows a few times
  // (never beyond the reassembly bound, which `needed` is within).
  byte_buffer bigger =
      pool_->take(std::max(needed, std::min(p.data.capacity * 2, limits_.max_reassembly_bytes)));
  if (p.size != 0) std::memcpy(bigger.bytes.get(), p.data.bytes.get(), p.size);
  if (p.data.bytes) pool_->give(std::move(p.data));
  p.data = std::move(bigger);
}

packet_decoder::result packet_decoder::decode(std::span<const std::uint8_t> packet) {
  if (placing()) throw std::logic_error("packet_decoder::decode while a packet is placed");
  if (packet.empty()) return fail(errc::bad_packet, "empty packet");
  if (packet[0] == pass_through) {
    return decode_terms(packet.subspan(1), nullptr, {}, false);
  }
  if (packet[0] != version_magic || packet.size() < 2) {
    return fail(errc::bad_packet, "unknown packet type " + std::to_string(packet[0]));
  }
  const std::uint8_t kind = packet[1];
  if (kind == dist_header) {
    auto body = packet.subspan(2);
    std::size_t used = 0;
    if (auto ec = cache_.read_header(body, used, refs_)) return fail(ec, "distribution header");
    return decode_terms(body.subspan(used), nullptr, refs_, true);
  }
  if (kind != dist_frag_header && kind != dist_frag_cont) {
    return fail(errc::bad_packet, "unknown distribution header " + std::to_string(kind));
  }
  // A fragment takes the same steps as a placed one, its body copied in from the packet.
  placement pl = start_fragment(packet, packet.size());
  switch (pl.what) {
    case placement::kind::error:
      return fail(pl.error, std::move(pl.detail));
    case placement::kind::placed:
      if (!pl.into.empty()) std::memcpy(pl.into.data(), packet.data() + pl.taken, pl.into.size());
      return finish_packet();
    case placement::kind::whole:
    case placement::kind::need_head:
      break;
  }
  // A message in one fragment (start_fragment() asks for more only of a partial packet):
  // decoded from the packet itself.
  std::vector<etf::term> refs = std::move(placed_.refs);
  placed_ = {};
  return decode_terms(packet.subspan(pl.taken), nullptr, refs, true);
}

packet_decoder::placement packet_decoder::start_packet(std::span<const std::uint8_t> head,
                                                       std::size_t size) {
  if (placing()) throw std::logic_error("packet_decoder::start_packet while a packet is placed");
  if (head.size() > size) head = head.first(size);
  auto need = [&](std::size_t n) {
    placement pl;
    if (n < size) {
      pl.what = placement::kind::need_head;
      pl.need_head = n;
    }  // else the packet will be all here before its header: decode() it then
    return pl;
  };
  if (head.empty()) return need(2);
  if (head[0] == pass_through) return place_whole(placed_packet::kind::pass_through, size, 1);
  if (head[0] != version_magic) {
    return refuse(errc::bad_packet, "unknown packet type " + std::to_string(head[0]));
  }
  if (head.size() < 2) return need(2);
  const std::uint8_t kind = head[1];
  if (kind == dist_header) return place_whole(placed_packet::kind::dist_header, size, 2);
  if (kind != dist_frag_header && kind != dist_frag_cont) {
    return refuse(errc::bad_packet, "unknown distribution header " + std::to_string(kind));
  }
  if (head.size() < 18) return need(18);
  placement pl = start_fragment(head, size);
  if (placed_.what == placed_packet::kind::single_fragment) {
    pl = place_whole(placed_packet::kind::single_fragment, size, pl.taken);
    // Not placed (memory bound): decode() reads its header again later, to the same effect.
    if (pl.what == placement::kind::whole) placed_ = {};
  }
  return pl;
}

packet_decoder::placement packet_decoder::place_whole(placed_packet::kind what, std::size_t size,
                                                      std::size_t taken) {
  const std::size_t n = size - taken;
  // Memory is committed before the bytes arrive: only within the bound, counted until the
  // message is finished (a peer announcing a huge packet gets the frame reader's growth,
  // which follows the bytes actually received).
  if (reassembly_bytes_ + reserved_bytes_ + n > limits_.max_reassembly_bytes) return {};
  placed_.what = what;
  placed_.size = n;
  placed_.whole = pool_->take(n);
  reserved_bytes_ += n;
  placement pl;
  pl.what = placement::kind::placed;
  pl.taken = taken;
  pl.into = {placed_.whole.bytes.get(), n};
  return pl;
}

packet_decoder::placement packet_decoder::start_fragment(std::span<const std::uint8_t> head,
                                                         std::size_t size) {
  const bool complete = head.size() == size;
  if (head.size() < 18) return refuse(errc::bad_packet, "truncated fragment header");
  const bool first = head[1] == dist_frag_header;
  const std::uint64_t seq = wire::get_u64(head.data() + 2);
  const std::uint64_t frag = wire::get_u64(head.data() + 10);
  if (frag == 0) return refuse(errc::bad_fragment, "fragment id 0");

  if (first) {
    if (pending_.contains(seq)) {
      return refuse(errc::bad_fragment, "sequence " + std::to_string(seq) + " started twice");
    }
    // The header takes effect now, not when the message completes: messages encoded after
    // this one may already rely on the cache entries it creates.
    std::size_t used = 0;
    std::vector<etf::term> refs;
    if (auto ec = cache_.read_header(head.subspan(18), used, refs)) {
      if (complete || ec != errc::bad_packet) return refuse(ec, "fragment header");
      // Perhaps cut short: read it again from more bytes (the entries read so far are
      // written again with the same atoms).
      placement pl;
      pl.what = placement::kind::need_head;
      pl.need_head = std::min(size, std::max(2 * head.size(), head.size() + 1024));
      if (pl.need_head == size) pl = {};
      return pl;
    }
    const std::size_t taken = 18 + used;
    const std::size_t body = size - taken;
    if (frag == 1) {
      // A whole message in one fragment: the caller places or decodes the rest.
      placed_.what = placed_packet::kind::single_fragment;
      placed_.refs = std::move(refs);
      placement pl;
      pl.taken = taken;
      return pl;
    }
    if (pending_.size() >= limits_.max_pending_sequences) {
      return refuse(errc::reassembly_limit, "too many fragmented messages in progress");
    }
    if (reassembly_bytes_ + body > limits_.max_reassembly_bytes) {
      return refuse(errc::reassembly_limit, "reassembly memory bound reached");
    }
    partial& p = pending_[seq];
    p.refs = std::move(refs);
    // Senders cut fragments of one size, so the first tells how big the message is: room for
    // all of it at once saves copying it again on every growth. The room is reserved only
    // within the bound, counted as if received, so announcing a huge message gains a peer
    // no memory.
    const std::size_t announced = body * frag;
    if (announced / frag == body && announced > body &&
        reassembly_bytes_ + reserved_bytes_ + announced <= limits_.max_reassembly_bytes) {
      p.data = pool_->take(announced);
      p.reserved = announced - body;
      reserved_bytes_ += p.reserved;
    } else {
      p.data = pool_->take(body);
    }
    reassembly_bytes_ += body;
    return place_fragment(seq, frag, body, taken, p.data.bytes.get());
  }

  auto it = pending_.find(seq);
  if (it == pending_.end()) {
    return refuse(errc::bad_fragment, "continuation of unknown sequence " + std::to_string(seq));
  }
  partial& p = it->second;
  if (frag != p.next_fragment) {
    return refuse(errc::bad_fragment, "sequence " + std::to_string(seq) + ": fragment " +
                                          std::to_string(frag) + " where " +
                                          std::to_string(p.next_fragment) + " was due");
  }
  const std::size_t body = size - 18;
  if (reassembly_bytes_ + body > limits_.max_reassembly_bytes) {
    return refuse(errc::reassembly_limit, "reassembly memory bound reached");
  }
  make_room(p, p.size + body);
  reassembly_bytes_ += body;
  const std::size_t now_used = std::min(p.reserved, body);
  p.reserved -= now_used;
  reserved_bytes_ -= now_used;
  return place_fragment(seq, frag, body, 18, p.data.bytes.get() + p.size);
}

packet_decoder::placement packet_decoder::place_fragment(std::uint64_t seq, std::uint64_t frag,
                                                         std::size_t body, std::size_t taken,
                                                         std::uint8_t* into) {
  placed_.what = placed_packet::kind::fragment;
  placed_.seq = seq;
  placed_.fragment = frag;
  placed_.size = body;
  placement pl;
  pl.what = placement::kind::placed;
  pl.taken = taken;
  pl.into = {into, body};
  return pl;
}

packet_decoder::result packet_decoder::finish_packet() {
  placed_packet done = std::move(placed_);
  placed_ = {};
  switch (done.what) {
    case placed_packet::kind::none:
      throw std::logic_error("packet_decoder::finish_packet without a placed packet");
    case placed_packet::kind::pass_through:
    case placed_packet::kind::dist_header:
    case placed_packet::kind::single_fragment: {
      reserved_bytes_ -= done.size;
      etf::shared_bytes shared = share(std::move(done.whole), done.size);
      if (done.what == placed_packet::kind::pass_through) {
        return decode_terms(shared.bytes, &shared, {}, false);
      }
      if (done.what == placed_packet::kind::single_fragment) {
        return decode_terms(shared.bytes, &shared, done.refs, true);
      }
      std::size_t used = 0;
      if (auto ec = cache_.read_header(shared.bytes, used, refs_)) {
        return fail(ec, "distribution header");
      }
      shared.bytes = shared.bytes.subspan(used);
      return decode_terms(shared.bytes, &shared, refs_, true);
    }
    case placed_packet::kind::fragment:
      break;
  }
  auto it = pending_.find(done.seq);
  partial& p = it->second;
  p.size += done.size;
  p.next_fragment = done.fragment - 1;
  if (done.fragment != 1) return {};

  // Complete: hand the buffer to shared ownership so big binaries can be slices of it.
  partial complete = std::move(p);
  pending_.erase(it);
  reassembly_bytes_ -= complete.size;
  reserved_bytes_ -= complete.reserved;
  etf::shared_bytes shared = share(std::move(complete.data), complete.size);
  return decode_terms(shared.bytes, &shared, complete.refs, true);
}

}  // namespace edist::dist
