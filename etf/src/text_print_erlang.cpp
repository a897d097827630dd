// Printing terms in Erlang syntax, as io_lib:format("~0tp", [T]) does on OTP 25.
#include <edist/etf/text.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "text_shared.hpp"
#include "utf8.hpp"

namespace edist::etf {

namespace {

using detail::append_erlang_quoted;
using detail::utf8_decode;

bool named_control(std::int64_t c) {
  return c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\b' || c == '\f' || c == 0x1b;
}

// io_lib_pretty's printable_char/2 and io_lib:printable_list/1 for one code point.
bool printable_char(std::int64_t c, printable_range range) {
  if ((c >= 0x20 && c <= 0x7e) || named_control(c)) return true;
  if (range == printable_range::latin1) return c >= 0xa0 && c <= 0xff;
  return (c >= 0xa0 && c < 0xd800) || (c > 0xdfff && c < 0xfffe) || (c > 0xffff && c <= 0x10ffff);
}

bool printable_list(const term& list, printable_range range) {
  if (!list.is_proper_list()) return false;
  for (const term& e : list.list_elements()) {
    auto c = e.to_int64();
    if (!c || !printable_char(*c, range)) return false;
  }
  return true;
}

void append_atom(std::string& out, std::string_view name, bool quote_reserved_words = true) {
  if (detail::erlang_atom_needs_quotes(name, quote_reserved_words)) {
    append_erlang_quoted(out, name, '\'');
  } else {
    out += name;
  }
}

void append_bytes_as_numbers(std::string& out, const term& bits) {
  auto bytes = bits.binary_bytes();
  unsigned last_bits = bits.bits_in_last_byte();
  std::size_t whole = last_bits == 8 ? bytes.size() : bytes.size() - 1;
  out += "<<";
  for (std::size_t i = 0; i < whole; ++i) {
    if (i != 0) out += ',';
    detail::append_decimal(out, bytes[i]);
  }
  if (last_bits != 8) {
    if (whole != 0) out += ',';
    detail::append_decimal(out, static_cast<unsigned>(bytes.back() >> (8 - last_bits)));
    out += ':';
    detail::append_decimal(out, last_bits);
  }
  out += ">>";
}

// io_lib_pretty's choice for a binary: <<"text">> when it is ASCII or printable Latin-1,
// <<"text"/utf8>> when it is printable UTF-8 with some non-ASCII character, numbers otherwise.
// UTF-8 is tried first; only text that is not UTF-8 at all falls back to Latin-1.
void append_binary(std::string& out, const term& bin, printable_range range) {
  if (bin.type() == kind::bitstring) {
    append_bytes_as_numbers(out, bin);
    return;
  }
  std::string_view bytes = bin.binary_string_view();
  if (bytes.empty()) {
    out += "<<>>";
    return;
  }
  bool utf8 = true;
  bool printable = true;
  bool ascii = true;
  for (std::size_t pos = 0; pos < bytes.size();) {
    auto c = utf8_decode(bytes, pos);
    if (!c) {
      utf8 = false;
      break;
    }
    if (!printable_char(*c, range)) {
      printable = false;
      break;
    }
    if (*c >= 0x80) ascii = false;
  }
  if (utf8) {
    if (!printable) {
      append_bytes_as_numbers(out, bin);
      return;
    }
    out += "<<";
    append_erlang_quoted(out, bytes, '"');
    out += ascii ? ">>" : "/utf8>>";
    return;
  }
  for (char ch : bytes) {
    if (!printable_char(static_cast<unsigned char>(ch), printable_range::latin1)) {
      append_bytes_as_numbers(out, bin);
      return;
    }
  }
  out += "<<\"";
  for (char ch : bytes) detail::append_erlang_quoted_char(out, static_cast<unsigned char>(ch), '"');
  out += "\">>";
}

void append_fun(std::string& out, const fun_fields& fun) {
  if (fun.is_export) {
    // BEAM writes this text itself (erlang:fun_to_list/1), not io_lib.
    out += "fun ";
    append_atom(out, fun.module.atom_name(), false);
    out += ':';
    append_atom(out, fun.function.atom_name(), false);
    out += '/';
    detail::append_decimal(out, fun.arity);
    return;
  }
  // BEAM writes the module name of a local fun as it is, without quotes.
  out += "#Fun<";
  out += fun.module.is_atom() ? fun.module.atom_name() : std::string_view("?");
  out += '.';
  out +=
      fun.old_index.is_integer() ? fun.old_index.integer_to_decimal() : std::to_string(fun.index);
  out += '.';
  if (fun.old_uniq.is_integer()) out += fun.old_uniq.integer_to_decimal();
  out += '>';
}

// OTP 25's ~p walks a map of more than 32 keys (a hash trie) in the reverse of the order
// term_to_binary writes it in. A map that arrived in that order is printed back to front to
// match; a map built here is in term order, which no node would print, and stays so.
bool hash_ordered(const term& map) {
  auto entries = map.map_entries();
  if (entries.size() <= 32) return false;
  for (std::size_t i = 1; i < entries.size(); ++i) {
    if (!(entries[i - 1].first < entries[i].first)) return true;
  }
  return false;
}

class erlang_printer {
 public:
  erlang_printer(std::string& out, const print_options& options) : out_(out), options_(options) {}

