// The worker's Drive uploads. The queue is not stored anywhere: every pass compares the
// local sets and archived WAL files with Drive's, so it survives restarts and crashes.
// WAL goes first, oldest first: each file is small and is the newest data, while a set
// can take minutes; the archiver never waits for any of this. A pass stops for a due
// backup, a request, SIGHUP or SIGTERM and resumes afterwards, continuing any resumable
// session it had open (the DriveStore keeps them in this process's memory).
#include <ctime>
#include <map>
#include <memory>
#include <set>

#include "core/backup/backup.h"
#include "core/drive/drive_store.h"
#include "core/retention/prune.h"
#include "core/store/local_store.h"
#include "core/wal/wal_archive.h"
#include "extension/boundary.h"
#include "extension/ramsafe_ext.h"

extern "C" {
#include "access/xlog.h"
#include "utils/timestamp.h"
}

namespace ramsafe::ext {
namespace {

// Static storage: outlives every frame an error could leave, like the scheduler.
std::unique_ptr<DriveStore> drive;
bool drive_unconfigured = false;  // settings say no Drive: nothing to do until SIGHUP
bool pending_known_zero = false;  // the last pass left nothing to upload
int64_t next_attempt = 0;         // after a failure: not before this (unix seconds)
int consecutive_failures = 0;
// Sets Drive was last seen to hold: pending uploads stay countable while Drive is
// unreachable.
std::set<std::string> known_remote;
// Likewise the WAL files (name -> stored bytes) Drive was last seen to hold.
std::map<std::string, uint64_t> known_remote_wal;
// Local WAL files whose record no trusted key signed: never copied (until SIGHUP: the
// verify keys may have changed).
std::set<std::string> untrusted_wal;
// The archiver's success counter when the last pass listed the WAL: a pass is due when it
// moved (a new WAL file to copy).
uint64_t wal_archived_seen = 0;
// How often the worker looks at that counter while WAL archiving is on (the archiver runs
// in another process and does not wake the worker).
constexpr long kWalPollMs = 1000;

// What the Drive store reported during a pass (a second cluster folder folded in,
// duplicate copies removed), logged once the pass is over.
std::string pass_notes;
std::string pass_warnings;
// Damaged duplicates already warned about ("<set>/<path>"): once per process, not per pass.
std::set<std::string> duplicates_warned;

constexpr int64_t kFirstRetrySeconds = 30;
constexpr int64_t kMaxRetrySeconds = 30 * 60;

struct PassResult {
  bool configured;
  bool failed;
  bool cancelled;
  int pending;
  int uploaded;
  char uploaded_ids[kMessageLength];
  char failed_id[kIdLength];
  char message[kMessageLength];
  uint64_t bytes_sent;
  double seconds;
  char remote[256];
  int wal_uploaded;
  uint64_t wal_bytes_uploaded;
  int64_t wal_pending;  // -1: not counted
  uint64_t wal_pending_bytes;
  char notes[kMessageLength];     // LOG
  char warnings[kMessageLength];  // WARNING
  int wal_untrusted;              // local WAL files no trusted key signed: not copied
  char wal_untrusted_problem[kMessageLength];
};

void add_line(std::string& to, const std::string& line) {
  to += (to.empty() ? "" : "; ") + line;
}

// Duplicate copies of a file in a complete set on Drive: one that checks out stays.
void fix_duplicates(DriveStore& remote, const CancelCheck& cancel) {
  for (const auto& f : remote.fix_duplicates({}, cancel)) {
    std::string what = std::to_string(f.copies) + " copies of " + f.backup_id + "/" + f.path;
    if (f.kept_id.empty()) {
      if (duplicates_warned.insert(f.backup_id + "/" + f.path).second)
        add_line(pass_warnings, what + " on Drive: " + f.problem);
      continue;
    }
    std::string removed;
    for (const auto& r : f.removed) removed += (removed.empty() ? "" : ", ") + r;
    add_line(pass_notes, "removed duplicates on Drive of " + what + ": kept " + f.kept_id +
                             ", removed " + removed);
  }
}

void publish_progress(const std::string& id, uint64_t done, uint64_t total) {
  SpinLockAcquire(&shared->mutex);
  copy_text(shared->uploading_id, sizeof shared->uploading_id, id);
  shared->upload_bytes_done = done;
  shared->upload_bytes_total = total;
  SpinLockRelease(&shared->mutex);
}

void publish_pending(int pending) {
  SpinLockAcquire(&shared->mutex);
  shared->pending_uploads = pending;
  SpinLockRelease(&shared->mutex);
}

void publish_wal_pending(int64_t files, uint64_t bytes) {
  SpinLockAcquire(&shared->mutex);
  shared->wal_drive_pending_files = files;
  shared->wal_drive_pending_bytes = bytes;
  SpinLockRelease(&shared->mutex);
}

uint64_t wal_archived_now() {
  SpinLockAcquire(&shared->mutex);
  uint64_t n = shared->wal_archived;
  SpinLockRelease(&shared->mutex);
  return n;
}

// Copies the archived WAL files Drive lacks, oldest first, counting what still waits.
// local_wal: the local archive, listed before Drive was asked.
void upload_wal(DriveStore& remote, const std::string& root,
                const std::vector<StoredWalFile>& local_wal, const CancelCheck& cancel,
                std::string& current, PassResult* r) {
  if (local_wal.empty()) return;  // no WAL archive here: no Drive request either
  std::vector<RemoteWalFile> remote_wal = remote.list_wal();
  std::map<std::string, const RemoteWalFile*> by_name;
  known_remote_wal.clear();
  for (const auto& f : remote_wal) {
    by_name[f.wal.file.name] = &f;
    known_remote_wal[f.wal.file.name] = f.wal.stored_bytes;
  }
  std::vector<StoredWalFile> pending;
  for (auto& f : wal_to_upload(local_wal, DriveStore::stored_of(remote_wal))) {
    // Found untrusted before: never copied, no longer counted as waiting, warned once.
    if (untrusted_wal.count(f.file.name) != 0) {
      known_remote_wal[f.file.name] = f.stored_bytes;
      continue;
    }
    pending.push_back(std::move(f));
  }
  r->wal_pending = static_cast<int64_t>(pending.size());
  r->wal_pending_bytes = 0;
  for (const auto& f : pending) r->wal_pending_bytes += f.stored_bytes;
  publish_wal_pending(r->wal_pending, r->wal_pending_bytes);
  for (const auto& f : pending) {
    current = f.file.name;
    publish_progress(f.file.name, 0, f.stored_bytes);
    auto it = by_name.find(f.file.name);
    WalUploadResult up =
        remote.upload_wal_file(root, f, it == by_name.end() ? nullptr : it->second, cancel);
    r->wal_pending--;
    r->wal_pending_bytes -= f.stored_bytes;
    if (up.untrusted) {
      if (r->wal_untrusted++ == 0)
        copy_text(r->wal_untrusted_problem, sizeof r->wal_untrusted_problem, up.problem);
      untrusted_wal.insert(f.file.name);
      known_remote_wal[f.file.name] = f.stored_bytes;
      publish_wal_pending(r->wal_pending, r->wal_pending_bytes);
      continue;
    }
    r->bytes_sent += up.stats.bytes_sent;
    r->wal_bytes_uploaded += up.bytes_uploaded;
    r->wal_uploaded++;
    known_remote_wal[f.file.name] = f.stored_bytes;
    publish_wal_pending(r->wal_pending, r->wal_pending_bytes);
  }
  current.clear();
}

// After a server start the status has no last upload: the newest complete set Drive holds
// stands in, with the time its manifest (uploaded last) reached Drive.
void note_newest_on_drive(const DriveStore& remote, const std::vector<SetEntry>& remote_sets) {
  const SetEntry* newest = nullptr;
  for (const auto& set : remote_sets)  // newest first
    if (set.usable()) {
      newest = &set;
      break;
    }
  if (newest == nullptr) return;
  int64_t uploaded = remote.manifest_modified_unix(newest->id);
  if (uploaded == 0) uploaded = parse_rfc3339_utc(newest->manifest->finished_at).value_or(0) / 1000;
  SpinLockAcquire(&shared->mutex);
  if (shared->last_upload_id[0] == '\0') {
    copy_text(shared->last_upload_id, sizeof shared->last_upload_id, newest->id);
    shared->last_upload_at = time_t_to_timestamptz(static_cast<pg_time_t>(uploaded));
  }
  SpinLockRelease(&shared->mutex);
}

void pass_guarded(bool (*stop)(), PassResult* r) noexcept {
  *r = PassResult{};
  pass_notes.clear();
  pass_warnings.clear();
  r->pending = -1;
  r->wal_pending = -1;
  struct timespec start {};
  clock_gettime(CLOCK_MONOTONIC, &start);
  std::string current;
  try {
    Settings settings = current_settings();
    if (!drive_configured(settings)) {
      drive_unconfigured = true;
      return;
    }
    r->configured = true;
    copy_text(r->remote, sizeof r->remote,
              DriveStore::describe_for(settings.drive_folder_id, cluster_name(settings)));
    // Counted before Drive is asked, so that status has a figure when Drive cannot answer.
    LocalStore local(local_store_root(settings), trust_policy_for(settings));
    std::vector<SetEntry> local_sets = local.list_sets();
    r->pending = 0;
    for (const auto& set : local_sets)
      if (set.usable() && known_remote.count(set.id) == 0) r->pending++;
    wal_archived_seen = wal_archived_now();
    std::vector<StoredWalFile> local_wal = list_wal_files(local.root());
    r->wal_pending = 0;
    r->wal_pending_bytes = 0;
    for (const auto& f : local_wal) {
      auto known = known_remote_wal.find(f.file.name);
      if (known == known_remote_wal.end() || known->second != f.stored_bytes) {
        r->wal_pending++;
        r->wal_pending_bytes += f.stored_bytes;
      }
    }
    if (!drive) {
      drive = make_drive_store(settings);
      drive->set_log([](const std::string& text) { add_line(pass_notes, text); });
    }
    CancelCheck cancel = [stop] { return stop(); };
    drive->set_cancel(cancel);
    std::vector<SetEntry> remote_sets = drive->list_sets();
    known_remote.clear();
    for (const auto& set : remote_sets)
      if (set.usable()) known_remote.insert(set.id);
    fix_duplicates(*drive, cancel);
    note_newest_on_drive(*drive, remote_sets);
    upload_wal(*drive, local.root(), local_wal, cancel, current, r);
    PruneRequest policy = server_prune_request(settings);
    std::vector<SetEntry> pending =
        sets_to_upload(local_sets, remote_sets, policy.drive_policy, policy.zone);
    r->pending = static_cast<int>(pending.size());
    publish_pending(r->pending);
    std::string ids;
    for (const auto& set : pending) {
      current = set.id;
      SetUpload up = drive->upload_set(local, set, cancel, publish_progress);
      r->bytes_sent += up.stats.bytes_sent;
      r->uploaded++;
      r->pending--;
      known_remote.insert(set.id);
      publish_pending(r->pending);
      ids += (ids.empty() ? "" : ", ") + set.id;
      copy_text(r->uploaded_ids, sizeof r->uploaded_ids, ids);
      SpinLockAcquire(&shared->mutex);
      copy_text(shared->last_upload_id, sizeof shared->last_upload_id, set.id);
      shared->last_upload_at = GetCurrentTimestamp();
      SpinLockRelease(&shared->mutex);
    }
  } catch (const Error& e) {
    if (e.code() == Errc::kCancelled) {
      r->cancelled = true;
    } else {
      r->failed = true;
      copy_text(r->failed_id, sizeof r->failed_id, current);
      strlcpy(r->message, e.what(), sizeof r->message);
    }
  } catch (const std::exception& e) {
    r->failed = true;
    copy_text(r->failed_id, sizeof r->failed_id, current);
    strlcpy(r->message, e.what(), sizeof r->message);
  }
  copy_text(r->notes, sizeof r->notes, pass_notes);
  copy_text(r->warnings, sizeof r->warnings, pass_warnings);
  struct timespec end {};
  clock_gettime(CLOCK_MONOTONIC, &end);
  r->seconds = static_cast<double>(end.tv_sec - start.tv_sec) +
               static_cast<double>(end.tv_nsec - start.tv_nsec) / 1e9;
}

struct PruneOutcome {
  int deleted;
  char wal[kMessageLength];  // "local: <summary>; drive: <summary>" for stores that deleted WAL
  char deleted_ids[kMessageLength];  // "local 2026...Z, drive 2026...Z"
  char error[kMessageLength];
  char warning[kMessageLength];  // the recoverable-window guard kept a set (PruneEntry::warning)
};

// Retention on the local store and, when given, Drive. Deleting sets is part of keeping
// backups: errors are reported, never raised.
void prune_guarded(DriveStore* with_drive, const CancelCheck& cancel, PruneOutcome* out) noexcept {
  *out = PruneOutcome{};
  try {
    Settings settings = current_settings();
    PruneRequest request = server_prune_request(settings);
    request.dry_run = false;
    request.cancel = cancel;
    std::unique_ptr<LocalStore> local = make_local_store(settings);
    std::string ids;
    std::string errors;
    std::string wal;
    std::string warnings;
    for (const auto& e : run_prune(request, local.get(), with_drive)) {
      if (!e.warning.empty()) warnings += (warnings.empty() ? "" : "\n") + e.warning;
      if (e.wal) {
        if (e.deleted) wal += (wal.empty() ? "" : "; ") + e.store + ": " + e.reason;
        if (!e.error.empty()) errors += (errors.empty() ? "" : "; ") + e.store + " WAL: " + e.error;
        continue;
      }
      if (e.deleted) {
        out->deleted++;
        ids += (ids.empty() ? "" : ", ") + e.store + " " + e.backup_id;
      }
      if (!e.error.empty())
        errors += (errors.empty() ? "" : "; ") + e.store + " " + e.backup_id + ": " + e.error;
    }
    copy_text(out->deleted_ids, sizeof out->deleted_ids, ids);
    copy_text(out->wal, sizeof out->wal, wal);
    copy_text(out->error, sizeof out->error, errors);
    copy_text(out->warning, sizeof out->warning, warnings);
  } catch (const std::exception& e) {
    strlcpy(out->error, e.what(), sizeof out->error);
  }
}

// The guard's last WARNING: a state that lasts (until a newer base backup has its WAL) is
// warned about once, not at every upload pass.
char guard_warned[kMessageLength] = "";

void log_prune(const PruneOutcome& p) {
  if (p.warning[0] != '\0' && strcmp(p.warning, guard_warned) != 0)
    ereport(WARNING, (errmsg("ramsafe: retention kept a backup set its policy would delete, so "
                             "as not to shrink the recoverable window"),
                      errdetail("%s", p.warning)));
  if (p.error[0] == '\0') strlcpy(guard_warned, p.warning, sizeof guard_warned);
  if (p.deleted > 0)
    ereport(LOG,
            (errmsg("ramsafe: retention deleted %d backup sets: %s", p.deleted, p.deleted_ids)));
  if (p.wal[0] != '\0')
    ereport(LOG, (errmsg("ramsafe: retention deleted archived WAL: %s", p.wal)));
  if (p.error[0] != '\0')
    ereport(WARNING, (errmsg("ramsafe: retention could not finish: %s", p.error)));
}

}  // namespace

void retention_after_backup(bool (*stop)()) {
  bool with_drive = true;
  try {
    with_drive = drive_configured(current_settings());
  } catch (const std::exception&) {
    return;  // settings unreadable: the next backup reports it
  }
  if (with_drive) return;
  PruneOutcome p;
  prune_guarded(
      nullptr, [stop] { return stop(); }, &p);
  log_prune(p);
}

void uploader_reset() {
  // Which Drive store, known without asking Drive (the first pass lists it).
  std::string remote;
  try {
    Settings settings = current_settings();
    if (drive_configured(settings))
      remote = DriveStore::describe_for(settings.drive_folder_id, cluster_name(settings));
  } catch (const std::exception&) {
    // the pass reports the settings' problem
  }
  drive.reset();
  wal_archived_seen = 0;
  known_remote_wal.clear();
  known_remote.clear();
  untrusted_wal.clear();
  drive_unconfigured = false;
  pending_known_zero = false;
  next_attempt = 0;
  consecutive_failures = 0;
  SpinLockAcquire(&shared->mutex);
  copy_text(shared->remote, sizeof shared->remote, remote);
  shared->pending_uploads = -1;
  shared->wal_drive_pending_files = -1;
  shared->wal_drive_pending_bytes = 0;
  SpinLockRelease(&shared->mutex);
}

void uploader_note_new_backup() {
  pending_known_zero = false;
}

bool upload_pass_due(int64_t now) {
  if (drive_unconfigured || now < next_attempt) return false;
  return !pending_known_zero || (XLogArchivingActive() && wal_archived_now() != wal_archived_seen);
}

long upload_wait_ms(int64_t now, long cap_ms) {
  if (drive_unconfigured) return cap_ms;
  if (pending_known_zero) return XLogArchivingActive() ? std::min(cap_ms, kWalPollMs) : cap_ms;
  if (now >= next_attempt) return 0;
  return std::min<long>(cap_ms, static_cast<long>(next_attempt - now) * 1000L);
}

void run_upload_pass(bool (*stop)()) {
  PassResult r;
  pass_guarded(stop, &r);

  SpinLockAcquire(&shared->mutex);
  strlcpy(shared->remote, r.configured ? r.remote : "", sizeof shared->remote);
  shared->pending_uploads = r.configured ? r.pending : 0;
  shared->uploading_id[0] = '\0';
  shared->upload_bytes_done = shared->upload_bytes_total = 0;
  if (r.failed) {
    strlcpy(shared->last_remote_error, r.message, sizeof shared->last_remote_error);
    shared->last_remote_error_at = GetCurrentTimestamp();
    shared->uploads_failed++;
  }
  SpinLockRelease(&shared->mutex);

  if (r.configured && r.wal_pending >= 0) {
    SpinLockAcquire(&shared->mutex);
    shared->wal_drive_pending_files = r.wal_pending;
    shared->wal_drive_pending_bytes = r.wal_pending_bytes;
    SpinLockRelease(&shared->mutex);
  }
  if (r.notes[0] != '\0') ereport(LOG, (errmsg("ramsafe: %s", r.notes)));
  if (r.warnings[0] != '\0') ereport(WARNING, (errmsg("ramsafe: %s", r.warnings)));
  if (r.wal_untrusted > 0)
    ereport(WARNING, (errmsg("ramsafe: not copying %d archived WAL files to Drive that no trusted "
                             "key signed: %s",
                             r.wal_untrusted, r.wal_untrusted_problem)));
  if (r.wal_uploaded > 0)
    ereport(LOG, (errmsg("ramsafe: copied %d WAL files (%llu bytes) to %s in %.1f s; %lld wait",
                         r.wal_uploaded, static_cast<unsigned long long>(r.wal_bytes_uploaded),
                         r.remote, r.seconds, static_cast<long long>(r.wal_pending))));
  if (r.uploaded > 0)
    ereport(LOG,
            (errmsg("ramsafe: copied backup %s to %s: %llu bytes sent in %.1f s", r.uploaded_ids,
                    r.remote, static_cast<unsigned long long>(r.bytes_sent), r.seconds)));
  if (r.failed) {
    consecutive_failures++;
    int64_t delay = kFirstRetrySeconds << std::min(consecutive_failures - 1, 6);
    delay = std::min(delay, kMaxRetrySeconds);
    next_attempt = static_cast<int64_t>(time(nullptr)) + delay;
    ereport(WARNING,
            (r.failed_id[0] ? errmsg("ramsafe: copying %s %s to Drive failed: %s",
                                     is_wal_file_name(r.failed_id) ? "WAL file" : "backup",
                                     r.failed_id, r.message)
                            : errmsg("ramsafe: copying backups to Drive failed: %s", r.message),
             r.wal_pending > 0
                 ? errdetail("Local backups go on as scheduled; %lld archived WAL files (%llu "
                             "bytes) wait for Drive, kept locally; the copy is tried again in "
                             "%lld s.",
                             static_cast<long long>(r.wal_pending),
                             static_cast<unsigned long long>(r.wal_pending_bytes),
                             static_cast<long long>(delay))
                 : errdetail("Local backups go on as scheduled; the copy is tried again in %lld s.",
                             static_cast<long long>(delay))));
  } else if (r.cancelled) {
    // Whatever stopped the pass runs first; never spin if it turns out not to be due.
    next_attempt = static_cast<int64_t>(time(nullptr)) + 1;
  } else if (r.configured) {
    consecutive_failures = 0;
    next_attempt = 0;
    pending_known_zero = r.pending == 0;
    // Drive's listing is fresh: local sets it now holds may go, and Drive's own retention.
    PruneOutcome p;
    prune_guarded(
        drive.get(), [stop] { return stop(); }, &p);
    log_prune(p);
  }
}

}  // namespace ramsafe::ext
