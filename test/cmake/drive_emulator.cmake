# Google Drive v3 emulator self-test: Google's official Node client
# (@googleapis/drive, google-auth-library, pinned in test/package.json and
# installed into test/node_modules by `npm ci`) and curl protocol checks against
# test/drive_emulator/server.js. Needs node, openssl and curl.
add_test(NAME drive_emulator COMMAND bash ${CMAKE_SOURCE_DIR}/test/drive_emulator/emulator_test.sh)
set_tests_properties(drive_emulator PROPERTIES LABELS drive TIMEOUT 300)
