# cmake -DINPUT=<text file> -DOUTPUT=<header> -DNAME=<identifier> -P embed_text.cmake
# Writes a header defining `inline constexpr std::string_view NAME` holding the file's text, so
# that edist_testing carries the Erlang control module without needing Erlang to build.
file(READ "${INPUT}" text)
string(FIND "${text}" ")edist_embed\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )edist_embed\"")
endif()
set(content "// Generated from ${INPUT} by embed_text.cmake; do not edit.\n#pragma once\n\n#include <string_view>\n\nnamespace edist::testing::detail {\ninline constexpr std::string_view ${NAME} = R\"edist_embed(${text})edist_embed\";\n}  // namespace edist::testing::detail\n")
# Rewrite only on change so that dependants are not rebuilt needlessly.
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
  if(old STREQUAL content)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${content}")
