// The stores a configuration names: the local directory (ramsafe.local_dir) and Google
// Drive (ramsafe.drive_*), for the subcommands that read from all of them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "companion/cli.h"
#include "core/config/settings.h"
#include "core/drive/drive_store.h"
#include "core/store/local_store.h"

namespace ramsafe::cli {

struct Stores {
  std::unique_ptr<LocalStore> local;  // null when ramsafe.local_dir is empty
  std::unique_ptr<DriveStore> drive;  // null when Drive is not configured

  // Local first: restore and verify prefer it for a set both hold (design §9).
  std::vector<Store*> all() const;
  std::string describe() const;  // "local /var/..., drive My Drive/main"
};

// only: "" (every configured store), "local" or "drive"; a store asked for but not
// configured is a UsageError naming the setting.
Stores open_stores(const Settings& settings, const std::string& only = "");
OptionSpec store_option();

// Lists every store's sets, newest first (local before remote for the same set). A store
// that cannot be listed (Drive unreachable) is skipped with a warning, unless it is the
// only one.
std::vector<SetEntry> list_all_sets(const Stores& stores);
// The store a listed set came from.
Store& store_of(const Stores& stores, const SetEntry& set);
// One line on stderr per duplicated file on Drive: what was kept and removed, or why not.
void report_duplicate_fixes(const Stores& stores, const std::vector<DuplicateFix>& fixes);

// Freshness (docs/security.md): warns "ROLLBACK: ..." when the newest trusted set listed is
// older (by sequence number) than what this host has seen, then notes the newest one in
// the state file when it can (quietly: a user who cannot write it may still list).
// Returns the rollback message, "" when there is none.
std::string check_freshness(const Settings& settings, const std::vector<SetEntry>& sets);

}  // namespace ramsafe::cli
