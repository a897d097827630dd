// Byte helpers shared by the dist unit tests.
#pragma once

#include <cstdint>

namespace edist::dist::test {

inline std::uint64_t get_u64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace edist::dist::test
