# pg_regress of the extension's SQL surface (scripts/regress); needs the extension
# installed (scripts/test runs cmake --install first).
add_test(NAME regress_sql COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/regress)
set_tests_properties(regress_sql PROPERTIES LABELS "regress;extension" TIMEOUT 300
                     ENVIRONMENT "PG_CONFIG=${PG_CONFIG}")
