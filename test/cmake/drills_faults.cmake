# The corruption drill (test/drills/corruption.sh): every kind of file damaged, locally and
# on the Drive emulator; verify flags each, restore falls back.
add_test(NAME drill_corruption COMMAND bash ${CMAKE_SOURCE_DIR}/test/drills/corruption.sh --rounds 1)
set_tests_properties(drill_corruption PROPERTIES
  LABELS drill
  TIMEOUT 900
  ENVIRONMENT "PG_BINDIR=${PG_BINDIR};RAMSAFE_BIN=$<TARGET_FILE:ramsafe>")

# The disk-full drill (test/drills/disk_full.sh): the store's tmpfs and the data
# directory's tmpfs filling up, through the server's worker.
add_test(NAME drill_disk_full COMMAND bash ${CMAKE_SOURCE_DIR}/test/drills/disk_full.sh --cycles 1)
set_tests_properties(drill_disk_full PROPERTIES
  LABELS drill
  TIMEOUT 600
  ENVIRONMENT "PG_BINDIR=${PG_BINDIR};RAMSAFE_BIN=$<TARGET_FILE:ramsafe>")

# The bad-input drill (test/drills/bad_input.sh): every setting malformed, broken includes,
# SQL without rights, a missing pg_dump.
add_test(NAME drill_bad_input COMMAND bash ${CMAKE_SOURCE_DIR}/test/drills/bad_input.sh)
set_tests_properties(drill_bad_input PROPERTIES
  LABELS drill
  TIMEOUT 600
  ENVIRONMENT "PG_BINDIR=${PG_BINDIR};RAMSAFE_BIN=$<TARGET_FILE:ramsafe>")
