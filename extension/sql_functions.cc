// The SQL interface. Each function collects its rows in C++ through run_cpp()
// (boundary.h), then builds tuples and raises errors in plain PostgreSQL code.
#include <cinttypes>
#include <cstdio>

#include "core/backup/backup.h"
#include "core/backup/base_backup.h"
#include "core/config/keys.h"
#include "core/drive/drive_store.h"
#include "core/io/disk_usage.h"
#include "core/restore/verify.h"
#include "core/retention/prune.h"
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
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(ramsafe_backup_now);
PG_FUNCTION_INFO_V1(ramsafe_base_backup_now);
PG_FUNCTION_INFO_V1(ramsafe_status);
PG_FUNCTION_INFO_V1(ramsafe_backups);
PG_FUNCTION_INFO_V1(ramsafe_verify);
PG_FUNCTION_INFO_V1(ramsafe_ram_usage);
PG_FUNCTION_INFO_V1(ramsafe_prune);
}

namespace ramsafe::ext {

int sqlstate_for(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument:
      return ERRCODE_INVALID_PARAMETER_VALUE;
    case Errc::kConfig:
      return ERRCODE_CONFIG_FILE_ERROR;
    case Errc::kNoSpace:
      return ERRCODE_DISK_FULL;
    case Errc::kIo:
      return ERRCODE_IO_ERROR;
    case Errc::kPermission:
      return ERRCODE_INSUFFICIENT_PRIVILEGE;
    case Errc::kNotFound:
      return ERRCODE_UNDEFINED_OBJECT;
    case Errc::kCorrupt:
    case Errc::kCrypto:
    case Errc::kUntrusted:
      return ERRCODE_DATA_CORRUPTED;
    case Errc::kCancelled:
      return ERRCODE_QUERY_CANCELED;
    case Errc::kBusy:
      return ERRCODE_LOCK_NOT_AVAILABLE;
    case Errc::kChildFailed:
    case Errc::kServer:
    case Errc::kRemote:
      return ERRCODE_EXTERNAL_ROUTINE_EXCEPTION;
    case Errc::kInternal:
      break;
  }
  return ERRCODE_INTERNAL_ERROR;
}

void free_table(CTable* table) {
  if (table->cells != nullptr) {
    for (int i = 0; i < table->rows * table->cols; ++i) std::free(table->cells[i]);
    std::free(table->cells);
  }
  *table = CTable{0, 0, nullptr};
}

namespace {

std::optional<std::string> text_or_null(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

std::string number(uint64_t n) {
  return std::to_string(n);
}

std::optional<std::string> timestamp_text(TimestampTz t) {
  if (t == 0) return std::nullopt;
  // ISO 8601 in UTC; timestamptz input reads it back.
  int64_t unix_ms = (t / 1000) + (static_cast<int64_t>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) *
                                  SECS_PER_DAY * 1000);
  return format_rfc3339_utc(unix_ms);
}

std::string seconds_interval(double seconds) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.3f seconds", seconds);
  return buf;
}

bool interrupted() {
  return QueryCancelPending || ProcDiePending;
}

// Raises the boundary's error, if any, then emits the rows: PostgreSQL code only.
void finish(FunctionCallInfo fcinfo, bool ok, CTable* table, CError* error) {
  if (!ok) {
    CHECK_FOR_INTERRUPTS();  // a cancel shows as a cancel, not as the core's message
    ereport(ERROR, (errcode(error->sqlstate), errmsg("ramsafe: %s", error->message)));
  }
  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  AttInMetadata* meta = TupleDescGetAttInMetadata(rsinfo->setDesc);
  for (int r = 0; r < table->rows; ++r) {
    HeapTuple tuple = BuildTupleFromCStrings(meta, table->cells + r * table->cols);
    tuplestore_puttuple(rsinfo->setResult, tuple);
  }
  free_table(table);
}

