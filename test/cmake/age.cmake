# age conformance test: the CCTV vectors (npm package cctv-age, pinned in
# test/package.json and installed into test/node_modules by `npm ci`). The vectors are
# exported by test/age/cctv_export.js, then the AgeCctv gtest of ramsafe_unit_tests runs
# on them (without RAMSAFE_CCTV_DIR, gtest_discover_tests runs it as a skipped test).
# Include after the ramsafe_unit_tests target is defined.
if(TARGET ramsafe_unit_tests)
  find_program(RAMSAFE_NODE NAMES node nodejs)
  if(RAMSAFE_NODE)
    add_test(NAME age_cctv_conformance
             COMMAND sh ${CMAKE_SOURCE_DIR}/test/age/run_cctv.sh ${RAMSAFE_NODE}
                     ${CMAKE_SOURCE_DIR}/test/age/cctv_export.js
                     $<TARGET_FILE:ramsafe_unit_tests> ${CMAKE_BINARY_DIR}/cctv-age-vectors)
    set_tests_properties(age_cctv_conformance PROPERTIES LABELS "unit;age" TIMEOUT 600)
  else()
    message(FATAL_ERROR "node not found: run scripts/setup --test (the age CCTV conformance test needs it)")
  endif()
else()
  message(WARNING "test/cmake/age.cmake: ramsafe_unit_tests is not defined (yet); "
                  "the age CCTV conformance test is not added")
endif()
