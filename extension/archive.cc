// The archive module (archive_library = 'ramsafe'; docs/wal.md). PostgreSQL's archiver
// process hands each finished WAL file to archive_file(), which compresses, encrypts, signs
// and stores it in the local store (core/wal/wal_archive.h). The callbacks never raise an ERROR:
// the C++ work runs in a noexcept function that returns plain data, and a failure is a
// WARNING naming the file and the cause plus `false`, so PostgreSQL keeps the file and
// retries it. Nothing here touches the network.
//
// Before each file it measures the backlog (the .ready files in pg_wal/archive_status:
// pg_wal lives in RAM) and, when the file cannot be stored, applies
// ramsafe.wal_backlog_policy: keep (return false, PostgreSQL keeps the WAL) or, past
// ramsafe.wal_backlog_limit, drop (give up this oldest file, mark the WAL chain broken in
// the store and in shared memory, return true so PostgreSQL can recycle it).
//
// The library must also be in shared_preload_libraries: the archiver then finds it loaded,
// with the ramsafe.* settings defined (_PG_init refuses to load it any other way).
#include <dirent.h>
#include <sys/stat.h>

#include <chrono>
#include <cstring>

#include "core/backup/backup.h"
#include "core/config/keys.h"
#include "core/set/trust.h"
#include "core/wal/wal_archive.h"
#include "core/wal/wal_window.h"
#include "extension/boundary.h"
#include "extension/pg_compat.h"
#include "extension/ramsafe_ext.h"

extern "C" {
#include "fmgr.h"
#include "miscadmin.h"
#include "pgtime.h"
}

