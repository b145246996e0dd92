// Retention applied to a store (core/retention/prune.h) holding logical sets, physical base
// backups and archived WAL: each kind goes by its own policy, so logical backups never push
// out the base the archived WAL needs (issue 16), and the recoverable-window guard keeps
// the set the latest recoverable point depends on.
#include "core/retention/prune.h"

#include <gtest/gtest.h>
#include <utime.h>

#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "core/config/config.h"
#include "core/config/settings.h"
#include "core/error.h"
#include "core/io/paths.h"
#include "core/set/manifest.h"
#include "core/set/trust.h"
#include "core/store/local_store.h"
#include "core/wal/wal_archive.h"
#include "test/unit/signing_util.h"
#include "test/unit/test_util.h"

namespace ramsafe {
namespace {

constexpr uint64_t kSeg = uint64_t{16} << 20;

std::string seg(int n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0000000100000000%08X", n);
  return buf;
}

std::string lsn(int segment, int offset) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0/%X", static_cast<unsigned>(segment) * 0x1000000u + offset);
  return buf;
}

// "2026-11-22 10:05" -> "20261122T100500Z" and its RFC 3339 finish time.
std::string id_at(const std::string& when) {
  return when.substr(0, 4) + when.substr(5, 2) + when.substr(8, 2) + "T" + when.substr(11, 2) +
         when.substr(14, 2) + "00Z";
}
std::string time_at(const std::string& when) {
  return when.substr(0, 10) + "T" + when.substr(11, 5) + ":00.000Z";
}

Manifest manifest(const std::string& when) {
  Manifest m;
  m.backup_id = id_at(when);
  m.cluster = "main";
  m.started_at = time_at(when);
  m.finished_at = time_at(when);
  m.server_version = "15.18";
  m.server_version_num = 150018;
  m.pg_dump_version = "pg_dump (PostgreSQL) 15.18";
  m.system_identifier = "7312345678901234567";
  m.ramsafe_version = "0.4.0";
  m.initdb = {"UTF8", "C.UTF-8", "C.UTF-8", "libc", "", true, "postgres"};
  return m;
}

Manifest base_manifest(const std::string& when, int start, int stop) {
  Manifest m = manifest(when);
  m.kind = "physical";
  PhysicalInfo p;
  p.timeline = 1;
  p.start_lsn = lsn(start, 0x28);
  p.stop_lsn = lsn(stop, 0x100);
  p.start_wal_file = seg(start);
  p.stop_wal_file = seg(stop);
  p.wal_segment_size = kSeg;
  m.physical = p;
  return m;
}

SetEntry entry_of(const Manifest& m) {
  SetEntry e;
  e.id = m.backup_id;
  e.manifest = m;
  return e;
}

StoredWalFile stored(int n, int64_t mtime) {
  StoredWalFile f;
  f.file = parse_wal_file_name(seg(n));
  f.mtime = mtime;
  return f;
}

// A local store in a scratch directory.
class StoreFixture : public testing::Test {
 protected:
  std::string root() const { return dir_.file("main"); }

  // A signed set: what the readers below trust.
  void add_set(const Manifest& unsigned_manifest) {
    Manifest m = unsigned_manifest;
    m.sequence = ++sequence_;
    std::string bytes = m.to_json();
    dir_.write("main/" + m.backup_id + "/manifest.json", bytes);
    dir_.write("main/" + m.backup_id + "/" + kManifestSignatureName,
               sign_manifest(signer_.key, bytes));
  }

  // Archived WAL segments first..last, stored at `mtime` (unix seconds).
  void add_wal(int first, int last, int64_t mtime) {
    for (int n = first; n <= last; ++n) {
      std::string data = dir_.write("main/wal/00000001/" + seg(n) + ".zst.age", "stored");
      dir_.write("main/wal/00000001/" + seg(n) + ".sha256", std::string(64, 'a') + "  " + seg(n));
      struct utimbuf times {
        mtime, mtime
      };
      ASSERT_EQ(::utime(data.c_str(), &times), 0);
    }
  }

  std::vector<PruneEntry> prune(const std::string& extra_settings, bool dry_run) {
    Settings settings = load_settings(config::parse_text(extra_settings, "t.conf", "/nowhere"));
    PruneRequest request = prune_request_for(settings, TimeZone::utc());
    request.dry_run = dry_run;
    LocalStore store(root(), signer_.trust);
    return run_prune(request, &store, nullptr);
  }

  std::set<std::string> sets_left() {
    std::set<std::string> ids;
    for (const auto& s : LocalStore(root(), signer_.trust).list_sets()) ids.insert(s.id);
    return ids;
  }

  std::set<std::string> wal_left() {
    std::set<std::string> names;
    for (const auto& f : list_wal_files(root())) names.insert(f.file.name);
    return names;
  }

