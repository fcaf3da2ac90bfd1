# Fails when a committed generated file differs from its generator's output.
#   cmake -DGENERATOR=<program> -DCOMMITTED=<file> -DREGENERATE=<command> -P check_generated.cmake
# The fresh output is left next to the build (GENERATOR.out) for `diff -u`.
execute_process(COMMAND ${GENERATOR} OUTPUT_VARIABLE generated RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${GENERATOR} failed (${status})")
endif()
file(READ ${COMMITTED} committed)
if(NOT generated STREQUAL committed)
  file(WRITE ${GENERATOR}.out "${generated}")
  message(FATAL_ERROR
    "${COMMITTED} is out of date with its generator.\n"
    "Regenerate it from the source tree and commit the result:\n"
    "  ${REGENERATE}\n"
    "(see the difference: diff -u ${COMMITTED} ${GENERATOR}.out)")
endif()
message(STATUS "${COMMITTED} is up to date")
