// The scheduler: one static background worker, in the shape of worker_spi.c and
// pg_cron's launcher. It sleeps on its latch until the next cron time or a request,
// runs the core's backup (the server's own pg_dump, over its own unix socket, at low
// CPU and I/O priority), copies new sets to Drive (uploader.cc) and publishes progress
// and results in shared memory.
#include <dlfcn.h>
#include <sys/types.h>

#include <algorithm>
#include <csignal>
#include <ctime>
#include <optional>

#include "core/backup/backup.h"
#include "core/backup/base_backup.h"
#include "core/config/keys.h"
#include "core/io/disk_usage.h"
#include "core/io/process.h"
#include "core/retention/prune.h"
#include "core/schedule/cron.h"
#include "core/schedule/scheduler.h"
#include "core/schedule/timezone.h"
#include "core/set/manifest.h"
#include "core/set/trust.h"
#include "core/store/local_store.h"
#include "core/wal/wal_archive.h"
#include "core/wal/wal_window.h"
#include "extension/boundary.h"
#include "extension/pg_compat.h"
#include "extension/ramsafe_ext.h"

extern "C" {
#include "access/xlog.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "pgtime.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/pmsignal.h"
#include "storage/proc.h"
#include "utils/guc.h"
#include "utils/memutils.h"

PGDLLEXPORT void ramsafe_worker_main(Datum arg);
}

