# The packet decoder (distribution header, atom cache, fragments, control messages) fed
# arbitrary packet sequences; decoded messages must re-encode and decode to equal values.
# The dist sources under test are compiled into the fuzzer so that they carry libFuzzer's
# coverage instrumentation.
if(TARGET edist_dist AND TARGET edist_etf)
  get_target_property(_dist_src edist_dist SOURCE_DIR)
  set(_dist_src ${_dist_src}/src)
  edist_add_fuzzer(dist_packet_fuzz
    ${CMAKE_CURRENT_LIST_DIR}/dist_packet_fuzz.cpp
    ${_dist_src}/atom_cache.cpp
    ${_dist_src}/control_message.cpp
    ${_dist_src}/error.cpp
    ${_dist_src}/flags.cpp
    ${_dist_src}/packet_decoder.cpp
    ${_dist_src}/packet_encoder.cpp)
  target_include_directories(dist_packet_fuzz PRIVATE
    $<TARGET_PROPERTY:edist_dist,INTERFACE_INCLUDE_DIRECTORIES>)
  target_link_libraries(dist_packet_fuzz PRIVATE edist::etf)
endif()
