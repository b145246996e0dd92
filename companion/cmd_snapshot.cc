#include <unistd.h>

#include <algorithm>
#include <iostream>

#include <nlohmann/json.hpp>

#include "companion/commands.h"
#include "core/backup/offline_snapshot.h"
#include "core/config/keys.h"
#include "core/retention/prune.h"

namespace ramsafe::cli {

CommandSpec snapshot_spec() {
  return {"snapshot",
          "snapshot [options]",
          "Take an offline snapshot of the cleanly stopped cluster.\n"
          "It goes into ramsafe.local_dir: the data directory streamed as one tar through\n"
          "zstd and age into a new signed set\n"
          "of kind \"offline\", which `ramsafe restore` brings back by extraction alone.\n"
          "Run it as the data directory's OS user after a clean stop (pg_ctl stop -m\n"
          "fast, or systemd's ExecStopPost). It never writes to the data directory.\n"
          "Exit code 8, nothing written: the cluster was not cleanly shut down\n"
          "(pg_controldata's state is not \"shut down\" or \"shut down in recovery\"; after\n"
          "a crash the boot restore uses the last backup), or a server runs on it.\n"
          "Exit code 1: the data directory's system identifier is not that of the\n"
          "store's newest set, or the snapshot failed (nothing published).\n"
          "Left out of the copy: postmaster.pid, the contents of pg_stat_tmp and of\n"
          "other directories reset at start, temporary files, WAL a clean start does not\n"
          "read. Symbolic links (tablespaces) are refused, as by base-backup (exit 2).\n"
          "The older offline snapshots it supersedes are then removed from the local\n"
          "store (docs/retention.md).",
          {config_option(),
           {"pgdata", 'D', true, "DIR", "data directory (default: ramsafe.data_directory)"},
           {"json", 0, false, "", "print the result as JSON"},
           {"no-progress", 0, false, "", "no progress line even on a terminal"}}};
}

int run_snapshot(const ParsedArgs& args) {
  OfflineSnapshotRequest request;
  request.settings = load_config(args);
  request.data_directory = args.get("pgdata", request.settings.data_directory);
  if (request.data_directory.empty())
    throw UsageError("no data directory: pass --pgdata DIR or set ramsafe.data_directory");
  request.recipients = load_recipients(request.settings);
  request.cancel = cancel_check();
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  request.zstd_workers = cpus >= 2 ? static_cast<int>(std::min<long>(cpus, 4)) : 0;
  ProgressLine line(stdout_is_terminal() && !args.has("no-progress") && !args.has("json"));
  request.progress = [&](const OfflineSnapshotProgress& p) {
    line.update("snapshot: " + p.phase + "  " + std::to_string(p.files) + " files, " +
                    format_bytes(p.bytes_read) + " read, " + format_bytes(p.bytes_stored) +
                    " stored",
                p.phase != "copying");
  };
  OfflineSnapshotResult result;
  try {
    result = run_offline_snapshot(request);
  } catch (const SnapshotRefused& e) {
    line.clear();
    std::cerr << "ramsafe snapshot: refused: " << e.what() << "\n";
    return e.why() == SnapshotRefused::Why::kOtherCluster ? kExitFailed : kExitRefused;
  }
  line.clear();
  for (const auto& w : result.warnings) warn(w);
  // The older offline snapshots it supersedes go now, not at the next backup: they are
  // large, and a service restarted often would pile them up. Never fails the snapshot.
  std::vector<std::string> removed;
  try {
    LocalStore store(local_store_root(request.settings), trust_policy_for(request.settings));
    PruneRequest policies = prune_request_for(request.settings, TimeZone::utc());
    for (const auto& e : prune_superseded_offline(store, policies.local_policy)) {
      if (e.deleted) {
        removed.push_back(e.backup_id);
        if (!args.has("json"))
          info("removed offline snapshot " + e.backup_id + " (" + e.reason + ")");
      } else {
        warn("could not remove offline snapshot " + e.backup_id + ": " + e.error);
      }
    }
  } catch (const Error& e) {
    warn(std::string("could not remove superseded offline snapshots: ") + e.what());
  }
  const Manifest& m = result.manifest;
  const OfflineInfo& o = *m.offline;
  if (args.has("json")) {
    nlohmann::json j = {{"backup_id", m.backup_id},
                        {"kind", m.kind},
                        {"path", result.path},
                        {"checkpoint_lsn", o.checkpoint_lsn},
                        {"timeline", o.timeline},
                        {"system_identifier", m.system_identifier},
                        {"pg_major", o.pg_major},
                        {"files", result.files},
                        {"plaintext_bytes", m.plaintext_bytes()},
                        {"stored_bytes", m.stored_bytes()},
                        {"seconds", result.seconds},
                        {"removed", removed},
                        {"finished_at", m.finished_at}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "offline snapshot " << m.backup_id << " complete: " << result.files << " files, "
              << format_bytes(m.plaintext_bytes()) << " copied, " << format_bytes(m.stored_bytes())
              << " stored in " << format_duration(result.seconds) << "; checkpoint "
              << o.checkpoint_lsn << " on timeline " << o.timeline << "\n"
              << result.path << "\n";
  }
  return kExitOk;
}

}  // namespace ramsafe::cli