namespace ramsafe::ext {

TimeZone schedule_zone(const Settings& settings, std::string* shown_name) {
  const char* server = session_timezone ? pg_get_timezone_name(session_timezone) : nullptr;
  std::string name = !settings.timezone.empty() ? settings.timezone : server ? server : "UTC";
  try {
    *shown_name = name;
    return TimeZone::load(name);
  } catch (const Error&) {
    // e.g. a POSIX-style server TimeZone that is no file in the zoneinfo directory
    *shown_name = "UTC (TimeZone " + name + " is not in the zoneinfo directory)";
    return TimeZone::utc();
  }
}

PruneRequest server_prune_request(const Settings& settings) {
  std::string shown;
  return prune_request_for(settings, schedule_zone(settings, &shown));
}

namespace {

volatile sig_atomic_t got_sigterm = 0;

void handle_sigterm(SIGNAL_ARGS) {
  int saved_errno = errno;
  got_sigterm = 1;
  SetLatch(MyLatch);
  errno = saved_errno;
}

TimestampTz to_timestamptz(int64_t unix_seconds) {
  return time_t_to_timestamptz(static_cast<pg_time_t>(unix_seconds));
}

TimestampTz ms_to_timestamptz(int64_t unix_ms) {
  return time_t_to_timestamptz(static_cast<pg_time_t>(unix_ms / 1000)) + (unix_ms % 1000) * 1000;
}

// Newest finished backup in the local store (unix seconds), if any.
std::optional<int64_t> newest_backup_finish(const Settings& settings) {
  std::unique_ptr<LocalStore> store = make_local_store(settings);
  if (!store) return std::nullopt;
  std::optional<int64_t> newest;
  for (const auto& set : store->list_sets()) {
    if (!set.usable()) continue;
    if (auto ms = parse_rfc3339_utc(set.manifest->finished_at))
      if (!newest || *ms / 1000 > *newest) newest = *ms / 1000;
  }
  return newest;
}

// The schedule's state. Static storage: it must outlive any frame an error could leave.
std::optional<Scheduler> scheduler;
std::optional<Scheduler> base_scheduler;  // ramsafe.base_backup_schedule

// (Re)reads the schedule settings into the scheduler; at start also decides the catch-up.
// Returns false with the problem in problem (scheduled backups are then off).
bool configure_scheduler(int64_t now, bool at_start, char* problem, size_t problem_size) noexcept {
  problem[0] = '\0';
  try {
    Settings settings = current_settings();
    std::string zone_name;
    TimeZone zone = schedule_zone(settings, &zone_name);
    SpinLockAcquire(&shared->mutex);
    copy_text(shared->schedule, sizeof shared->schedule, settings.schedule);
    copy_text(shared->timezone, sizeof shared->timezone, zone_name);
    SpinLockRelease(&shared->mutex);
    std::optional<CronSchedule> schedule;
    if (!settings.schedule.empty()) schedule = CronSchedule::parse(settings.schedule);
    if (!at_start && scheduler) {
      scheduler->reconfigure(std::move(schedule), std::move(zone), now);
      return true;
    }
    std::optional<int64_t> newest;
    bool listed = true;
    try {
      newest = newest_backup_finish(settings);
    } catch (const Error&) {
      listed = false;  // the store cannot be listed: the backups themselves will say why
    }
    scheduler.emplace(std::move(schedule), std::move(zone));
    scheduler->start(now, newest);
    if (!listed) scheduler->ran(now);  // no catch-up on a guess
    return true;
  } catch (const std::exception& e) {
    strlcpy(problem, e.what(), problem_size);
    try {
      scheduler.emplace(std::nullopt, TimeZone::utc());
    } catch (...) {
      scheduler.reset();
    }
    return false;
  }
}

bool scheduled_backup_due(int64_t now) noexcept {
  try {
    return scheduler && scheduler->due(now);
  } catch (...) {
    scheduler.reset();  // as in scheduler_ran()
    return false;
  }
}

void scheduler_ran(int64_t now) noexcept {
  try {
    if (scheduler) scheduler->ran(now);
  } catch (...) {
    scheduler.reset();  // next_after cannot throw today; if it ever does, stop scheduling
  }
}

void publish_next_run() {
  int64_t next = scheduler ? scheduler->next_run() : 0;
  int64_t base_next = base_scheduler ? base_scheduler->next_run() : 0;
  SpinLockAcquire(&shared->mutex);
  shared->next_run = next ? to_timestamptz(next) : 0;
  shared->base_next_run = base_next ? to_timestamptz(base_next) : 0;
  SpinLockRelease(&shared->mutex);
}

// Physical base backups (ramsafe.base_backup_schedule): their own Scheduler, run by the
// same loop as logical backups, so the two never overlap (and both take the store lock,
// which also keeps them apart from the companion's).
int64_t base_retry_at = 0;              // a failed base backup is retried then (0: no retry)
char base_warned[kMessageLength] = "";  // the configuration last warned about

// Whether the server archives WAL through ramsafe (archive_mode on or always and
// archive_library naming ramsafe); if not, what it has instead.
bool archiving_through_ramsafe(std::string* have) {
  const char* library = compat::archive_library();
  bool on = XLogArchiveMode != ARCHIVE_MODE_OFF && names_ramsafe_library(library);
  if (have)
    *have = std::string("archive_mode = ") +
            (XLogArchiveMode == ARCHIVE_MODE_OFF      ? "off"
             : XLogArchiveMode == ARCHIVE_MODE_ALWAYS ? "always"
                                                      : "on") +
            ", archive_library = '" + library + "'";
  return on;
}

// Newest finished physical set in the local store (unix seconds), and the store's current
// WAL chain break (a dropped segment no base backup started after), if any.
void physical_state(const Settings& settings, std::optional<int64_t>* newest,
                    std::string* broken_now) {
  if (settings.local_dir.empty()) return;
  std::string root = local_store_root(settings);
  LocalStore store(root, trust_policy_for(settings));
  std::vector<SetEntry> sets = store.list_sets();
  for (const auto& set : sets) {
    if (!set.usable() || !set.manifest->is_physical()) continue;
    if (auto ms = parse_rfc3339_utc(set.manifest->finished_at))
      if (!*newest || *ms / 1000 > **newest) *newest = *ms / 1000;
  }
  *broken_now = compute_wal_window(sets, {}, list_wal_chain_breaks(root)).broken_now;
}

// (Re)reads ramsafe.base_backup_schedule. Off unless WAL is archived through ramsafe; then
// one WARNING per configuration. At start also restores a broken chain recorded in the
// store into shared memory (the worker then takes a base backup as soon as it can).
void configure_base_scheduler(int64_t now, bool at_start) noexcept {
  char warning[kMessageLength] = "";
  char broken[kIdLength] = "";
  try {
    Settings settings = current_settings();
    std::string have;
    bool archiving = archiving_through_ramsafe(&have);
    std::optional<CronSchedule> schedule;
    if (!settings.base_backup_schedule.empty() && !archiving) {
      std::string text = "ramsafe: no scheduled base backups: ramsafe.base_backup_schedule = '" +
                         settings.base_backup_schedule +
                         "' needs WAL archiving through ramsafe (archive_mode = on, "
                         "archive_library = 'ramsafe'; a restart is needed); the server has " +
                         have;
      if (text != base_warned) {
        copy_text(warning, sizeof warning, text);
        copy_text(base_warned, sizeof base_warned, text);
      }
    } else {
      base_warned[0] = '\0';
      if (!settings.base_backup_schedule.empty())
        schedule = CronSchedule::parse(settings.base_backup_schedule);
    }
    std::string shown;
    TimeZone zone = schedule_zone(settings, &shown);
    if (!at_start && base_scheduler) {
      base_scheduler->reconfigure(std::move(schedule), std::move(zone), now);
    } else {
      std::optional<int64_t> newest;
      std::string broken_now;
      bool listed = true;
      try {
        physical_state(settings, &newest, &broken_now);
      } catch (const Error&) {
        listed = false;
      }
      base_scheduler.emplace(std::move(schedule), std::move(zone));
      base_scheduler->start(now, newest);
      if (!listed) base_scheduler->ran(now);
      copy_text(broken, sizeof broken, broken_now);
    }
  } catch (const std::exception& e) {
    snprintf(warning, sizeof warning, "ramsafe: no scheduled base backups: %s", e.what());
    try {
      base_scheduler.emplace(std::nullopt, TimeZone::utc());
    } catch (...) {
      base_scheduler.reset();
    }
  }
  if (broken[0] != '\0') {
    SpinLockAcquire(&shared->mutex);
    if (shared->wal_chain_broken[0] == '\0')
      strlcpy(shared->wal_chain_broken, broken, sizeof shared->wal_chain_broken);
    SpinLockRelease(&shared->mutex);
  }
  if (warning[0] != '\0') ereport(WARNING, (errmsg("%s", warning)));
}

bool base_backup_enabled() {
  return base_scheduler && base_scheduler->enabled();
}

// The result of one base backup, as plain data.
struct BaseRunResult {
  bool succeeded;
  bool cancelled;
  bool busy;
  int sqlstate;
  char backup_id[kIdLength];
  char message[kMessageLength];
  double seconds;
  uint64_t stored_bytes;
  char warning[kMessageLength];  // published, but e.g. the freshness state not updated
};

void report_base_progress(const BaseBackupProgress& p) {
  SpinLockAcquire(&shared->mutex);
  copy_text(shared->running_id, sizeof shared->running_id, p.backup_id);
  copy_text(shared->phase, sizeof shared->phase, "base backup: " + p.phase);
  shared->bytes_read = p.bytes_read;
  shared->bytes_stored = p.bytes_stored;
  SpinLockRelease(&shared->mutex);
}

void run_base_backup_guarded(BaseRunResult* result) noexcept {
  *result = BaseRunResult{false, false, false, ERRCODE_INTERNAL_ERROR, "", "", 0, 0, ""};
  try {
    Settings settings = current_settings();
    BaseBackupRequest request;
    request.settings = settings;
    request.recipients = load_recipients(settings);
    request.cancel = [] { return got_sigterm != 0 || !PostmasterIsAlive(); };
    request.progress = report_base_progress;
    request.low_priority = true;
    request.zstd_workers = 0;
    BaseBackupResult backup = run_base_backup(request);
    result->succeeded = true;
    copy_text(result->backup_id, sizeof result->backup_id, backup.manifest.backup_id);
    result->seconds = backup.seconds;
    result->stored_bytes = backup.manifest.stored_bytes();
    if (!backup.warnings.empty())
      copy_text(result->warning, sizeof result->warning, backup.warnings.front());
  } catch (const Error& e) {
    result->cancelled = e.code() == Errc::kCancelled;
    result->busy = e.code() == Errc::kBusy;
    result->sqlstate = sqlstate_for(e.code());
    strlcpy(result->message, e.what(), sizeof result->message);
  } catch (const std::exception& e) {
    strlcpy(result->message, e.what(), sizeof result->message);
  }
}

// Serves every base backup request made so far (and a scheduled or catch-up one).
void run_one_base_backup(bool scheduled, const char* why) {
  uint64_t sequence;
  char broken_before[kIdLength];
  SpinLockAcquire(&shared->mutex);
  if (shared->base_requested <= shared->base_completed) shared->base_requested++;
  sequence = shared->base_requested;
  shared->base_running = true;
  shared->running_since = GetCurrentTimestamp();
  shared->running_id[0] = '\0';
  copy_text(shared->phase, sizeof shared->phase, "base backup: starting");
  shared->database[0] = '\0';
  shared->database_index = shared->database_count = 0;
  shared->bytes_read = shared->bytes_stored = 0;
  if (scheduled) shared->backups_scheduled++;
  strlcpy(broken_before, shared->wal_chain_broken, sizeof broken_before);
  SpinLockRelease(&shared->mutex);
  if (why != nullptr) ereport(LOG, (errmsg("ramsafe: taking a base backup: %s", why)));

  BaseRunResult result;
  run_base_backup_guarded(&result);

  SpinLockAcquire(&shared->mutex);
  BackupOutcome& slot = shared->base_outcome;
  slot.sequence = sequence;
  slot.succeeded = result.succeeded;
  slot.sqlstate = result.sqlstate;
  strlcpy(slot.backup_id, result.succeeded ? result.backup_id : shared->running_id,
          sizeof slot.backup_id);
  strlcpy(slot.message, result.message, sizeof slot.message);
  shared->base_completed = sequence;
  shared->base_running = false;
  shared->running_id[0] = '\0';
  shared->phase[0] = '\0';
  if (result.succeeded) {
    strlcpy(shared->last_base_id, result.backup_id, sizeof shared->last_base_id);
    shared->last_base_backup_at = GetCurrentTimestamp();
    // A base that started after the drop: the chain is whole again from it on. A drop
    // during the backup is newer than broken_before and stays.
    if (strcmp(shared->wal_chain_broken, broken_before) == 0) shared->wal_chain_broken[0] = '\0';
  } else {
    strlcpy(shared->last_base_error, result.message, sizeof shared->last_base_error);
    shared->last_base_error_at = GetCurrentTimestamp();
    shared->base_backups_failed++;
  }
  SpinLockRelease(&shared->mutex);
  ConditionVariableBroadcast(&shared->done_cv);

  base_retry_at = 0;
  if (result.succeeded && result.warning[0] != '\0')
    ereport(WARNING, (errmsg("ramsafe: base backup %s: %s", result.backup_id, result.warning)));
  if (result.succeeded)
    ereport(LOG, (errmsg("ramsafe: base backup %s complete in %.1f s, %llu bytes stored",
                         result.backup_id, result.seconds,
                         static_cast<unsigned long long>(result.stored_bytes))));
  else if (result.cancelled)
    ereport(LOG, (errmsg("ramsafe: base backup cancelled: %s", result.message)));
  else {
    // Busy (a backup by the companion holds the store) or a broken chain: try again soon
    // rather than wait for the next scheduled time.
    if (result.busy || broken_before[0] != '\0') base_retry_at = time(nullptr) + 60;
    ereport(WARNING, (errmsg("ramsafe: base backup failed: %s", result.message),
                      base_retry_at ? errdetail("Retrying in 60 s.") : 0));
  }
}

// Why a base backup is due now, or nullptr (requested ones are told apart by the caller).
const char* base_backup_due(int64_t now, bool* scheduled) {
  *scheduled = false;
  if (!base_backup_enabled()) return nullptr;
  bool catch_up = base_scheduler->catch_up_pending();
  bool had = base_scheduler->had_backup_at_start();
  try {
    if (base_scheduler->due(now)) {
      *scheduled = true;
      if (catch_up)
        return had ? "catch-up: a scheduled time passed since the newest base backup finished"
                   : "catch-up: there is no base backup yet";
      return nullptr;  // an ordinary scheduled run is not announced
    }
  } catch (...) {
    base_scheduler.reset();
    return nullptr;
  }
  SpinLockAcquire(&shared->mutex);
  bool broken = shared->wal_chain_broken[0] != '\0';
  SpinLockRelease(&shared->mutex);
  if (broken && (base_retry_at == 0 || now >= base_retry_at))
    return "the WAL chain is broken (a segment was dropped); a new base backup starts a whole "
           "one";
  if (base_retry_at != 0 && now >= base_retry_at) return "retrying the failed base backup";
  return nullptr;
}

// The result of one backup, as plain data for logging after the C++ frames are gone.
struct RunResult {
  bool succeeded;
  bool cancelled;
  int sqlstate;
  char backup_id[kIdLength];
  char message[kMessageLength];
  int databases;
  double seconds;
  uint64_t stored_bytes;
  char vanished[kMessageLength];  // databases dropped while the backup ran, comma-separated
  char warning[kMessageLength];   // published, but e.g. the freshness state not updated
};

void report_progress(const BackupProgress& p) {
  SpinLockAcquire(&shared->mutex);
  copy_text(shared->running_id, sizeof shared->running_id, p.backup_id);
  copy_text(shared->phase, sizeof shared->phase, p.phase);
  copy_text(shared->database, sizeof shared->database, p.database);
  shared->database_index = p.database_index;
  shared->database_count = p.database_count;
  shared->bytes_read = p.bytes_read;
  shared->bytes_stored = p.bytes_stored;
  SpinLockRelease(&shared->mutex);
}

void run_backup_guarded(RunResult* result) noexcept {
  *result = RunResult{false, false, ERRCODE_INTERNAL_ERROR, "", "", 0, 0, 0, "", ""};
  try {
    Settings settings = current_settings();
    BackupRequest request;
    request.settings = settings;
    request.recipients = load_recipients(settings);
    // Plain flag reads only: PostmasterIsAlive() never raises an error.
    request.cancel = [] { return got_sigterm != 0 || !PostmasterIsAlive(); };
    request.progress = report_progress;
    request.low_priority = true;
    request.zstd_workers = 0;  // one thread: the worker only uses time the database leaves
    BackupResult backup = run_backup(request);
    result->succeeded = true;
    copy_text(result->backup_id, sizeof result->backup_id, backup.manifest.backup_id);
    result->databases = static_cast<int>(backup.manifest.databases().size());
    result->seconds = backup.seconds;
    result->stored_bytes = backup.manifest.stored_bytes();
    std::string vanished;
    for (const auto& db : backup.vanished_databases)
      vanished += (vanished.empty() ? "" : ", ") + db;
    copy_text(result->vanished, sizeof result->vanished, vanished);
    if (!backup.warnings.empty())
      copy_text(result->warning, sizeof result->warning, backup.warnings.front());
  } catch (const Error& e) {
    result->cancelled = e.code() == Errc::kCancelled;
    result->sqlstate = sqlstate_for(e.code());
    strlcpy(result->message, e.what(), sizeof result->message);
  } catch (const std::exception& e) {
    strlcpy(result->message, e.what(), sizeof result->message);
  }
}

void run_one_backup(bool scheduled) {
  TimestampTz started = GetCurrentTimestamp();
  uint64_t sequence;
  SpinLockAcquire(&shared->mutex);
  // Serves every request made so far; a scheduled run is a request of its own.
  if (shared->requested <= shared->completed) shared->requested++;
  sequence = shared->requested;
  shared->running_sequence = sequence;
  shared->running_since = started;
  shared->running_id[0] = '\0';
  copy_text(shared->phase, sizeof shared->phase, "starting");
  shared->database[0] = '\0';
  shared->database_index = shared->database_count = 0;
  shared->bytes_read = shared->bytes_stored = 0;
  if (scheduled) shared->backups_scheduled++;
  SpinLockRelease(&shared->mutex);

  RunResult result;
  run_backup_guarded(&result);

  SpinLockAcquire(&shared->mutex);
  BackupOutcome& slot = shared->outcomes[sequence % kResultSlots];
  slot.sequence = sequence;
  slot.succeeded = result.succeeded;
  slot.sqlstate = result.sqlstate;
  strlcpy(slot.backup_id, result.succeeded ? result.backup_id : shared->running_id,
          sizeof slot.backup_id);
  strlcpy(slot.message, result.message, sizeof slot.message);
  shared->completed = sequence;
  shared->running_sequence = 0;
  shared->running_id[0] = '\0';
  shared->phase[0] = '\0';
  if (result.succeeded) {
    strlcpy(shared->last_id, result.backup_id, sizeof shared->last_id);
    shared->last_finished_at = GetCurrentTimestamp();
    shared->last_seconds = result.seconds;
    shared->last_stored_bytes = result.stored_bytes;
    shared->last_databases = result.databases;
  } else {
    strlcpy(shared->last_error, result.message, sizeof shared->last_error);
    shared->last_error_at = GetCurrentTimestamp();
    shared->backups_failed++;
  }
  SpinLockRelease(&shared->mutex);
  ConditionVariableBroadcast(&shared->done_cv);

  if (result.succeeded && result.warning[0] != '\0')
    ereport(WARNING, (errmsg("ramsafe: backup %s: %s", result.backup_id, result.warning)));
  if (result.succeeded && result.vanished[0] != '\0')
    ereport(WARNING, (errmsg("ramsafe: backup %s skipped databases dropped while it ran: %s",
                             result.backup_id, result.vanished)));
  if (result.succeeded)
    ereport(LOG, (errmsg("ramsafe: backup %s complete: %d databases in %.1f s, %llu bytes stored",
                         result.backup_id, result.databases, result.seconds,
                         static_cast<unsigned long long>(result.stored_bytes))));
  else if (result.cancelled)
    ereport(LOG, (errmsg("ramsafe: backup cancelled: %s", result.message)));
  else
    ereport(WARNING, (errmsg("ramsafe: backup failed: %s", result.message)));
}

// ramsafe_status() after a server start (issue 16): shared memory starts empty, so without
// this the status showed no backup at all after every reboot, though the store held a
// recent one. What the local store holds fills the fields that are still empty (a worker
// restarted by the postmaster, with shared memory kept, has its own); the archiver may have
// stored a WAL file already, which then wins. Drive's side is filled by the first upload
// pass (uploader.cc). Reading the store is the worker's job, not _PG_init's, so the server's
// start never waits for it.
void fill_status_from_store() {
  struct Found {
    char last_id[kIdLength];
    TimestampTz last_at;
    double last_seconds;
    uint64_t last_bytes;
    int last_databases;
    char base_id[kIdLength];
    TimestampTz base_at;
    char wal[kIdLength];
    TimestampTz wal_at;
  } found{};
  try {
    Settings settings = current_settings();
    if (settings.local_dir.empty()) return;
    std::string root = local_store_root(settings);
    LocalStore store(root, trust_policy_for(settings));
    for (const auto& set : store.list_sets()) {  // newest first
      if (!set.usable()) continue;
      const Manifest& m = *set.manifest;
      std::optional<int64_t> finished = parse_rfc3339_utc(m.finished_at);
      if (!finished) continue;
      if (m.is_physical()) {
        if (found.base_id[0] != '\0') continue;
        copy_text(found.base_id, sizeof found.base_id, set.id);
        found.base_at = ms_to_timestamptz(*finished);
      } else if (found.last_id[0] == '\0') {
        copy_text(found.last_id, sizeof found.last_id, set.id);
        found.last_at = ms_to_timestamptz(*finished);
        std::optional<int64_t> started = parse_rfc3339_utc(m.started_at);
        found.last_seconds = started ? static_cast<double>(*finished - *started) / 1000 : 0;
        found.last_bytes = m.stored_bytes();
        found.last_databases = static_cast<int>(m.databases().size());
      }
    }
    if (archiving_through_ramsafe(nullptr)) {
      const StoredWalFile* newest = nullptr;
      std::vector<StoredWalFile> wal = list_wal_files(root);
      for (const auto& f : wal)
        if (newest == nullptr || f.mtime_ms > newest->mtime_ms ||
            (f.mtime_ms == newest->mtime_ms && f.file.name > newest->file.name))
          newest = &f;
      if (newest != nullptr) {
        copy_text(found.wal, sizeof found.wal, newest->file.name);
        found.wal_at = ms_to_timestamptz(newest->mtime_ms);
      }
    }
  } catch (const std::exception&) {
    return;  // the store cannot be read: the backups say why
  }
  SpinLockAcquire(&shared->mutex);
  if (shared->last_id[0] == '\0' && found.last_id[0] != '\0') {
    strlcpy(shared->last_id, found.last_id, sizeof shared->last_id);
    shared->last_finished_at = found.last_at;
    shared->last_seconds = found.last_seconds;
    shared->last_stored_bytes = found.last_bytes;
    shared->last_databases = found.last_databases;
  }
  if (shared->last_base_id[0] == '\0' && found.base_id[0] != '\0') {
    strlcpy(shared->last_base_id, found.base_id, sizeof shared->last_base_id);
    shared->last_base_backup_at = found.base_at;
  }
  if (shared->wal_last_archived[0] == '\0' && found.wal[0] != '\0') {
    strlcpy(shared->wal_last_archived, found.wal, sizeof shared->wal_last_archived);
    shared->wal_last_archived_at = found.wal_at;
  }
  SpinLockRelease(&shared->mutex);
}

// No usable store (issue 16): with the settings in a file the server cannot read (an
// include_if_exists of a root-only file is skipped with a mere LOG line), every backup
// would fail. One WARNING per problem, at start and when a reload changes it.
char store_warned[kMessageLength] = "";

void check_backup_store() {
  char problem[kMessageLength] = "";
  bool no_local_dir = false;
  try {
    Settings settings = current_settings();
    no_local_dir = settings.local_dir.empty();
    if (std::optional<std::string> p = backup_store_problem(settings))
      copy_text(problem, sizeof problem, *p);
  } catch (const std::exception& e) {
    strlcpy(problem, e.what(), sizeof problem);
  }
  if (problem[0] != '\0' && strcmp(problem, store_warned) != 0)
    ereport(WARNING,
            (errmsg("ramsafe: no backup can be taken: %s", problem),
             no_local_dir
                 ? errhint("If the ramsafe.* settings are in a file included with "
                           "include_if_exists, the server skips that file when it cannot read "
                           "it (logging only \"skipping missing configuration file\"): include "
                           "it with include, and let the server's OS user read it.")
                 : errhint("The server's OS user must be able to create and write the store's "
                           "directory.")));
  strlcpy(store_warned, problem, sizeof store_warned);
}

// Configured values the server refused (issue 16): at start PostgreSQL keeps the built-in
// value with a WARNING, on reload the previous one with a LOG line; ramsafe_status() shows
// them, and each new set of them is a WARNING naming the value in force.
char rejected_warned[kMessageLength] = "";

void note_rejected_settings() {
  char schedule_text[kMessageLength] = "";
  char text[kMessageLength] = "";
  try {
    std::string all;
    for (const RejectedSetting& r : rejected_settings()) {
      std::string line = r.problem + "; in force: '" + value_in_force(r.name) + "'";
      if (r.name == "ramsafe.schedule") copy_text(schedule_text, sizeof schedule_text, line);
      all += (all.empty() ? "" : "\n") + line;
    }
    copy_text(text, sizeof text, all);
  } catch (const std::exception& e) {
    snprintf(text, sizeof text, "cannot list the rejected settings: %s", e.what());
  }
  SpinLockAcquire(&shared->mutex);
  strlcpy(shared->schedule_rejected, schedule_text, sizeof shared->schedule_rejected);
  strlcpy(shared->rejected_settings, text, sizeof shared->rejected_settings);
  SpinLockRelease(&shared->mutex);
  if (text[0] != '\0' && strcmp(text, rejected_warned) != 0)
    ereport(WARNING, (errmsg("ramsafe: configured values the server rejected are not in force"),
                      errdetail("%s", text),
                      errhint("Fix them in the configuration file and reload; any companion "
                              "command that reads the file, e.g. ramsafe list, names every "
                              "problem in it.")));
  strlcpy(rejected_warned, text, sizeof rejected_warned);
}

// Whether the worker can sign (docs/security.md): the key id into shared memory, or why not.
// A WARNING each time the answer becomes a new problem, so that a missing key is loud at
// start and at every reload, not only at the next scheduled backup.
void check_signing() {
  char key[kIdLength] = "";
  char problem[kMessageLength] = "";
  try {
    SetSigner signer = set_signer_for(current_settings());
    copy_text(key, sizeof key, signer.key.verify_key().id());
  } catch (const std::exception& e) {
    strlcpy(problem, e.what(), sizeof problem);
  }
  SpinLockAcquire(&shared->mutex);
  bool changed = strcmp(shared->signing_problem, problem) != 0;
  strlcpy(shared->signing_key, key, sizeof shared->signing_key);
  strlcpy(shared->signing_problem, problem, sizeof shared->signing_problem);
  SpinLockRelease(&shared->mutex);
  if (changed && problem[0] != '\0')
    ereport(WARNING,
            (errmsg("ramsafe: backups are REFUSED until they can be signed: %s", problem),
             errdetail("ramsafe writes no unsigned backup set or WAL file: readers would not "
                       "trust it. Sets already in the store are untouched."),
             errhint("Create keys with `ramsafe keygen --dir DIR` as the server's OS user, set "
                     "ramsafe.signing_key_file and ramsafe.verify_keys_file, and reload "
                     "(docs/security.md, \"Upgrading\").")));
  else if (changed)
    ereport(LOG, (errmsg("ramsafe: backups are signed with %s", key)));
}

// The data directory's filesystem: a WARNING each time usage crosses the threshold.
void check_ram_usage(bool* above) {
  char data_dir[MAXPGPATH] = "";
  int threshold = 0;
  double percent = -1;
  try {
    Settings settings = current_settings();
    threshold = settings.ram_warn_percent;
    strlcpy(data_dir, settings.data_directory.c_str(), sizeof data_dir);
    percent = filesystem_usage(settings.data_directory).used_percent();
  } catch (const std::exception&) {
    return;  // ramsafe_ram_usage() reports the error when asked
  }
  bool now_above = percent >= threshold;
  if (now_above && !*above)
    ereport(WARNING, (errmsg("ramsafe: the filesystem of the data directory %s is %.0f%% full "
                             "(ramsafe.ram_warn_percent = %d)",
                             data_dir, percent, threshold),
                      errhint("The database lives in RAM: when the filesystem is full, writes "
                              "fail. Free space or enlarge the tmpfs.")));
  *above = now_above;
}

// Whether a running upload pass should make way: the worker has something more urgent.
// Called from libcurl's progress callback: plain reads and a spinlock only.
bool upload_should_stop() {
  if (got_sigterm || ConfigReloadPending || !PostmasterIsAlive()) return true;
  SpinLockAcquire(&shared->mutex);
  bool requested =
      shared->requested > shared->completed || shared->base_requested > shared->base_completed;
  SpinLockRelease(&shared->mutex);
  if (requested) return true;
  int64_t now = time(nullptr);
  int64_t next = scheduler ? scheduler->next_run() : 0;
  int64_t base_next = base_scheduler ? base_scheduler->next_run() : 0;
  return (next != 0 && now >= next) || (base_next != 0 && now >= base_next);
}

void on_worker_exit(int code, Datum arg) {
  SpinLockAcquire(&shared->mutex);
  shared->worker_pid = 0;
  shared->worker_latch = nullptr;
  if (shared->base_running) {
    shared->base_running = false;
    shared->base_completed = shared->base_requested;
    shared->base_outcome.sequence = shared->base_requested;
    shared->base_outcome.succeeded = false;
    shared->base_outcome.sqlstate = ERRCODE_ADMIN_SHUTDOWN;
    strlcpy(shared->base_outcome.message, "the ramsafe worker exited during the base backup",
            sizeof shared->base_outcome.message);
  }
  if (shared->running_sequence != 0) {  // waiters must not wait for a worker that is gone
    shared->completed = shared->running_sequence;
    BackupOutcome& slot = shared->outcomes[shared->running_sequence % kResultSlots];
    slot.sequence = shared->running_sequence;
    slot.succeeded = false;
    slot.sqlstate = ERRCODE_ADMIN_SHUTDOWN;
    strlcpy(slot.message, "the ramsafe worker exited during the backup", sizeof slot.message);
    shared->running_sequence = 0;
  }
  SpinLockRelease(&shared->mutex);
  ConditionVariableBroadcast(&shared->done_cv);
}

}  // namespace

void register_worker() {
  BackgroundWorker worker;
  memset(&worker, 0, sizeof worker);
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker.bgw_restart_time = 5;
  // The library as it was loaded: preloaded by absolute path, the worker must load that
  // same file, not the installed ramsafe.so.
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&ramsafe_worker_main), &info) != 0 &&
      info.dli_fname != nullptr && info.dli_fname[0] == '/' &&
      strlen(info.dli_fname) < sizeof worker.bgw_library_name)
    strlcpy(worker.bgw_library_name, info.dli_fname, sizeof worker.bgw_library_name);
  else
    strlcpy(worker.bgw_library_name, "ramsafe", sizeof worker.bgw_library_name);
  strlcpy(worker.bgw_function_name, "ramsafe_worker_main", sizeof worker.bgw_function_name);
  strlcpy(worker.bgw_name, "ramsafe scheduler", sizeof worker.bgw_name);
  strlcpy(worker.bgw_type, "ramsafe scheduler", sizeof worker.bgw_type);
  RegisterBackgroundWorker(&worker);
}

}  // namespace ramsafe::ext

