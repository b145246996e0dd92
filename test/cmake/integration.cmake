# Integration tests: every test/integration/*_test.sh, run as root against real
# PostgreSQL clusters (of the PostgreSQL the extension is built for: PG_BINDIR) on tmpfs (see test/lib/common.sh), with this build's ramsafe.
file(GLOB RAMSAFE_INTEGRATION_TESTS CONFIGURE_DEPENDS
     ${CMAKE_SOURCE_DIR}/test/integration/*_test.sh)
foreach(script ${RAMSAFE_INTEGRATION_TESTS})
  get_filename_component(name ${script} NAME_WE)
  add_test(NAME integration_${name} COMMAND bash ${script})
  set_tests_properties(integration_${name} PROPERTIES
    LABELS integration
    TIMEOUT 900
    ENVIRONMENT "PG_BINDIR=${PG_BINDIR};RAMSAFE_BIN=$<TARGET_FILE:ramsafe>")
endforeach()
