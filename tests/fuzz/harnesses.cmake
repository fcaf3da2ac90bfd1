# Which fuzz harnesses (tests/fuzz/fuzz_*.cpp) this build has, shared by tests/fuzz/CMakeLists.txt
# (libFuzzer executables) and the unit tests (tests/fuzz/regressions_test.cpp replays).
#
# A harness for a decoder that is still being written names the rdp/ source it needs:
#     // fuzz-requires: server_security.cpp
# and is left out, with a status message, until that file is part of the rdpbridge_rdp target.
# Adding a decoder's harness is one file: tests/fuzz/fuzz_<name>.cpp with
# RDPBRIDGE_FUZZ_TARGET(fuzz_<name>), plus seeds in tests/fuzz/corpus/fuzz_<name>/.
include_guard(GLOBAL)

# Sets <out_var> to the absolute paths of the harnesses whose rdp/ sources are all built.
function(rdpbridge_fuzz_harnesses out_var)
  if(NOT TARGET rdpbridge_rdp)
    message(FATAL_ERROR "rdpbridge_fuzz_harnesses: add_subdirectory(rdp) must come first")
  endif()
  get_target_property(rdp_sources rdpbridge_rdp SOURCES)
  set(built "")
  foreach(s IN LISTS rdp_sources)
    get_filename_component(name "${s}" NAME)
    list(APPEND built "${name}")
  endforeach()
  file(GLOB harnesses CONFIGURE_DEPENDS "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/fuzz_*.cpp")
  list(SORT harnesses)
  set(enabled "")
  foreach(h IN LISTS harnesses)
    file(STRINGS "${h}" requires REGEX "^// fuzz-requires:")
    set(missing "")
    foreach(line IN LISTS requires)
      string(REGEX REPLACE "^// fuzz-requires:[ \t]*" "" needed "${line}")
      separate_arguments(needed)
      foreach(n IN LISTS needed)
        if(NOT n IN_LIST built)
          list(APPEND missing "rdp/${n}")
        endif()
      endforeach()
    endforeach()
    get_filename_component(stem "${h}" NAME_WE)
    if(missing)
      list(JOIN missing ", " missing_text)
      message(STATUS "fuzz: ${stem} not built yet (rdpbridge_rdp lacks ${missing_text})")
    else()
      list(APPEND enabled "${h}")
    endif()
  endforeach()
  set(${out_var} "${enabled}" PARENT_SCOPE)
endfunction()

# Adds regressions_test.cpp and every enabled harness to a GoogleTest target (unit_tests), which
# then replays tests/fuzz/corpus/ and tests/fuzz/crashes/ through the harnesses' oracles.
function(rdpbridge_fuzz_add_regressions target)
  rdpbridge_fuzz_harnesses(harnesses)
  target_sources(${target} PRIVATE
    "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/regressions_test.cpp"
    "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/harness.cpp"
    ${harnesses})
  target_compile_definitions(${target} PRIVATE
    RDPBRIDGE_FUZZ_DIR="${CMAKE_CURRENT_FUNCTION_LIST_DIR}")
endfunction()
