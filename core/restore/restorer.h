// The restore of one data directory, split by what it restores: restore.cc chooses the
// candidates, checks the set, and moves the result into place; logical.cc and physical.cc
// restore each kind into the staging directory. Internal to core/restore (run_restore() is
// the interface).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/io/paths.h"
#include "core/io/unique_fd.h"
#include "core/pg/pg_tools.h"
#include "core/restore/postmaster.h"
#include "core/restore/restore.h"
#include "core/restore/verify.h"

namespace ramsafe::restore_internal {

constexpr const char* kStagingName = ".ramsafe-restore";

using Clock = std::chrono::steady_clock;

class Restorer {
 public:
  Restorer(const RestoreRequest& request, const std::vector<Store*>& stores)
      : request_(request),
        stores_(stores),
        pgdata_(request.data_directory),
        staging_(join_path(request.data_directory, kStagingName)),
        trust_(stores.empty() ? TrustPolicy{} : stores.front()->trust()) {}

  RestoreReport run();

 private:
  void check_preconditions();

  UniqueFd lock_data_directory();

  // Returns false when the restore must not go on (report_.outcome says why).
  bool prepare_data_directory();

  // Trusted sets (and, with allow_unsigned, unsigned ones: returned in *unsigned_sets, as
  // candidates whose manifest is the one they claim).
  std::vector<SetEntry> collect_candidates(std::vector<SetEntry>* unsigned_sets);

  // Orders the candidates by how late a point each restores to (plan_restore), and says
  // loudly why a physical set is left out.
  std::vector<SetEntry> plan(const std::vector<SetEntry>& candidates);

  // The archived WAL of every store: the local archive and Drive's copy (wal-fetch reads
  // both), listed once. A Drive that cannot be listed counts as holding none, loudly.
  const std::vector<StoredWalFile>& archived_wal();

  std::string local_store_root() const { return ramsafe::local_store_root(request_.settings); }

  void handle_missing();

  void try_candidates(const std::vector<SetEntry>& candidates);

  Store* store_for(const SetEntry& set);

  void discard_staging();

  // A logical set (logical.cc): initdb with the recorded settings, globals, every database
  // through pg_restore (several at once), then the configuration files.
  void restore_logical(Store& store, const SetEntry& set);

  // A physical set: extract the base into the staging directory (streamed: decrypt, zstd,
  // tar; no plaintext tar on disk), then replay the archived WAL with a private postmaster
  // whose restore_command is wal-fetch, promote at the end (or at the target time), stop
  // it, move the result into place. The recovery settings are given on the postmaster's
  // command line, so nothing in the data directory has to be undone afterwards; PostgreSQL
  // removes recovery.signal itself when it promotes.
  void restore_physical(Store& store, const SetEntry& set);

  // The replay part of restore_physical, for the base extracted into the staging directory
  // (a physical set's, or an offline snapshot's with WAL archived after it): recovery.signal,
  // a private postmaster replaying through wal-fetch to the end of the archive (or the
  // target time) and promoting, the report's recovered_to_* and wal_* fields. p gives the
  // timeline and segment size (find_damaged_wal); last_segment is where the archive ends.
  void replay_archived_wal(const Manifest& m, const PgTools& tools, const PhysicalInfo& p,
                           const std::string& last_segment);

  // An offline snapshot (offline.cc): extract it into the staging directory; when WAL was
  // archived after its checkpoint (or a target time is given), replay it as for a physical
  // set; else nothing more: the copy of a cleanly shut-down cluster starts without recovery.
  void restore_offline(Store& store, const SetEntry& set);

  // Streams a set's file through decryption and zstd into a tar extractor into the staging
  // directory, counting progress.
  void extract_into_staging(Store& store, const SetEntry& set, const ManifestFile& file);

  // The archived file that ended a replay at lsn early: the segments at the position
  // after the last replayed record's and at its own (on every timeline from the base's,
  // newest first), then the later timelines' history files, each decrypted and checked
  // like wal-fetch does. An empty name if none of them is damaged.
  WalFileVerification find_damaged_wal(const PhysicalInfo& p, uint64_t lsn,
                                       const std::vector<StoredWalFile>& wal);

  static const ManifestFile& require_file(const Manifest& m, const std::string& role);

  std::string decrypt_to_memory(Store& store, const SetEntry& set, const ManifestFile& file);

  void run_initdb(const PgTools& tools, const InitdbSettings& s);

  void initialize_empty();

  // Every stored byte of the set against its manifest; throws Error(kCorrupt) naming the
  // first damaged file.
  void verify_stored_files(Store& store, const SetEntry& set);

  void restore_globals(const PgTools& tools, PrivatePostmaster& postmaster,
                       const std::string& globals, const std::string& superuser);

  void restore_databases(const PgTools& tools, PrivatePostmaster& postmaster, Store& store,
                         const SetEntry& set);

  void restore_database(const PgTools& tools, PrivatePostmaster& postmaster, Store& store,
                        const SetEntry& set, const ManifestFile& file, const CancelCheck& cancel);

  void move_into_place();

  static void rename_or_throw(const std::string& from, const std::string& to);

  void write_report();

  void report_progress() {
    if (request_.progress) request_.progress(progress_);
  }

  void warn(const std::string& message) {
    if (request_.warn) request_.warn(message);
  }

  void info(const std::string& message) {
    if (request_.info) request_.info(message);
  }

  const RestoreRequest& request_;
  const std::vector<Store*>& stores_;
  std::string pgdata_;
  std::string staging_;
  RestoreReport report_;
  std::optional<int64_t> target_ms_;
  RestoreProgress progress_;
  std::mutex progress_mutex_;
  std::vector<StoredWalFile> wal_;                   // archived_wal()
  std::map<std::string, std::string> plan_reasons_;  // "<id>\n<store>" -> plan_restore's reason
  bool wal_listed_ = false;
  // Sets that are untrusted and how many of them are unsigned (for the no-backup message).
  int untrusted_sets_ = 0;
  int unsigned_sets_ = 0;
  TrustPolicy trust_;  // for WAL files: the reading host's verify keys

  // The freshness check over every listed set: a ROLLBACK warning when the newest trusted
  // set is older than what this host has seen, then notes what it saw.
  void check_freshness(const std::vector<SetEntry>& all);
};

}  // namespace ramsafe::restore_internal
