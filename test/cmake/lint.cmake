# Format check: every C++ source and header must be clang-format clean (.clang-format).
find_program(RAMSAFE_CLANG_FORMAT NAMES clang-format)
if(RAMSAFE_CLANG_FORMAT)
  add_test(NAME lint_clang_format
           COMMAND sh ${CMAKE_SOURCE_DIR}/scripts/lint --format-only
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(lint_clang_format PROPERTIES LABELS lint)
else()
  message(FATAL_ERROR "clang-format not found: run scripts/setup --test")
endif()

# core/'s layering: no include runs upwards (scripts/check_layers).
add_test(NAME lint_layers COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/check_layers
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(lint_layers PROPERTIES LABELS lint)

# clang-tidy (.clang-tidy, warnings are errors) over core/ and companion/.
find_program(RAMSAFE_CLANG_TIDY NAMES clang-tidy)
if(RAMSAFE_CLANG_TIDY)
  add_test(NAME lint_clang_tidy COMMAND sh ${CMAKE_SOURCE_DIR}/scripts/lint
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(lint_clang_tidy PROPERTIES ENVIRONMENT "BUILD_DIR=${CMAKE_BINARY_DIR}")
  set_tests_properties(lint_clang_tidy PROPERTIES LABELS lint TIMEOUT 1200)
else()
  message(FATAL_ERROR "clang-tidy not found: run scripts/setup --test")
endif()
