// Physical base backups and their restore (issue 7, slice 2): the manifest's kind, LSN and
// WAL file arithmetic, how far archived WAL reaches, pg_basebackup's stderr, target times,
// the choice between physical and logical sets, and the streaming tar extractor.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/backup/base_backup.h"
#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/process.h"
#include "core/io/stages.h"
#include "core/io/tar.h"
#include "core/restore/restore.h"
#include "core/set/manifest.h"
#include "core/wal/wal_archive.h"
#include "test/unit/test_util.h"

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
  m.pg_dump_version = "pg_dump (PostgreSQL) 15.18";
  m.system_identifier = "7312345678901234567";
  m.ramsafe_version = "0.1.0";
  m.initdb = {"UTF8", "C.UTF-8", "C.UTF-8", "libc", "", false, "postgres"};
  m.files = {
      {"globals.sql.zst.age", "globals", "", 1, 1, std::string(64, 'a'), "zstd", 3, "age-v1", {}}};
  return m;
}

Manifest physical(const std::string& id, const std::string& finished, const std::string& start,
                  const std::string& stop) {
  Manifest m = logical(id, finished);
  m.kind = "physical";
  m.files = {{"base.tar.zst.age", "base", "", 1, 1, std::string(64, 'b'), "zstd", 3, "age-v1", {}}};
  PhysicalInfo p;
  p.start_lsn = start;
  p.stop_lsn = stop;
  p.timeline = 1;
  p.start_wal_file = wal_segment_file_name(1, *parse_lsn(start), kSeg);
  p.stop_wal_file = wal_segment_file_name(1, *parse_lsn(stop), kSeg);
  p.wal_segment_size = kSeg;
  m.physical = p;
  return m;
}

// Re-seals edited manifest JSON with a correct checksum.
std::string reseal(nlohmann::json j) {
  j.erase("manifest_sha256");
  j["manifest_sha256"] = sha256_hex(j.dump());
  return j.dump(2);
}

Errc code_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no error thrown";
  return Errc::kInternal;
}

TEST(PhysicalManifest, OldManifestsWithoutKindAreLogical) {
  auto j = nlohmann::json::parse(logical("20261122T031500Z", "2026-11-22T03:15:04.250Z").to_json());
  j.erase("kind");
  Manifest m = Manifest::parse(reseal(j), "old");
  EXPECT_EQ(m.kind, "logical");
  EXPECT_FALSE(m.is_physical());
  EXPECT_FALSE(m.physical.has_value());
}

TEST(PhysicalManifest, RoundTripsAndLogicalHasNoPhysicalFields) {
  Manifest m = physical("20261126T100000Z", "2026-11-26T10:00:05.000Z", "0/2000028", "0/3000100");
  Manifest back = Manifest::parse(m.to_json(), "t");
  EXPECT_EQ(back.to_json(), m.to_json());
  ASSERT_TRUE(back.physical);
  EXPECT_EQ(back.physical->start_wal_file, "000000010000000000000002");
  EXPECT_EQ(back.physical->stop_wal_file, "000000010000000000000003");
  EXPECT_EQ(back.physical->wal_segment_size, kSeg);
  auto j = nlohmann::json::parse(logical("20261122T031500Z", "2026-11-22T03:15:04.250Z").to_json());
  EXPECT_FALSE(j.contains("physical"));
}

TEST(PhysicalManifest, PhysicalFieldsAreValidated) {
  auto good = nlohmann::json::parse(
      physical("20261126T100000Z", "2026-11-26T10:00:05.000Z", "0/2000028", "0/3000100").to_json());
  auto broken = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = good;
    edit(j);
    return code_of([&] { Manifest::parse(reseal(j), "edited"); });
  };
  EXPECT_EQ(broken([](auto& j) { j.erase("physical"); }), Errc::kCorrupt);
  EXPECT_EQ(broken([](auto& j) { j["physical"]["start_lsn"] = "0/zz"; }), Errc::kCorrupt);
  EXPECT_EQ(broken([](auto& j) { j["physical"]["stop_lsn"] = "0/1000000"; }), Errc::kCorrupt);
  EXPECT_EQ(broken([](auto& j) { j["physical"]["timeline"] = 0; }), Errc::kCorrupt);
  EXPECT_EQ(broken([](auto& j) { j["physical"]["wal_segment_size"] = 12345; }), Errc::kCorrupt);
  EXPECT_EQ(broken([](auto& j) { j["physical"]["start_wal_file"] = "000000010000000000000009"; }),
            Errc::kCorrupt);
  EXPECT_EQ(broken([](auto& j) { j["physical"]["stop_wal_file"] = "../x"; }), Errc::kCorrupt);
  EXPECT_EQ(broken([](auto& j) { j["kind"] = 7; }), Errc::kCorrupt);
}