// The function's composite result type filled from text values (nullptr: NULL).
Datum record_from_texts(FunctionCallInfo fcinfo, const char* const* values) {
  TupleDesc desc;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
    elog(ERROR, "ramsafe: return type must be a row type");
  HeapTuple tuple = BuildTupleFromCStrings(TupleDescGetAttInMetadata(BlessTupleDesc(desc)),
                                           const_cast<char**>(values));
  return HeapTupleGetDatum(tuple);
}

// One-row functions return a composite Datum.
Datum finish_record(FunctionCallInfo fcinfo, bool ok, CTable* table, CError* error) {
  if (!ok) {
    CHECK_FOR_INTERRUPTS();
    ereport(ERROR, (errcode(error->sqlstate), errmsg("ramsafe: %s", error->message)));
  }
  Datum record = record_from_texts(fcinfo, table->cells);
  free_table(table);
  return record;
}

std::optional<std::string> ms_text(std::optional<int64_t> unix_ms) {
  if (!unix_ms) return std::nullopt;
  return format_rfc3339_utc(*unix_ms);
}

// The local store's recoverable window and how many of its sets are untrusted; nullopt
// when there is no local store or it cannot be read (the status then shows NULLs;
// ramsafe_backups() raises the error).
std::optional<WalWindow> local_wal_window(const Settings& settings, int* untrusted) {
  if (settings.local_dir.empty()) return std::nullopt;
  try {
    std::string root = local_store_root(settings);
    LocalStore store(root, trust_policy_for(settings));
    std::vector<SetEntry> sets = store.list_sets();
    *untrusted = 0;
    for (const auto& s : sets)
      if (s.untrusted()) ++*untrusted;
    return compute_wal_window(sets, list_wal_files(root), list_wal_chain_breaks(root));
  } catch (const Error&) {
    return std::nullopt;
  }
}

// What a session waiting in ramsafe_backup_now() or ramsafe_base_backup_now() shows in
// pg_stat_activity.wait_event (PostgreSQL 17 and later; "Extension" before).
uint32 backup_wait_event() {
  static uint32 cached = 0;
  return compat::wait_event("RamsafeBackupWait", &cached);
}

void require_worker() {
  if (shared == nullptr)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("ramsafe is not loaded through shared_preload_libraries")));
}

}  // namespace
}  // namespace ramsafe::ext

using namespace ramsafe;
using namespace ramsafe::ext;

Datum ramsafe_backup_now(PG_FUNCTION_ARGS) {
  bool wait = PG_GETARG_BOOL(0);
  require_worker();
  uint64_t target;
  bool joined;
  Latch* latch;
  char running_id[kIdLength];
  SpinLockAcquire(&shared->mutex);
  latch = shared->worker_latch;
  joined = shared->running_sequence != 0;
  target = joined ? shared->running_sequence : ++shared->requested;
  if (!joined) shared->backups_requested++;
  strlcpy(running_id, joined ? shared->running_id : "", sizeof running_id);
  SpinLockRelease(&shared->mutex);
  if (latch == nullptr)
    ereport(WARNING, (errmsg("ramsafe: the ramsafe worker is not running now; the backup runs "
                             "when the postmaster has restarted it")));
  else if (!joined)
    SetLatch(latch);

  const char* values[2] = {nullptr, nullptr};
  if (!wait) {
    values[0] = running_id[0] ? running_id : nullptr;
    values[1] = joined ? "running" : "requested";
  } else {
    BackupOutcome outcome;
    bool found = false;
    ConditionVariablePrepareToSleep(&shared->done_cv);
    for (;;) {
      SpinLockAcquire(&shared->mutex);
      if (shared->completed >= target) {
        // The backup that served this request: the first one at or after it.
        for (const auto& slot : shared->outcomes)
          if (slot.sequence >= target && (!found || slot.sequence < outcome.sequence)) {
            outcome = slot;
            found = true;
          }
        SpinLockRelease(&shared->mutex);
        break;
      }
      SpinLockRelease(&shared->mutex);
      ConditionVariableTimedSleep(&shared->done_cv, 1000, backup_wait_event());  // cancellable
    }
    ConditionVariableCancelSleep();
    if (!found) ereport(ERROR, (errmsg("ramsafe: the outcome of the backup is no longer known")));
    if (!outcome.succeeded)
      ereport(ERROR,
              (errcode(outcome.sqlstate), errmsg("ramsafe: backup failed: %s", outcome.message),
               outcome.backup_id[0] ? errdetail("Backup id: %s.", outcome.backup_id) : 0));
    values[0] = outcome.backup_id;
    values[1] = "published";
  }
  PG_RETURN_DATUM(record_from_texts(fcinfo, values));
}

