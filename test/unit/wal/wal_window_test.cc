// The recoverable window (core/wal/wal_window.h): how far each physical base reaches with the
// archived WAL, dropped-segment markers (the WAL chain broken on purpose), and the span
// from the oldest restorable point to recoverable_to.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/config/settings.h"
#include "core/error.h"
#include "core/io/paths.h"
#include "core/set/manifest.h"
#include "core/wal/wal_window.h"
#include "test/unit/test_util.h"

namespace ramsafe {
namespace {

constexpr uint64_t kSeg = uint64_t{16} << 20;

SetEntry logical_set(const std::string& id, const std::string& finished) {
  Manifest m;
  m.backup_id = id;
  m.finished_at = finished;
  SetEntry e;
  e.id = id;
  e.manifest = m;
  return e;
}

SetEntry physical_set(const std::string& id, const std::string& finished, const std::string& start,
                      const std::string& stop) {
  SetEntry e = logical_set(id, finished);
  e.manifest->kind = "physical";
  PhysicalInfo p;
  p.timeline = 1;
  p.start_wal_file = start;
  p.stop_wal_file = stop;
  p.wal_segment_size = kSeg;
  e.manifest->physical = p;
  return e;
}

std::string seg(int n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0000000100000000%08X", n);
  return buf;
}

StoredWalFile stored(int n, int64_t mtime) {
  StoredWalFile f;
  f.file = parse_wal_file_name(seg(n));
  f.mtime = mtime;
  return f;
}

WalChainBreak dropped(int n, int64_t mtime = 0) {
  WalChainBreak b;
  b.segment = seg(n);
  b.timeline = "00000001";
  b.mtime = mtime;
  return b;
}

// 2026-11-26T10:00:00Z
constexpr int64_t kTen = 1795687200;

TEST(WalWindow, PhysicalReachesItsLastContiguousSegment) {
  std::vector<SetEntry> sets = {logical_set("L", "2026-11-26T09:00:00.000Z"),
                                physical_set("P", "2026-11-26T09:30:00.000Z", seg(2), seg(3))};
  std::vector<StoredWalFile> wal = {stored(2, kTen - 100), stored(3, kTen - 90), stored(4, kTen),
                                    stored(6, kTen + 100)};
  WalWindow w = compute_wal_window(sets, wal, {});
  ASSERT_EQ(w.physical.size(), 1u);
  const PhysicalWindow* p = w.find("P");
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->reach.complete);
  EXPECT_EQ(p->reach.last_segment, seg(4));
  EXPECT_EQ(p->chain_broken_at, "");  // segment 5 is missing, but not dropped on purpose
  EXPECT_EQ(*p->reaches_ms, kTen * 1000);
  EXPECT_EQ(*w.recoverable_to_ms, kTen * 1000);
  EXPECT_EQ(w.recoverable_to_backup_id, "P");
  EXPECT_EQ(*w.oldest_ms, *parse_rfc3339_utc("2026-11-26T09:00:00.000Z"));
  EXPECT_EQ(w.broken_now, "");
}

TEST(WalWindow, NewerLogicalSetWins) {
  std::vector<SetEntry> sets = {logical_set("L", "2026-11-26T11:00:00.000Z"),
                                physical_set("P", "2026-11-26T09:30:00.000Z", seg(2), seg(2))};
  WalWindow w = compute_wal_window(sets, {stored(2, kTen)}, {});
  EXPECT_EQ(w.recoverable_to_backup_id, "L");
  EXPECT_EQ(*w.recoverable_to_ms, *parse_rfc3339_utc("2026-11-26T11:00:00.000Z"));
  EXPECT_EQ(*w.oldest_ms, *parse_rfc3339_utc("2026-11-26T09:30:00.000Z"));
}

TEST(WalWindow, DroppedSegmentEndsTheRunAndBreaksTheChainUntilANewerBase) {
  std::vector<SetEntry> sets = {physical_set("P1", "2026-11-26T09:30:00.000Z", seg(2), seg(2))};
  std::vector<StoredWalFile> wal = {stored(2, kTen), stored(3, kTen + 1), stored(5, kTen + 5)};
  WalWindow w = compute_wal_window(sets, wal, {dropped(4, kTen + 3)});
  ASSERT_NE(w.find("P1"), nullptr);
  EXPECT_EQ(w.find("P1")->reach.last_segment, seg(3));
  EXPECT_EQ(w.find("P1")->chain_broken_at, seg(4));
  EXPECT_EQ(w.broken_now, seg(4));
  EXPECT_EQ(w.broken_now_mtime, kTen + 3);
  EXPECT_EQ(*w.recoverable_to_ms, (kTen + 1) * 1000);

  // A base that starts after the dropped segment clears "broken now"; the older base
  // still reports where its WAL was broken.
  sets.push_back(physical_set("P2", "2026-11-26T10:30:00.000Z", seg(5), seg(5)));
  w = compute_wal_window(sets, wal, {dropped(4, kTen + 3)});
  EXPECT_EQ(w.broken_now, "");
  EXPECT_EQ(w.find("P1")->chain_broken_at, seg(4));
  EXPECT_EQ(w.find("P2")->chain_broken_at, "");
  EXPECT_EQ(w.recoverable_to_backup_id, "P2");
  EXPECT_TRUE(w.base_started_after(seg(4)));
  EXPECT_FALSE(w.base_started_after(seg(5)));
}

TEST(WalWindow, BaseMissingADroppedSegmentIsUnusable) {
  std::vector<SetEntry> sets = {physical_set("P", "2026-11-26T09:30:00.000Z", seg(2), seg(3))};
  WalWindow w = compute_wal_window(sets, {stored(2, kTen)}, {dropped(3)});
  ASSERT_NE(w.find("P"), nullptr);
  EXPECT_FALSE(w.find("P")->reach.complete);
  EXPECT_EQ(w.find("P")->chain_broken_at, seg(3));
  EXPECT_FALSE(w.find("P")->reaches_ms.has_value());
  EXPECT_FALSE(w.recoverable_to_ms.has_value());
  // the base started before the dropped segment: the chain is broken now
  EXPECT_EQ(w.broken_now, seg(3));
}

TEST(WalWindow, BrokenWithoutAnyBase) {
  WalWindow w = compute_wal_window({logical_set("L", "2026-11-26T09:00:00.000Z")}, {},
                                   {dropped(7), dropped(9)});
  EXPECT_EQ(w.broken_now, seg(9));
  EXPECT_TRUE(w.physical.empty());
}

TEST(WalWindow, MarkersAreWrittenAndListed) {
  test::ScratchDir dir;
  std::string root = dir.path();
  EXPECT_TRUE(list_wal_chain_breaks(root).empty());
  record_wal_chain_break(root, seg(7), "dropped at 2026-11-26T10:00:00Z: no space");
  record_wal_chain_break(root, seg(3), "dropped");
  auto breaks = list_wal_chain_breaks(root);
  ASSERT_EQ(breaks.size(), 2u);
  EXPECT_EQ(breaks[0].segment, seg(3));
  EXPECT_EQ(breaks[1].segment, seg(7));
  EXPECT_EQ(breaks[1].note, "dropped at 2026-11-26T10:00:00Z: no space");
  EXPECT_GT(breaks[1].mtime, 0);
  EXPECT_EQ(wal_chain_break_path(root, seg(3)),
            join_path(root, "wal/00000001/" + seg(3) + ".dropped"));
  // The archive's own listing ignores markers.
  EXPECT_TRUE(list_wal_files(root).empty());
  try {
    wal_chain_break_path(root, "00000002.history");
    ADD_FAILURE() << "a history file accepted as a segment";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("00000002.history"), std::string::npos);
  }
}

