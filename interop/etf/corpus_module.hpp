// Loads the Erlang module edist_etf_corpus (interop/etf/edist_etf_corpus.erl, embedded by the
// build as edist::testing::detail::edist_etf_corpus_source) into a live node. Shared by the
// codec interop test and the codec benchmark.
#pragma once

#include <edist_etf_corpus_source.hpp>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>

#include "edist/testing/beam_node.hpp"
#include "edist/testing/names.hpp"

namespace edist::testing {

// Writes the source into a private temporary folder, has the node compile and load it, and
// removes the folder. Throws beam_error when the node cannot compile it.
inline void load_etf_corpus_module(beam_node& node) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / unique_name("edist_etf_corpus");
  fs::create_directories(dir);
  const fs::path source = dir / "edist_etf_corpus.erl";
  {
    std::ofstream out(source, std::ios::binary);
    out << detail::edist_etf_corpus_source;
    if (!out) throw std::runtime_error("cannot write " + source.string());
  }
  // The folder name holds [a-z0-9_/.-] only, so it needs no escaping inside an Erlang string.
  const std::string path = source.string();
  try {
    node.eval("{ok, M, B} = compile:file(\"" + path +
              "\", [binary, return_errors]), {module, M} = code:load_binary(M, \"" + path +
              "\", B), ok.");
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
    throw;
  }
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}

}  // namespace edist::testing
