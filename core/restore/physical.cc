#include <unistd.h>

#include <limits>
#include <thread>

#include "core/backup/base_backup.h"
#include "core/error.h"
#include "core/io/tar.h"
#include "core/pg/pg_connection.h"
#include "core/restore/restorer.h"
#include "core/set/pipeline.h"
#include "core/wal/wal_window.h"

namespace ramsafe::restore_internal {

void Restorer::restore_physical(Store& store, const SetEntry& set) {
  const Manifest& m = *set.manifest;
  if (!m.physical)
    throw Error(Errc::kCorrupt, "physical backup " + set.id + " lacks its WAL points");
  const PhysicalInfo& p = *m.physical;
  if (request_.wal_fetch_command.empty())
    throw Error(Errc::kConfig, "no restore_command to replay WAL with");
  progress_ = RestoreProgress{};
  progress_.backup_id = set.id;
  WalReach reach =
      wal_reach(p.timeline, p.start_wal_file, p.stop_wal_file, p.wal_segment_size, archived_wal());
  if (!reach.complete)
    throw Error(Errc::kNotFound, "WAL file " + reach.missing + " is not in the archive");
  report_.wal_last_archived = reach.last_segment;
  if (!request_.settings.local_dir.empty()) {
    WalWindow window =
        compute_wal_window({set}, archived_wal(), list_wal_chain_breaks(local_store_root()));
    if (const PhysicalWindow* w = window.find(set.id); w && !w->chain_broken_at.empty()) {
      report_.wal_chain_broken_at = w->chain_broken_at;
      warn("the WAL chain was broken at " + w->chain_broken_at +
           " (dropped unarchived by ramsafe.wal_backlog_policy = drop): replay stops at the "
           "end of " +
           reach.last_segment + "; changes after that are not in this restore");
    }
  }
  info("restoring physical base backup " + set.id + " (finished " + m.finished_at + ") from " +
       set.store + " + archived WAL from " + p.start_wal_file + " through " + reach.last_segment +
       " (" + std::to_string(reach.segments) + " segments)" +
       (report_.target_time.empty() ? "" : ", to " + report_.target_time));
  PgTools tools = find_pg_tools(request_.settings.bindir, m.server_version_num / 10000);

  verify_stored_files(store, set);

  const ManifestFile& base = require_file(m, "base");
  extract_into_staging(store, set, base);
  if (!path_exists(join_path(staging_, "PG_VERSION")))
    throw Error(Errc::kCorrupt, set.id + "/" + base.path + " holds no PG_VERSION");
  // The base's backup_manifest describes the base, not the cluster it becomes.
  ::unlink(join_path(staging_, "backup_manifest").c_str());
  replay_archived_wal(m, tools, p, reach.last_segment);
  ::unlink(join_path(staging_, "recovery.signal").c_str());
  ::unlink(join_path(staging_, "postmaster.opts").c_str());
  move_into_place();
}

void Restorer::replay_archived_wal(const Manifest& m, const PgTools& tools, const PhysicalInfo& p,
                                   const std::string& last_segment) {
  make_dirs(join_path(staging_, "pg_wal/archive_status"), 0700);
  write_file_atomic(join_path(staging_, "recovery.signal"), "", 0600);

  std::vector<std::string> settings = {
      "restore_command=" + request_.wal_fetch_command + " %f %p", "recovery_target_action=promote",
      "recovery_target_timeline=latest",
      // No connections until recovery ends: the standby parameter checks (max_connections
      // and friends at least the primary's) do not apply then.
      "hot_standby=off",
      // .ready files for what the promotion writes (the new timeline's history file, the
      // last partial segment), for the real server's archiver; this one archives nothing.
      "archive_mode=on", "archive_library=", "archive_command=", "max_wal_senders=0",
      "shared_preload_libraries=" + m.shared_preload_libraries, "logging_collector=off",
      "log_min_messages=log",  // "restored log file ..." lines, for progress
      "log_checkpoints=off", "log_connections=off", "log_disconnections=off",
      "log_min_error_statement=panic"};
  if (!report_.target_time.empty())
    settings.push_back("recovery_target_time=" + report_.target_time);
  if (names_ramsafe_library(m.shared_preload_libraries)) {
    settings.push_back("ramsafe.schedule=");
    settings.push_back("ramsafe.base_backup_schedule=");
  }

  progress_.phase = "recovering";
  progress_.bytes_done = progress_.bytes_total = 0;
  report_progress();
  auto last_change = Clock::now();
  auto on_wait = [&](ChildProcess& child) {
    // Each refused connection attempt logs a line: ping less often while replaying.
    std::this_thread::sleep_for(std::chrono::milliseconds(450));
    std::string tail = child.stderr_tail(1 << 16);
    const std::string key = "restored log file \"";
    size_t at = tail.rfind(key);
    std::string file;
    if (at != std::string::npos) file = tail.substr(at + key.size(), 24);
    if (file != progress_.wal_file) {
      progress_.wal_file = file;
      last_change = Clock::now();
      report_progress();
    } else if (Clock::now() - last_change > std::chrono::seconds(request_.recovery_stall_seconds)) {
      throw Error(Errc::kChildFailed, "WAL replay made no progress for " +
                                          std::to_string(request_.recovery_stall_seconds) +
                                          " s (last file " + file + "): " + child.stderr_tail());
    }
  };
  {
    PrivatePostmaster postmaster(tools, staging_, m.initdb.bootstrap_superuser, settings,
                                 request_.cancel, std::numeric_limits<int>::max() / 2, on_wait);
    ConnectionParams params;
    params.host = postmaster.socket_dir();
    params.port = 5432;
    params.user = m.initdb.bootstrap_superuser;
    params.application_name = "ramsafe restore";
    PgConnection conn(params);
    for (auto deadline = Clock::now() + std::chrono::seconds(kPostmasterStartSeconds);;) {
      if (conn.scalar("SELECT pg_is_in_recovery()::text") == "false") break;
      if (Clock::now() > deadline)
        throw Error(Errc::kChildFailed,
                    "the restore postmaster accepts connections but is "
                    "still in recovery");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    auto row = conn.query(
        "SELECT pg_last_wal_replay_lsn()::text,"
        "       to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC',"
        "               'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
        "       (SELECT timeline_id FROM pg_control_checkpoint())::text");
    report_.recovered_to_lsn = row.at(0)[0].value_or("");
    report_.recovered_to_time = row.at(0)[1].value_or("");
    report_.databases.clear();
    for (const auto& r :
         conn.query("SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname"))
      report_.databases.push_back(r[0].value_or(""));
    progress_.phase = "finishing";
    report_progress();
    postmaster.stop();
  }
  // Replay ended before the archive's last segment without a target: a damaged file?
  // (wal-fetch exits 5 for one, which PostgreSQL takes as the end of the archive.) The
  // cluster up to there is what can be had, so it is kept, and the report says loudly
  // where it stopped and why.
  auto lsn = parse_lsn(report_.recovered_to_lsn);
  // (The segment of the last replayed byte, lsn - 1: a fully replayed segment ends where
  // the next one begins.)
  if (report_.target_time.empty() && lsn && *lsn > 0 &&
      wal_segment_number(wal_segment_file_name(1, *lsn - 1, p.wal_segment_size),
                         p.wal_segment_size) <
          wal_segment_number(last_segment, p.wal_segment_size)) {
    report_.wal_stopped_at = report_.recovered_to_lsn;
    WalFileVerification bad = find_damaged_wal(p, *lsn, archived_wal());
    if (!bad.name.empty()) {
      report_.wal_damaged_file = bad.name;
      report_.wal_damage = bad.problem;
      warn("WAL file " + bad.name + " is damaged: replay stopped at " + report_.recovered_to_lsn +
           (report_.recovered_to_time.empty()
                ? ""
                : " (last transaction committed at " + report_.recovered_to_time + ")") +
           "; data after that was not recovered, although the archive reaches " + last_segment +
           " (" + bad.problem + ")");
    } else {
      warn("WAL replay ended at " + report_.recovered_to_lsn +
           ", before the archive's last segment " + last_segment +
           ": a WAL file could not be fetched (see wal-fetch messages above)");
    }
  }
  report_.wal_replayed = true;
}

void Restorer::extract_into_staging(Store& store, const SetEntry& set, const ManifestFile& file) {
  progress_.phase = "extracting";
  progress_.bytes_done = 0;
  report_progress();
  make_dirs(staging_, 0700);
  TarExtractor extract(staging_, "tar");
  DecryptChain chain(file, set.id + "/" + file.path, request_.identities, extract);
  CallbackStage counted(chain, [&](size_t n) {
    progress_.bytes_done += n;
    report_progress();
  });
  store.read_file(set.id, file.path, counted, request_.cancel);
  counted.finish();
}

WalFileVerification Restorer::find_damaged_wal(const PhysicalInfo& p, uint64_t lsn,
                                               const std::vector<StoredWalFile>& wal) {
  uint64_t last = wal_segment_number(
      wal_segment_file_name(1, lsn > 0 ? lsn - 1 : 0, p.wal_segment_size), p.wal_segment_size);
  std::vector<const StoredWalFile*> suspects;
  for (uint64_t n : {last + 1, last})
    for (auto it = wal.rbegin(); it != wal.rend(); ++it)
      if (it->file.kind == WalFileKind::kSegment &&
          std::stoul(it->file.timeline, nullptr, 16) >= p.timeline &&
          wal_segment_number(it->file.name, p.wal_segment_size) == n)
        suspects.push_back(&*it);
  for (const auto& f : wal)
    if (f.file.kind == WalFileKind::kHistory &&
        std::stoul(f.file.timeline, nullptr, 16) > p.timeline)
      suspects.push_back(&f);
  for (const StoredWalFile* f : suspects) {
    try {
      WalFileVerification v = verify_wal_file(local_store_root(), *f, true, request_.identities,
                                              trust_, request_.allow_unsigned, request_.cancel);
      if (!v.ok) return v;
    } catch (const Error& e) {
      if (e.code() == Errc::kCancelled) throw;
      warn("cannot check WAL file " + f->file.name + ": " + e.what());
    }
  }
  return {};
}

}  // namespace ramsafe::restore_internal