TEST(Lsn, ParsesFormatsAndNamesSegments) {
  EXPECT_EQ(parse_lsn("0/2000028"), std::optional<uint64_t>(0x2000028));
  EXPECT_EQ(parse_lsn("16/B374D848"), std::optional<uint64_t>(0x16B374D848));
  EXPECT_EQ(parse_lsn("16/b374d848"), std::optional<uint64_t>(0x16B374D848));
  for (const char* bad : {"", "/", "0/", "/1", "1", "0/123456789", "x/1", "0/1 ", "-1/0"})
    EXPECT_FALSE(parse_lsn(bad)) << bad;
  EXPECT_EQ(format_lsn(0x16B374D848), "16/B374D848");
  EXPECT_EQ(format_lsn(0), "0/0");
  EXPECT_EQ(wal_segment_file_name(1, 0x2000028, kSeg), "000000010000000000000002");
  EXPECT_EQ(wal_segment_file_name(2, 0x16B374D848, kSeg), "0000000200000016000000B3");
  EXPECT_EQ(wal_segment_file_name(1, 0x16B374D848, uint64_t{1} << 30), "000000010000001600000002");
  EXPECT_EQ(wal_segment_number("0000000200000016000000B3", kSeg), 0x16u * 256 + 0xB3);
  EXPECT_TRUE(is_valid_wal_segment_size(kSeg));
  EXPECT_FALSE(is_valid_wal_segment_size(3 << 20));
  EXPECT_FALSE(is_valid_wal_segment_size(uint64_t{1} << 31));
}

StoredWalFile stored(const std::string& name, int64_t mtime) {
  StoredWalFile f;
  f.file = parse_wal_file_name(name);
  f.mtime = mtime;
  return f;
}

TEST(WalReach, CountsTheUnbrokenRunFromTheStart) {
  std::vector<StoredWalFile> wal = {stored("000000010000000000000001", 1),
                                    stored("000000010000000000000002", 2),
                                    stored("000000010000000000000002.00000028.backup", 2),
                                    stored("000000010000000000000003", 3),
                                    stored("000000010000000000000004", 4),
                                    stored("000000010000000000000006", 6)};
  WalReach r = wal_reach(1, "000000010000000000000002", "000000010000000000000003", kSeg, wal);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.last_segment, "000000010000000000000004");  // 5 is missing: replay ends there
  EXPECT_EQ(r.last_mtime, 4);
  EXPECT_EQ(r.segments, 3u);

  WalReach gap = wal_reach(1, "000000010000000000000004", "000000010000000000000005", kSeg, wal);
  EXPECT_FALSE(gap.complete);
  EXPECT_EQ(gap.missing, "000000010000000000000005");

  WalReach none = wal_reach(1, "000000010000000000000002", "000000010000000000000002", kSeg, {});
  EXPECT_FALSE(none.complete);
  EXPECT_EQ(none.missing, "000000010000000000000002");
}

TEST(WalReach, FollowsALaterTimelineAfterTheStopSegment) {
  std::vector<StoredWalFile> wal = {
      stored("000000010000000000000002", 2), stored("000000010000000000000003", 3),
      stored("00000002.history", 4), stored("000000020000000000000003", 5),
      stored("000000020000000000000004", 6)};
  WalReach r = wal_reach(1, "000000010000000000000002", "000000010000000000000002", kSeg, wal);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.last_segment, "000000020000000000000004");
  // Before the stop segment only the base's own timeline counts.
  WalReach r2 = wal_reach(2, "000000020000000000000002", "000000020000000000000003", kSeg, wal);
  EXPECT_FALSE(r2.complete);
  EXPECT_EQ(r2.missing, "000000020000000000000002");
}

