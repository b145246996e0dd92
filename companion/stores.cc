#include "companion/stores.h"

#include "companion/cli.h"
#include "core/backup/backup.h"
#include "core/error.h"
#include "core/set/freshness.h"

namespace ramsafe::cli {

std::vector<Store*> Stores::all() const {
  std::vector<Store*> out;
  if (local) out.push_back(local.get());
  if (drive) out.push_back(drive.get());
  return out;
}

std::string Stores::describe() const {
  std::string out;
  for (Store* s : all()) out += (out.empty() ? "" : ", ") + s->describe();
  return out;
}

OptionSpec store_option() {
  return {"store", 0, true, "local|drive", "only this store (default: every configured store)"};
}

Stores open_stores(const Settings& settings, const std::string& only) {
  if (!only.empty() && only != "local" && only != "drive")
    throw UsageError("--store must be local or drive, not \"" + only + "\"");
  Stores stores;
  if (only != "drive") stores.local = make_local_store(settings);
  if (only != "local") {
    stores.drive = make_drive_store(settings);
    if (stores.drive) {
      stores.drive->set_cancel(cancel_check());
      stores.drive->set_log([](const std::string& text) { info(text); });
    }
  }
  if (only == "local" && !stores.local)
    throw UsageError("--store local: ramsafe.local_dir is not set");
  if (only == "drive" && !stores.drive)
    throw UsageError(
        "--store drive: neither ramsafe.drive_credentials_file nor "
        "ramsafe.drive_token_file is set");
  if (!stores.local && !stores.drive)
    throw Error(Errc::kConfig,
                "no store is configured: set ramsafe.local_dir, or Drive credentials "
                "(ramsafe.drive_credentials_file or ramsafe.drive_token_file)");
  return stores;
}

std::vector<SetEntry> list_all_sets(const Stores& stores) {
  std::vector<SetEntry> all;
  std::vector<Store*> list = stores.all();
  for (Store* store : list) {
    try {
      auto sets = store->list_sets();
      all.insert(all.end(), sets.begin(), sets.end());
    } catch (const Error& e) {
      if (e.code() == Errc::kCancelled || list.size() == 1) throw;
      warn("cannot list " + store->describe() + ": " + e.what());
    }
  }
  sort_newest_first(all);
  return all;
}

void report_duplicate_fixes(const Stores& stores, const std::vector<DuplicateFix>& fixes) {
  for (const auto& f : fixes) {
    std::string what = "duplicate copies on " + stores.drive->describe() + " of " + f.backup_id +
                       "/" + f.path + " (" + std::to_string(f.copies) + ")";
    if (f.kept_id.empty()) {
      warn(what + ": " + f.problem);
      continue;
    }
    what += ": kept " + f.kept_id + ", removed ";
    for (size_t i = 0; i < f.removed.size(); ++i) what += (i == 0 ? "" : ", ") + f.removed[i];
    info(what);
  }
}

std::string check_freshness(const Settings& settings, const std::vector<SetEntry>& sets) {
  FreshnessState state(state_file_path(settings));
  try {
    state.load();
  } catch (const Error& e) {
    warn(std::string(e.what()) + "; rollbacks cannot be detected until it is fixed");
    return "";
  }
  std::string cluster = cluster_name(settings);
  std::optional<SeenBackup> newest = newest_by_sequence(sets);
  std::string rollback = rollback_problem(state.seen(cluster), newest);
  if (!rollback.empty()) warn(rollback);
  if (newest) state.note(cluster, *newest, nullptr);
  return rollback;
}

Store& store_of(const Stores& stores, const SetEntry& set) {
  for (Store* store : stores.all())
    if (store->describe() == set.store) return *store;
  throw Error(Errc::kInternal, "no store for " + set.store);
}

}  // namespace ramsafe::cli
