#include <unistd.h>

#include "core/error.h"
#include "core/restore/restorer.h"
#include "core/wal/wal_window.h"

namespace ramsafe::restore_internal {

void Restorer::restore_offline(Store& store, const SetEntry& set) {
  const Manifest& m = *set.manifest;
  if (!m.offline)
    throw Error(Errc::kCorrupt, "offline snapshot " + set.id + " lacks its checkpoint");
  const OfflineInfo& o = *m.offline;
  progress_ = RestoreProgress{};
  progress_.backup_id = set.id;
  // WAL after the snapshot's checkpoint means a server ran from this data directory again
  // after the snapshot: replaying it is what loses nothing.
  OfflineReach reach = offline_wal_reach(o, archived_wal());
  bool replay = reach.later_wal || !report_.target_time.empty();
  if (replay && request_.wal_fetch_command.empty())
    throw Error(Errc::kConfig, "WAL was archived after offline snapshot " + set.id +
                                   " but there is no restore_command to replay it with");
  PgTools tools = find_pg_tools(request_.settings.bindir, o.pg_major);
  info("restoring offline snapshot " + set.id + " (finished " + m.finished_at + ", checkpoint " +
       o.checkpoint_lsn + ") from " + set.store +
       (reach.later_wal ? " + archived WAL through " + reach.last_segment + " (" +
                              std::to_string(reach.segments) + " segments)"
                        : ": no WAL after it, so no recovery") +
       (report_.target_time.empty() ? "" : ", to " + report_.target_time));

  verify_stored_files(store, set);
  const ManifestFile& data = require_file(m, "data");
  extract_into_staging(store, set, data);
  if (!path_exists(join_path(staging_, "PG_VERSION")))
    throw Error(Errc::kCorrupt, set.id + "/" + data.path + " holds no PG_VERSION");
  if (!path_exists(join_path(staging_, "global/pg_control")))
    throw Error(Errc::kCorrupt, set.id + "/" + data.path + " holds no global/pg_control");
  report_.recovered_to_lsn = o.checkpoint_lsn;
  if (replay) {
    report_.wal_last_archived = reach.last_segment;
    PhysicalInfo p;
    p.timeline = o.timeline;
    p.wal_segment_size = o.wal_segment_size;
    p.start_wal_file = o.redo_wal_file;
    p.start_lsn = o.redo_lsn;
    p.stop_lsn = o.checkpoint_lsn;
    p.stop_wal_file = o.redo_wal_file;
    replay_archived_wal(m, tools, p,
                        reach.last_segment.empty() ? o.redo_wal_file : reach.last_segment);
    ::unlink(join_path(staging_, "recovery.signal").c_str());
  }
  move_into_place();
}

}  // namespace ramsafe::restore_internal
