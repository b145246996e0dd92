# The corruption drill (test/drills/corruption.sh): every kind of file damaged, locally and
# on the Drive emulator; verify flags each, restore falls back.
add_test(NAME drill_corruption COMMAND bash ${CMAKE_SOURCE_DIR}/test/drills/corruption.sh --rounds 1)
set_tests_properties(drill_corruption PROPERTIES
  LABELS drill
  TIMEOUT 900
  ENVIRONMENT "RAMSAFE_BIN=$<TARGET_FILE:ramsafe>")