using namespace ramsafe::ext;

// PostgreSQL's checkpointer computes its first sleep while the startup process still runs,
// when archive_timeout does not count, and then sleeps for checkpoint_timeout: after a start
// no segment is switched by time until something wakes it, so a crash in those minutes
// loses far more than archive_timeout (found on 15 by test/drills/power_loss_wal.sh). This
// worker starts once recovery has finished; waking the checkpointer then makes it recompute
// its sleep with archive_timeout.
static void wake_checkpointer_for_archive_timeout() {
  if (XLogArchiveTimeout <= 0 || !XLogArchivingActive()) return;
  compat::wake_checkpointer();
}

void ramsafe_worker_main(Datum arg) {
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, handle_sigterm);
  BackgroundWorkerUnblockSignals();
  attach_shared_memory();
  // Compression and encryption run in this process (and the zstd threads it starts, which
  // inherit this): background priority, like the pg_dump it runs.
  (void)ramsafe::lower_priority(0);

  SpinLockAcquire(&shared->mutex);
  shared->worker_pid = MyProcPid;
  shared->worker_latch = MyLatch;
  SpinLockRelease(&shared->mutex);
  on_shmem_exit(on_worker_exit, 0);
  wake_checkpointer_for_archive_timeout();

  MemoryContext loop_context =
      AllocSetContextCreate(TopMemoryContext, "ramsafe worker loop", ALLOCSET_DEFAULT_SIZES);

  // Inherited refusals may be stale (a refused line removed since, which PostgreSQL does not
  // re-check): read the files afresh, as a reload would.
  if (have_rejected_settings()) {
    forget_rejected_settings();
    ProcessConfigFile(PGC_SIGHUP);
  }
  note_rejected_settings();
  check_backup_store();
  uploader_reset();
  fill_status_from_store();
  check_signing();
  char problem[kMessageLength];
  if (!configure_scheduler(time(nullptr), true, problem, sizeof problem))
    ereport(WARNING, (errmsg("ramsafe: no scheduled backups: %s", problem)));
  configure_base_scheduler(time(nullptr), true);
  publish_next_run();
  bool ram_above = false;
  int64_t last_ram_check = 0;

  while (!got_sigterm) {
    MemoryContext old = MemoryContextSwitchTo(loop_context);
    CHECK_FOR_INTERRUPTS();

    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      forget_rejected_settings();  // every value in the files is checked again
      ProcessConfigFile(PGC_SIGHUP);
      note_rejected_settings();
      check_backup_store();
      uploader_reset();
      check_signing();
      if (!configure_scheduler(time(nullptr), false, problem, sizeof problem))
        ereport(WARNING, (errmsg("ramsafe: no scheduled backups: %s", problem)));
      configure_base_scheduler(time(nullptr), false);
      publish_next_run();
    }

    int64_t now = time(nullptr);
    SpinLockAcquire(&shared->mutex);
    bool requested = shared->requested > shared->completed;
    SpinLockRelease(&shared->mutex);
    bool catch_up = scheduler && scheduler->catch_up_pending();
    bool had_backup = scheduler && scheduler->had_backup_at_start();
    bool due = scheduled_backup_due(now);  // also notices a backward clock jump
    if (requested || due) {
      if (catch_up && !requested)
        ereport(LOG, (errmsg("ramsafe: taking a catch-up backup: %s",
                             had_backup ? "a scheduled time passed since the newest backup finished"
                                        : "there is no backup yet")));
      run_one_backup(!requested);
      check_signing();  // the key file may have appeared, gone or changed since
      scheduler_ran(time(nullptr));
      uploader_note_new_backup();
      retention_after_backup(upload_should_stop);
    }

    // Base backups queue behind a logical one in this loop: never at the same time.
    if (!got_sigterm) {
      SpinLockAcquire(&shared->mutex);
      bool base_requested = shared->base_requested > shared->base_completed;
      SpinLockRelease(&shared->mutex);
      bool base_scheduled = false;
      const char* why = base_backup_due(time(nullptr), &base_scheduled);
      if (base_requested || base_scheduled || why != nullptr) {
        run_one_base_backup(base_scheduled && !base_requested, base_requested ? nullptr : why);
        if (base_scheduler) base_scheduler->ran(time(nullptr));
        uploader_note_new_backup();
        // Base backups have their own policy: without this, a server that only takes base
        // backups (no logical schedule, no Drive) would never prune them or their WAL.
        retention_after_backup(upload_should_stop);
      }
    }
    publish_next_run();

    // Local first: copies to Drive run after the backup is published, never before one.
    if (!got_sigterm && !ConfigReloadPending && upload_pass_due(time(nullptr)))
      run_upload_pass(upload_should_stop);

    if (now - last_ram_check >= 60) {
      check_ram_usage(&ram_above);
      last_ram_check = now;
    }

    long timeout_ms = scheduler ? scheduler->wait_ms(time(nullptr), 60 * 1000L) : 60 * 1000L;
    if (base_scheduler) timeout_ms = base_scheduler->wait_ms(time(nullptr), timeout_ms);
    if (base_retry_at != 0)
      timeout_ms =
          std::min<long>(timeout_ms, std::max<long>(100, (base_retry_at - time(nullptr)) * 1000L));
    timeout_ms = upload_wait_ms(time(nullptr), timeout_ms);
    MemoryContextSwitchTo(old);
    MemoryContextReset(loop_context);
    if (got_sigterm) break;
    static uint32 idle_event = 0;
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout_ms,
                    compat::wait_event("RamsafeSchedulerIdle", &idle_event));
    ResetLatch(MyLatch);
  }
  proc_exit(1);  // 1: the postmaster restarts the worker unless it is shutting down
}
