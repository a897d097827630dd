// Error category and error descriptions of the text parser.
#include <edist/etf/text.hpp>
#include <string>

namespace edist::etf {

namespace {

class text_category_impl : public std::error_category {
 public:
  const char* name() const noexcept override { return "edist.etf.text"; }
  std::string message(int code) const override {
    switch (static_cast<text_errc>(code)) {
      case text_errc::ok:
        return "success";
      case text_errc::syntax_error:
        return "syntax error";
      case text_errc::unexpected_end:
        return "unexpected end of text";
      case text_errc::invalid_character:
        return "invalid character";
      case text_errc::invalid_escape:
        return "invalid escape sequence";
      case text_errc::invalid_number:
        return "invalid number";
      case text_errc::atom_too_long:
        return "atom too long";
      case text_errc::depth_exceeded:
        return "nesting too deep";
      case text_errc::too_large:
        return "too large";
      case text_errc::invalid_binary:
        return "invalid binary";
      case text_errc::not_a_literal:
        return "not a term literal";
    }
    return "unknown text error";
  }
};

}  // namespace

const std::error_category& text_category() noexcept {
  static const text_category_impl category;
  return category;
}

std::string parse_result::describe() const {
  if (!error) return {};
  std::string out = error.message();
  out += " at ";
  out += std::to_string(line);
  out += ':';
  out += std::to_string(column);
  if (!message.empty()) {
    out += ": ";
    out += message;
  }
  return out;
}

parse_error::parse_error(const parse_result& failed)
    : std::runtime_error(failed.describe()),
      code_(failed.error),
      line_(failed.line),
      column_(failed.column),
      offset_(failed.offset) {}

term parse_erlang_or_throw(std::string_view text, const parse_limits& limits) {
  parse_result r = parse_erlang(text, limits);
  if (!r.value) throw parse_error(r);
  return std::move(*r.value);
}

}  // namespace edist::etf