TEST(Settings, ParseSize) {
  EXPECT_EQ(*parse_size("1GB"), uint64_t{1} << 30);
  EXPECT_EQ(*parse_size(" 512MB "), uint64_t{512} << 20);
  EXPECT_EQ(*parse_size("64"), uint64_t{64} << 20);
  EXPECT_EQ(*parse_size("16kB"), uint64_t{16} << 10);
  EXPECT_EQ(*parse_size("0"), 0u);
  EXPECT_FALSE(parse_size("1gb").has_value());
  EXPECT_FALSE(parse_size("-1MB").has_value());
  EXPECT_FALSE(parse_size("MB").has_value());
  EXPECT_FALSE(parse_size("1 GB x").has_value());
  EXPECT_FALSE(parse_size("99999999999999TB").has_value());
  const SettingDef* def = find_setting("ramsafe.wal_backlog_limit");
  ASSERT_NE(def, nullptr);
  auto problem = validate_setting(*def, "lots");
  ASSERT_TRUE(problem.has_value());
  EXPECT_NE(problem->find("ramsafe.wal_backlog_limit"), std::string::npos);
  EXPECT_NE(problem->find("lots"), std::string::npos);
  def = find_setting("ramsafe.wal_backlog_policy");
  ASSERT_NE(def, nullptr);
  EXPECT_FALSE(validate_setting(*def, "drop").has_value());
  EXPECT_TRUE(validate_setting(*def, "discard").has_value());
  def = find_setting("ramsafe.base_backup_schedule");
  ASSERT_NE(def, nullptr);
  EXPECT_FALSE(validate_setting(*def, "").has_value());
  EXPECT_FALSE(validate_setting(*def, "*/5 * * * *").has_value());
  EXPECT_TRUE(validate_setting(*def, "every minute").has_value());
}

}  // namespace
}  // namespace ramsafe
