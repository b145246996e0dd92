#include <algorithm>
#include <iostream>

#include "companion/commands.h"
#include "companion/stores.h"
#include "core/error.h"

namespace ramsafe::cli {

CommandSpec upload_spec() {
  return {"upload",
          "upload [options] [BACKUP_ID]",
          "Copy the local backup sets that Google Drive does not hold yet to Drive.\n"
          "Newest first; the server's worker does this after every backup. Files already on Drive "
          "with the\n"
          "right size and MD5 are kept; the manifest goes last, so an interrupted upload is never\n"
          "listed as a complete set and the next upload finishes it.",
          {config_option(), {"no-progress", 0, false, "", "no progress line even on a terminal"}},
          1,
          "BACKUP_ID   upload only this set"};
}

int run_upload(const ParsedArgs& args) {
  Settings settings = load_config(args);
  Stores stores = open_stores(settings);
  if (!stores.local) throw UsageError("ramsafe.local_dir is not set: there is nothing to upload");
  if (!stores.drive)
    throw UsageError(
        "Drive is not configured: set ramsafe.drive_credentials_file or "
        "ramsafe.drive_token_file");
  std::vector<SetEntry> local_sets = stores.local->list_sets();
  if (std::none_of(local_sets.begin(), local_sets.end(),
                   [](const SetEntry& s) { return s.usable(); })) {
    std::cout << "no usable backups in " << stores.local->describe() << " to upload\n";
    return kExitOk;
  }
  std::vector<SetEntry> pending = sets_to_upload(local_sets, stores.drive->list_sets());
  if (!args.positionals.empty()) {
    const std::string& id = args.positionals[0];
    std::vector<SetEntry> one;
    for (const auto& s : pending)
      if (s.id == id) one.push_back(s);
    if (one.empty()) {
      bool local_has = false;
      for (const auto& s : local_sets) local_has = local_has || (s.id == id && s.usable());
      if (!local_has) {
        std::cerr << "ramsafe upload: no usable backup " << id << " in " << stores.local->describe()
                  << "\n";
        return kExitFailed;
      }
      std::cout << id << ": already on " << stores.drive->describe() << "\n";
      return kExitOk;
    }
    pending = one;
  }
  if (pending.empty()) {
    std::cout << "every local backup is already on " << stores.drive->describe() << "\n";
    return kExitOk;
  }
  ProgressLine line(stdout_is_terminal() && !args.has("no-progress"));
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
