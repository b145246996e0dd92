// WAL-aware retention (core/wal/wal_retention.h): which archived WAL files a store deletes given
// the physical bases it keeps, across timelines, for .partial, .backup and .history files,
// with protected files and without any base; and the WAL upload queue and listing union.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "core/retention/prune.h"
#include "core/wal/wal_archive.h"
#include "core/wal/wal_retention.h"

namespace ramsafe {
namespace {

constexpr uint64_t kSeg = uint64_t{16} << 20;

StoredWalFile wal(const std::string& name, uint64_t bytes = 100) {
  StoredWalFile f;
  f.file = parse_wal_file_name(name);
  f.stored_bytes = bytes;
  return f;
}

std::vector<std::string> names(const std::vector<StoredWalFile>& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.file.name);
  return out;
}

TEST(WalRetention, DeletesBeforeTheOldestKeptBaseOnly) {
  std::vector<StoredWalFile> files = {wal("000000010000000000000001"),
                                      wal("000000010000000000000002"),
                                      wal("000000010000000000000003"),
                                      wal("000000010000000000000003.00000028.backup"),
                                      wal("000000010000000000000004"),
                                      wal("000000010000000000000005"),
                                      wal("000000010000000000000005.000000D8.backup"),
                                      wal("000000010000000000000006")};
  // Two kept bases: the one starting in segment 3 is the oldest.
  WalRetention r =
      decide_wal_retention(files, {{"20261126T100000Z", "000000010000000000000005", kSeg},
                                   {"20261126T090000Z", "000000010000000000000003", kSeg}});
  EXPECT_EQ(names(r.remove),
            (std::vector<std::string>{"000000010000000000000001", "000000010000000000000002"}));
  EXPECT_EQ(r.kept, 6u);
  EXPECT_EQ(r.remove_bytes, 200u);
  EXPECT_EQ(r.oldest_base, "20261126T090000Z");
  EXPECT_EQ(r.cutoff_file, "000000010000000000000003");
  EXPECT_NE(r.summary().find("2 WAL files"), std::string::npos) << r.summary();
  EXPECT_NE(r.summary().find("000000010000000000000001 .. 000000010000000000000002"),
            std::string::npos)
      << r.summary();
}

TEST(WalRetention, KeepsHistoryAndJudgesPartialAndBackupByTheirSegment) {
  std::vector<StoredWalFile> files = {wal("000000010000000000000002"),
                                      wal("000000010000000000000002.00000028.backup"),
                                      wal("000000010000000000000004.partial"),
                                      wal("000000010000000000000009.partial"),
                                      wal("00000002.history"),
                                      wal("00000003.history"),
                                      wal("000000020000000000000004"),
                                      wal("00000002000000000000000A")};
  WalRetention r =
      decide_wal_retention(files, {{"20261126T090000Z", "000000020000000000000005", kSeg}});
  EXPECT_EQ(names(r.remove),
            (std::vector<std::string>{
                "000000010000000000000002", "000000010000000000000002.00000028.backup",
                "000000010000000000000004.partial", "000000020000000000000004"}));
  EXPECT_EQ(r.kept, 4u);  // two .history files, the later .partial, segment A on timeline 2
}

TEST(WalRetention, PositionCountsAcrossTimelines) {
  // A base on timeline 2 whose WAL starts at 0/30000000: older timeline 1 segments at or
  // after that position are a branch replay never reads, but deleting by position keeps
  // them (harmless: they are kept until a later base passes them).
  std::vector<StoredWalFile> files = {
      wal("000000010000000000000002"), wal("000000010000000000000003"),
      wal("000000010000000000000004"), wal("000000020000000000000003")};
  WalRetention r =
      decide_wal_retention(files, {{"20261126T090000Z", "000000020000000000000003", kSeg}});
  EXPECT_EQ(names(r.remove), (std::vector<std::string>{"000000010000000000000002"}));
}

TEST(WalRetention, NothingGoesWithoutAKeptBase) {
  std::vector<StoredWalFile> files = {wal("000000010000000000000001"),
                                      wal("000000010000000000000002")};
  WalRetention r = decide_wal_retention(files, {});
  EXPECT_TRUE(r.remove.empty());
  EXPECT_EQ(r.kept, 2u);
  EXPECT_NE(r.summary().find("no physical base backup is kept"), std::string::npos) << r.summary();
}

TEST(WalRetention, ProtectedFilesStay) {
  std::vector<StoredWalFile> files = {wal("000000010000000000000001"),
                                      wal("000000010000000000000002"),
                                      wal("000000010000000000000003")};
  WalRetention r =
      decide_wal_retention(files, {{"20261126T090000Z", "000000010000000000000003", kSeg}},
                           {{"000000010000000000000002", "kept: not yet on Drive"}});
  EXPECT_EQ(names(r.remove), (std::vector<std::string>{"000000010000000000000001"}));
  EXPECT_EQ(r.protected_files.size(), 1u);
  EXPECT_NE(r.summary().find("not yet on Drive"), std::string::npos) << r.summary();
}

TEST(WalRetention, SegmentSizeMatters) {
  // With 64 MiB segments there are 64 per 4 GiB "log": 000000010000000100000000 is
  // segment 64, so 00000001000000000000003F (63) is before it.
  const uint64_t seg64 = uint64_t{64} << 20;
  std::vector<StoredWalFile> files = {wal("00000001000000000000003F"),
                                      wal("000000010000000100000000")};
  WalRetention r = decide_wal_retention(files, {{"B", "000000010000000100000000", seg64}});
  EXPECT_EQ(names(r.remove), (std::vector<std::string>{"00000001000000000000003F"}));
  EXPECT_THROW(decide_wal_retention(files, {{"B", "000000010000000100000000", seg64},
                                            {"C", "000000010000000100000000", kSeg}}),
               Error);
}

TEST(WalUploadQueue, MissingOrDifferentSizeOldestFirst) {
  std::vector<StoredWalFile> local = {wal("000000010000000000000001", 10),
                                      wal("000000010000000000000002", 20),
                                      wal("000000010000000000000003", 30)};
  std::vector<StoredWalFile> remote = {wal("000000010000000000000001", 10),
                                       wal("000000010000000000000002", 19)};
  EXPECT_EQ(names(wal_to_upload(local, remote)),
            (std::vector<std::string>{"000000010000000000000002", "000000010000000000000003"}));
}

TEST(WalListing, UnionPrefersTheFirstAndKeepsOrder) {
  StoredWalFile a = wal("000000010000000000000002", 1);
  a.mtime = 5;
  StoredWalFile b = wal("000000010000000000000002", 1);
  b.mtime = 9;
  std::vector<StoredWalFile> u =
      union_wal_files({a, wal("00000002.history")},
                      {wal("000000010000000000000001"), b, wal("000000020000000000000003")});
  EXPECT_EQ(names(u),
            (std::vector<std::string>{"000000010000000000000001", "000000010000000000000002",
                                      "00000002.history", "000000020000000000000003"}));
  EXPECT_EQ(u[1].mtime, 5);
}

}  // namespace
}  // namespace ramsafe
