# Hooks for planned reboots (README, "Planned reboots: systemd and containers"), component
# "hooks": the systemd drop-in for Debian's postgresql@.service, its ExecStartPre and
# ExecStopPost scripts ramsafe-start-restore and ramsafe-stop-snapshot, and
# ramsafe-entrypoint for the official PostgreSQL container image.
# The paths inside them follow the install prefix given to `cmake --install`, so they are
# written at install time.
set(RAMSAFE_SYSTEMD_UNIT_DIR /etc/systemd/system CACHE PATH
    "Where cmake --install puts postgresql@.service.d/ramsafe.conf (absolute; DESTDIR applies)")
option(RAMSAFE_INSTALL_SYSTEMD "Install the systemd drop-in for postgresql@.service" ON)

set(RAMSAFE_HOOKS_OUT ${CMAKE_BINARY_DIR}/dist)
install(CODE "
  set(RAMSAFE_BINDIR \"\${CMAKE_INSTALL_PREFIX}/bin\")
  configure_file(\"${CMAKE_SOURCE_DIR}/dist/systemd/ramsafe.conf.in\"
                 \"${RAMSAFE_HOOKS_OUT}/ramsafe.conf\" @ONLY)
  configure_file(\"${CMAKE_SOURCE_DIR}/dist/systemd/ramsafe-start-restore.in\"
                 \"${RAMSAFE_HOOKS_OUT}/ramsafe-start-restore\" @ONLY)
  configure_file(\"${CMAKE_SOURCE_DIR}/dist/systemd/ramsafe-stop-snapshot.in\"
                 \"${RAMSAFE_HOOKS_OUT}/ramsafe-stop-snapshot\" @ONLY)
  configure_file(\"${CMAKE_SOURCE_DIR}/dist/container/ramsafe-entrypoint.in\"
                 \"${RAMSAFE_HOOKS_OUT}/ramsafe-entrypoint\" @ONLY)
" COMPONENT hooks)
install(PROGRAMS ${RAMSAFE_HOOKS_OUT}/ramsafe-start-restore ${RAMSAFE_HOOKS_OUT}/ramsafe-stop-snapshot
        ${RAMSAFE_HOOKS_OUT}/ramsafe-entrypoint
        DESTINATION bin COMPONENT hooks)
if(RAMSAFE_INSTALL_SYSTEMD)
  install(FILES ${RAMSAFE_HOOKS_OUT}/ramsafe.conf
          DESTINATION ${RAMSAFE_SYSTEMD_UNIT_DIR}/postgresql@.service.d COMPONENT hooks)
endif()