Datum ramsafe_base_backup_now(PG_FUNCTION_ARGS) {
  bool wait = PG_GETARG_BOOL(0);
  require_worker();
  uint64_t target;
  bool joined;
  Latch* latch;
  char running_id[kIdLength];
  SpinLockAcquire(&shared->mutex);
  latch = shared->worker_latch;
  joined = shared->base_running;
  target = joined ? shared->base_requested : ++shared->base_requested;
  strlcpy(running_id, joined ? shared->running_id : "", sizeof running_id);
  SpinLockRelease(&shared->mutex);
  if (latch == nullptr)
    ereport(WARNING, (errmsg("ramsafe: the ramsafe worker is not running now; the base backup "
                             "runs when the postmaster has restarted it")));
  else if (!joined)
    SetLatch(latch);

  const char* values[2] = {nullptr, nullptr};
  BackupOutcome outcome;
  if (!wait) {
    values[0] = running_id[0] ? running_id : nullptr;
    values[1] = joined ? "running" : "requested";
  } else {
    ConditionVariablePrepareToSleep(&shared->done_cv);
    for (;;) {
      SpinLockAcquire(&shared->mutex);
      bool done = shared->base_completed >= target;
      if (done) outcome = shared->base_outcome;
      SpinLockRelease(&shared->mutex);
      if (done) break;
      ConditionVariableTimedSleep(&shared->done_cv, 1000, backup_wait_event());  // cancellable
    }
    ConditionVariableCancelSleep();
    if (outcome.sequence < target)
      ereport(ERROR, (errmsg("ramsafe: the outcome of the base backup is no longer known")));
    if (!outcome.succeeded)
      ereport(ERROR, (errcode(outcome.sqlstate),
                      errmsg("ramsafe: base backup failed: %s", outcome.message),
                      outcome.backup_id[0] ? errdetail("Backup id: %s.", outcome.backup_id) : 0));
    values[0] = outcome.backup_id;
    values[1] = "published";
  }
  PG_RETURN_DATUM(record_from_texts(fcinfo, values));
}