TEST(BaseBackupManifest, ParsesTheWalRanges) {
  // The end of a PostgreSQL 15 backup_manifest.
  BaseBackupPoints p = parse_manifest_wal_ranges(
      "{ \"Path\": \"global/pg_control\", \"Size\": 8192, \"Last-Modified\": \"2026-11-26 "
      "09:34:02 GMT\" }\n],\n\"WAL-Ranges\": [\n{ \"Timeline\": 1, \"Start-LSN\": \"0/2000028\", "
      "\"End-LSN\": \"0/2000100\" }\n],\n\"Manifest-Checksum\": \"8e1f\"}\n");
  EXPECT_EQ(p.start_lsn, 0x2000028u);
  EXPECT_EQ(p.stop_lsn, 0x2000100u);
  EXPECT_EQ(p.timeline, 1u);
  BaseBackupPoints two = parse_manifest_wal_ranges(
      "\"WAL-Ranges\": [\n{ \"Timeline\": 2, \"Start-LSN\": \"0/5000028\", \"End-LSN\": "
      "\"0/6000000\" },\n{ \"Timeline\": 3, \"Start-LSN\": \"0/6000000\", \"End-LSN\": "
      "\"0/6000100\" }\n],");
  EXPECT_EQ(two.timeline, 2u);
  EXPECT_EQ(two.start_lsn, 0x5000028u);
  EXPECT_EQ(two.stop_lsn, 0x6000100u);
  for (const char* bad :
       {"", "\"WAL-Ranges\": [", "\"WAL-Ranges\": [\n],",
        "\"WAL-Ranges\": [{ \"Timeline\": 0, \"Start-LSN\": \"0/1\", \"End-LSN\": \"0/2\" }]",
        "\"WAL-Ranges\": [{ \"Timeline\": 1, \"Start-LSN\": \"0/x\", \"End-LSN\": \"0/2\" }]",
        "\"WAL-Ranges\": [{ \"Timeline\": 1, \"Start-LSN\": \"0/3\", \"End-LSN\": \"0/2\" }]",
        "\"WAL-Ranges\": [{ \"Timeline\": 1, \"Start-LSN\": \"0/1\" }]"})
    EXPECT_EQ(code_of([&] { parse_manifest_wal_ranges(bad); }), Errc::kChildFailed) << bad;
}

TEST(TarWatch, PassesTheStreamOnAndKeepsTheTailOfWatchedFiles) {
  std::string manifest(100000, 'm');
  manifest += "THE END";
  StringSink tar;
  write_tar({{"PG_VERSION", "15\n", 0600, 0}, {"backup_manifest", manifest, 0600, 0}}, tar);
  StringSink out;
  TarWatch watch(out, "t", {"backup_manifest", "backup_label"}, 1000);
  for (size_t pos = 0; pos < tar.data().size(); pos += 777)
    watch.write(reinterpret_cast<const uint8_t*>(tar.data().data()) + pos,
                std::min<size_t>(777, tar.data().size() - pos));
  watch.finish();
  EXPECT_EQ(out.data(), tar.data());
  ASSERT_NE(watch.captured("backup_manifest"), nullptr);
  const std::string& tail = *watch.captured("backup_manifest");
  EXPECT_GE(tail.size(), 1000u);
  EXPECT_LE(tail.size(), 2000u);
  EXPECT_EQ(tail.substr(tail.size() - 7), "THE END");
  EXPECT_EQ(watch.captured("backup_label"), nullptr);
}

TEST(BaseBackup, RecognisesTheRamsafeLibrary) {
  EXPECT_TRUE(names_ramsafe_library("ramsafe"));
  EXPECT_TRUE(names_ramsafe_library("pg_stat_statements, \"$libdir/ramsafe\""));
  EXPECT_TRUE(names_ramsafe_library("/opt/x/ramsafe.so"));
  EXPECT_FALSE(names_ramsafe_library(""));
  EXPECT_FALSE(names_ramsafe_library("ramsafe2,notramsafe"));
}

