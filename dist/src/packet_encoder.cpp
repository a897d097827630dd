#include "edist/dist/packet_encoder.hpp"

#include <algorithm>
#include <stdexcept>

#include "wire.hpp"

namespace edist::dist {

outgoing_message::parts outgoing_message::next_packet() {
  parts p{};
  const std::size_t chunk = std::min(fragment_size_, data_.size() - offset_);
  const std::span<const std::uint8_t> data = data_.bytes().subspan(offset_, chunk);
  if (first_pending_) {
    first_pending_ = false;
    p[0] = header_;
    p[1] = data;
  } else {
    cont_[0] = 131;
    cont_[1] = 70;
    wire::put_u64(cont_.data() + 2, sequence_);
    wire::put_u64(cont_.data() + 10, next_fragment_id_);
    p[0] = cont_;
    p[1] = data;
  }
  --next_fragment_id_;
  offset_ += chunk;
  return p;
}

packet_encoder::packet_encoder(dist_flags negotiated, std::size_t fragment_size)
    : atom_cache_((negotiated & dflag::dist_hdr_atom_cache) != 0),
      // Fragments carry the distribution header, so they need the atom-cache format too.
      fragments_(atom_cache_ && (negotiated & dflag::fragments) != 0),
      fragment_size_(std::max<std::size_t>(fragment_size, 64)) {
  term_options_.without_version = atom_cache_;
  term_options_.atom_cache = atom_cache_ ? &cache_ : nullptr;
  term_options_.v4_ports = (negotiated & dflag::v4_nc) != 0;
}

void packet_encoder::encode(const dist_message& m, outgoing_message& out) {
  if (m.payload.has_value() != has_payload(m.control)) {
    throw std::invalid_argument(m.payload ? "dist_message: payload for an operation without one"
                                          : "dist_message: operation needs a payload");
  }
  out.header_.clear();
  out.data_.clear();
  out.offset_ = 0;

  if (!atom_cache_) {
    out.data_.put_u8(112);
    etf::encode(to_term(m.control), out.data_, term_options_);
    if (m.payload) etf::encode(*m.payload, out.data_, term_options_);
    out.fragment_size_ = out.data_.size();
    out.fragment_count_ = 1;
    out.next_fragment_id_ = 1;
    out.header_.clear();
    out.first_pending_ = true;
    return;
  }

  cache_.begin_message();
  etf::encode(to_term(m.control), out.data_, term_options_);
  if (m.payload) etf::encode(*m.payload, out.data_, term_options_);

  const std::size_t size = out.data_.size();
  const bool split = fragments_ && size > fragment_size_;
  out.header_.reserve(18 + cache_.header_size());
  out.header_.push_back(131);
  if (split) {
    out.fragment_size_ = fragment_size_;
    out.fragment_count_ = (size + fragment_size_ - 1) / fragment_size_;
    out.sequence_ = next_sequence_++;
    out.header_.push_back(69);
    out.header_.resize(18);
    wire::put_u64(out.header_.data() + 2, out.sequence_);
    wire::put_u64(out.header_.data() + 10, out.fragment_count_);
  } else {
    out.fragment_size_ = size;
    out.fragment_count_ = 1;
    out.header_.push_back(68);
  }
  out.next_fragment_id_ = out.fragment_count_;
  cache_.write_header(out.header_);
  out.first_pending_ = true;
}

}  // namespace edist::dist
