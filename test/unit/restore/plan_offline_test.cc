// Restore's choice between kinds (issue 15): what loses least first, then what is fastest.
// An offline snapshot restores by extraction alone unless WAL was archived after its
// checkpoint; a server started again after the snapshot must never be "restored" to it
// when newer sets or WAL exist.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/restore/plan.h"
#include "core/set/manifest.h"
#include "core/wal/wal_archive.h"
#include "core/wal/wal_window.h"

namespace ramsafe {
namespace {

constexpr uint64_t kSeg = uint64_t{16} << 20;

Manifest logical(const std::string& id, const std::string& finished) {
  Manifest m;
  m.backup_id = id;
  m.cluster = "main";
  m.started_at = finished;
  m.finished_at = finished;
  m.server_version = "15.18";
  m.server_version_num = 150018;
  m.system_identifier = "7312345678901234567";
  m.initdb = {"UTF8", "C.UTF-8", "C.UTF-8", "libc", "", false, "postgres"};
  return m;
}

// A snapshot whose shutdown checkpoint is in segment `redo_segment` of timeline 1.
Manifest offline(const std::string& id, const std::string& finished, uint64_t redo_segment) {
  Manifest m = logical(id, finished);
  m.kind = "offline";
  OfflineInfo o;
  o.timeline = 1;
  o.wal_segment_size = kSeg;
  o.redo_lsn = o.checkpoint_lsn = format_lsn(redo_segment * kSeg + 0x28);
  o.redo_wal_file = wal_segment_file_name(1, redo_segment * kSeg, kSeg);
  o.pg_major = 15;
  o.cluster_state = "shut down";
  m.offline = o;
  return m;
}

Manifest physical(const std::string& id, const std::string& finished, uint64_t segment) {
  Manifest m = logical(id, finished);
  m.kind = "physical";
  PhysicalInfo p;
  p.timeline = 1;
  p.wal_segment_size = kSeg;
  p.start_lsn = format_lsn(segment * kSeg + 0x28);
  p.stop_lsn = format_lsn(segment * kSeg + 0x100);
  p.start_wal_file = p.stop_wal_file = wal_segment_file_name(1, segment * kSeg, kSeg);
  m.physical = p;
  return m;
}

SetEntry entry(const Manifest& m) {
  SetEntry e;
  e.id = m.backup_id;
  e.store = "local /x";
  e.manifest = m;
  return e;
}

StoredWalFile stored(const std::string& name, const std::string& when) {
  StoredWalFile f;
  f.file = parse_wal_file_name(name);
  f.mtime_ms = *parse_rfc3339_utc(when);
  f.mtime = f.mtime_ms / 1000;
  return f;
}

std::vector<std::string> ids(const RestorePlan& p) {
  std::vector<std::string> out;
  for (const auto& s : p.order) out.push_back(s.id);
  return out;
}

TEST(OfflinePlan, TheNewestSnapshotWinsAndSaysItNeedsNoRecovery) {
  std::vector<SetEntry> sets = {entry(offline("20261202T220000Z", "2026-12-02T22:00:02.000Z", 3)),
                                entry(logical("20261202T210000Z", "2026-12-02T21:00:30.000Z"))};
  RestorePlan p = plan_restore(sets, {}, std::nullopt);
  EXPECT_EQ(ids(p), (std::vector<std::string>{"20261202T220000Z", "20261202T210000Z"}));
  ASSERT_EQ(p.reasons.size(), 2u);
  EXPECT_NE(p.reasons[0].find("no WAL was archived after its checkpoint"), std::string::npos)
      << p.reasons[0];
  EXPECT_NE(p.reasons[0].find("without recovery"), std::string::npos);
  EXPECT_NE(p.reasons[0].find("next: 20261202T210000Z"), std::string::npos);
  // WAL before the snapshot's checkpoint segment (archived before it) changes nothing.
  RestorePlan before = plan_restore(
      sets, {stored("000000010000000000000002", "2026-12-02T21:59:00.000Z")}, std::nullopt);
  EXPECT_NE(before.reasons[0].find("no WAL was archived"), std::string::npos);
}

TEST(OfflinePlan, AnOlderSnapshotIsNeverChosenOverNewerData) {
  // Stop, snapshot at 22:00; the server started again; a logical backup at 22:30; crash.
  std::vector<SetEntry> sets = {entry(logical("20261202T223000Z", "2026-12-02T22:30:10.000Z")),
                                entry(offline("20261202T220000Z", "2026-12-02T22:00:02.000Z", 3))};
  EXPECT_EQ(ids(plan_restore(sets, {}, std::nullopt)),
            (std::vector<std::string>{"20261202T223000Z", "20261202T220000Z"}));

  // With WAL archived after the snapshot up to 22:45: snapshot + WAL reaches further than
  // the logical set, and goes first, with recovery.
  std::vector<StoredWalFile> wal = {stored("000000010000000000000003", "2026-12-02T22:20:00.000Z"),
                                    stored("000000010000000000000004", "2026-12-02T22:45:00.000Z")};
  RestorePlan p = plan_restore(sets, wal, std::nullopt);
  EXPECT_EQ(ids(p), (std::vector<std::string>{"20261202T220000Z", "20261202T223000Z"}));
  EXPECT_NE(p.reasons[0].find("through 000000010000000000000004"), std::string::npos)
      << p.reasons[0];
  EXPECT_NE(p.reasons[0].find("WAL replay"), std::string::npos);

  // WAL only up to before the logical set: the logical set first.
  EXPECT_EQ(ids(plan_restore(sets, {wal[0]}, std::nullopt)),
            (std::vector<std::string>{"20261202T223000Z", "20261202T220000Z"}));

  // A newer physical base whose WAL reaches later beats the old snapshot.
  sets.push_back(entry(physical("20261202T224000Z", "2026-12-02T22:40:05.000Z", 4)));
  wal.push_back(stored("000000010000000000000005", "2026-12-02T22:50:00.000Z"));
  // Both reach 22:50 (the snapshot through 3, 4, 5; the base through 4, 5): the base
  // replays less WAL.
  EXPECT_EQ(ids(plan_restore(sets, wal, std::nullopt)).front(), "20261202T224000Z");
  wal.push_back(stored("000000020000000000000006", "2026-12-02T22:55:00.000Z"));
  // A later timeline continues the run for both.
  OfflineReach reach = offline_wal_reach(*sets[1].manifest->offline, wal);
  ASSERT_EQ(sets[1].id, "20261202T220000Z");
  EXPECT_TRUE(reach.later_wal);
  EXPECT_EQ(reach.last_segment, "000000020000000000000006");
  EXPECT_EQ(reach.segments, 4u);
}

TEST(OfflinePlan, SamePointGoesFastestFirst) {
  // A logical backup and an offline snapshot finished at the same instant (nothing written
  // between them): extraction beats initdb + pg_restore.
  std::vector<SetEntry> sets = {entry(logical("20261202T220000Z-2", "2026-12-02T22:00:02.000Z")),
                                entry(offline("20261202T220000Z", "2026-12-02T22:00:02.000Z", 3))};
  RestorePlan p = plan_restore(sets, {}, std::nullopt);
  EXPECT_EQ(ids(p), (std::vector<std::string>{"20261202T220000Z", "20261202T220000Z-2"}));
  EXPECT_NE(p.reasons[0].find("restores more slowly"), std::string::npos) << p.reasons[0];
}

TEST(OfflinePlan, TargetTimeNeedsWalAfterTheSnapshot) {
  std::vector<SetEntry> sets = {entry(offline("20261202T220000Z", "2026-12-02T22:00:02.000Z", 3))};
  int64_t target = *parse_rfc3339_utc("2026-12-02T22:30:00.000Z");
  EXPECT_TRUE(plan_restore(sets, {}, target).order.empty());
  std::vector<StoredWalFile> wal = {stored("000000010000000000000003", "2026-12-02T22:40:00.000Z")};
  EXPECT_EQ(ids(plan_restore(sets, wal, target)), std::vector<std::string>{"20261202T220000Z"});
  EXPECT_TRUE(
      plan_restore(sets, wal, *parse_rfc3339_utc("2026-12-02T21:00:00.000Z")).order.empty());
}

}  // namespace
}  // namespace ramsafe
