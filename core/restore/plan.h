// Which set a restore tries first: by the point each reaches (a logical set its finish
// time, a physical set the end of the WAL archived after it), and point-in-time targets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/store/store.h"
#include "core/wal/wal_archive.h"

namespace ramsafe {

// A --target-time: "2026-11-26 10:00:00+00", "2026-11-26T10:00:00.5Z", "... +01:30"; the
// UTC offset is required (the restoring machine's time zone may not be the server's).
// Returns unix milliseconds, or nullopt if malformed.
std::optional<int64_t> parse_target_time(const std::string& text);
// "2026-11-26 10:00:00.000+00", as recovery_target_time.
std::string format_target_time(int64_t unix_millis);

// The order in which sets are tried when no --backup-id is given: what loses least first,
// then what is fastest. By the point each can restore to, latest first: a logical set
// reaches its finish time; an offline snapshot its finish time, or with WAL archived after
// its checkpoint (offline_wal_reach) the later of that and the archive time (mtime) of the
// run's last segment; a physical set with all the WAL from its start through its stop
// segment archived reaches the later of its finish time and the archive time of the last
// segment of the unbroken run after it; a physical set lacking that WAL is left out, with
// the reason in skipped. Sets reaching the same point go fastest first: an offline
// snapshot (extraction), a physical one (extraction and replay), a logical one (initdb and
// pg_restore). With a target time (unix ms, or nullopt), only physical sets and offline
// snapshots with later WAL, finished before it, qualify.
struct RestorePlan {
  std::vector<SetEntry> order;
  // reasons[i]: why order[i] is where it is, for the restore report ("offline snapshot
  // ... reaches ...; no WAL archived after its checkpoint: extraction, no recovery").
  std::vector<std::string> reasons;
  std::vector<std::pair<SetEntry, std::string>> skipped;
};
RestorePlan plan_restore(const std::vector<SetEntry>& usable_newest_first,
                         const std::vector<StoredWalFile>& wal, std::optional<int64_t> target_ms);

}  // namespace ramsafe
