#include <algorithm>
#include <iostream>
#include <map>

#include "companion/commands.h"
#include "companion/stores.h"
#include "core/error.h"
#include "core/retention/prune.h"
#include "core/wal/wal_archive.h"

namespace ramsafe::cli {

CommandSpec upload_spec() {
  return {"upload",
          "upload [options] [BACKUP_ID]",
          "Copy to Google Drive the local sets and archived WAL that it lacks.\n"
          "Archived WAL files go first, oldest first; then the sets,\n"
          "newest first, and only sets that ramsafe.drive_retention keeps (the newest always);\n"
          "the server's worker does this after every backup. Files already on Drive with the\n"
          "right size and MD5 are kept; the manifest goes last, so an interrupted upload is\n"
          "never listed as a complete set and the next upload finishes it. Duplicate copies of\n"
          "a file in a set on Drive are removed, keeping one that checks out against the\n"
          "manifest. Only sets and WAL files signed by a key in ramsafe.verify_keys_file are\n"
          "copied.",
          {config_option(), {"no-progress", 0, false, "", "no progress line even on a terminal"}},
          1,
          "BACKUP_ID   upload only this set"};
}

namespace {

// The archived WAL files Drive lacks, oldest first (a no-op without a WAL archive).
void upload_wal(const Stores& stores, ProgressLine& line) {
  std::vector<StoredWalFile> local = list_wal_files(stores.local->root());
  if (local.empty()) return;
  std::vector<RemoteWalFile> remote = stores.drive->list_wal();
  std::map<std::string, const RemoteWalFile*> by_name;
  for (const auto& f : remote) by_name[f.wal.file.name] = &f;
  std::vector<StoredWalFile> pending = wal_to_upload(local, DriveStore::stored_of(remote));
  uint64_t total = 0, done = 0, sent = 0;
  for (const auto& f : pending) total += f.stored_bytes;
  int files = 0, untrusted = 0;
  std::string first_problem;
  for (const auto& f : pending) {
    line.update("upload WAL " + f.file.name + ": " + std::to_string(files) + " of " +
                std::to_string(pending.size()) + " files, " + format_bytes(done) + " of " +
                format_bytes(total));
    auto it = by_name.find(f.file.name);
    WalUploadResult up = stores.drive->upload_wal_file(
        stores.local->root(), f, it == by_name.end() ? nullptr : it->second, cancel_check());
    done += f.stored_bytes;
    if (up.untrusted) {
      if (untrusted++ == 0) first_problem = up.problem;
      continue;
    }
    sent += up.stats.bytes_sent;
    ++files;
  }
  line.clear();
  if (untrusted > 0)
    warn("not copying " + std::to_string(untrusted) + " archived WAL file" +
         (untrusted == 1 ? "" : "s") + " that no trusted key signed: " + first_problem);
  if (files == 0)
    std::cout << "Drive holds every archived WAL file (" << local.size() - untrusted << ")\n";
  else
    std::cout << "uploaded " << files << " WAL files (" << pending.front().file.name << " .. "
              << pending.back().file.name << ") to " << stores.drive->describe() << " ("
              << format_bytes(sent) << " sent)\n";
}

}  // namespace

int run_upload(const ParsedArgs& args) {
  Settings settings = load_config(args);
  Stores stores = open_stores(settings);
  if (!stores.local) throw UsageError("ramsafe.local_dir is not set: there is nothing to upload");
  if (!stores.drive)
    throw UsageError(
        "Drive is not configured: set ramsafe.drive_credentials_file or "
        "ramsafe.drive_token_file");
  ProgressLine line(stdout_is_terminal() && !args.has("no-progress"));
  if (args.positionals.empty()) upload_wal(stores, line);
  std::vector<SetEntry> local_sets = stores.local->list_sets();
  if (std::none_of(local_sets.begin(), local_sets.end(),
                   [](const SetEntry& s) { return s.usable(); })) {
    std::cout << "no usable backups in " << stores.local->describe() << " to upload\n";
    return kExitOk;
  }
  std::vector<SetEntry> remote_sets = stores.drive->list_sets();
  // Drive holds one copy of each file of a complete set: extra ones go (docs/drive.md).
  report_duplicate_fixes(stores, stores.drive->fix_duplicates({}, cancel_check()));
  std::vector<SetEntry> pending;
  if (!args.positionals.empty()) {
    // One set asked for by name: sent even if Drive's retention would not keep it.
    const std::string& id = args.positionals[0];
    auto has = [&id](const std::vector<SetEntry>& sets) {
      return std::any_of(sets.begin(), sets.end(),
                         [&id](const SetEntry& s) { return s.id == id && s.usable(); });
    };
    if (!has(local_sets)) {
      std::cerr << "ramsafe upload: no usable backup " << id << " in " << stores.local->describe()
                << "\n";
      return kExitFailed;
    }
    if (has(remote_sets)) {
      std::cout << id << ": already on " << stores.drive->describe() << "\n";
      return kExitOk;
    }
    for (const auto& s : local_sets)
      if (s.id == id) pending.push_back(s);
  } else {
    PruneRequest policy = prune_request_for(settings);
    pending = sets_to_upload(local_sets, remote_sets, policy.drive_policy, policy.zone);
  }
  if (pending.empty()) {
    std::cout << "Drive holds every local backup that ramsafe.drive_retention keeps ("
              << stores.drive->describe() << ")\n";
    return kExitOk;
  }
  for (const auto& set : pending) {
    SetUpload result = stores.drive->upload_set(
        *stores.local, set, cancel_check(),
        [&](const std::string& id, uint64_t done, uint64_t total) {
          line.update("upload " + id + ": " + std::to_string(total ? done * 100 / total : 100) +
                      "% of " + format_bytes(total));
        });
    line.clear();
    std::cout << "uploaded " << set.id << " to " << stores.drive->describe() << " ("
              << result.files_uploaded << " files sent, " << result.files_already_there
              << " already there, " << format_bytes(result.stats.bytes_sent) << " sent)\n";
  }
  return kExitOk;
}

}  // namespace ramsafe::cli