namespace ramsafe::ext {
namespace {

// The outcome of one archive attempt, as plain data for logging after the C++ frames are
// gone.
struct ArchiveOutcome {
  bool succeeded;
  bool already_stored;
  uint64_t plaintext_bytes;
  uint64_t stored_bytes;
  double milliseconds;
  char message[kMessageLength];
  // From the settings, read in the guarded call.
  bool drop_policy;
  uint64_t backlog_limit;  // bytes; 0 = no limit
  char store_root[MAXPGPATH];
};

// The archiver's backlog: the segments PostgreSQL has marked ready (the file being archived
// among them). The archiver's working directory is the data directory.
struct Backlog {
  uint64_t segments = 0;
  uint64_t bytes = 0;
  time_t oldest = 0;  // mtime of the oldest .ready file; 0 when none
};

// skip: a file to leave out (the one just archived, still .ready until this call returns).
Backlog measure_backlog(const char* skip) {
  Backlog backlog;
  DIR* dir = opendir("pg_wal/archive_status");  // plain C: no exceptions, no ereport
  if (dir == nullptr) return backlog;
  constexpr size_t kSegmentName = 24;
  while (struct dirent* entry = readdir(dir)) {
    const char* name = entry->d_name;
    size_t length = strlen(name);
    if (length != kSegmentName + 6 || strcmp(name + kSegmentName, ".ready") != 0) continue;
    if (strspn(name, "0123456789ABCDEF") != kSegmentName) continue;  // segments only
    if (skip != nullptr && strncmp(name, skip, kSegmentName) == 0) continue;
    char path[MAXPGPATH];
    snprintf(path, sizeof path, "pg_wal/archive_status/%s", name);
    struct stat st;
    if (stat(path, &st) != 0) continue;  // archived meanwhile
    backlog.segments++;
    if (backlog.oldest == 0 || st.st_mtime < backlog.oldest) backlog.oldest = st.st_mtime;
  }
  closedir(dir);
  backlog.bytes = backlog.segments * static_cast<uint64_t>(wal_segment_size);
  return backlog;
}

void archive_guarded(const char* file, const char* path, ArchiveOutcome* out) noexcept {
  *out = ArchiveOutcome{false, false, 0, 0, 0, "", false, 0, ""};
  auto started = std::chrono::steady_clock::now();
  try {
    Settings settings = current_settings();
    out->drop_policy = settings.wal_backlog_policy == "drop";
    out->backlog_limit = parse_size(settings.wal_backlog_limit).value_or(0);
    if (!settings.local_dir.empty())
      strlcpy(out->store_root, local_store_root(settings).c_str(), sizeof out->store_root);
    std::vector<age::Recipient> recipients = load_recipients(settings);
    // No unsigned WAL: without a signing key the file waits in pg_wal (and the backlog
    // policy applies), loudly, like any other failure.
    SetSigner signer = set_signer_for(settings);
    WalArchiveResult r = archive_wal_file(local_store_root(settings), recipients,
                                          settings.compression_level, file, path, signer);
    out->succeeded = true;
    out->already_stored = r.already_stored;
    out->plaintext_bytes = r.plaintext_bytes;
    out->stored_bytes = r.stored_bytes;
  } catch (const std::bad_alloc&) {
    strlcpy(out->message, "out of memory", sizeof out->message);
  } catch (const std::exception& e) {
    strlcpy(out->message, e.what(), sizeof out->message);
  }
  out->milliseconds =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
}

// Why archiving cannot work with the current settings, or "" when it can.
void configuration_problem(char* problem, size_t size) noexcept {
  problem[0] = '\0';
  try {
    Settings settings = current_settings();
    if (settings.local_dir.empty())
      strlcpy(problem, "ramsafe.local_dir is not set", size);
    else if (settings.recipients_file.empty() && settings.passphrase_file.empty())
      strlcpy(problem, "neither ramsafe.recipients_file nor ramsafe.passphrase_file is set", size);
  } catch (const std::exception& e) {
    strlcpy(problem, e.what(), size);
  }
}

TimestampTz from_time_t(time_t t) {
  return t == 0 ? 0 : time_t_to_timestamptz(static_cast<pg_time_t>(t));
}

void record_backlog(const Backlog& backlog) {
  attach_shared_memory();
  if (shared == nullptr) return;
  SpinLockAcquire(&shared->mutex);
  shared->wal_backlog_bytes = backlog.bytes;
  shared->wal_backlog_oldest_at = from_time_t(backlog.oldest);
  SpinLockRelease(&shared->mutex);
}

void record(const char* file, const ArchiveOutcome& outcome) {
  if (shared == nullptr) return;
  TimestampTz now = GetCurrentTimestamp();
  SpinLockAcquire(&shared->mutex);
  if (outcome.succeeded) {
    shared->wal_archived++;
    strlcpy(shared->wal_last_archived, file, sizeof shared->wal_last_archived);
    shared->wal_last_archived_at = now;
  } else {
    shared->wal_failed++;
    strlcpy(shared->wal_last_failed, file, sizeof shared->wal_last_failed);
    shared->wal_last_failed_at = now;
    strlcpy(shared->wal_last_error, outcome.message, sizeof shared->wal_last_error);
  }
  SpinLockRelease(&shared->mutex);
}

// Writes the store's marker for a dropped segment; false with the cause in problem.
bool write_break_marker(const char* store_root, const char* segment, const char* note,
                        char* problem, size_t size) noexcept {
  problem[0] = '\0';
  try {
    if (store_root[0] == '\0') throw Error(Errc::kConfig, "ramsafe.local_dir is not set");
    record_wal_chain_break(store_root, segment, note);
    return true;
  } catch (const std::exception& e) {
    strlcpy(problem, e.what(), size);
    return false;
  }
}

// A drop whose marker could not be written (the store was full or missing) is written as
// soon as the store takes it again: before later WAL is archived after the gap.
void write_pending_marker(const char* store_root) {
  if (shared == nullptr) return;
  char segment[kIdLength];
  SpinLockAcquire(&shared->mutex);
  strlcpy(segment, shared->wal_break_unrecorded, sizeof segment);
  SpinLockRelease(&shared->mutex);
  if (segment[0] == '\0') return;
  char note[256];
  snprintf(note, sizeof note,
           "dropped by ramsafe.wal_backlog_policy = drop (recorded late: the store was "
           "unwritable when it was dropped)");
  char problem[kMessageLength];
  if (!write_break_marker(store_root, segment, note, problem, sizeof problem)) return;
  SpinLockAcquire(&shared->mutex);
  if (strcmp(shared->wal_break_unrecorded, segment) == 0) shared->wal_break_unrecorded[0] = '\0';
  SpinLockRelease(&shared->mutex);
  ereport(LOG, (errmsg("ramsafe: recorded the broken WAL chain at \"%s\" in the store", segment)));
}

bool is_segment_name(const char* file) {
  return strlen(file) == 24 && strspn(file, "0123456789ABCDEF") == 24;
}

// Gives up on `file` (policy drop, backlog over the limit): records the break and logs it.
void drop_segment(const char* file, const ArchiveOutcome& outcome, const Backlog& backlog) {
  TimestampTz now = GetCurrentTimestamp();
  char note[kMessageLength + 256];
  snprintf(note, sizeof note,
           "dropped at %s by ramsafe.wal_backlog_policy = drop: backlog %llu bytes over "
           "ramsafe.wal_backlog_limit %llu bytes; could not archive: %s",
           timestamptz_to_str(now), static_cast<unsigned long long>(backlog.bytes),
           static_cast<unsigned long long>(outcome.backlog_limit), outcome.message);
  char problem[kMessageLength];
  bool marked = write_break_marker(outcome.store_root, file, note, problem, sizeof problem);
  Latch* worker = nullptr;
  if (shared != nullptr) {
    SpinLockAcquire(&shared->mutex);
    worker = shared->worker_latch;
    strlcpy(shared->wal_chain_broken, file, sizeof shared->wal_chain_broken);
    shared->wal_chain_broken_at = now;
    shared->wal_dropped++;
    // Only the oldest unrecorded drop matters: replay stops at the first gap.
    if (!marked && shared->wal_break_unrecorded[0] == '\0')
      strlcpy(shared->wal_break_unrecorded, file, sizeof shared->wal_break_unrecorded);
    SpinLockRelease(&shared->mutex);
  }
  if (worker != nullptr) SetLatch(worker);  // it takes a base backup as soon as it can
  ereport(LOG,
          (errmsg("ramsafe: DROPPED WAL segment \"%s\" without archiving it: the WAL chain is "
                  "broken from here",
                  file),
           errdetail("It could not be archived (%s) and the backlog of %llu bytes is over "
                     "ramsafe.wal_backlog_limit (%llu bytes), and ramsafe.wal_backlog_policy is "
                     "drop. No restore can replay WAL past this segment: every change after the "
                     "end of the last archived segment is recoverable only from a backup taken "
                     "after now (the next base backup, or a logical backup). %s",
                     outcome.message, static_cast<unsigned long long>(backlog.bytes),
                     static_cast<unsigned long long>(outcome.backlog_limit),
                     marked ? "The break is marked in the store."
                            : "The break could not be marked in the store yet and will be when "
                              "it is writable again."),
           errhint("Make the store writable again; with ramsafe.base_backup_schedule set the "
                   "worker takes a base backup as soon as it can (or run "
                   "ramsafe_base_backup_now()).")));
  if (!marked)
    ereport(WARNING,
            (errmsg("ramsafe: could not mark the broken WAL chain in the store: %s", problem)));
}

bool check_configured() {
  char problem[kMessageLength];
  configuration_problem(problem, sizeof problem);
  if (problem[0] == '\0') return true;
  ereport(LOG, (errmsg("ramsafe: WAL archiving is not configured: %s", problem)));
  compat::archive_check_detail(problem);
  return false;
}

bool archive_file(const char* file, const char* path) {
  Backlog backlog = measure_backlog(nullptr);
  record_backlog(backlog);
  ArchiveOutcome outcome;
  archive_guarded(file, path, &outcome);
  record(file, outcome);
  if (outcome.succeeded) {
    write_pending_marker(outcome.store_root);
    record_backlog(measure_backlog(file));
  }
  if (!outcome.succeeded) {
    double age = backlog.oldest ? difftime(time(nullptr), backlog.oldest) : 0;
    ereport(WARNING,
            (errmsg("ramsafe: could not archive WAL file \"%s\": %s", file, outcome.message),
             errdetail("WAL backlog: %llu bytes in %llu segments, the oldest waiting %.0f s "
                       "(ramsafe.wal_backlog_policy = %s, ramsafe.wal_backlog_limit = %llu "
                       "bytes).",
                       static_cast<unsigned long long>(backlog.bytes),
                       static_cast<unsigned long long>(backlog.segments), age,
                       outcome.drop_policy ? "drop" : "keep",
                       static_cast<unsigned long long>(outcome.backlog_limit))));
    if (outcome.drop_policy && outcome.backlog_limit > 0 && backlog.bytes > outcome.backlog_limit) {
      if (is_segment_name(file))
        drop_segment(file, outcome, backlog);
      else  // one stuck file would block every segment after it
        ereport(LOG, (errmsg("ramsafe: gave up on WAL file \"%s\" without archiving it "
                             "(ramsafe.wal_backlog_policy = drop, backlog %llu bytes over "
                             "ramsafe.wal_backlog_limit %llu bytes)",
                             file, static_cast<unsigned long long>(backlog.bytes),
                             static_cast<unsigned long long>(outcome.backlog_limit))));
      // PostgreSQL marks it .done and recycles it.
      record_backlog(measure_backlog(file));
      return true;
    }
    return false;
  }
  ereport(DEBUG1,
          (errmsg("ramsafe: archived WAL file \"%s\"%s: %llu bytes, %llu stored, %.1f ms", file,
                  outcome.already_stored ? " (already stored, identical)" : "",
                  static_cast<unsigned long long>(outcome.plaintext_bytes),
                  static_cast<unsigned long long>(outcome.stored_bytes), outcome.milliseconds)));
  return true;
}

}  // namespace
}  // namespace ramsafe::ext

RAMSAFE_ARCHIVE_MODULE(ramsafe::ext::check_configured, ramsafe::ext::archive_file)
