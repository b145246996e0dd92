// The recoverable window of the local store (issue 7): how far each physical base backup
// reaches with the archived WAL after it, where the WAL chain was broken on purpose
// (ramsafe.wal_backlog_policy = drop), and the span from the oldest restorable point to
// the latest one (recoverable_to). Built on list_wal_files()/wal_reach().
//
// A dropped segment leaves a marker next to where it would be stored:
//   <local_dir>/<cluster>/wal/<timeline>/<segment>.dropped   "<when> <why>\n"
// The marker is in the store, not in the data directory: the data directory is in RAM and
// gone after a power cut, and it is restore and `ramsafe list` that must tell why the WAL
// stops there. A marker is never removed by a base backup; it stops meaning "broken now"
// once a physical base starts after it (broken_now below), and still explains why an
// older base's WAL ends there.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/store/store.h"
#include "core/wal/wal_archive.h"

namespace ramsafe {

struct WalChainBreak {
  std::string segment;   // 000000010000000000000007
  std::string timeline;  // 00000001
  int64_t mtime = 0;     // unix seconds the marker was written (when it was dropped)
  std::string note;      // the marker's text, one line
};

std::string wal_chain_break_path(const std::string& store_root, const std::string& segment);
// Writes the marker durably (temporary file, fsync, rename, directory fsync). Throws Error.
void record_wal_chain_break(const std::string& store_root, const std::string& segment,
                            const std::string& note);
// Every marker, sorted by timeline, then segment. Unreadable notes are left empty.
std::vector<WalChainBreak> list_wal_chain_breaks(const std::string& store_root);

struct PhysicalWindow {
  std::string backup_id;
  std::string finished_at;
  std::string start_wal_file;
  WalReach reach;
  // The dropped segment where the archived run ends (or the missing segment that makes the
  // base unusable), or "" when the run ends for another reason (end of the archive).
  std::string chain_broken_at;
  std::optional<int64_t> reaches_ms;  // unix ms a restore of it reaches; nullopt if unusable
};

struct WalWindow {
  std::vector<PhysicalWindow> physical;      // every usable physical set, in the given order
  std::optional<int64_t> oldest_ms;          // the oldest restorable point (a set's finished_at)
  std::optional<int64_t> recoverable_to_ms;  // the latest point a restore reaches
  std::string recoverable_to_backup_id;      // the set that reaches it
  // The newest dropped segment after which no physical base backup has started (the WAL
  // archived since is useless until one does), or "".
  std::string broken_now;
  int64_t broken_now_mtime = 0;

  const PhysicalWindow* find(const std::string& backup_id) const;
  // Whether a usable physical base starts after `segment` (on its timeline or a later one):
  // a break there no longer matters for the newest restores.
  bool base_started_after(const std::string& segment) const;
};

// The WAL archived after an offline snapshot (kind "offline"): the unbroken run of
// segments from its redo segment on, each on the snapshot's timeline or a later one
// (replay follows the newest, as recovery_target_timeline = 'latest' does). A clean
// shutdown with archiving on switches to a new segment before writing the shutdown
// checkpoint, so the redo segment reaches the archive only once a server started from
// this data directory again and filled it: an empty run means no WAL was written after
// the snapshot, and the snapshot restores by extraction alone.
struct OfflineReach {
  bool later_wal = false;    // at least one such segment
  std::string last_segment;  // the last of the run
  int64_t last_mtime_ms = 0;
  size_t segments = 0;
};
OfflineReach offline_wal_reach(const OfflineInfo& info, const std::vector<StoredWalFile>& wal);

// From a store's sets (any order; unusable ones ignored), its archived WAL and markers.
// A logical set reaches its finished_at, an offline one the later of its finished_at and
// the stored time of the last segment of offline_wal_reach's run; a physical one, when its WAL from
// start through stop is archived, the later of its finished_at and the stored time (mtime) of the
// last segment of the unbroken run after it: an estimate, as restore's ordering uses.
WalWindow compute_wal_window(const std::vector<SetEntry>& sets,
                             const std::vector<StoredWalFile>& wal,
                             const std::vector<WalChainBreak>& breaks);

}  // namespace ramsafe
