# Warnings every edist target is built with; they are kept at zero.
add_library(edist_warnings INTERFACE)
target_compile_options(edist_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
  -Wimplicit-fallthrough)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  # GCC 12 at -O2 reports out-of-bounds accesses and over-reads inside libstdc++'s own vector::insert and
  # memcpy paths that cannot happen (GCC bugs 105651, 107852, 106199). The same code is checked
  # by clang, by the Debug build and at run time by AddressSanitizer.
  target_compile_options(edist_warnings INTERFACE -Wno-array-bounds -Wno-stringop-overflow
    -Wno-stringop-overread)
endif()
if(EDIST_WERROR)
  target_compile_options(edist_warnings INTERFACE -Werror)
endif()
