// The Erlang term-syntax parser fed arbitrary text. It must never crash, hang or exceed its
// limits; whenever it accepts the text, the term must print (in both syntaxes) and the Erlang
// text must parse back to an equal term, with either printable range.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <edist/etf/text.hpp>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace edist::etf;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // Small limits keep each run fast; the re-parse below uses the defaults, which any printed
  // term fits within.
  parse_limits limits;
  limits.max_depth = 256;
  limits.max_integer_digits = 2000;
  limits.max_binary_size = 1 << 20;
  parse_result r = parse_erlang(text, limits);
  if (!r) {
    if (!r.error || r.error.category() != text_category()) std::abort();
    if (r.line == 0 || r.column == 0 || r.offset > size) std::abort();
    if (r.describe().empty()) std::abort();
    return 0;
  }
  if (r.error) std::abort();
  const term& t = *r.value;
  for (auto range : {printable_range::unicode, printable_range::latin1}) {
    print_options options;
    options.printable = range;
    std::string printed = to_erlang_string(t, options);
    parse_result again = parse_erlang(printed);
    if (!again || !(*again.value == t)) std::abort();
  }
  std::string elixir = to_elixir_string(t);
  if (elixir.empty()) std::abort();
  return 0;
}
