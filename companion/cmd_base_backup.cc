#include <iostream>

#include <nlohmann/json.hpp>

#include "companion/commands.h"
#include "core/backup/base_backup.h"
#include "core/config/keys.h"

namespace ramsafe::cli {

CommandSpec base_backup_spec() {
  return {
      "base-backup",
      "base-backup [options]",
      "Take a physical base backup of the running cluster now.\n"
      "It goes into ramsafe.local_dir (docs/wal.md).\n"
      "Runs pg_basebackup over a replication connection as the configured\n"
      "superuser and streams its tar through zstd and age into a new set of kind \"physical\",\n"
      "signed (ramsafe.signing_key_file) and published once the backup's last WAL segment is\n"
      "in the WAL archive. Requires WAL archiving through ramsafe (archive_mode = on,\n"
      "archive_library = 'ramsafe') into the same store, and no tablespaces besides\n"
      "pg_default and pg_global.",
      {config_option(),
       {"json", 0, false, "", "print the result as JSON"},
       {"no-progress", 0, false, "", "no progress line even on a terminal"}}};
}

int run_base_backup(const ParsedArgs& args) {
  BaseBackupRequest request;
  request.settings = load_config(args);
  request.recipients = load_recipients(request.settings);
  request.cancel = cancel_check();
  ProgressLine line(stdout_is_terminal() && !args.has("no-progress") && !args.has("json"));
  request.progress = [&](const BaseBackupProgress& p) {
    line.update("base backup: " + p.phase + "  " + format_bytes(p.bytes_read) + " read, " +
                    format_bytes(p.bytes_stored) + " stored",
                p.phase != "copying");
  };
  BaseBackupResult result = ramsafe::run_base_backup(request);
  line.clear();
  for (const auto& w : result.warnings) warn(w);
  const Manifest& m = result.manifest;
  const PhysicalInfo& p = *m.physical;
  if (args.has("json")) {
    nlohmann::json j = {{"backup_id", m.backup_id},
                        {"kind", m.kind},
                        {"path", result.path},
                        {"start_lsn", p.start_lsn},
                        {"stop_lsn", p.stop_lsn},
                        {"timeline", p.timeline},
                        {"start_wal_file", p.start_wal_file},
                        {"stop_wal_file", p.stop_wal_file},
                        {"plaintext_bytes", m.plaintext_bytes()},
                        {"stored_bytes", m.stored_bytes()},
                        {"seconds", result.seconds},
                        {"finished_at", m.finished_at}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "base backup " << m.backup_id << " complete: " << format_bytes(m.plaintext_bytes())
              << " copied, " << format_bytes(m.stored_bytes()) << " stored in "
              << format_duration(result.seconds) << "; WAL " << p.start_lsn << " to " << p.stop_lsn
              << " (" << p.start_wal_file << " to " << p.stop_wal_file << ") is archived\n"
              << result.path << "\n";
  }
  return kExitOk;
}

}  // namespace ramsafe::cli