  void run(const term& root) {
    open(root);
    while (!stack_.empty()) {
      frame& f = stack_.back();
      const term* child = next_child(f);
      if (child == nullptr) {
        close(*f.container);
        stack_.pop_back();
        continue;
      }
      open(*child);
    }
  }

 private:
  struct frame {
    const term* container;
    std::size_t next;
    bool reversed;  // a map printed back to front
  };

  // Writes a leaf, or the opening bracket of a container whose children follow.
  void open(const term& t) {
    switch (t.type()) {
      case kind::integer:
      case kind::big_integer:
        out_ += t.integer_to_decimal();
        return;
      case kind::float_:
        detail::append_erlang_float(out_, t.as_double());
        return;
      case kind::atom:
        append_atom(out_, t.atom_name());
        return;
      case kind::binary:
      case kind::bitstring:
        append_binary(out_, t, options_.printable);
        return;
      case kind::pid:
        detail::append_node_part(out_, t.as_pid().node, options_);
        detail::append_pid_rest(out_, t.as_pid());
        return;
      case kind::port:
        out_ += "#Port";
        detail::append_node_part(out_, t.as_port().node, options_);
        detail::append_port_rest(out_, t.as_port());
        return;
      case kind::reference:
        out_ += "#Ref";
        detail::append_node_part(out_, t.as_reference().node, options_);
        detail::append_reference_rest(out_, t.as_reference());
        return;
      case kind::fun:
        append_fun(out_, t.as_fun());
        return;
      case kind::nil:
        out_ += "[]";
        return;
      case kind::tuple:
        if (t.tuple_size() == 0) {
          out_ += "{}";
          return;
        }
        out_ += '{';
        break;
      case kind::list:
        if (printable_list(t, options_.printable)) {
          out_ += '"';
          for (const term& c : t.list_elements()) {
            detail::append_erlang_quoted_char(out_, static_cast<char32_t>(*c.to_int64()), '"');
          }
          out_ += '"';
          return;
        }
        out_ += '[';
        break;
      case kind::map:
        if (t.map_size() == 0) {
          out_ += "#{}";
          return;
        }
        out_ += "#{";
        stack_.push_back({&t, 0, hash_ordered(t)});
        return;
    }
    stack_.push_back({&t, 0, false});
  }

  const term* next_child(frame& f) {
    const term& c = *f.container;
    std::size_t i = f.next++;
    switch (c.type()) {
      case kind::tuple:
        if (i >= c.tuple_size()) return nullptr;
        if (i != 0) out_ += ',';
        return &c.tuple_elements()[i];
      case kind::list: {
        auto elements = c.list_elements();
        if (i < elements.size()) {
          if (i != 0) out_ += ',';
          return &elements[i];
        }
        if (i == elements.size() && !c.list_tail().is_nil()) {
          out_ += '|';
          return &c.list_tail();
        }
        return nullptr;
      }
      case kind::map: {
        auto entries = c.map_entries();
        if (i >= 2 * entries.size()) return nullptr;
        std::size_t entry = f.reversed ? entries.size() - 1 - i / 2 : i / 2;
        if (i % 2 == 0) {
          if (i != 0) out_ += ',';
          return &entries[entry].first;
        }
        out_ += " => ";
        return &entries[entry].second;
      }
      default:
        return nullptr;
    }
  }

  void close(const term& c) { out_ += c.type() == kind::list ? ']' : '}'; }

  std::string& out_;
  const print_options& options_;
  std::vector<frame> stack_;
};

}  // namespace

void append_erlang(std::string& out, const term& t, const print_options& options) {
  erlang_printer(out, options).run(t);
}

std::string to_erlang_string(const term& t, const print_options& options) {
  std::string out;
  append_erlang(out, t, options);
  return out;
}

std::ostream& operator<<(std::ostream& os, const term& t) {
  return os << to_erlang_string(t);
}

}  // namespace edist::etf
