// `edist term`: converts terms between Erlang text and the External Term Format.
//
//   edist term encode '{ok,[1,2]}' > x.bin      text -> ETF bytes (--hex, --compressed[=L])
//   edist term decode x.bin                     ETF -> Erlang text (--elixir for Elixir)
//
// decode reads raw ETF (first byte 131), hex text ("836b0003616263", spaces allowed) or an
// Erlang binary as a node prints term_to_binary's result (<<131,107,0,3,97,98,99>>).
// Bad input ends the program with status 1 and one line on stderr, saying where it went wrong.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <edist/etf/decode.hpp>
#include <edist/etf/encode.hpp>
#include <edist/etf/text.hpp>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"

namespace edist::tools {
namespace {

struct encode_settings {
  std::string text = "-";
  bool hex = false;
  int compression = -1;  // -1: none
};

struct decode_settings {
  std::string input = "-";
  bool hex = false;
  bool elixir = false;
  bool latin1 = false;
};

[[noreturn]] void fail(const std::string& message) {
  exit_with(1, "term: " + message);
}

std::string read_all(const std::string& path) {
  if (path == "-") {
    std::ostringstream buffer;
    buffer << std::cin.rdbuf();
    return buffer.str();
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) fail("cannot read " + path + ": " + std::strerror(errno));
  std::string data((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) fail("cannot read " + path + ": " + std::strerror(errno));
  return data;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Hex digits, with any whitespace between them and an optional 0x in front. Empty when the text
// is not hex; `why` then says what is wrong with it.
std::optional<std::vector<std::uint8_t>> from_hex(std::string_view text, std::string& why) {
  std::size_t start = 0;
  while (start < text.size() && is_space(text[start])) ++start;
  if (text.substr(start, 2) == "0x" || text.substr(start, 2) == "0X") start += 2;
  std::vector<std::uint8_t> out;
  int high = -1;
  for (std::size_t i = start; i < text.size(); ++i) {
    char c = text[i];
    if (is_space(c)) continue;
    int v = hex_value(c);
    if (v < 0) {
      why = "byte " + std::to_string(i) + " is not a hex digit";
      return std::nullopt;
    }
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(high * 16 + v));
      high = -1;
    }
  }
  if (high >= 0) {
    why = "odd number of hex digits";
    return std::nullopt;
  }
  if (out.empty()) {
    why = "no hex digits";
    return std::nullopt;
  }
  return out;
}

// The ETF bytes in `data`: raw, hex or an Erlang binary literal.
std::vector<std::uint8_t> etf_bytes(const std::string& data, bool force_hex) {
  std::string why;
  if (force_hex) {
    auto bytes = from_hex(data, why);
    if (!bytes) fail("input is not hex: " + why);
    return *bytes;
  }
  if (!data.empty() && static_cast<unsigned char>(data[0]) == 131) {
    return {data.begin(), data.end()};
  }
  std::size_t first = 0;
  while (first < data.size() && is_space(data[first])) ++first;
  if (first == data.size()) fail("no input");
  if (data.compare(first, 2, "<<") == 0) {
    etf::parse_result r = etf::parse_erlang(data);
    if (!r) fail("input looks like an Erlang binary but is not one: " + r.describe());
    if (!r.value->is_binary()) fail("input is an Erlang term but not a binary");
    auto bytes = r.value->binary_bytes();
    return {bytes.begin(), bytes.end()};
  }
  auto bytes = from_hex(data, why);
  if (!bytes) {
    fail("input is neither ETF (first byte 131), hex text nor an Erlang binary <<...>> (as hex: " +
         why + ")");
  }
  return *bytes;
}

void write_stdout(std::string_view bytes) {
  std::cout.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  std::cout.flush();
  if (!std::cout) fail("cannot write to standard output");
}

void run_encode(const encode_settings& s) {
  std::string text = s.text == "-" ? read_all("-") : s.text;
  etf::parse_result r = etf::parse_erlang(text);
  if (!r) fail(r.describe());
  etf::encode_options options;
  options.compression_level = s.compression;
  std::vector<std::uint8_t> bytes = etf::term_to_binary(*r.value, options);
  // Raw bytes would garble a terminal: show them as hex there.
  if (s.hex || isatty(STDOUT_FILENO) == 1) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(2 * bytes.size() + 1);
    for (auto b : bytes) {
      hex += digits[b >> 4];
      hex += digits[b & 15];
    }
    hex += '\n';
    write_stdout(hex);
    return;
  }
  write_stdout({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
}

void run_decode(const decode_settings& s) {
  std::vector<std::uint8_t> bytes = etf_bytes(read_all(s.input), s.hex);
  etf::decode_result r = etf::decode(bytes);
  if (!r) {
    fail("invalid ETF at byte " + std::to_string(r.error_offset) + ": " + r.error.message());
  }
  etf::print_options options;
  if (s.latin1) options.printable = etf::printable_range::latin1;
  std::string out =
      s.elixir ? etf::to_elixir_string(r.value, options) : etf::to_erlang_string(r.value, options);
  out += '\n';
  write_stdout(out);
}

}  // namespace

void add_term_command(CLI::App& app) {
  auto* term = app.add_subcommand(
      "term", "Convert terms between Erlang syntax and the External Term Format (ETF)");
  term->require_subcommand(1);

  auto enc = std::make_shared<encode_settings>();
  auto* encode = term->add_subcommand(
      "encode",
      "Read a term in Erlang syntax and write term_to_binary's bytes (as hex on a terminal)");
  encode->add_option("TEXT", enc->text,
                     "The term, e.g. '{ok,[1,2]}'; '-' or nothing reads standard input "
                     "(write `--` before a term that starts with '-')");
  encode->add_flag("-x,--hex", enc->hex, "Write the bytes as hex digits and a newline");
  encode
      ->add_flag("-z{6},--compressed{6}", enc->compression,
                 "Compress as term_to_binary(T, [{compressed, LEVEL}]) does (LEVEL 0-9, default 6)")
      ->check(CLI::Range(0, 9));
  encode->callback([enc] { run_encode(*enc); });

  auto dec = std::make_shared<decode_settings>();
  auto* decode = term->add_subcommand(
      "decode",
      "Read ETF bytes (raw, hex or <<131,...>>) and write the term in Erlang or Elixir syntax");
  decode->add_option("FILE", dec->input, "Input file; '-' or nothing reads standard input");
  decode->add_flag("-x,--hex", dec->hex, "The input is hex text (detected without this flag)");
  decode->add_flag("-e,--elixir", dec->elixir, "Write Elixir syntax (as inspect/2 does)");
  decode->add_flag("--latin1", dec->latin1,
                   "Show only Latin-1 lists as strings, as a node without +pc unicode does");
  decode->callback([dec] { run_decode(*dec); });
}

}  // namespace edist::tools
