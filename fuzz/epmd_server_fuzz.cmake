# The EPMD server state machine fed arbitrary bytes on several connections at once, with a
# shadow model checking that it never lies (NAMES/PORT2 answers match the live registrations)
# and never exceeds its caps. The epmd sources under test are compiled into the fuzzer so
# that they carry libFuzzer's coverage instrumentation.
if(TARGET edist_epmd)
  get_target_property(_epmd_src edist_epmd SOURCE_DIR)
  set(_epmd_src ${_epmd_src}/src)
  edist_add_fuzzer(epmd_server_fuzz
    ${CMAKE_CURRENT_LIST_DIR}/epmd_server_fuzz.cpp
    ${_epmd_src}/error.cpp
    ${_epmd_src}/protocol.cpp
    ${_epmd_src}/server_core.cpp)
  target_include_directories(epmd_server_fuzz PRIVATE
    $<TARGET_PROPERTY:edist_epmd,INTERFACE_INCLUDE_DIRECTORIES>)
endif()
