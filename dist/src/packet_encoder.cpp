#include "edist/dist/packet_encoder.hpp"

#include <algorithm>
#include <stdexcept>

#include "wire.hpp"

namespace edist::dist {

outgoing_message::encoding& outgoing_message::fresh_encoding() {
  // A writer that still holds the previous encoding keeps it; this message takes a new one.
  if (!encoding_ || encoding_.use_count() != 1) encoding_ = std::make_shared<encoding>();
  encoding_->header.clear();
  encoding_->data.clear();
  encoding_->pieces.clear();
  return *encoding_;
}

void outgoing_message::split_into_pieces() {
  encoding& e = *encoding_;
  const auto bytes = e.data.bytes();
  std::size_t at = 0;
  for (const auto& ref : e.data.references()) {
    if (ref.at > at) e.pieces.push_back(bytes.subspan(at, ref.at - at));
    e.pieces.push_back(ref.bytes());
    at = ref.at;
  }
  if (bytes.size() > at) e.pieces.push_back(bytes.subspan(at));
  size_ = e.data.total_size();
  offset_ = 0;
  piece_ = 0;
  piece_offset_ = 0;
}

outgoing_message::parts outgoing_message::next_packet() {
  parts_.clear();
  if (first_pending_) {
    first_pending_ = false;
    if (!encoding_->header.empty()) parts_.push_back(encoding_->header);
  } else {
    cont_[0] = 131;
    cont_[1] = 70;
    wire::put_u64(cont_.data() + 2, sequence_);
    wire::put_u64(cont_.data() + 10, next_fragment_id_);
    parts_.push_back(cont_);
  }
  std::size_t want = std::min(fragment_size_, size_ - offset_);
  offset_ += want;
  const auto& pieces = encoding_->pieces;
  while (want > 0) {
    const auto piece = pieces[piece_];
    const std::size_t take = std::min(want, piece.size() - piece_offset_);
    parts_.push_back(piece.subspan(piece_offset_, take));
    want -= take;
    piece_offset_ += take;
    if (piece_offset_ == piece.size()) {
      ++piece_;
      piece_offset_ = 0;
    }
  }
  --next_fragment_id_;
  return parts_;
}

packet_encoder::packet_encoder(dist_flags negotiated, std::size_t fragment_size)
    : atom_cache_((negotiated & dflag::dist_hdr_atom_cache) != 0),
      fragments_((negotiated & dflag::fragments) != 0),
      // Fragments are a form of the distribution header, and a BEAM node that negotiated them
      // rejects pass-through packets ("incompatible erlang") even without the atom cache: it
      // then gets headers with no atom cache references.
      dist_header_(atom_cache_ || fragments_),
      fragment_size_(std::max<std::size_t>(fragment_size, 64)) {
  term_options_.without_version = dist_header_;
  term_options_.atom_cache = atom_cache_ ? &cache_ : nullptr;
  term_options_.v4_ports = (negotiated & dflag::v4_nc) != 0;
  term_options_.reference_binaries_from = reference_binaries_from;
}

void packet_encoder::encode(const dist_message& m, outgoing_message& out) {
  if (m.payload.has_value() != has_payload(m.control)) {
    throw std::invalid_argument(m.payload ? "dist_message: payload for an operation without one"
                                          : "dist_message: operation needs a payload");
  }
  auto& e = out.fresh_encoding();

  if (!dist_header_) {
    e.data.put_u8(112);
    encode_control(m.control, e.data, term_options_, m.payload ? &*m.payload : nullptr);
    out.split_into_pieces();
    out.fragment_size_ = out.size_;
    out.fragment_count_ = 1;
    out.next_fragment_id_ = 1;
    out.first_pending_ = true;
    return;
  }

  cache_.begin_message();  // without the atom cache, no references: the header says 0
  encode_control(m.control, e.data, term_options_, m.payload ? &*m.payload : nullptr);
  out.split_into_pieces();

  const std::size_t size = out.size_;
  const bool split = fragments_ && size > fragment_size_;
  e.header.reserve(18 + cache_.header_size());
  e.header.push_back(131);
  if (split) {
    out.fragment_size_ = fragment_size_;
    out.fragment_count_ = (size + fragment_size_ - 1) / fragment_size_;
    out.sequence_ = next_sequence_++;
    e.header.push_back(69);
    e.header.resize(18);
    wire::put_u64(e.header.data() + 2, out.sequence_);
    wire::put_u64(e.header.data() + 10, out.fragment_count_);
  } else {
    out.fragment_size_ = size;
    out.fragment_count_ = 1;
    e.header.push_back(68);
  }
  out.next_fragment_id_ = out.fragment_count_;
  cache_.write_header(e.header);
  out.first_pending_ = true;
}

}  // namespace edist::dist
