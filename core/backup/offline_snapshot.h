// An offline snapshot (issue 15): the data directory of a cleanly shut-down cluster,
// streamed as one tar through zstd and age into a set of kind "offline":
//   data.tar.zst.age   the data directory, without what a physical copy leaves out
//   manifest.json      kind "offline", with the shutdown checkpoint, timeline, system
//                      identifier and PostgreSQL major from the control file
// It reads the data directory and never writes to it. It refuses a cluster that is not
// cleanly shut down, one a postmaster runs on, and one of another system identifier
// than the store's newest trusted set.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/config/settings.h"
#include "core/crypto/age.h"
#include "core/error.h"
#include "core/io/sink.h"
#include "core/set/manifest.h"

namespace ramsafe {

// The lines of `pg_controldata` (run with LC_ALL=C) an offline snapshot needs.
struct ControlData {
  std::string state;              // "Database cluster state"
  std::string system_identifier;  // "Database system identifier"
  std::string checkpoint_lsn;     // "Latest checkpoint location"
  std::string redo_lsn;           // "Latest checkpoint's REDO location"
  std::string redo_wal_file;      // "Latest checkpoint's REDO WAL file"
  uint32_t timeline = 0;          // "Latest checkpoint's TimeLineID"
  uint64_t wal_segment_size = 0;  // "Bytes per WAL segment"
  bool data_checksums = false;    // "Data page checksum version" != 0
};
// Throws Error(kChildFailed) naming the line that is missing or malformed.
ControlData parse_controldata(const std::string& output);

// The states an offline snapshot accepts: "shut down" (a primary's clean stop) and
// "shut down in recovery" (a standby's).
bool is_clean_shutdown_state(const std::string& state);

// Why a snapshot was refused. kNotShutDown and kServerRunning are the companion's exit 8
// (the interface the systemd drop-in and the container entrypoint rely on).
class SnapshotRefused : public Error {
 public:
  enum class Why { kNotShutDown, kServerRunning, kOtherCluster };
  SnapshotRefused(Why why, const std::string& message)
      : Error(why == Why::kOtherCluster ? Errc::kConfig : Errc::kBusy, message), why_(why) {}
  Why why() const { return why_; }

 private:
  Why why_;
};

// What becomes of an entry of the data directory (a path relative to it, '/'-separated).
enum class SnapshotEntry {
  kInclude,          // copied (a directory: with its contents, each decided on its own)
  kWithoutContents,  // a directory copied empty (pg_stat_tmp, pg_subtrans, ...)
  kSkip,             // left out (postmaster.pid, temporary files, pgsql_tmp, ...)
};
// Decides every path but pg_wal's children (wal_entry_wanted decides those). Mirrors what
// pg_basebackup leaves out of a base backup (PostgreSQL's basebackup.c), except
// pg_replslot and postmaster.opts, which a copy of the same cluster keeps: its slots stay
// valid across a clean stop.
SnapshotEntry classify_data_dir_entry(const std::string& relative_path, bool is_directory);

// Whether a file in pg_wal (name) or pg_wal/archive_status (status == true) is copied:
// the segments from the REDO point's through the one holding the end of the checkpoint
// record (all a clean start reads), segments not yet archived (".ready", so the archive
// keeps no gap) with their status files, timeline history, .partial and .backup files.
// Older segments (replayed and archived) and recycled ones (preallocated for later) are
// left out: they can be many and are never read.
bool wal_entry_wanted(const std::string& name, bool status, const ControlData& control,
                      const std::set<std::string>& ready_segments);

struct OfflineSnapshotProgress {
  std::string phase;  // "checking", "copying", "publishing", "done"
  std::string backup_id;
  uint64_t files = 0;
  uint64_t bytes_read = 0;    // tar bytes so far
  uint64_t bytes_stored = 0;  // encrypted bytes written so far
};

struct OfflineSnapshotRequest {
  Settings settings;
  std::string data_directory;  // absolute
  std::vector<age::Recipient> recipients;
  CancelCheck cancel;
  std::function<void(const OfflineSnapshotProgress&)> progress;
  int zstd_workers = 0;
};

struct OfflineSnapshotResult {
  Manifest manifest;
  std::string path;
  double seconds = 0;
  uint64_t files = 0;
  std::vector<std::string> warnings;
};

// Runs the whole snapshot; throws SnapshotRefused for a refusal, Error for a failure (no
// complete-looking set left behind; the data directory untouched in either case).
OfflineSnapshotResult run_offline_snapshot(const OfflineSnapshotRequest& request);

}  // namespace ramsafe
