# The Erlang term-syntax parser fed arbitrary text; accepted terms must print and parse back
# equal. The text sources are compiled into the fuzzer so that they carry libFuzzer's coverage
# instrumentation; the rest of edist_etf (the term type) comes from the library.
if(TARGET edist_etf)
  get_target_property(_etf_src edist_etf SOURCE_DIR)
  file(GLOB _etf_text_sources ${_etf_src}/src/text_*.cpp)
  edist_add_fuzzer(etf_text_parse_fuzz
    ${CMAKE_CURRENT_LIST_DIR}/etf_text_parse_fuzz.cpp
    ${_etf_text_sources})
  target_include_directories(etf_text_parse_fuzz PRIVATE ${_etf_src}/src)
  target_link_libraries(etf_text_parse_fuzz PRIVATE edist::etf)
endif()
