# Configures, builds and runs the consumer project in consumer/ one way (MODE), in a fresh
# WORK_DIR. Run by ctest as: cmake -DMODE=... -DWORK_DIR=... [settings] -P run_consumer.cmake
#   MODE            find_package | fetch_content | add_subdirectory | readme_example
#   QKV_SOURCE_DIR  the qkv checkout under test
#   GENERATOR, MAKE_PROGRAM, CXX_COMPILER, BUILD_TYPE   copied from the build running the tests
#   Eigen3_DIR, nlohmann_json_DIR   where that build found qkv's dependencies
#   GIT_EXECUTABLE  (fetch_content)
#   QKV_README      (readme_example) the markdown file whose example is built
# A failing step ends the script with FATAL_ERROR and the step's output. A test that cannot run
# here prints QKV_TEST_SKIPPED, which ctest reports as skipped (SKIP_REGULAR_EXPRESSION).
cmake_minimum_required(VERSION 3.21)

foreach(var MODE WORK_DIR QKV_SOURCE_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_consumer.cmake: -D${var}=... is required")
  endif()
endforeach()

# The consumer must build with plain flags, as a user's would: no -march from the environment.
unset(ENV{CXXFLAGS})

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

set(configure_args -G "${GENERATOR}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
foreach(var MAKE_PROGRAM BUILD_TYPE)
  if(${var})
    list(APPEND configure_args "-DCMAKE_${var}=${${var}}")
  endif()
endforeach()
foreach(var Eigen3_DIR nlohmann_json_DIR)
  if(${var})
    list(APPEND configure_args "-D${var}=${${var}}")
  endif()
endforeach()
set(config_args)
if(BUILD_TYPE)
  set(config_args --config "${BUILD_TYPE}")
endif()

# run(<step> [WORKING_DIRECTORY <dir>] COMMAND <command>...): fails the test with the output.
function(run step)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "WORKING_DIRECTORY" "COMMAND")
  if(NOT arg_WORKING_DIRECTORY)
    set(arg_WORKING_DIRECTORY "${WORK_DIR}")
  endif()
  string(TIMESTAMP start "%s")
  execute_process(COMMAND ${arg_COMMAND} WORKING_DIRECTORY "${arg_WORKING_DIRECTORY}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(TIMESTAMP end "%s")
  math(EXPR seconds "${end} - ${start}")
  if(NOT rc EQUAL 0)
    list(JOIN arg_COMMAND " " command)
    message(FATAL_ERROR "${MODE}: ${step} failed (${rc}) after ${seconds} s\n  ${command}\n${out}")
  endif()
  message(STATUS "${MODE}: ${step} ok (${seconds} s)")
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

set(consumer_args -S "${CMAKE_CURRENT_LIST_DIR}/consumer" -B "${WORK_DIR}/consumer-build" ${configure_args})

if(MODE STREQUAL "find_package")
  run("configure qkv" COMMAND "${CMAKE_COMMAND}" -S "${QKV_SOURCE_DIR}" -B "${WORK_DIR}/qkv-build" ${configure_args}
      -DQKV_BUILD_TESTS=OFF -DQKV_BUILD_EXAMPLES=OFF -DQKV_BUILD_BENCHMARKS=OFF -DQKV_INSTALL=ON)
  run("install qkv" COMMAND "${CMAKE_COMMAND}" --install "${WORK_DIR}/qkv-build" --prefix "${WORK_DIR}/prefix" ${config_args})
  list(APPEND consumer_args -DQKV_CONSUME=find_package "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix")

elseif(MODE STREQUAL "fetch_content")
  # FetchContent clones the committed HEAD of the checkout (uncommitted edits are not seen).
  # A source tree that is not its own git checkout cannot be tested this way.
  if(NOT GIT_EXECUTABLE)
    message(STATUS "QKV_TEST_SKIPPED: git was not found")
    return()
  endif()
  execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --show-toplevel HEAD WORKING_DIRECTORY "${QKV_SOURCE_DIR}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE git_out ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(STATUS "QKV_TEST_SKIPPED: ${QKV_SOURCE_DIR} is not a git checkout")
    return()
  endif()
  string(REPLACE "\n" ";" git_out "${git_out}")
  list(GET git_out 0 toplevel)
  list(GET git_out 1 commit)
  file(REAL_PATH "${toplevel}" toplevel)
  file(REAL_PATH "${QKV_SOURCE_DIR}" source_real)
  if(NOT toplevel STREQUAL source_real)
    message(STATUS "QKV_TEST_SKIPPED: ${QKV_SOURCE_DIR} is inside the git checkout ${toplevel}, not its root")
    return()
  endif()
  message(STATUS "fetch_content: testing commit ${commit}")
  list(APPEND consumer_args -DQKV_CONSUME=fetch_content "-DQKV_SOURCE_DIR=${QKV_SOURCE_DIR}" "-DQKV_GIT_COMMIT=${commit}")

elseif(MODE STREQUAL "add_subdirectory")
  list(APPEND consumer_args -DQKV_CONSUME=add_subdirectory "-DQKV_SOURCE_DIR=${QKV_SOURCE_DIR}")

elseif(MODE STREQUAL "readme_example")
  # The example is the first ```cpp block after the marker line; a README without one fails,
  # so the example cannot silently drop out of testing.
  set(marker "<!-- readme-example -->")
  if(NOT EXISTS "${QKV_README}")
    message(FATAL_ERROR "readme_example: ${QKV_README} does not exist")
  endif()
  file(READ "${QKV_README}" text)
  string(FIND "${text}" "${marker}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "readme_example: ${QKV_README} has no '${marker}' line before its example")
  endif()
  string(SUBSTRING "${text}" ${at} -1 text)
  string(FIND "${text}" "```cpp" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "readme_example: no ```cpp block after '${marker}' in ${QKV_README}")
  endif()
  string(SUBSTRING "${text}" ${at} -1 text)
  string(FIND "${text}" "\n" at)  # the code starts on the line after the opening fence
  math(EXPR at "${at} + 1")
  string(SUBSTRING "${text}" ${at} -1 text)
  string(FIND "${text}" "```" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "readme_example: the ```cpp block after '${marker}' in ${QKV_README} is not closed")
  endif()
  string(SUBSTRING "${text}" 0 ${at} code)
  if(NOT code MATCHES "main[ \t]*\\(")
    message(FATAL_ERROR "readme_example: the example in ${QKV_README} has no main(); it must be a whole program")
  endif()
  file(WRITE "${WORK_DIR}/readme_example.cpp" "${code}")
  list(APPEND consumer_args -DQKV_CONSUME=add_subdirectory "-DQKV_SOURCE_DIR=${QKV_SOURCE_DIR}"
       "-DQKV_CONSUMER_SOURCE=${WORK_DIR}/readme_example.cpp")

else()
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}'")
endif()

run("configure consumer" COMMAND "${CMAKE_COMMAND}" ${consumer_args})
run("build consumer" COMMAND "${CMAKE_COMMAND}" --build "${WORK_DIR}/consumer-build" ${config_args})
# Run from the source tree so relative paths in the README example (tests/data/...) resolve.
run("run consumer" WORKING_DIRECTORY "${QKV_SOURCE_DIR}" COMMAND "${WORK_DIR}/consumer-build/bin/consumer")
message("${last_output}")
