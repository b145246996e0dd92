// Offline snapshots (issue 15): pg_controldata's output, what the copy of a data directory
// leaves out, which WAL files it keeps, the manifest's "offline" fields, and the tar
// headers the snapshot streams.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "core/backup/offline_snapshot.h"
#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/stages.h"
#include "core/io/tar.h"
#include "core/set/manifest.h"
#include "test/unit/test_util.h"

namespace ramsafe {
namespace {

// As PostgreSQL 15's pg_controldata prints it (LC_ALL=C), abridged to the lines around
// the ones read.
const char* const kControlData =
    "pg_control version number:            1300\n"
    "Catalog version number:               202209061\n"
    "Database system identifier:           7312345678901234567\n"
    "Database cluster state:               shut down\n"
    "pg_control last modified:             Wed Dec  2 21:00:00 2026\n"
    "Latest checkpoint location:           0/3000028\n"
    "Latest checkpoint's REDO location:    0/3000028\n"
    "Latest checkpoint's REDO WAL file:    000000010000000000000003\n"
    "Latest checkpoint's TimeLineID:       1\n"
    "Latest checkpoint's PrevTimeLineID:   1\n"
    "Bytes per WAL segment:                16777216\n"
    "Data page checksum version:           0\n";

std::string with_line(const std::string& key, const std::string& value) {
  std::string text = kControlData;
  size_t at = text.find(key + ":");
  size_t end = text.find('\n', at);
  return text.substr(0, at) + key + ":   " + value + text.substr(end);
}

TEST(ControlData, ParsesTheLinesASnapshotNeeds) {
  ControlData c = parse_controldata(kControlData);
  EXPECT_EQ(c.state, "shut down");
  EXPECT_EQ(c.system_identifier, "7312345678901234567");
  EXPECT_EQ(c.checkpoint_lsn, "0/3000028");
  EXPECT_EQ(c.redo_lsn, "0/3000028");
  EXPECT_EQ(c.redo_wal_file, "000000010000000000000003");
  EXPECT_EQ(c.timeline, 1u);
  EXPECT_EQ(c.wal_segment_size, uint64_t{16} << 20);
  EXPECT_FALSE(c.data_checksums);
  EXPECT_TRUE(parse_controldata(with_line("Data page checksum version", "1")).data_checksums);
  EXPECT_EQ(parse_controldata(with_line("Database cluster state", "shut down in recovery")).state,
            "shut down in recovery");
}

TEST(ControlData, RefusesMissingOrMalformedLines) {
  EXPECT_THROW(parse_controldata(""), Error);
  EXPECT_THROW(parse_controldata("Database cluster state: shut down\n"), Error);
  EXPECT_THROW(parse_controldata(with_line("Latest checkpoint location", "nonsense")), Error);
  EXPECT_THROW(parse_controldata(with_line("Latest checkpoint's TimeLineID", "0")), Error);
  EXPECT_THROW(parse_controldata(with_line("Bytes per WAL segment", "1000")), Error);
  EXPECT_THROW(parse_controldata(with_line("Database system identifier", "abc")), Error);
  // The REDO file must be the one the REDO location and timeline name.
  EXPECT_THROW(
      parse_controldata(with_line("Latest checkpoint's REDO WAL file", "000000020000000000000003")),
      Error);
  // REDO after the checkpoint is impossible.
  EXPECT_THROW(parse_controldata(with_line("Latest checkpoint's REDO location", "0/4000000")),
               Error);
}

TEST(ControlData, OnlyACleanShutdownIsAccepted) {
  EXPECT_TRUE(is_clean_shutdown_state("shut down"));
  EXPECT_TRUE(is_clean_shutdown_state("shut down in recovery"));
  for (const char* state : {"in production", "in crash recovery", "in archive recovery",
                            "shutting down", "starting up", "", "shut down "})
    EXPECT_FALSE(is_clean_shutdown_state(state)) << state;
}

TEST(SnapshotEntries, LeavesOutWhatABaseBackupLeavesOut) {
  using E = SnapshotEntry;
  EXPECT_EQ(classify_data_dir_entry("postmaster.pid", false), E::kSkip);
  EXPECT_EQ(classify_data_dir_entry("postmaster.opts", false), E::kInclude);
  EXPECT_EQ(classify_data_dir_entry("postgresql.auto.conf", false), E::kInclude);
  EXPECT_EQ(classify_data_dir_entry("postgresql.auto.conf.tmp", false), E::kSkip);
  EXPECT_EQ(classify_data_dir_entry("current_logfiles.tmp", false), E::kSkip);
  EXPECT_EQ(classify_data_dir_entry("PG_VERSION", false), E::kInclude);
  for (const char* dir :
       {"pg_stat_tmp", "pg_dynshmem", "pg_notify", "pg_serial", "pg_snapshots", "pg_subtrans"})
    EXPECT_EQ(classify_data_dir_entry(dir, true), E::kWithoutContents) << dir;
  // Kept: statistics saved at a clean stop, replication slots, the log, commit status.
  for (const char* dir : {"pg_stat", "pg_replslot", "log", "pg_xact", "base", "global", "pg_wal"})
    EXPECT_EQ(classify_data_dir_entry(dir, true), E::kInclude) << dir;
  EXPECT_EQ(classify_data_dir_entry("base/pgsql_tmp", true), E::kSkip);
  EXPECT_EQ(classify_data_dir_entry("base/16384/pgsql_tmp1234.0", false), E::kSkip);
  EXPECT_EQ(classify_data_dir_entry("base/16384/pg_internal.init", false), E::kSkip);
  EXPECT_EQ(classify_data_dir_entry("global/pg_internal.init", false), E::kSkip);
  EXPECT_EQ(classify_data_dir_entry("base/16384/t3_16400", false), E::kSkip);
  EXPECT_EQ(classify_data_dir_entry("base/16384/t3_16400_fsm", false), E::kSkip);
  EXPECT_EQ(classify_data_dir_entry("base/16384/t3_16400.1", false), E::kSkip);
  EXPECT_EQ(classify_data_dir_entry("base/16384/16400", false), E::kInclude);
  EXPECT_EQ(classify_data_dir_entry("base/16384/16400_vm", false), E::kInclude);
  EXPECT_EQ(classify_data_dir_entry("base/16384/tx_1", false), E::kInclude);
  EXPECT_EQ(classify_data_dir_entry("global/pg_control", false), E::kInclude);
  EXPECT_EQ(classify_data_dir_entry(".ramsafe-restore", true), E::kSkip);
}

TEST(SnapshotEntries, KeepsTheWalACleanStartReads) {
  ControlData c = parse_controldata(kControlData);  // REDO = checkpoint = 0/3000028
  std::set<std::string> ready;
  EXPECT_TRUE(wal_entry_wanted("000000010000000000000003", false, c, ready));
  // Recycled segments ahead of it and archived ones before it are left out.
  EXPECT_FALSE(wal_entry_wanted("000000010000000000000004", false, c, ready));
  EXPECT_FALSE(wal_entry_wanted("000000010000000000000002", false, c, ready));
  // Another timeline's segment, temporary files.
  EXPECT_FALSE(wal_entry_wanted("000000020000000000000003", false, c, ready));
  EXPECT_FALSE(wal_entry_wanted("xlogtemp.1234", false, c, ready));
  // History, .partial and .backup files are always kept (small, and replay may need them).
  EXPECT_TRUE(wal_entry_wanted("00000002.history", false, c, ready));
  EXPECT_TRUE(wal_entry_wanted("000000010000000000000002.partial", false, c, ready));
  EXPECT_TRUE(wal_entry_wanted("000000010000000000000002.00000028.backup", false, c, ready));
  // A segment not archived yet (.ready) is kept, with its status file; .done ones are not.
  ready.insert("000000010000000000000002");
  EXPECT_TRUE(wal_entry_wanted("000000010000000000000002", false, c, ready));
  EXPECT_TRUE(wal_entry_wanted("000000010000000000000002.ready", true, c, ready));
  EXPECT_FALSE(wal_entry_wanted("000000010000000000000001.ready", true, c, ready));
  EXPECT_FALSE(wal_entry_wanted("000000010000000000000002.done", true, c, ready));

  // A checkpoint record at the very end of its segment may end in the next one: kept too.
  ControlData end = c;
  end.checkpoint_lsn = end.redo_lsn = "0/3FFFFD8";
  EXPECT_TRUE(wal_entry_wanted("000000010000000000000003", false, end, {}));
  EXPECT_TRUE(wal_entry_wanted("000000010000000000000004", false, end, {}));
  EXPECT_FALSE(wal_entry_wanted("000000010000000000000005", false, end, {}));
}

Manifest offline_manifest() {
  Manifest m;
  m.backup_id = "20261202T210000Z";
  m.kind = "offline";
  m.cluster = "main";
  m.started_at = "2026-12-02T21:00:00.000Z";
  m.finished_at = "2026-12-02T21:00:02.000Z";
  m.server_version = "15.18";
  m.server_version_num = 150018;
  m.pg_dump_version = "pg_controldata (PostgreSQL) 15.18";
  m.system_identifier = "7312345678901234567";
  m.ramsafe_version = "0.4.0";
  m.files = {{"data.tar.zst.age", "data", "", 1, 1, std::string(64, 'c'), "zstd", 3, "age-v1", {}}};
  OfflineInfo o;
  o.checkpoint_lsn = "0/3000028";
  o.redo_lsn = "0/3000028";
  o.timeline = 1;
  o.redo_wal_file = "000000010000000000000003";
  o.wal_segment_size = uint64_t{16} << 20;
  o.pg_major = 15;
  o.cluster_state = "shut down";
  m.offline = o;
  return m;
}

std::string reseal(nlohmann::json j) {
  j.erase("manifest_sha256");
  j["manifest_sha256"] = sha256_hex(j.dump());
  return j.dump(2);
}

TEST(OfflineManifest, RoundTripsAndChecksItsFields) {
  Manifest m = offline_manifest();
  Manifest back = Manifest::parse(m.to_json(), "test");
  EXPECT_TRUE(back.is_offline());
  EXPECT_FALSE(back.is_physical());
  ASSERT_TRUE(back.offline);
  EXPECT_EQ(back.offline->checkpoint_lsn, "0/3000028");
  EXPECT_EQ(back.offline->timeline, 1u);
  EXPECT_EQ(back.offline->redo_wal_file, "000000010000000000000003");
  EXPECT_EQ(back.offline->pg_major, 15);
  EXPECT_EQ(back.offline->cluster_state, "shut down");

  auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = nlohmann::json::parse(m.to_json());
    edit(j);
    return reseal(j);
  };
  EXPECT_THROW(Manifest::parse(edited([](auto& j) { j.erase("offline"); }), "t"), Error);
  EXPECT_THROW(Manifest::parse(
                   edited([](auto& j) { j["offline"]["cluster_state"] = "in production"; }), "t"),
               Error);
  EXPECT_THROW(
      Manifest::parse(
          edited([](auto& j) { j["offline"]["redo_wal_file"] = "000000010000000000000009"; }), "t"),
      Error);
  EXPECT_THROW(Manifest::parse(edited([](auto& j) { j["offline"]["timeline"] = 0; }), "t"), Error);
  EXPECT_THROW(Manifest::parse(edited([](auto& j) { j["offline"]["pg_major"] = 7; }), "t"), Error);
  EXPECT_THROW(
      Manifest::parse(edited([](auto& j) { j["offline"]["wal_segment_size"] = 1000; }), "t"),
      Error);
}

TEST(TarHeaders, StreamedEntriesExtract) {
  test::ScratchDir scratch;
  const std::string& dir = scratch.path();
  {
    TarExtractor extract(dir, "test");
    write_tar_header(extract, "base", '5', 0700, 0, 0);
    std::string content = "hello";
    write_tar_header(extract, "base/1", '0', 0600, content.size(), 1);
    extract.write(test::bytes(content), content.size());
    write_tar_padding(extract, content.size());
    write_tar_end(extract);
    extract.finish();
  }
  EXPECT_EQ(read_file(join_path(dir, "base/1")), "hello");
  StringSink sink;
  EXPECT_THROW(write_tar_header(sink, std::string(101, 'a'), '0', 0600, 0, 0), Error);
  EXPECT_THROW(write_tar_header(sink, std::string(100, 'a'), '5', 0700, 0, 0), Error);
  EXPECT_THROW(write_tar_header(sink, "../x", '0', 0600, 0, 0), Error);
  EXPECT_THROW(write_tar_header(sink, "x", '2', 0600, 0, 0), Error);
}

}  // namespace
}  // namespace ramsafe
