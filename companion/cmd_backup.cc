#include <iostream>

#include <nlohmann/json.hpp>

#include "companion/commands.h"
#include "core/backup/backup.h"
#include "core/config/keys.h"

namespace ramsafe::cli {

CommandSpec backup_spec() {
  return {"backup",
          "backup [options]",
          "Take a backup of the whole cluster now, into ramsafe.local_dir.\n"
          "Connects to the running server as the configured superuser over its unix socket and\n"
          "writes globals, configuration files and every database, compressed and encrypted,\n"
          "and signs the set with ramsafe.signing_key_file (docs/security.md).",
          {config_option(),
           {"json", 0, false, "", "print the result as JSON"},
           {"no-progress", 0, false, "", "no progress line even on a terminal"}}};
}

int run_backup(const ParsedArgs& args) {
  BackupRequest request;
  request.settings = load_config(args);
  request.recipients = load_recipients(request.settings);
  request.cancel = cancel_check();
  ProgressLine line(stdout_is_terminal() && !args.has("no-progress") && !args.has("json"));
  request.progress = [&](const BackupProgress& p) {
    std::string text = "backup: " + p.phase;
    if (p.phase == "database")
      text += " " + std::to_string(p.database_index) + "/" + std::to_string(p.database_count) +
              " " + p.database;
    text +=
        "  " + format_bytes(p.bytes_read) + " read, " + format_bytes(p.bytes_stored) + " stored";
    line.update(text, p.phase != "database");
  };
  BackupResult result = run_backup(request);
  line.clear();
  for (const auto& w : result.warnings) warn(w);
  for (const auto& db : result.vanished_databases)
    warn("database \"" + db + "\" was dropped while the backup ran; it is not in the backup");
  const Manifest& m = result.manifest;
  if (args.has("json")) {
    nlohmann::json j = {
        {"backup_id", m.backup_id},         {"path", result.path},
        {"databases", m.databases()},       {"plaintext_bytes", m.plaintext_bytes()},
        {"stored_bytes", m.stored_bytes()}, {"seconds", result.seconds},
        {"finished_at", m.finished_at}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "backup " << m.backup_id << " complete: " << m.databases().size() << " databases, "
              << format_bytes(m.plaintext_bytes()) << " dumped, " << format_bytes(m.stored_bytes())
              << " stored in " << format_duration(result.seconds) << "\n"
              << result.path << "\n";
  }
  return kExitOk;
}

}  // namespace ramsafe::cli
