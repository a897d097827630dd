# Handshake message parsers and both handshake state machines fed arbitrary bytes.
# The dist sources under test are compiled into the fuzzer itself so that they carry
# libFuzzer's coverage instrumentation (the edist_dist library is built without it).
if(TARGET edist_dist)
  get_target_property(_dist_src edist_dist SOURCE_DIR)
  set(_dist_src ${_dist_src}/src)
  edist_add_fuzzer(dist_handshake_fuzz
    ${CMAKE_CURRENT_LIST_DIR}/dist_handshake_fuzz.cpp
    ${_dist_src}/cookie_digest.cpp
    ${_dist_src}/error.cpp
    ${_dist_src}/flags.cpp
    ${_dist_src}/handshake.cpp
    ${_dist_src}/handshake_messages.cpp
    ${_dist_src}/node_name.cpp)
  target_include_directories(dist_handshake_fuzz PRIVATE
    $<TARGET_PROPERTY:edist_dist,INTERFACE_INCLUDE_DIRECTORIES>)
  target_link_libraries(dist_handshake_fuzz PRIVATE OpenSSL::Crypto Boost::headers)
endif()
