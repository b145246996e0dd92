# Fuzzing drill (issue 5, drill 6): the libFuzzer targets of test/drills/fuzz/ for a short
# run (test/drills/fuzz.sh --seconds 600 for a long one), and the unit tests under
# AddressSanitizer and UndefinedBehaviorSanitizer. Both build in their own directories
# (build-fuzz/, build-asan/ in the repository), never in this build.
add_test(NAME drill_fuzz COMMAND bash ${CMAKE_SOURCE_DIR}/test/drills/fuzz.sh --seconds 15)
set_tests_properties(drill_fuzz PROPERTIES LABELS "drill;fuzz" TIMEOUT 900)
add_test(NAME drill_asan_unit COMMAND bash ${CMAKE_SOURCE_DIR}/test/drills/asan_unit.sh)
set_tests_properties(drill_asan_unit PROPERTIES LABELS "drill;asan" TIMEOUT 1800)
# The Drive unit tests and the restore from Drive under ThreadSanitizer (build-tsan/ in the
# repository; issue 16, item 3): parallel restore threads download at once.
add_test(NAME drill_tsan_drive COMMAND bash ${CMAKE_SOURCE_DIR}/test/drills/tsan_drive.sh)
set_tests_properties(drill_tsan_drive PROPERTIES LABELS "drill;tsan" TIMEOUT 1800)
