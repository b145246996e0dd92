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
#include <string>
#include <vector>

#include "core/age.h"
#include "core/settings.h"
#include "core/sink.h"
#include "core/store.h"

namespace ramsafe {

enum class OnMissing { kFail, kInit };

struct RestoreProgress {
  std::string phase;  // "verifying", "initdb", "globals", "database", "config", "finishing"
  std::string backup_id;
  std::string database;
  int databases_done = 0;
  int database_count = 0;
  uint64_t bytes_done = 0;  // stored bytes processed in this phase
  uint64_t bytes_total = 0;
};

struct RestoreRequest {
  Settings settings;
  std::string data_directory;
  std::vector<age::Identity> identities;
  std::string backup_id;  // empty: newest good set, falling back to older ones
  bool if_empty = false;  // a non-empty data directory is left alone: outcome "skipped"
  bool force = false;     // a non-empty data directory (server not running) is emptied
  OnMissing on_missing = OnMissing::kFail;
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
  std::string store;
  std::vector<std::string> databases;
  std::vector<RestoreAttempt> attempts;
  std::string started_at;
  std::string finished_at;
  double seconds = 0;
  uint64_t stored_bytes = 0;
  uint64_t plaintext_bytes = 0;

  std::string to_json() const;
};

// Checks and restores. Throws Error only for problems no backup can fix (bad identity
// file, running as root, a running server); every backup-specific failure is recorded in
// the report and the next older set is tried.
RestoreReport run_restore(const RestoreRequest& request, const std::vector<Store*>& stores);

// True if the directory is absent or holds nothing but "lost+found".
bool data_directory_is_empty(const std::string& path);

}  // namespace ramsafe