  static const PruneEntry& entry(const std::vector<PruneEntry>& entries, const std::string& id) {
    for (const auto& e : entries)
      if (!e.wal && e.backup_id == id) return e;
    static const PruneEntry kMissing;
    ADD_FAILURE() << "no entry for " << id;
    return kMissing;
  }

  test::ScratchDir dir_;
  SetSigner signer_ = test::make_signer();
  uint64_t sequence_ = 0;
};

std::set<std::string> segs(int first, int last) {
  std::set<std::string> out;
  for (int n = first; n <= last; ++n) out.insert(seg(n));
  return out;
}

// The sequence of issue 16: a base backup, then three logical backups in the same hour,
// with the default policies. The base used to fill the last of last=3's slots and be
// deleted, leaving the archived WAL after it useless.
TEST_F(StoreFixture, LogicalBackupsNeverPushOutTheOnlyBase) {
  int64_t ten = test::at("2026-11-22 10:00");
  add_set(base_manifest("2026-11-22 10:00", 2, 3));
  add_wal(2, 6, ten + 600);
  std::vector<std::string> logical;
  for (const char* when : {"2026-11-22 10:05", "2026-11-22 10:10", "2026-11-22 10:15",
                           "2026-11-22 10:20", "2026-11-22 10:25"}) {
    add_set(manifest(when));
    logical.push_back(id_at(when));
  }
  std::vector<PruneEntry> entries = prune("", false);
  const std::string base = id_at("2026-11-22 10:00");
  EXPECT_TRUE(entry(entries, base).keep);
  EXPECT_EQ(entry(entries, base).set_kind, "physical");
  EXPECT_EQ(entry(entries, base).reason,
            "base backup: last 1 of 2; daily 2026-11-22 (1 of 7); newest base backup");
  EXPECT_EQ(entry(entries, logical[4]).reason,
            "last 1 of 3; hourly 2026-11-22 10h (1 of 24); daily 2026-11-22 (1 of 7); newest "
            "complete set");
  EXPECT_EQ(entry(entries, logical[1]).reason, "not selected by last=3 hourly=24 daily=7");
  EXPECT_EQ(sets_left(), (std::set<std::string>{base, logical[2], logical[3], logical[4]}));
  EXPECT_EQ(wal_left(), segs(2, 6)) << "the WAL after the base stays";
  for (const auto& e : entries) EXPECT_EQ(e.warning, "") << e.backup_id;
}

TEST_F(StoreFixture, BaseBackupsGoByTheirOwnPolicyAndTakeTheirWalWith) {
  add_set(base_manifest("2026-11-22 10:00", 2, 3));
  add_set(base_manifest("2026-11-22 11:00", 5, 6));
  add_set(base_manifest("2026-11-22 12:00", 8, 9));
  add_set(manifest("2026-11-22 12:30"));
  add_wal(2, 10, test::at("2026-11-22 12:40"));
  std::vector<PruneEntry> dry = prune("ramsafe.local_base_retention = 'last=1'", true);
  EXPECT_FALSE(entry(dry, id_at("2026-11-22 10:00")).keep);
  EXPECT_EQ(entry(dry, id_at("2026-11-22 10:00")).reason, "base backup: not selected by last=1");
  EXPECT_EQ(sets_left().size(), 4u) << "a dry run deletes nothing";

  prune("ramsafe.local_base_retention = 'last=1'", false);
  EXPECT_EQ(sets_left(),
            (std::set<std::string>{id_at("2026-11-22 12:00"), id_at("2026-11-22 12:30")}));
  EXPECT_EQ(wal_left(), segs(8, 10)) << "WAL before the kept base's start goes";

  // The logical policy does not count the base: last=1 keeps one set of each kind.
  prune("ramsafe.local_retention = 'last=1'", false);
  EXPECT_EQ(sets_left(),
            (std::set<std::string>{id_at("2026-11-22 12:00"), id_at("2026-11-22 12:30")}));
}

// The newer base's WAL is incomplete (a segment of it never reached the archive), so the
// latest recoverable point comes from the older base: the policy alone would delete it.
TEST_F(StoreFixture, TheSetTheLatestRecoverablePointNeedsIsKeptWithAWarning) {
  const std::string older = id_at("2026-11-22 10:00");
  const std::string newer = id_at("2026-11-22 11:00");
  add_set(base_manifest("2026-11-22 10:00", 2, 3));
  add_set(base_manifest("2026-11-22 11:00", 5, 6));
  add_wal(2, 4, test::at("2026-11-22 11:10"));
  add_wal(6, 8, test::at("2026-11-22 11:20"));  // 5 is missing: the newer base is unusable

  std::vector<PruneEntry> entries = prune("ramsafe.local_base_retention = 'last=1'", false);
  const PruneEntry& kept = entry(entries, older);
  EXPECT_TRUE(kept.keep);
  EXPECT_EQ(kept.reason,
            "base backup: not selected by last=1, but kept: the latest recoverable point "
            "(2026-11-22T11:10:00.000Z) depends on it");
  EXPECT_NE(kept.warning.find("local: retention would have moved the latest recoverable point "
                              "back from 2026-11-22T11:10:00.000Z to nothing by deleting " +
                              older),
            std::string::npos)
      << kept.warning;
  EXPECT_EQ(entry(entries, newer).warning, "");
  EXPECT_EQ(sets_left(), (std::set<std::string>{older, newer}));
  EXPECT_EQ(wal_left().count(seg(2)), 1u) << "the kept base's WAL stays";
}

TEST(KeepRecoverablePointTest, OnlyActsWhenTheLatestPointWouldMoveBack) {
  std::vector<SetEntry> sets = {entry_of(manifest("2026-11-22 12:00")),
                                entry_of(base_manifest("2026-11-22 10:00", 2, 3))};
  std::vector<StoredWalFile> wal;
  for (int n = 2; n <= 9; ++n) wal.push_back(stored(n, test::at("2026-11-22 12:30")));

  // The base's WAL reaches 12:30, past the logical set: deleting it would move the point.
  std::vector<RetentionDecision> decisions = {{sets[0].id, true, {"last 1 of 1"}},
                                              {sets[1].id, false, {"not selected by last=1"}}};
  WindowGuard guard = keep_recoverable_point(decisions, sets, wal, {});
  EXPECT_EQ(guard.kept_id, sets[1].id);
  EXPECT_TRUE(decisions[1].keep);
  EXPECT_NE(guard.warning.find("from 2026-11-22T12:30:00.000Z to 2026-11-22T12:00:00.000Z"),
            std::string::npos)
      << guard.warning;

  // Already kept: nothing to do, no warning.
  decisions[1] = {sets[1].id, true, {"base backup: last 1 of 1"}};
  guard = keep_recoverable_point(decisions, sets, wal, {});
  EXPECT_EQ(guard.kept_id, "");
  EXPECT_EQ(guard.warning, "");

  // Without archived WAL the base reaches only its own finish, before the logical set: it
  // may go.
  decisions[1] = {sets[1].id, false, {"not selected by last=1"}};
  guard = keep_recoverable_point(decisions, sets, {}, {});
  EXPECT_EQ(guard.kept_id, "");
  EXPECT_FALSE(decisions[1].keep);
}

// Issue 15: a superseded offline snapshot whose WAL reaches past the newer set is kept by
// the guard; without that WAL it goes.
TEST(KeepRecoverablePointTest, KeepsASupersededOfflineSnapshotWhoseWalReachesFurther) {
  Manifest snapshot = manifest("2026-11-22 10:00");
  snapshot.kind = "offline";
  OfflineInfo o;
  o.timeline = 1;
  o.checkpoint_lsn = o.redo_lsn = lsn(2, 0x28);
  o.redo_wal_file = seg(2);
  o.wal_segment_size = kSeg;
  o.pg_major = 15;
  o.cluster_state = "shut down";
  snapshot.offline = o;
  std::vector<SetEntry> sets = {entry_of(manifest("2026-11-22 12:00")), entry_of(snapshot)};
  std::vector<StoredWalFile> wal = {stored(2, test::at("2026-11-22 11:00")),
                                    stored(3, test::at("2026-11-22 12:30"))};
  std::vector<RetentionCandidate> candidates = {{sets[0].id, test::at("2026-11-22 12:00"), true},
                                                {sets[1].id, test::at("2026-11-22 10:00"), true}};
  candidates[1].offline = true;
  auto decisions = decide_store_retention(
      candidates, {RetentionPolicy::parse("last=3"), RetentionPolicy::parse("last=2")},
      TimeZone::utc());
  ASSERT_FALSE(decisions[1].keep);
  EXPECT_EQ(decisions[1].reason_text(), "offline snapshot: superseded by " + sets[0].id);
  WindowGuard guard = keep_recoverable_point(decisions, sets, wal, {});
  EXPECT_EQ(guard.kept_id, sets[1].id);
  EXPECT_TRUE(decisions[1].keep);
  EXPECT_NE(guard.warning.find("from 2026-11-22T12:30:00.000Z to 2026-11-22T12:00:00.000Z"),
            std::string::npos)
      << guard.warning;

  // No WAL after it: the snapshot reaches 10:00 only, and may go.
  decisions[1] = {sets[1].id, false, {"offline snapshot: superseded by " + sets[0].id}};
  guard = keep_recoverable_point(decisions, sets, {stored(1, test::at("2026-11-22 09:00"))}, {});
  EXPECT_EQ(guard.kept_id, "");
  EXPECT_FALSE(decisions[1].keep);
}

}  // namespace
}  // namespace ramsafe
