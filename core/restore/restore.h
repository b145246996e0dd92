// Restore before start (design §9): pick the newest good set, verify it, initdb with the
// recorded settings, restore through a private postmaster, put the configuration back,
// and move the result into the empty data directory.
//
// The data directory only becomes a valid cluster at the very end: the work happens in
// <pgdata>/.ramsafe-restore/ (same filesystem), whose entries are renamed into place with
// PG_VERSION last. A crash at any point leaves a directory PostgreSQL refuses to start
// from and that the next `ramsafe restore` recognises and redoes.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/config/settings.h"
#include "core/crypto/age.h"
#include "core/io/sink.h"
#include "core/restore/plan.h"
#include "core/store/store.h"
#include "core/wal/wal_archive.h"

namespace ramsafe {

enum class OnMissing { kFail, kInit };

struct RestoreProgress {
  // "verifying", "initdb", "globals", "database", "config", "finishing"; physical and
  // offline: "verifying", "extracting", "recovering" (wal_file: the last one replayed), "finishing"
  std::string phase;
  std::string backup_id;
  std::string database;
  int databases_done = 0;
  int database_count = 0;
  uint64_t bytes_done = 0;  // stored bytes processed in this phase
  uint64_t bytes_total = 0;
  std::string wal_file;
};

struct RestoreRequest {
  Settings settings;
  std::string data_directory;
  std::vector<age::Identity> identities;
  std::string backup_id;  // empty: newest good set, falling back to older ones
  // recovery_target_time for a physical restore, as parse_target_time accepts it; empty:
  // replay all archived WAL. Only physical sets finished before it are candidates.
  std::string target_time;
  // The restore_command for WAL replay without " %f %p", e.g. the companion's
  // "'/usr/bin/ramsafe' wal-fetch --config '/etc/ramsafe/ramsafe.conf'" (shell-quoted).
  // Empty: physical sets cannot be restored (they are skipped, loudly).
  std::string wal_fetch_command;
  int recovery_stall_seconds = 600;  // give up when replay makes no progress this long
  bool if_empty = false;             // a non-empty data directory is left alone: outcome "skipped"
  bool force = false;                // a non-empty data directory (server not running) is emptied
  OnMissing on_missing = OnMissing::kFail;
  // Sets (and WAL) with no signature at all, written before ramsafe signed them, may be
  // restored too: after every trusted candidate, loudly. Never a badly signed one.
  bool allow_unsigned = false;
  int jobs = 0;             // databases restored at once; 0 = settings.restore_jobs / CPUs
  std::string report_path;  // empty: <data_directory>/ramsafe_restore_report.json
  CancelCheck cancel;
  std::function<void(const RestoreProgress&)> progress;
  std::function<void(const std::string&)> warn;  // loud messages: fallbacks, skipped sets
  std::function<void(const std::string&)> info;
};

struct RestoreAttempt {
  std::string backup_id;
  std::string store;
  bool succeeded = false;
  std::string reason;  // why it failed or was skipped
};

struct RestoreReport {
  // "restored", "skipped" (not empty, --if-empty), "initialized" (no backup, --on-missing=init),
  // "no-backup", "not-empty", "failed"
  std::string outcome;
  std::string error;
  std::string data_directory;
  std::string backup_id;
  std::string backup_finished_at;
  std::string kind;  // of the restored set: "logical", "physical" or "offline"
  // Why that set: what it reaches and how it restores, against the next candidate (the
  // plan's reason, core/restore/plan.h), and how many attempts failed before it.
  std::string reason;
  // Whether archived WAL was replayed (physical; offline with WAL after it). An offline
  // snapshot without it starts without recovery: recovered_to_lsn is its checkpoint.
  bool wal_replayed = false;
  // physical: where WAL replay ended (pg_last_wal_replay_lsn(), the last replayed commit's
  // time from pg_last_xact_replay_timestamp(), empty if none), the archive's last segment
  std::string recovered_to_lsn;
  std::string recovered_to_time;
  std::string target_time;
  std::string wal_last_archived;
  // physical: the dropped segment (ramsafe.wal_backlog_policy = drop) where the archived WAL
  // after the base ends, so replay stops before it; empty if the WAL was not broken there
  std::string wal_chain_broken_at;
  // physical, when replay ended before the archive's last segment without a target: the
  // LSN it stopped at, and the archived file found damaged there (with what is wrong). A
  // damaged file makes the restore incomplete: the cluster is the last good point.
  std::string wal_stopped_at;
  std::string wal_damaged_file;
  std::string wal_damage;
  std::string store;
  // Of the restored set: "trusted" or "unsigned" (--allow-unsigned), the key that signed it
  // and its sequence number.
  std::string trust;
  std::string signed_by;
  uint64_t sequence = 0;
  // Freshness: the highest sequence this host had seen before (0: none), and a ROLLBACK
  // message when the newest trusted set is older than that (core/set/freshness.h).
  uint64_t seen_sequence = 0;
  std::string rollback;
  std::vector<std::string> databases;
  std::vector<RestoreAttempt> attempts;
  std::string started_at;
  std::string finished_at;
  double seconds = 0;
  uint64_t stored_bytes = 0;
  uint64_t plaintext_bytes = 0;

  bool complete() const { return wal_damaged_file.empty(); }
  std::string to_json() const;
};

// Checks and restores. Throws Error only for problems no backup can fix (bad identity
// file, running as root, a running server); every backup-specific failure is recorded in
// the report and the next older set is tried.
RestoreReport run_restore(const RestoreRequest& request, const std::vector<Store*>& stores);

// True if the directory is absent or holds nothing but "lost+found".
bool data_directory_is_empty(const std::string& path);

// --if-empty's answer on the boot path, before anything else is read (a restart of the
// service must not fail for a problem only a restore would have): a report with outcome
// "skipped" when data_directory holds data and no unfinished restore (whose staging
// directory a restore has to discard and redo); nullopt when a restore must look closer.
// Only reads the directory; an unreadable one gives nullopt, never an exception.
std::optional<RestoreReport> skip_if_not_empty(const std::string& data_directory);

}  // namespace ramsafe
