# Warnings every edist target is built with; they are kept at zero.
add_library(edist_warnings INTERFACE)
target_compile_options(edist_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
  -Wimplicit-fallthrough)
if(EDIST_WERROR)
  target_compile_options(edist_warnings INTERFACE -Werror)
endif()
