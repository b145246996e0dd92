// Shared declarations of the extension's translation units. The only headers that
// include postgres.h are under extension/ (see docs/architecture.md).
#pragma once

extern "C" {
#include "postgres.h"

#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "utils/timestamp.h"
}

#include <cstdint>
#include <string>
#include <vector>

#include "core/config/settings.h"
#include "core/retention/prune.h"
#include "core/schedule/timezone.h"

namespace ramsafe::ext {

constexpr int kIdLength = 64;
constexpr int kMessageLength = 1024;
constexpr int kResultSlots = 16;

// The outcome of one worker backup, kept for the requests it served.
struct BackupOutcome {
  uint64_t sequence;  // 0: empty slot
  bool succeeded;
  int sqlstate;  // when !succeeded
  char backup_id[kIdLength];
  char message[kMessageLength];  // the error when !succeeded
};

// Live state in shared memory. Guarded by mutex; waiters sleep on done_cv.
struct SharedState {
  slock_t mutex;
  ConditionVariable done_cv;
  pid_t worker_pid;
  Latch* worker_latch;

  // Requests: backup_now increments requested; the worker serves everything up to the
  // value it read when starting (requests arriving meanwhile join the running backup).
  uint64_t requested;
  uint64_t running_sequence;  // 0 when idle
  uint64_t completed;         // the highest sequence finished (published or failed)
  BackupOutcome outcomes[kResultSlots];

  // The running backup.
  char running_id[kIdLength];
  char phase[32];
  char database[NAMEDATALEN];
  int database_index;
  int database_count;
  uint64_t bytes_read;
  uint64_t bytes_stored;
  TimestampTz running_since;

  // The last finished backup and the last failure.
  char last_id[kIdLength];
  TimestampTz last_finished_at;
  double last_seconds;
  uint64_t last_stored_bytes;
  int last_databases;
  char last_error[kMessageLength];
  TimestampTz last_error_at;

  TimestampTz next_run;  // 0: nothing scheduled
  char schedule[256];
  char timezone[128];
  uint64_t backups_requested;
  uint64_t backups_scheduled;
  uint64_t backups_failed;

  // The Drive store (remote[0] == '\0': not configured).
  char remote[256];     // its description, "drive My Drive/main"
  int pending_uploads;  // local sets Drive does not hold; -1 until first counted
  char uploading_id[kIdLength];
  uint64_t upload_bytes_done;
  uint64_t upload_bytes_total;
  char last_upload_id[kIdLength];
  TimestampTz last_upload_at;
  char last_remote_error[kMessageLength];
  TimestampTz last_remote_error_at;
  uint64_t uploads_failed;
  // Archived WAL files (and their stored bytes) Drive does not hold yet; -1 until counted.
  int64_t wal_drive_pending_files;
  uint64_t wal_drive_pending_bytes;

  // WAL archiving (archive.cc), updated by the archiver process.
  uint64_t wal_archived;  // files stored, or found already stored with identical content
  uint64_t wal_failed;    // failed attempts (PostgreSQL retries them)
  char wal_last_archived[kIdLength];
  TimestampTz wal_last_archived_at;
  char wal_last_failed[kIdLength];
  TimestampTz wal_last_failed_at;
  char wal_last_error[kMessageLength];  // the last failure's cause (paths, never secrets)
  // The backlog: segments PostgreSQL has marked .ready, measured at each archive call.
  uint64_t wal_backlog_bytes;
  TimestampTz wal_backlog_oldest_at;  // the oldest .ready file's mtime; 0: no backlog
  // ramsafe.wal_backlog_policy = drop gave up on this segment; "" when the chain is whole
  // (or a base backup started after it). Cleared by the worker's next base backup.
  char wal_chain_broken[kIdLength];
  TimestampTz wal_chain_broken_at;
  uint64_t wal_dropped;                  // segments dropped since the server started
  char wal_break_unrecorded[kIdLength];  // a drop whose store marker is still to be written

  // Physical base backups by the worker (ramsafe.base_backup_schedule,
  // ramsafe_base_backup_now()). Like requested/completed above, with one outcome slot.
  uint64_t base_requested;
  uint64_t base_completed;
  bool base_running;
  BackupOutcome base_outcome;  // the last finished base backup's
  char last_base_id[kIdLength];
  TimestampTz last_base_backup_at;
  char last_base_error[kMessageLength];
  TimestampTz last_base_error_at;
  TimestampTz base_next_run;  // 0: nothing scheduled
  uint64_t base_backups_failed;

  // Configured values the server refused (the worker's view, see rejected_settings()):
  // ramsafe.schedule's problem, and every refused setting, one per line; "" when none.
  char schedule_rejected[kMessageLength];
  char rejected_settings[kMessageLength];
  // Signing (docs/security.md), checked by the worker at start and at every reload: the key
  // id it signs with, or why it cannot sign (then it refuses to back up).
  char signing_key[kIdLength];
  char signing_problem[kMessageLength];
};

extern SharedState* shared;

void define_settings();

// A ramsafe.* value from the configuration files that the server refused (its check hook
// failed), so it is not in force. Settings with text values and ramsafe.drive_chunk_kb are
// tracked; PostgreSQL refuses out-of-range numbers and unknown enum values itself, before
// any hook, and only its own message tells of those.
struct RejectedSetting {
  std::string name;
  std::string value;
  std::string problem;  // validate_setting's message
};
// What this process's check hooks refused, by name. Kept up to date by PostgreSQL's
// reading of the files (start, reload); a line removed after a refusal at start is only
// noticed by a fresh reading after forget_rejected_settings().
std::vector<RejectedSetting> rejected_settings();
bool have_rejected_settings() noexcept;
void forget_rejected_settings() noexcept;
// A setting's value in force in this process, as text ("" for an unknown name).
std::string value_in_force(const std::string& name);
// The settings as the server has them now; server defaults filled in (data directory,
// socket directory, port, bin directory). Call in a backend or the worker, not in C++
// code that must not ereport: it reads GUC variables only.
Settings current_settings();

// The worker's Drive uploads (uploader.cc). upload_pass_due: whether to run a pass now;
// upload_wait_ms: how long the worker may sleep before one is due.
void uploader_reset();  // after SIGHUP or at start: settings may have changed
void uploader_note_new_backup();
bool upload_pass_due(int64_t now);
long upload_wait_ms(int64_t now, long cap_ms);
// Copies pending local sets to Drive until done, failed or cancel says stop (a backup is
// due, a request or SIGHUP came in, SIGTERM). Logs outcomes; never raises an ERROR.
void run_upload_pass(bool (*stop)());
// Retention after a backup when Drive is not configured (with Drive, an upload pass that
// finishes applies it, knowing what Drive holds).
void retention_after_backup(bool (*stop)());

// The zone the schedule and retention use: ramsafe.timezone, else the server's TimeZone
// (UTC if that is not a zoneinfo file); shown_name is what ramsafe_status() shows.
TimeZone schedule_zone(const Settings& settings, std::string* shown_name);
// Retention as the server applies it: the settings' policies in schedule_zone().
PruneRequest server_prune_request(const Settings& settings);

void request_shared_memory();
void attach_shared_memory();
void register_worker();

// Copies text into a fixed buffer, truncated, NUL-terminated.
void copy_text(char* dest, size_t size, const std::string& text);

}  // namespace ramsafe::ext
