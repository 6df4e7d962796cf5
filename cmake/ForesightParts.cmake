# One library per part, each with an include root that holds only that part (a symbolic link under
# the build tree), linked PRIVATE along the allowed arrows:
#   core <- hwmodels <- sim <- {cli, python};  core <- hwmodels <- calibrate <- kernels (harness only)
# A part sees a header only if it links the part that owns it, so `#include "sim/..."` from
# hwmodels/ fails to compile instead of waiting for a review.
function(foresight_include_root target part)
  set(root ${CMAKE_BINARY_DIR}/include-roots/${part})
  if(NOT EXISTS ${root}/${part})
    file(MAKE_DIRECTORY ${root})
    file(CREATE_LINK ${CMAKE_SOURCE_DIR}/${part} ${root}/${part} SYMBOLIC)
  endif()
  target_include_directories(${target} PUBLIC ${root})
endfunction()

function(foresight_part target part)
  cmake_parse_arguments(P "" "" "SOURCES;LINKS" ${ARGN})
  add_library(${target} STATIC ${P_SOURCES})
  foresight_include_root(${target} ${part})
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(P_LINKS)
    target_link_libraries(${target} PRIVATE ${P_LINKS})
  endif()
endfunction()