TEST(TargetTime, ParsesWithAnOffsetOnly) {
  int64_t base = *parse_rfc3339_utc("2026-11-26T10:00:00Z");
  EXPECT_EQ(parse_target_time("2026-11-26 10:00:00+00"), base);
  EXPECT_EQ(parse_target_time("2026-11-26T10:00:00Z"), base);
  EXPECT_EQ(parse_target_time("2026-11-26 10:00:00 UTC"), base);
  EXPECT_EQ(parse_target_time("2026-11-26 11:30:00+01:30"), base);
  EXPECT_EQ(parse_target_time("2026-11-26 05:00:00-0500"), base);
  EXPECT_EQ(parse_target_time("2026-11-26 10:00:00.25+00"), base + 250);
  for (const char* bad :
       {"2026-11-26 10:00:00", "2026-11-26", "2026-11-26 10:00:00+1", "2026-11-26 10:00:00+aa",
        "2026-13-26 10:00:00+00", "tomorrow", "2026-11-26 10:00:00.+00"})
    EXPECT_FALSE(parse_target_time(bad)) << bad;
  EXPECT_EQ(format_target_time(base + 250), "2026-11-26 10:00:00.250+00");
}

SetEntry entry(const Manifest& m) {
  SetEntry e;
  e.id = m.backup_id;
  e.store = "local /x";
  e.manifest = m;
  return e;
}

std::vector<std::string> ids(const std::vector<SetEntry>& sets) {
  std::vector<std::string> out;
  for (const auto& s : sets) out.push_back(s.id);
  return out;
}

TEST(RestorePlan, PhysicalWithLaterWalGoesFirstAndWithoutWalIsSkipped) {
  Manifest base =
      physical("20261126T090000Z", "2026-11-26T09:00:05.000Z", "0/2000028", "0/2000100");
  Manifest dump = logical("20261126T093000Z", "2026-11-26T09:30:00.000Z");
  int64_t ten = *parse_rfc3339_utc("2026-11-26T10:00:00Z") / 1000;
  std::vector<SetEntry> sets = {entry(dump), entry(base)};  // newest first by finish time
  std::vector<StoredWalFile> wal = {stored("000000010000000000000002", ten - 3600),
                                    stored("000000010000000000000003", ten)};

  RestorePlan p = plan_restore(sets, wal, std::nullopt);
  EXPECT_EQ(ids(p.order), (std::vector<std::string>{"20261126T090000Z", "20261126T093000Z"}));
  EXPECT_TRUE(p.skipped.empty());

  // WAL only up to before the logical set: the logical set first, the physical one next.
  RestorePlan older = plan_restore(sets, {wal[0]}, std::nullopt);
  EXPECT_EQ(ids(older.order), (std::vector<std::string>{"20261126T093000Z", "20261126T090000Z"}));

  // No WAL: the physical set is left out, with the missing file named.
  RestorePlan none = plan_restore(sets, {}, std::nullopt);
  EXPECT_EQ(ids(none.order), std::vector<std::string>{"20261126T093000Z"});
  ASSERT_EQ(none.skipped.size(), 1u);
  EXPECT_NE(none.skipped[0].second.find("000000010000000000000002"), std::string::npos);

  // A target time: only physical sets finished before it.
  EXPECT_EQ(ids(plan_restore(sets, wal, *parse_target_time("2026-11-26 09:45:00+00")).order),
            std::vector<std::string>{"20261126T090000Z"});
  EXPECT_TRUE(plan_restore(sets, wal, *parse_target_time("2026-11-26 08:00:00+00")).order.empty());
}

// A logical set finished at 10:00:00.400 and a WAL segment with later commits archived at
// 10:00:00.900 fall in the same second: compared by whole seconds the logical set won and the
// later commits were not restored (issue 16's reboot test found it).
TEST(RestorePlan, WalTimesCountInMillisecondsAgainstALogicalSet) {
  Manifest base =
      physical("20261126T090000Z", "2026-11-26T09:00:05.000Z", "0/2000028", "0/2000100");
  Manifest dump = logical("20261126T100000Z", "2026-11-26T10:00:00.400Z");
  int64_t ten = *parse_rfc3339_utc("2026-11-26T10:00:00Z") / 1000;
  std::vector<SetEntry> sets = {entry(dump), entry(base)};
  std::vector<StoredWalFile> wal = {stored("000000010000000000000002", ten - 3600),
                                    stored("000000010000000000000003", ten)};
  wal[1].mtime_ms = ten * 1000 + 900;
  EXPECT_EQ(
      wal_reach(1, "000000010000000000000002", "000000010000000000000002", kSeg, wal).last_mtime_ms,
      ten * 1000 + 900);
  EXPECT_EQ(ids(plan_restore(sets, wal, std::nullopt).order),
            (std::vector<std::string>{"20261126T090000Z", "20261126T100000Z"}));
  wal[1].mtime_ms = ten * 1000 + 100;  // archived before the logical set finished
  EXPECT_EQ(ids(plan_restore(sets, wal, std::nullopt).order),
            (std::vector<std::string>{"20261126T100000Z", "20261126T090000Z"}));
  wal[1].mtime_ms = 0;  // a copy whose time is known to the second only (Drive)
  EXPECT_EQ(
      wal_reach(1, "000000010000000000000002", "000000010000000000000002", kSeg, wal).last_mtime_ms,
      ten * 1000);
}

