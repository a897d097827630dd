#include <edist/etf/errors.hpp>

namespace edist::etf {

namespace {

class etf_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "edist.etf"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::ok:
        return "success";
      case errc::truncated:
        return "external term data ends inside a term";
      case errc::bad_version:
        return "external term data does not start with version byte 131";
      case errc::unknown_tag:
        return "unknown or unsupported external term format tag";
      case errc::local_ext_unsupported:
        return "LOCAL_EXT terms are only meaningful inside the node that encoded them; not "
               "supported";
      case errc::depth_exceeded:
        return "term nesting deeper than the decode limit";
      case errc::too_large:
        return "term larger than the decode limits (input size, decompressed size or element "
               "count)";
      case errc::count_exceeds_input:
        return "element count larger than the remaining input could hold";
      case errc::atom_too_long:
        return "atom longer than 255 characters";
      case errc::invalid_atom_encoding:
        return "atom text is not valid UTF-8";
      case errc::bad_atom_cache_ref:
        return "atom cache reference without a matching atom cache entry";
      case errc::bad_compressed_data:
        return "compressed term is corrupt or its size does not match";
      case errc::invalid_term:
        return "structurally invalid term";
      case errc::duplicate_map_key:
        return "map repeats a key";
      case errc::trailing_bytes:
        return "bytes left after the end of the term";
    }
    return "unknown edist.etf error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& etf_category() noexcept {
  static const etf_error_category category;
  return category;
}

}  // namespace edist::etf
