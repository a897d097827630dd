// The per-connection atom cache of the distribution header (DFLAG_DIST_HDR_ATOM_CACHE).
//
// Each side of a connection keeps 2048 slots (8 segments of 256). A message's header lists the
// atoms its terms use (at most 255): an entry either stores a new atom in a slot or names a
// slot filled by an earlier message, and the terms then refer to header positions
// (ATOM_CACHE_REF). The receiving side replays the header into its cache; the sending side
// chooses the slots.
//
// Memory is bounded: 2048 atoms per direction, each at most 255 characters. Neither class is
// thread-safe; each belongs to one connection (one direction).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <edist/etf/encode.hpp>
#include <edist/etf/term.hpp>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace edist::dist {

inline constexpr std::size_t atom_cache_size = 2048;
inline constexpr std::size_t max_atom_cache_refs = 255;

// Receiving side.
class atom_cache_in {
 public:
  // Reads the atom-cache part of a distribution header (from NumberOfAtomCacheRefs on),
  // applies new entries to the cache and sets `refs` to the atoms in header order (what
  // ATOM_CACHE_REF indexes). `consumed` is the header's length. errc::bad_packet for a
  // truncated or malformed header (or atom text that is not valid UTF-8 of at most 255
  // characters), errc::bad_atom_cache_ref for a reference to an empty slot.
  std::error_code read_header(std::span<const std::uint8_t> in, std::size_t& consumed,
                              std::vector<etf::term>& refs);

  // The atom in a slot (nil when empty), for tests and diagnostics.
  const etf::term& slot(std::size_t index) const { return slots_.at(index); }

 private:
  std::array<etf::term, atom_cache_size> slots_{};
};

// Sending side: the hook the encoder asks for each atom, and the header it produces.
//
// Use per message: begin_message(); encode the terms with this object as
// etf::encode_options::atom_cache; then write_header(). The cache is updated as references
// are handed out, so the header must be sent (in the message's first packet) before any later
// message that was encoded after it.
class atom_cache_out final : public etf::atom_cache_hook {
 public:
  atom_cache_out();

  void begin_message();
  int reference_for(const etf::term& atom) override;
  // Appends NumberOfAtomCacheRefs, Flags and the references of the current message.
  void write_header(std::vector<std::uint8_t>& out) const;
  std::size_t header_size() const noexcept;
  std::size_t ref_count() const noexcept { return refs_.size(); }

 private:
  // The atom is slots_[slot]: a slot this message refers to is not reassigned before the
  // next begin_message().
  struct ref {
    std::uint16_t slot;
    bool is_new;
  };
  std::array<etf::term, atom_cache_size> slots_{};
  std::array<std::int16_t, atom_cache_size> ref_of_slot_;  // ref number in this message, or -1
  std::vector<ref> refs_;
  bool long_atoms_ = false;
};

}  // namespace edist::dist
