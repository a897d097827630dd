# The External Term Format decoder fed arbitrary bytes with small limits. Whatever decodes must
# re-encode, decode again to an equal term, and re-encode to the same bytes. The codec and term
# sources are compiled into the fuzzer so that they carry libFuzzer's coverage instrumentation;
# the rest of edist_etf comes from the library. Seeds: fuzz/corpus/etf_decode (written by a live
# node, see fuzz/make_etf_decode_seeds.escript).
if(TARGET edist_etf)
  get_target_property(_etf_src edist_etf SOURCE_DIR)
  edist_add_fuzzer(etf_decode_fuzz
    ${CMAKE_CURRENT_LIST_DIR}/etf_decode_fuzz.cpp
    ${_etf_src}/src/decode.cpp
    ${_etf_src}/src/encode.cpp
    ${_etf_src}/src/errors.cpp
    ${_etf_src}/src/term.cpp
    ${_etf_src}/src/compare.cpp
    ${_etf_src}/src/node_pool.cpp
    ${_etf_src}/src/region_builder.cpp)
  target_include_directories(etf_decode_fuzz PRIVATE ${_etf_src}/src)
  target_link_libraries(etf_decode_fuzz PRIVATE edist::etf)
endif()