TEST(TarExtractor, ExtractsWhatGnuTarWritesInAnyChunking) {
  test::ScratchDir dir;
  make_dirs(dir.file("src/base/1"));
  make_dirs(dir.file("src/pg_wal/archive_status"));
  write_file_atomic(dir.file("src/PG_VERSION"), "15\n");
  std::string big(70000, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  write_file_atomic(dir.file("src/base/1/1259"), big);
  write_file_atomic(dir.file("src/empty"), "");
  ProcessOptions options;
  // As pg_basebackup names entries: relative, a few with "./".
  options.argv = {"tar",           "--format=ustar", "-cf",  dir.file("b.tar"), "-C",
                  dir.file("src"), "PG_VERSION",     "base", "empty",           "./pg_wal"};
  ChildProcess tar(options);
  tar.wait_success();
  std::string archive = read_file(dir.file("b.tar"), 1u << 24);
  for (size_t chunk : {size_t{1}, size_t{511}, size_t{4096}, archive.size()}) {
    std::string dest = dir.file("out" + std::to_string(chunk));
    make_dirs(dest);
    TarExtractor x(dest, "b.tar");
    for (size_t pos = 0; pos < archive.size(); pos += chunk)
      x.write(reinterpret_cast<const uint8_t*>(archive.data()) + pos,
              std::min(chunk, archive.size() - pos));
    x.finish();
    EXPECT_EQ(read_file(dest + "/PG_VERSION"), "15\n");
    EXPECT_EQ(read_file(dest + "/base/1/1259", 1u << 20), big);
    EXPECT_EQ(read_file(dest + "/empty"), "");
    EXPECT_TRUE(is_directory(dest + "/pg_wal/archive_status"));
    EXPECT_EQ(x.files(), 3u);
    struct stat st;
    ASSERT_EQ(::stat((dest + "/base/1/1259").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 077, 0u);
  }
}

TEST(TarExtractor, RefusesLinksUnsafeNamesAndTruncation) {
  test::ScratchDir dir;
  make_dirs(dir.file("src"));
  write_file_atomic(dir.file("src/f"), "data");
  ASSERT_EQ(::symlink("/etc", dir.file("src/link").c_str()), 0);
  ProcessOptions options;
  options.argv = {"tar", "--format=ustar", "-cf", dir.file("l.tar"),
                  "-C",  dir.file("src"),  "f",   "link"};
  ChildProcess tar(options);
  tar.wait_success();
  std::string with_link = read_file(dir.file("l.tar"), 1u << 20);
  auto extract = [&](const std::string& archive, const std::string& dest) {
    make_dirs(dir.file(dest));
    TarExtractor x(dir.file(dest), "t");
    x.write(reinterpret_cast<const uint8_t*>(archive.data()), archive.size());
    x.finish();
  };
  EXPECT_EQ(code_of([&] { extract(with_link, "a"); }), Errc::kCorrupt);

  StringSink out;
  write_tar({{"f", std::string(2000, 'y'), 0600, 0}}, out);
  EXPECT_EQ(code_of([&] { extract(out.data().substr(0, 1024), "b"); }), Errc::kCorrupt);
  // The same entry renamed "../f", with its header checksum fixed.
  std::string header = out.data().substr(0, 512);
  header.replace(0, 4, "../f");
  unsigned sum = 0;
  for (size_t i = 0; i < 512; ++i)
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(header[i]);
  char field[8];
  std::snprintf(field, sizeof field, "%06o", sum);
  header.replace(148, 7, std::string(field, 6) + '\0');
  EXPECT_EQ(code_of([&] { extract(header + out.data().substr(512), "c"); }), Errc::kCorrupt);
  EXPECT_FALSE(path_exists(dir.file("f")));
}

}  // namespace
}  // namespace ramsafe
