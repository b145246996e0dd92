// The facts `ramsafe check` and `ramsafe metrics` report (docs/monitoring.md), gathered once:
// the configuration file as the server would take it, every configured store (newest usable
// set, unusable sets, free space, archived WAL, what Drive still lacks), the filesystem of
// the data directory (the tmpfs), and, when the server answers, ramsafe_status(). Nothing
// here judges: thresholds and states are core/health/assessment.h, the output formats
// core/health/render.h.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/config/settings.h"
#include "core/io/sink.h"
#include "core/store/store.h"

namespace ramsafe {

// Whether a listed set counts as a backup a restore could use: the one place check and
// metrics decide it (a set must also be trusted once sets are signed).
bool usable_backup(const SetEntry& set);

struct ConfigProblem {
  std::string kind;     // "unknown_setting", "invalid_value", "invalid"
  std::string setting;  // "ramsafe.compresion_level"; empty when the problem names none
  std::string message;  // names the setting, the value and file:line
};

struct ConfigHealth {
  std::string path;
  bool read = false;               // the file and its includes were read and parsed
  std::string error;               // why not
  bool permission_denied = false;  // this process may not read it (not a fault of the file)
  std::vector<ConfigProblem> problems;
  // ramsafe.schedule or ramsafe.base_backup_schedule has a value the server rejects (it then
  // runs another schedule than the file says).
  std::vector<std::string> rejected_schedules;
};

struct SetSummary {
  std::string id;
  std::string kind;  // "logical", "physical" or "offline"
  int64_t finished_ms = 0;
  uint64_t stored_bytes = 0;
  size_t databases = 0;
};

struct StoreHealth {
  std::string kind;      // "local" or "drive"
  std::string location;  // the store's describe()
  bool listed = false;
  std::string error;  // why it could not be listed
  bool permission_denied = false;
  int usable_sets = 0;
  int unusable_sets = 0;
  std::string newest_unusable;       // "<id>: <problem>"
  std::optional<SetSummary> newest;  // the newest usable set
  std::optional<SetSummary> newest_logical;
  std::optional<SetSummary> newest_physical;
  std::optional<SetSummary> newest_offline;  // `ramsafe snapshot`'s sets

  // Local store: the filesystem of ramsafe.local_dir.
  std::optional<uint64_t> filesystem_bytes;
  std::optional<uint64_t> free_bytes;
  std::string filesystem_error;
  // Archived WAL in this store (local: listed from the directory; Drive: its copy).
  size_t wal_files = 0;
  uint64_t wal_bytes = 0;
  std::string wal_newest;
  std::optional<int64_t> wal_newest_ms;  // when the newest file was archived
  // Local store: the latest point a restore reaches (core/wal/wal_window.h) and a broken
  // WAL chain no base backup has started after.
  std::optional<int64_t> recoverable_to_ms;
  std::string wal_chain_broken_at;

  // Drive: what it lacks of the local store (the upload queue; needs both listings).
  bool pending_known = false;
  int pending_sets = 0;
  std::optional<int64_t> oldest_pending_set_ms;  // its finished_at
  size_t pending_wal_files = 0;
  uint64_t pending_wal_bytes = 0;
  std::optional<int64_t> oldest_pending_wal_ms;  // when the local copy was archived
};

struct RamHealth {
  std::string directory;  // ramsafe.data_directory (or the server's, from ramsafe_status())
  std::string source;     // "filesystem" (measured here) or "server"
  bool measured = false;
  std::string error;
  uint64_t filesystem_bytes = 0;
  uint64_t used_bytes = 0;
  uint64_t free_bytes = 0;
  std::optional<uint64_t> directory_bytes;  // from the server (it walks the tree)
  double used_percent() const {
    return filesystem_bytes ? 100.0 * static_cast<double>(used_bytes) / filesystem_bytes : 0;
  }
};

// ramsafe_status() as far as the installed extension version has its columns.
struct ServerHealth {
  bool asked = false;  // a connection was tried
  std::string target;  // "user@host:port/db"
  bool up = false;
  std::string error;  // why the connection failed
  bool status_available = false;
  std::string status_error;  // why ramsafe_status() could not be read

  std::string schedule;
  std::string timezone;
  std::optional<int> worker_pid;
  bool running = false;
  std::string phase;
  std::optional<int64_t> next_run_ms;
  std::string last_backup_id;
  std::optional<int64_t> last_finished_ms;
  std::string last_error;
  std::optional<int64_t> last_error_ms;
  std::optional<int64_t> backups_requested, backups_scheduled, backups_failed;
  std::optional<int64_t> pending_uploads;
  std::string remote_store;
  std::optional<int64_t> last_upload_ms;
  std::string last_remote_error;
  std::optional<int64_t> last_remote_error_ms;
  std::optional<int64_t> uploads_failed;
  bool archiving = false;
  std::string last_archived_wal;
  std::optional<int64_t> last_archived_ms;
  std::optional<int64_t> archive_failures;
  std::string last_archive_error;
  std::optional<int64_t> wal_backlog_bytes;
  std::optional<int64_t> wal_backlog_oldest_ms;
  std::string wal_chain_broken_at;
  std::optional<int64_t> last_base_backup_ms;
  std::string last_base_backup_error;
  std::optional<int64_t> recoverable_to_ms;
  std::optional<int64_t> wal_drive_pending_files, wal_drive_pending_bytes;
  std::optional<int64_t> data_directory_bytes, filesystem_bytes, filesystem_free_bytes;
};

struct HealthFacts {
  int64_t now_ms = 0;
  std::string cluster;
  ConfigHealth config;
  // The settings the server would run with: unknown names ignored, rejected values at their
  // defaults. Empty when the file could not be read or the rest cannot be made sense of.
  std::optional<Settings> settings;
  std::vector<StoreHealth> stores;  // local first
  RamHealth ram;
  ServerHealth server;
  // "ROLLBACK: ..." when the newest trusted set is older than one this host has seen
  // (docs/security.md, "Freshness"); "" otherwise.
  std::string rollback;

  const StoreHealth* store(const std::string& kind) const;
  // The newest usable set over every listed store.
  std::optional<SetSummary> newest() const;
};

struct HealthRequest {
  std::string config_path;
  bool ask_server = true;
  std::string dbname = "postgres";
  // The whole gathering should end by then (unix ms; 0: no limit): the server's timeouts
  // and Drive's cancel are cut to fit, and a store that has not answered counts as failed.
  int64_t deadline_ms = 0;
  CancelCheck cancel;  // SIGINT/SIGTERM
  // Told what is being done next ("reading the configuration", "listing Drive", ...), so a
  // caller that has to give up can say where.
  std::function<void(const char* stage)> stage;
  int64_t now_ms = 0;  // 0: the clock
};

HealthFacts gather_health(const HealthRequest& request);

// Reads a configuration file as check needs it: every problem collected (never thrown),
// and the settings the server would use despite them.
ConfigHealth check_config_file(const std::string& path, std::optional<Settings>* settings);

// Parses a timestamptz as to_jsonb() writes it in a session with TimeZone UTC
// ("2026-11-26T12:00:00.123456+00:00", fraction optional): unix ms, nullopt if malformed.
std::optional<int64_t> parse_json_timestamp(const std::string& text);

}  // namespace ramsafe