Datum ramsafe_status(PG_FUNCTION_ARGS) {
  require_worker();
  SharedState state;
  SpinLockAcquire(&shared->mutex);
  memcpy(&state, shared, sizeof state);
  SpinLockRelease(&shared->mutex);
  TimestampTz now = GetCurrentTimestamp();
  const char* archive_library = compat::archive_library();
  bool archive_mode_on = XLogArchiveMode != ARCHIVE_MODE_OFF;
  CTable table;
  CError error;
  bool ok = run_cpp(
      [&]() -> Rows {
        Settings settings = current_settings();
        bool archiving = archive_mode_on && names_ramsafe_library(archive_library);
        int untrusted = -1;
        std::optional<WalWindow> window = local_wal_window(settings, &untrusted);
        // The break the archiver saw (it may not be in the store yet), unless a base backup
        // started after it; else the store's own record.
        std::optional<std::string> broken;
        if (state.wal_chain_broken[0] != '\0' &&
            !(window && window->base_started_after(state.wal_chain_broken)))
          broken = std::string(state.wal_chain_broken);
        else if (window && !window->broken_now.empty())
          broken = window->broken_now;
        std::optional<DiskUsage> usage;
        try {
          usage = disk_usage(settings.data_directory);
        } catch (const Error&) {
          // shown as NULLs; ramsafe_ram_usage() reports the cause
        }
        bool running = state.running_sequence != 0 || state.base_running;
        auto when = [](TimestampTz t) { return timestamp_text(t); };
        std::optional<std::string> age;
        if (state.last_finished_at != 0)
          age = seconds_interval(static_cast<double>(now - state.last_finished_at) / 1e6);
        return {{
            settings.schedule,
            text_or_null(state.timezone),
            when(state.next_run),
            text_or_null(state.last_id),
            when(state.last_finished_at),
            age,
            state.last_finished_at
                ? std::optional<std::string>(seconds_interval(state.last_seconds))
                : std::nullopt,
            state.last_finished_at ? std::optional<std::string>(number(state.last_stored_bytes))
                                   : std::nullopt,
            state.last_finished_at
                ? std::optional<std::string>(std::to_string(state.last_databases))
                : std::nullopt,
            text_or_null(state.last_error),
            when(state.last_error_at),
            std::string(running ? "t" : "f"),
            running ? text_or_null(state.running_id) : std::nullopt,
            running ? text_or_null(state.phase) : std::nullopt,
            running ? text_or_null(state.database) : std::nullopt,
            running ? std::optional<std::string>(std::to_string(state.database_index))
                    : std::nullopt,
            running ? std::optional<std::string>(std::to_string(state.database_count))
                    : std::nullopt,
            running ? std::optional<std::string>(number(state.bytes_read)) : std::nullopt,
            running ? std::optional<std::string>(number(state.bytes_stored)) : std::nullopt,
            // Pending uploads: NULL until the worker has compared the stores once.
            state.remote[0] == '\0' ? std::optional<std::string>("0")
            : state.pending_uploads < 0
                ? std::nullopt
                : std::optional<std::string>(std::to_string(state.pending_uploads)),
            number(state.backups_requested),
            number(state.backups_scheduled),
            number(state.backups_failed),
            state.worker_pid ? std::optional<std::string>(std::to_string(state.worker_pid))
                             : std::nullopt,
            usage ? std::optional<std::string>(number(usage->directory_bytes)) : std::nullopt,
            usage ? std::optional<std::string>(number(usage->filesystem_bytes)) : std::nullopt,
            usage ? std::optional<std::string>(number(usage->free_bytes)) : std::nullopt,
            text_or_null(state.remote),
            text_or_null(state.uploading_id),
            state.uploading_id[0] ? std::optional<std::string>(number(state.upload_bytes_done))
                                  : std::nullopt,
            state.uploading_id[0] ? std::optional<std::string>(number(state.upload_bytes_total))
                                  : std::nullopt,
            text_or_null(state.last_upload_id),
            when(state.last_upload_at),
            text_or_null(state.last_remote_error),
            when(state.last_remote_error_at),
            number(state.uploads_failed),
            std::string(archiving ? "t" : "f"),
            text_or_null(state.wal_last_archived),
            when(state.wal_last_archived_at),
            number(state.wal_failed),
            text_or_null(state.wal_last_error),
            archiving || state.wal_backlog_bytes
                ? std::optional<std::string>(number(state.wal_backlog_bytes))
                : std::nullopt,
            when(state.wal_backlog_oldest_at),
            broken,
            when(state.last_base_backup_at),
            window ? ms_text(window->recoverable_to_ms) : std::nullopt,
            text_or_null(state.last_base_id),
            when(state.base_next_run),
            text_or_null(state.last_base_error),
            // WAL waiting for Drive: NULL without Drive or before the worker has compared.
            state.remote[0] != '\0' && state.wal_drive_pending_files >= 0
                ? std::optional<std::string>(std::to_string(state.wal_drive_pending_files))
                : std::nullopt,
            state.remote[0] != '\0' && state.wal_drive_pending_files >= 0
                ? std::optional<std::string>(number(state.wal_drive_pending_bytes))
                : std::nullopt,
            // 0.4.0
            text_or_null(state.schedule_rejected),
            text_or_null(state.rejected_settings),
            // Signing (0.4.0): the key the worker signs with, or why it refuses to back up.
            text_or_null(state.signing_key),
            text_or_null(state.signing_problem),
            untrusted >= 0 ? std::optional<std::string>(std::to_string(untrusted)) : std::nullopt,
        }};
      },
      &table, &error);
  return finish_record(fcinfo, ok, &table, &error);
}

