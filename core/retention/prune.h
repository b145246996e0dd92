// Applying retention (core/retention/retention.h) to the stores: which sets each store keeps and
// deletes, with the rule that decided, and the deleting itself. Safety rules on top of
// the policy: a local set that Drive does not hold yet is kept while Drive is
// configured (and every local set when Drive cannot be listed); the newest complete set
// of each store is kept; damaged sets are left for the operator.
#pragma once

#include <string>
#include <vector>

#include "core/config/settings.h"
#include "core/drive/drive_store.h"
#include "core/retention/retention.h"
#include "core/schedule/timezone.h"
#include "core/store/local_store.h"
#include "core/wal/wal_retention.h"
#include "core/wal/wal_window.h"

namespace ramsafe {

struct PruneEntry {
  std::string store;  // "local" or "drive"
  // A set's entry, or (wal) one entry per store for its archived WAL (core/wal/wal_retention.h):
  // keep = nothing to delete, reason = WalRetention::summary(), backup_id empty.
  bool wal = false;
  int wal_files = 0;  // to delete (deleted, unless dry_run or error)
  uint64_t wal_bytes = 0;
  std::string wal_first, wal_last;
  std::string backup_id;
  std::string set_kind;  // the manifest's kind ("logical", "physical", "offline"); "" if unusable
  std::string finished_at;  // empty for an unusable set
  bool keep = true;
  std::string reason;
  bool deleted = false;  // set by a run that is not a dry run
  std::string error;     // why deleting failed
  // Set when the policy would have shrunk the recoverable window and this set was kept
  // instead (keep_recoverable_point): a message for a WARNING.
  std::string warning;
};

struct PruneRequest {
  StorePolicy local_policy;  // ramsafe.local_retention, ramsafe.local_base_retention
  StorePolicy drive_policy;  // ramsafe.drive_retention, ramsafe.drive_base_retention
  TimeZone zone = TimeZone::utc();
  bool dry_run = true;
  CancelCheck cancel;
  // An unfinished Drive upload that is not in the upload queue (its local set is gone, or
  // Drive's policy no longer wants it) is deleted once its newest file is this old; the
  // bound only guards against racing an uploader this process cannot see.
  int64_t abandoned_upload_seconds = int64_t{24} * 3600;
  int64_t now_unix = 0;  // 0: the clock
  // false: Drive is only consulted (which local sets and WAL it lacks), nothing on it is
  // decided or deleted (`ramsafe prune --store local`).
  bool prune_drive = true;
};

// The recoverable-window guard: retention never moves back the latest point a restore
// from a store reaches (recoverable_to, core/wal/wal_window.h). When the sets the decisions
// keep, with the store's archived WAL and chain-break markers, reach less far than all its
// usable sets do (a newer base whose WAL is incomplete, an older one whose WAL reaches
// further), the set that reaches furthest is kept after all. kept_id names it and warning
// says what the policy would have done; both empty when the decisions already keep it.
struct WindowGuard {
  std::string kept_id;
  std::string warning;
};
WindowGuard keep_recoverable_point(std::vector<RetentionDecision>& decisions,
                                   const std::vector<SetEntry>& sets,
                                   const std::vector<StoredWalFile>& wal,
                                   const std::vector<WalChainBreak>& breaks);

// Decides for every set of both stores (either may be null) and, unless dry_run, deletes
// what the decisions say (and abandoned unfinished Drive uploads), local sets under the local
// store's lock; then, per store, the archived WAL before the oldest physical base it keeps
// (a local WAL file Drive lacks is kept while Drive is configured). Logical and physical sets
// go by their own policies (StorePolicy), the newest of each kind stays, and the
// recoverable-window guard applies (an entry's warning says when it had to). Throws
// Error(kBusy) when a backup holds the lock, Error for a local store that cannot be listed; a
// Drive that cannot be listed keeps every local set and is reported as a "drive" entry with
// the error.
std::vector<PruneEntry> run_prune(const PruneRequest& request, LocalStore* local,
                                  DriveStore* drive);

// The upload queue: local sets that Drive does not hold and that Drive's retention would
// keep if it did (the newest set always), newest first. A set Drive would delete at once
// is not sent, so the two stores' policies can never chase each other; such a set is
// also not protected from local retention.
std::vector<SetEntry> sets_to_upload(const std::vector<SetEntry>& local,
                                     const std::vector<SetEntry>& remote,
                                     const StorePolicy& drive_policy, const TimeZone& zone);

// The WAL upload queue: local archived WAL files Drive lacks (or holds with another size),
// oldest first.
std::vector<StoredWalFile> wal_to_upload(const std::vector<StoredWalFile>& local,
                                         const std::vector<StoredWalFile>& remote);

// The policies the settings give (ramsafe.local_retention, drive_retention,
// local_base_retention, drive_base_retention), evaluated in zone; without one, in
// ramsafe.timezone, else the system's zone (the server passes its own TimeZone instead).
PruneRequest prune_request_for(const Settings& settings, const TimeZone& zone);
PruneRequest prune_request_for(const Settings& settings);

}  // namespace ramsafe
