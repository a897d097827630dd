#include "edist/dist/atom_cache.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "edist/dist/error.hpp"

namespace edist::dist {

std::error_code atom_cache_in::read_header(std::span<const std::uint8_t> in, std::size_t& consumed,
                                           std::vector<etf::term>& refs) {
  consumed = 0;
  // On an error the connection closes; refs are left empty rather than half updated.
  auto bad = [&refs](errc e) -> std::error_code {
    refs.clear();
    return e;
  };
  if (in.empty()) return bad(errc::bad_packet);
  const std::size_t n = in[0];
  std::size_t pos = 1;
  if (n == 0) {  // no flags and no references follow
    refs.clear();
    consumed = pos;
    return {};
  }
  const std::size_t flag_bytes = n / 2 + 1;
  if (in.size() < pos + flag_bytes) return bad(errc::bad_packet);
  const std::uint8_t* flags = in.data() + pos;
  pos += flag_bytes;
  auto nibble = [flags](std::size_t i) -> unsigned {
    const std::uint8_t b = flags[i / 2];
    return (i % 2 == 0) ? (b & 0x0f) : (b >> 4);
  };
  const bool long_atoms = (nibble(n) & 0x1) != 0;
  // A sender's messages mostly list the atoms of the message before: an entry that already
  // holds the same atom is kept (no reference count taken and dropped).
  const std::size_t reusable = std::min(refs.size(), n);
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned f = nibble(i);
    const bool is_new = (f & 0x8) != 0;
    const std::size_t segment = f & 0x7;
    if (in.size() < pos + 1) return bad(errc::bad_packet);
    const std::size_t slot = segment * 256 + in[pos++];
    if (is_new) {
      std::size_t len = 0;
      if (long_atoms) {
        if (in.size() < pos + 2) return bad(errc::bad_packet);
        len = (std::size_t{in[pos]} << 8) | in[pos + 1];
        pos += 2;
      } else {
        if (in.size() < pos + 1) return bad(errc::bad_packet);
        len = in[pos++];
      }
      if (in.size() < pos + len) return bad(errc::bad_packet);
      try {
        slots_[slot] =
            etf::term::atom(std::string_view(reinterpret_cast<const char*>(in.data() + pos), len));
      } catch (const std::invalid_argument&) {
        return bad(errc::bad_packet);
      }
      pos += len;
    } else if (!slots_[slot].is_atom()) {
      return bad(errc::bad_atom_cache_ref);
    }
    if (i < reusable) {
      if (!(refs[i] == slots_[slot])) refs[i] = slots_[slot];
    } else {
      refs.push_back(slots_[slot]);
    }
  }
  refs.resize(n);
  consumed = pos;
  return {};
}

atom_cache_out::atom_cache_out() {
  ref_of_slot_.fill(-1);
}

void atom_cache_out::begin_message() {
  for (const ref& r : refs_) ref_of_slot_[r.slot] = -1;
  refs_.clear();
  long_atoms_ = false;
}

int atom_cache_out::reference_for(const etf::term& atom) {
  const auto slot = static_cast<std::uint16_t>(atom.hash() % atom_cache_size);
  const std::int16_t existing = ref_of_slot_[slot];
  if (existing >= 0) {
    // Already in this message: the same atom shares the reference; another atom that hashes
    // to the same slot is written in full rather than evicting a slot this message uses.
    return slots_[slot] == atom ? existing : -1;
  }
  if (refs_.size() >= max_atom_cache_refs) return -1;
  const bool is_new = !(slots_[slot] == atom);
  if (is_new) {
    slots_[slot] = atom;
    if (atom.atom_name().size() > 255) long_atoms_ = true;
  }
  refs_.push_back({slot, is_new});
  ref_of_slot_[slot] = static_cast<std::int16_t>(refs_.size() - 1);
  return static_cast<int>(refs_.size() - 1);
}

std::size_t atom_cache_out::header_size() const noexcept {
  if (refs_.empty()) return 1;
  std::size_t size = 1 + refs_.size() / 2 + 1;
  for (const ref& r : refs_) {
    size += 1;
    if (r.is_new) size += (long_atoms_ ? 2 : 1) + slots_[r.slot].atom_name().size();
  }
  return size;
}

void atom_cache_out::write_header(std::vector<std::uint8_t>& out) const {
  // Sized once and written through a pointer: this runs for every message sent.
  const std::size_t n = refs_.size();
  const std::size_t start = out.size();
  out.resize(start + header_size());
  std::uint8_t* o = out.data() + start;
  *o++ = static_cast<std::uint8_t>(n);
  if (n == 0) return;
  std::uint8_t* flags = o;
  std::memset(flags, 0, n / 2 + 1);
  o += n / 2 + 1;
  auto set_nibble = [flags](std::size_t i, unsigned v) {
    std::uint8_t& b = flags[i / 2];
    b = static_cast<std::uint8_t>(i % 2 == 0 ? (b | v) : (b | (v << 4)));
  };
  for (std::size_t i = 0; i < n; ++i) {
    const ref& r = refs_[i];
    set_nibble(i, (r.is_new ? 0x8u : 0u) | (r.slot / 256u));
  }
  if (long_atoms_) set_nibble(n, 0x1);
  for (const ref& r : refs_) {
    *o++ = static_cast<std::uint8_t>(r.slot % 256);
    if (!r.is_new) continue;
    const std::string_view name = slots_[r.slot].atom_name();
    if (long_atoms_) *o++ = static_cast<std::uint8_t>(name.size() >> 8);
    *o++ = static_cast<std::uint8_t>(name.size());
    std::memcpy(o, name.data(), name.size());
    o += name.size();
  }
}

}  // namespace edist::dist