Datum ramsafe_backups(PG_FUNCTION_ARGS) {
  CTable table;
  CError error;
  char remote_problem[kMessageLength] = "";
  bool ok = run_cpp(
      [&remote_problem]() -> Rows {
        Settings settings = current_settings();
        Rows rows;
        std::optional<WalWindow> window;
        // Physical sets: how far the local WAL archive reaches from them (NULLs otherwise).
        auto add = [&rows, &window](const SetEntry& set, const std::string& kind,
                                    const std::string& location) {
          const PhysicalWindow* w = window ? window->find(set.id) : nullptr;
          auto maybe = [w](auto get) -> std::optional<std::string> {
            if (w == nullptr) return std::nullopt;
            return get(*w);
          };
          // Appended in 0.4.0: trust, signed_by, sequence.
          std::optional<std::string> signed_by = text_or_null(set.key_id);
          if (set.usable()) {
            const Manifest& m = *set.manifest;
            rows.push_back(
                {set.id, m.kind, m.finished_at, std::to_string(m.databases().size()),
                 number(m.stored_bytes()), number(m.plaintext_bytes()), kind, location,
                 std::string("t"), std::nullopt, maybe([](const PhysicalWindow& p) {
                   return std::optional<std::string>(p.start_wal_file);
                 }),
                 maybe([](const PhysicalWindow& p) { return text_or_null(p.reach.last_segment); }),
                 maybe([](const PhysicalWindow& p) { return ms_text(p.reaches_ms); }),
                 maybe([](const PhysicalWindow& p) {
                   return std::optional<std::string>(p.reach.complete ? "t" : "f");
                 }),
                 maybe([](const PhysicalWindow& p) { return text_or_null(p.reach.missing); }),
                 maybe([](const PhysicalWindow& p) { return text_or_null(p.chain_broken_at); }),
                 std::string(trust_name(set.trust)), signed_by, number(m.sequence)});
          } else {
            rows.push_back({set.id, std::nullopt, std::nullopt, std::nullopt, std::nullopt,
                            std::nullopt, kind, location, std::string("f"), set.problem_text(),
                            std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt,
                            std::nullopt, std::string(trust_name(set.trust)), signed_by,
                            std::nullopt});
          }
        };
        if (auto local = make_local_store(settings)) {
          std::vector<SetEntry> sets = local->list_sets();
          std::string root = local_store_root(settings);
          window = compute_wal_window(sets, list_wal_files(root), list_wal_chain_breaks(root));
          for (const auto& set : sets) add(set, "local", local->set_path(set.id));
          window.reset();  // Drive's copies: the local archive is not theirs
        }
        // Drive is asked live; when it cannot answer, the local rows still come, with a
        // WARNING.
        try {
          if (auto drive = make_drive_store(settings)) {
            drive->set_cancel(interrupted);
            for (const auto& set : drive->list_sets())
              add(set, "drive", drive->describe() + "/" + set.id);
          }
        } catch (const Error& e) {
          if (e.code() == Errc::kCancelled) throw;
          strlcpy(remote_problem, e.what(), sizeof remote_problem);
        }
        return rows;
      },
      &table, &error);
  if (ok && remote_problem[0] != '\0')
    ereport(WARNING, (errmsg("ramsafe: cannot list the backups on Drive: %s", remote_problem)));
  finish(fcinfo, ok, &table, &error);
  return (Datum)0;
}

