// The archive module (archive_library = 'ramsafe'; docs/wal.md). PostgreSQL's archiver
// process hands each finished WAL file to archive_file(), which compresses, encrypts and
// stores it in the local store (core/wal_archive.h). The callbacks never raise an ERROR:
// the C++ work runs in a noexcept function that returns plain data, and a failure is a
// WARNING naming the file and the cause plus `false`, so PostgreSQL keeps the file and
// retries it. Nothing here touches the network.
//
// The library must also be in shared_preload_libraries: the archiver then finds it loaded,
// with the ramsafe.* settings defined (_PG_init refuses to load it any other way).
#include <chrono>

#include "core/backup.h"
#include "core/keys.h"
#include "core/wal_archive.h"
#include "extension/boundary.h"
#include "extension/ramsafe_ext.h"

extern "C" {
#include "fmgr.h"
#include "miscadmin.h"
#if PG_VERSION_NUM >= 160000
#include "archive/archive_module.h"
#else
#include "postmaster/pgarch.h"
#endif
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
};

void archive_guarded(const char* file, const char* path, ArchiveOutcome* out) noexcept {
  *out = ArchiveOutcome{false, false, 0, 0, 0, ""};
  auto started = std::chrono::steady_clock::now();
  try {
    Settings settings = current_settings();
    std::vector<age::Recipient> recipients = load_recipients(settings);
    WalArchiveResult r = archive_wal_file(local_store_root(settings), recipients,
                                          settings.compression_level, file, path);
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

void record(const char* file, bool succeeded) {
  attach_shared_memory();
  if (shared == nullptr) return;
  TimestampTz now = GetCurrentTimestamp();
  SpinLockAcquire(&shared->mutex);
  if (succeeded) {
    shared->wal_archived++;
    strlcpy(shared->wal_last_archived, file, sizeof shared->wal_last_archived);
    shared->wal_last_archived_at = now;
  } else {
    shared->wal_failed++;
    strlcpy(shared->wal_last_failed, file, sizeof shared->wal_last_failed);
    shared->wal_last_failed_at = now;
  }
  SpinLockRelease(&shared->mutex);
}

bool check_configured() {
  char problem[kMessageLength];
  configuration_problem(problem, sizeof problem);
  if (problem[0] == '\0') return true;
  ereport(LOG, (errmsg("ramsafe: WAL archiving is not configured: %s", problem)));
  return false;
}

bool archive_file(const char* file, const char* path) {
  ArchiveOutcome outcome;
  archive_guarded(file, path, &outcome);
  record(file, outcome.succeeded);
  if (!outcome.succeeded) {
    ereport(WARNING,
            (errmsg("ramsafe: could not archive WAL file \"%s\": %s", file, outcome.message)));
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

extern "C" {

#if PG_VERSION_NUM >= 160000
// PostgreSQL 16 and later: the module returns its callbacks, which get a state pointer.
// A sketch kept next to the PostgreSQL 15 code it must track; it is not built here.
static bool check_configured_16(ArchiveModuleState* state) {
  return ramsafe::ext::check_configured();
}
static bool archive_file_16(ArchiveModuleState* state, const char* file, const char* path) {
  return ramsafe::ext::archive_file(file, path);
}
static const ArchiveModuleCallbacks ramsafe_archive_callbacks = {
    nullptr,              // startup_cb
    check_configured_16,  // check_configured_cb
    archive_file_16,      // archive_file_cb
    nullptr,              // shutdown_cb
};

PGDLLEXPORT const ArchiveModuleCallbacks* _PG_archive_module_init(void);
const ArchiveModuleCallbacks* _PG_archive_module_init(void) {
  return &ramsafe_archive_callbacks;
}
#else
// PostgreSQL 15: the module fills in the callbacks.
PGDLLEXPORT void _PG_archive_module_init(ArchiveModuleCallbacks* cb);
void _PG_archive_module_init(ArchiveModuleCallbacks* cb) {
  cb->check_configured_cb = ramsafe::ext::check_configured;
  cb->archive_file_cb = ramsafe::ext::archive_file;
  cb->shutdown_cb = nullptr;
}
#endif

}  // extern "C"
