# The power-loss drill (test/drills/power_loss.sh): a write workload, backups, SIGKILL of
# the whole server and loss of its tmpfs, restore; nothing at or below the last completed
# backup's recovery point may be lost. 5 cycles here; 50 with test/drills/report --long.
add_test(NAME drill_power_loss COMMAND bash ${CMAKE_SOURCE_DIR}/test/drills/power_loss.sh --cycles 5)
set_tests_properties(drill_power_loss PROPERTIES
  LABELS drill
  TIMEOUT 900
  ENVIRONMENT "PG_BINDIR=${PG_BINDIR};RAMSAFE_BIN=$<TARGET_FILE:ramsafe>")

# The kill-during-backup drill (test/drills/kill_during_backup.sh): SIGKILL of the worker,
# its pg_dump or the whole server in the middle of a backup, and of the worker or the server
# in the middle of an upload to Drive; nothing partial listed, earlier sets intact, the next
# backup (or the resumed upload) and a restore succeed. 5 cycles here; 30 with --long.
add_test(NAME drill_kill_during_backup COMMAND bash ${CMAKE_SOURCE_DIR}/test/drills/kill_during_backup.sh --cycles 5)
set_tests_properties(drill_kill_during_backup PROPERTIES
  LABELS drill
  TIMEOUT 900
  ENVIRONMENT "PG_BINDIR=${PG_BINDIR};RAMSAFE_BIN=$<TARGET_FILE:ramsafe>")

# The WAL power-loss drill (test/drills/power_loss_wal.sh): WAL archived through ramsafe
# (archive_timeout 10 s), SIGKILL of the whole server and loss of its tmpfs, restore of
# base + WAL; every row committed more than archive_timeout + 5 s before the kill must come
# back intact; the data-loss window is measured. 3 cycles here (about 2 minutes); 20 with
# test/drills/report --long. Tests the build's ramsafe.so without installing it.
add_test(NAME drill_power_loss_wal COMMAND bash ${CMAKE_SOURCE_DIR}/test/drills/power_loss_wal.sh --cycles 3)
set_tests_properties(drill_power_loss_wal PROPERTIES
  LABELS drill
  TIMEOUT 420
  ENVIRONMENT "PG_BINDIR=${PG_BINDIR};RAMSAFE_BIN=$<TARGET_FILE:ramsafe>;RAMSAFE_TEST_LIBRARY=$<TARGET_FILE:ramsafe_extension>")
# The planned-reboot drill (test/drills/planned_reboot.sh, issue 15): clean stops followed by
# `ramsafe snapshot`, the tmpfs wiped, `ramsafe restore --if-empty`, start: zero rows lost,
# no recovery; power cuts mixed in, restored from the newest set (never an older snapshot
# over newer data); with WAL archiving, snapshot + WAL after a restart and a power cut, the
# loss within archive_timeout. 6 cycles + 2 WAL cycles here (about a minute); more with
# test/drills/report --long. Tests the build's ramsafe.so without installing it.
add_test(NAME drill_planned_reboot COMMAND bash ${CMAKE_SOURCE_DIR}/test/drills/planned_reboot.sh)
set_tests_properties(drill_planned_reboot PROPERTIES
  LABELS drill
  TIMEOUT 420
  ENVIRONMENT "PG_BINDIR=${PG_BINDIR};RAMSAFE_BIN=$<TARGET_FILE:ramsafe>;RAMSAFE_TEST_LIBRARY=$<TARGET_FILE:ramsafe_extension>")

# The hostile-store drill (test/drills/hostile_store.sh): issue 14's eight attacks, made with
# age, zstd and the shell, against the local store and the Drive emulator; the boot restore
# brings back the real newest set, nothing forged runs, the server never crashes, nothing
# outside the store changes, retention deletes no trusted set, no raw escape byte is printed.
# About 30 s. Tests the build's ramsafe.so without installing it.
add_test(NAME drill_hostile_store COMMAND bash ${CMAKE_SOURCE_DIR}/test/drills/hostile_store.sh)
set_tests_properties(drill_hostile_store PROPERTIES
  LABELS drill
  TIMEOUT 300
  ENVIRONMENT "PG_BINDIR=${PG_BINDIR};RAMSAFE_BIN=$<TARGET_FILE:ramsafe>;RAMSAFE_TEST_LIBRARY=$<TARGET_FILE:ramsafe_extension>")