Datum ramsafe_verify(PG_FUNCTION_ARGS) {
  char* wanted = PG_ARGISNULL(0) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(0));
  CTable table;
  CError error;
  bool ok = run_cpp(
      [&]() -> Rows {
        Settings settings = current_settings();
        LocalStore store(local_store_root(settings), trust_policy_for(settings));
        auto sets = store.list_sets();
        sort_newest_first(sets);
        const SetEntry* chosen = nullptr;
        for (const auto& set : sets) {
          if (wanted ? set.id == wanted : set.usable()) {
            chosen = &set;
            break;
          }
        }
        size_t untrusted = 0;
        for (const auto& set : sets)
          if (set.untrusted()) ++untrusted;
        if (chosen == nullptr)
          throw Error(Errc::kNotFound,
                      wanted ? "no backup " + std::string(wanted) + " in " + store.describe()
                      : untrusted > 0 ? "no trusted backup in " + store.describe() + " (" +
                                            std::to_string(untrusted) +
                                            " UNTRUSTED: ramsafe_backups() says why)"
                                      : "no backups in " + store.describe());
        SetVerification v = verify_set(store, *chosen, false, {}, interrupted);
        Rows rows;
        if (v.files.empty())
          rows.push_back({v.backup_id, std::nullopt, std::nullopt, std::nullopt, std::nullopt,
                          std::string(v.ok ? "t" : "f"),
                          text_or_null(v.untrusted ? chosen->problem_text() : v.problem)});
        for (const auto& f : v.files)
          rows.push_back({v.backup_id, f.path, f.role, text_or_null(f.database),
                          number(f.stored_bytes), std::string(f.ok ? "t" : "f"),
                          text_or_null(f.problem)});
        return rows;
      },
      &table, &error);
  finish(fcinfo, ok, &table, &error);
  return (Datum)0;
}

Datum ramsafe_ram_usage(PG_FUNCTION_ARGS) {
  CTable table;
  CError error;
  bool ok = run_cpp(
      []() -> Rows {
        Settings settings = current_settings();
        DiskUsage u = disk_usage(settings.data_directory);
        char percent[32];
        snprintf(percent, sizeof percent, "%.1f", u.used_percent());
        return {{settings.data_directory, number(u.directory_bytes), number(u.filesystem_bytes),
                 number(u.used_bytes), number(u.free_bytes), std::string(percent)}};
      },
      &table, &error);
  return finish_record(fcinfo, ok, &table, &error);
}

Datum ramsafe_prune(PG_FUNCTION_ARGS) {
  bool dry_run = PG_GETARG_BOOL(0);
  CTable table;
  CError error;
  char warning[kMessageLength] = "";  // the recoverable-window guard's, raised below
  bool ok = run_cpp(
      [dry_run, &warning]() -> Rows {
        Settings settings = current_settings();
        PruneRequest request = server_prune_request(settings);
        request.dry_run = dry_run;
        request.cancel = interrupted;
        std::unique_ptr<LocalStore> local = make_local_store(settings);
        std::unique_ptr<DriveStore> drive = make_drive_store(settings);
        if (drive) drive->set_cancel(interrupted);
        Rows rows;
        std::string warnings;
        for (const auto& e : run_prune(request, local.get(), drive.get())) {
          if (!e.warning.empty()) warnings += (warnings.empty() ? "" : "\n") + e.warning;
          std::string action = e.keep      ? "keep"
                               : dry_run   ? "delete"
                               : e.deleted ? "deleted"
                                           : "failed";
          // Archived WAL: one row per store, backup_id 'WAL' (a set id is never that).
          std::string id = e.wal ? "WAL" : e.backup_id;
          rows.push_back({e.store, text_or_null(id), text_or_null(e.finished_at),
                          id.empty() ? std::nullopt : std::optional<std::string>(action),
                          text_or_null(e.reason), text_or_null(e.error)});
        }
        copy_text(warning, sizeof warning, warnings);
        return rows;
      },
      &table, &error);
  if (ok && warning[0] != '\0')
    ereport(WARNING, (errmsg("ramsafe: retention keeps a backup set its policy would delete, so "
                             "as not to shrink the recoverable window"),
                      errdetail("%s", warning)));
  finish(fcinfo, ok, &table, &error);
  return (Datum)0;
}
