// A physical base backup (issue 7, slice 2) into the local store:
//   base.tar.zst.age   pg_basebackup -D - -Ft -X none (the data directory as one tar)
//   manifest.json      kind "physical", with the start/stop LSNs, timeline and first WAL
//                      file; written last, after the backup's last WAL segment is archived
// It is only useful with the WAL archived through ramsafe (archive_library = 'ramsafe'
// into the same store), so it refuses to run otherwise.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/config/settings.h"
#include "core/crypto/age.h"
#include "core/io/sink.h"
#include "core/set/manifest.h"

namespace ramsafe {

struct BaseBackupProgress {
  std::string phase;  // "starting", "copying", "waiting for WAL", "publishing", "done"
  std::string backup_id;
  uint64_t bytes_read = 0;    // tar bytes so far
  uint64_t bytes_stored = 0;  // encrypted bytes written so far
};

struct BaseBackupRequest {
  Settings settings;
  std::vector<age::Recipient> recipients;
  CancelCheck cancel;
  std::function<void(const BaseBackupProgress&)> progress;
  bool low_priority = false;  // nice 10 and idle I/O for pg_basebackup
  int zstd_workers = 1;
  int archive_wait_seconds = 300;  // for the backup's last WAL segment to reach the store
};

struct BaseBackupResult {
  Manifest manifest;
  std::string path;
  double seconds = 0;
  std::vector<std::string> warnings;  // e.g. the freshness state not updated
};

// The WAL a base backup needs, from the "WAL-Ranges" at the end of the backup_manifest
// PostgreSQL puts into the tar:
//   "WAL-Ranges": [
//   { "Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/2000100" }
//   ],
// (pg_basebackup -X none does not print these points.) Several ranges (a timeline switch
// during a backup from a standby): the first range's start and timeline, the last's end.
struct BaseBackupPoints {
  uint64_t start_lsn = 0;
  uint64_t stop_lsn = 0;
  uint32_t timeline = 0;
};
// Throws Error(kChildFailed) naming what is missing or malformed.
BaseBackupPoints parse_manifest_wal_ranges(const std::string& manifest_tail);

// Whether a library setting (shared_preload_libraries, archive_library) names ramsafe:
// "ramsafe", "$libdir/ramsafe", "/path/ramsafe.so", quoted or not, in a comma list.
bool names_ramsafe_library(const std::string& libraries);

// Runs a whole base backup; throws Error on failure, leaving no complete-looking set.
// Refuses (kConfig) unless the server archives WAL through ramsafe into this store, and
// when the cluster has tablespaces besides pg_default and pg_global.
BaseBackupResult run_base_backup(const BaseBackupRequest& request);

}  // namespace ramsafe
