# Target helpers: every library, test, fuzz target and benchmark is declared through these
# functions so that warnings, sanitizers and include paths are set in one place.
include_guard(GLOBAL)

set(EML_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion
    -Wnull-dereference -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)

function(_eml_apply_common target)
  target_compile_options(${target} PRIVATE ${EML_WARNINGS})
  if(EML_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
    # GCC 12's -O3 inlining reports false positives inside libstdc++ and nlohmann-json
    # (null-dereference, stringop-overread, restrict); they stay warnings there. The CI builds
    # (RelWithDebInfo and Debug + sanitizers) keep every warning an error.
    if(CMAKE_BUILD_TYPE STREQUAL "Release" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      target_compile_options(${target} PRIVATE -Wno-error=null-dereference
                                                -Wno-error=stringop-overread
                                                -Wno-error=restrict)
    endif()
  endif()
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/src)
endfunction()

# eml_cc_library(NAME foo SRCS a.cc HDRS a.h DEPS eml::common PRIVATE_DEPS OpenSSL::Crypto)
# builds eml_foo (alias eml::foo). DEPS are PUBLIC (a public header needs them).
function(eml_cc_library)
  cmake_parse_arguments(A "" "NAME" "SRCS;HDRS;DEPS;PRIVATE_DEPS" ${ARGN})
  set(target eml_${A_NAME})
  if(A_SRCS)
    add_library(${target} STATIC ${A_SRCS} ${A_HDRS})
    _eml_apply_common(${target})
    target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(${target} PUBLIC ${A_DEPS} PRIVATE ${A_PRIVATE_DEPS})
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(${target} INTERFACE ${A_DEPS})
  endif()
  add_library(eml::${A_NAME} ALIAS ${target})
endfunction()

# eml_cc_test(NAME foo_test SRCS foo_test.cc DEPS eml::foo [LABELS slow] [TIMEOUT s] [SHARDS n])
# SHARDS splits a long binary into n ctest entries (foo_test.0 .. foo_test.<n-1>) through
# googletest's own sharding, so every case runs exactly once, the cases spread over ctest's jobs,
# and TIMEOUT bounds each shard instead of the whole binary.
function(eml_cc_test)
  cmake_parse_arguments(A "" "NAME;TIMEOUT;SHARDS" "SRCS;DEPS;LABELS" ${ARGN})
  if(EML_FUZZ)
    return()  # the Clang fuzz build holds only libraries and fuzz targets
  endif()
  add_executable(${A_NAME} ${A_SRCS})
  _eml_apply_common(${A_NAME})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} GTest::gmock GTest::gtest_main eml_testing)
  set(timeout 300)
  if(A_TIMEOUT)
    set(timeout ${A_TIMEOUT})
  endif()
  set(env "EML_SHARED_DIR=${EML_SHARED_DIR};EML_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  if(A_SHARDS)
    math(EXPR last_shard "${A_SHARDS} - 1")
    set(tests)
    foreach(shard RANGE ${last_shard})
      set(test ${A_NAME}.${shard})
      add_test(NAME ${test} COMMAND ${A_NAME})
      set_tests_properties(${test} PROPERTIES
          ENVIRONMENT "${env};GTEST_TOTAL_SHARDS=${A_SHARDS};GTEST_SHARD_INDEX=${shard}")
      list(APPEND tests ${test})
    endforeach()
  else()
    add_test(NAME ${A_NAME} COMMAND ${A_NAME})
    set_tests_properties(${A_NAME} PROPERTIES ENVIRONMENT "${env}")
    set(tests ${A_NAME})
  endif()
  set_tests_properties(${tests} PROPERTIES TIMEOUT ${timeout})
  if(A_LABELS)
    set_tests_properties(${tests} PROPERTIES LABELS "${A_LABELS}")
  endif()
endfunction()

# eml_cc_fuzz(NAME cbor_decode SRCS tests/fuzz/cbor_decode_fuzz.cc DEPS eml::cbor MAX_LEN 4096)
# With EML_FUZZ (clang) it is a libFuzzer binary; otherwise it is a driver that replays the seed
# corpus as an ordinary ctest, so every build exercises the target on its corpus.
function(eml_cc_fuzz)
  cmake_parse_arguments(A "" "NAME;MAX_LEN" "SRCS;DEPS" ${ARGN})
  set(target fuzz_${A_NAME})
  set(corpus ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${A_NAME})
  add_executable(${target} ${A_SRCS})
  _eml_apply_common(${target})
  target_link_libraries(${target} PRIVATE ${A_DEPS})
  set_property(GLOBAL APPEND PROPERTY EML_FUZZ_TARGET_NAMES ${target})
  if(EML_FUZZ)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer)
    target_link_options(${target} PRIVATE -fsanitize=fuzzer)
    set_property(GLOBAL APPEND PROPERTY EML_FUZZ_TARGETS "${target}|${corpus}|${A_MAX_LEN}")
  else()
    target_link_libraries(${target} PRIVATE eml_fuzz_replay)
    add_test(NAME ${target}_corpus COMMAND ${target} ${corpus})
  endif()
endfunction()

# eml_cc_bench(NAME crypto_bench SRCS crypto_bench.cc DEPS eml::crypto)
function(eml_cc_bench)
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS" ${ARGN})
  if(NOT EML_BUILD_BENCH)
    return()
  endif()
  add_executable(${A_NAME} ${A_SRCS})
  _eml_apply_common(${A_NAME})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} benchmark::benchmark)
endfunction()
