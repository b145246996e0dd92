#include <algorithm>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "companion/commands.h"
#include "companion/stores.h"
#include "core/error.h"
#include "core/io/bounded_json.h"
#include "core/retention/prune.h"

namespace ramsafe::cli {

CommandSpec prune_spec() {
  return {"prune",
          "prune [options]",
          "Apply retention: delete the sets the policies do not keep.\n"
          "ramsafe.local_retention and ramsafe.drive_retention choose the logical sets each\n"
          "store keeps, ramsafe.local_base_retention and ramsafe.drive_base_retention the\n"
          "physical base backups (last, hourly, daily, weekly, monthly, yearly, in\n"
          "ramsafe.timezone). Whatever they say, the newest set of each kind in each store is\n"
          "kept, so is the set the latest recoverable point depends on (with a warning), a\n"
          "local set Drive does not hold yet, and damaged sets, as are sets no trusted key\n"
          "signed (UNTRUSTED: never counted by the policies either). Every set is listed with\n"
          "keep or delete and the rule that decided; the server's worker prunes after each\n"
          "backup.\n"
          "Archived WAL before the oldest physical base a store keeps is deleted too (one\n"
          "line per store; .history files stay; a local WAL file Drive lacks stays).",
          {config_option(),
           store_option(),
           {"dry-run", 'n', false, "", "show the decisions, delete nothing"},
           {"json", 0, false, "", "print JSON"}}};
}

int run_prune(const ParsedArgs& args) {
  Settings settings = load_config(args);
  Stores stores = open_stores(settings, args.get("store"));
  PruneRequest request = prune_request_for(settings);
  request.dry_run = args.has("dry-run");
  request.cancel = cancel_check();
  // With --store local, Drive is still asked which sets it holds: a local set it lacks
  // must not be deleted.
  Stores drive_for_safety;
  DriveStore* drive = stores.drive.get();
  if (args.get("store") == "local") {
    drive_for_safety = open_stores(settings, "");
    drive = drive_for_safety.drive.get();
    request.prune_drive = false;
  }
  std::vector<PruneEntry> entries = ramsafe::run_prune(request, stores.local.get(), drive);
  if (args.get("store") == "local") {
    std::vector<PruneEntry> local_only;
    for (auto& e : entries)
      if (e.store == "local") local_only.push_back(std::move(e));
    entries = std::move(local_only);
  }

  // A store that could not be listed comes as one entry without a backup id: a warning
  // (nothing was deleted because of it), not a failure.
  bool failed = false;
  int deleting = 0;
  int wal_deleting = 0;
  for (const auto& e : entries)
    if (!e.warning.empty()) warn(e.warning);
  for (const auto& e : entries) {
    if (e.wal) {
      failed = failed || !e.error.empty();
      wal_deleting += e.wal_files;
      continue;
    }
    if (e.backup_id.empty()) {
      if (!args.has("json")) warn(e.reason + ": " + e.error);
      continue;
    }
    failed = failed || !e.error.empty();
    if (!e.keep) ++deleting;
  }
  if (args.has("json")) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : entries) {
      if (e.wal) {
        out.push_back({{"store", e.store},
                       {"kind", "wal"},
                       {"action", e.keep ? "keep" : "delete"},
                       {"deleted", e.deleted},
                       {"files", e.wal_files},
                       {"bytes", e.wal_bytes},
                       {"first", e.wal_first},
                       {"last", e.wal_last},
                       {"reason", e.reason},
                       {"error", e.error}});
        continue;
      }
      out.push_back({{"store", e.store},
                     {"kind", "set"},
                     {"set_kind", e.set_kind},
                     {"backup_id", e.backup_id},
                     {"finished_at", e.finished_at},
                     {"action", e.keep ? "keep" : "delete"},
                     {"deleted", e.deleted},
                     {"reason", e.reason},
                     {"warning", e.warning},
                     {"error", e.error}});
    }
    std::cout << dump_printable_json(out, 2) << "\n";
    return failed ? kExitFailed : kExitOk;
  }
  std::printf("%-6s %-20s %-24s %-7s %s\n", "STORE", "BACKUP", "FINISHED (UTC)", "ACTION", "WHY");
  for (const auto& e : entries) {
    if (e.backup_id.empty() && !e.wal) continue;
    const char* action =
        e.keep ? "keep" : (request.dry_run ? "delete" : (e.deleted ? "deleted" : "FAILED"));
    std::printf("%-6s %-20s %-24s %-7s %s%s\n", e.store.c_str(),
                e.wal ? "WAL" : e.backup_id.c_str(), e.finished_at.c_str(), action,
                printable(e.reason).c_str(),
                e.error.empty() ? "" : (": " + printable(e.error)).c_str());
  }
  std::cout << (request.dry_run ? "would delete " : "deleted ") << deleting
            << (deleting == 1 ? " set" : " sets") << (request.dry_run ? " (dry run)" : "") << "\n";
  if (std::any_of(entries.begin(), entries.end(), [](const PruneEntry& e) { return e.wal; }))
    std::cout << (request.dry_run ? "would delete " : "deleted ") << wal_deleting
              << (wal_deleting == 1 ? " WAL file" : " WAL files")
              << (request.dry_run ? " (dry run)" : "") << "\n";
  return failed ? kExitFailed : kExitOk;
}

}  // namespace ramsafe::cli
