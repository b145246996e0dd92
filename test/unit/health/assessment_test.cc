#include "core/health/assessment.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "test/unit/test_util.h"

namespace ramsafe {
namespace {

constexpr int64_t kNow = 1795302300000;  // 2026-11-21 23:05:00 UTC

// Facts of a healthy local store: one logical set 10 minutes old, hourly schedule.
HealthFacts healthy() {
  HealthFacts f;
  f.now_ms = kNow;
  f.cluster = "main";
  f.config.path = "/etc/ramsafe/ramsafe.conf";
  f.config.read = true;
  Settings s;
  s.local_dir = "/var/backups/ramsafe";
  s.timezone = "UTC";
  f.settings = s;
  StoreHealth local;
  local.kind = "local";
  local.location = "local /var/backups/ramsafe/main";
  local.listed = true;
  local.usable_sets = 1;
  local.newest = SetSummary{"20261121T225500Z", "logical", kNow - 600 * 1000, 1000, 2};
  local.newest_logical = local.newest;
  local.filesystem_bytes = 100ull << 30;
  local.free_bytes = 50ull << 30;
  f.stores.push_back(local);
  f.server.asked = false;
  return f;
}

Assessment judge(const HealthFacts& f, const ThresholdOptions& o = {}) {
  return assess(f, resolve_thresholds(o, f));
}

const CheckResult* result(const Assessment& a, const std::string& name) {
  for (const auto& r : a.results)
    if (r.name == name) return &r;
  return nullptr;
}

const PerfDatum* perf(const Assessment& a, const std::string& label) {
  for (const auto& d : a.perfdata)
    if (d.label == label) return &d;
  return nullptr;
}

TEST(HealthState, WorseOrdersCriticalWarningUnknownOk) {
  using S = HealthState;
  EXPECT_EQ(worse(S::kOk, S::kUnknown), S::kUnknown);
  EXPECT_EQ(worse(S::kUnknown, S::kWarning), S::kWarning);
  EXPECT_EQ(worse(S::kWarning, S::kCritical), S::kCritical);
  EXPECT_EQ(worse(S::kCritical, S::kUnknown), S::kCritical);
  EXPECT_EQ(worse(S::kOk, S::kOk), S::kOk);
  EXPECT_EQ(static_cast<int>(S::kUnknown), 3);
  EXPECT_STREQ(state_name(S::kWarning), "WARNING");
}

TEST(HealthParse, Durations) {
  EXPECT_EQ(parse_duration("90"), 90);
  EXPECT_EQ(parse_duration("90s"), 90);
  EXPECT_EQ(parse_duration("30m"), 1800);
  EXPECT_EQ(parse_duration("2h"), 7200);
  EXPECT_EQ(parse_duration("1d"), 86400);
  EXPECT_EQ(parse_duration("1h30m"), 5400);
  EXPECT_EQ(parse_duration(""), std::nullopt);
  EXPECT_EQ(parse_duration("1h30"), std::nullopt);
  EXPECT_EQ(parse_duration("-5m"), std::nullopt);
  EXPECT_EQ(parse_duration("5 m"), std::nullopt);
  EXPECT_EQ(parse_duration("2w"), std::nullopt);
  EXPECT_EQ(parse_duration("99999999999999999999d"), std::nullopt);
}

TEST(HealthParse, PercentAndFreeSpace) {
  EXPECT_EQ(parse_percent("80"), 80.0);
  EXPECT_EQ(parse_percent("92.5%"), 92.5);
  EXPECT_EQ(parse_percent("101"), std::nullopt);
  EXPECT_EQ(parse_percent("-1"), std::nullopt);
  EXPECT_EQ(parse_percent("nan"), std::nullopt);
  EXPECT_EQ(parse_percent(""), std::nullopt);
  std::optional<FreeSpace> pct = parse_free_space("10%");
  ASSERT_TRUE(pct);
  EXPECT_TRUE(pct->percent);
  EXPECT_EQ(pct->bytes_of(1000), 100u);
  std::optional<FreeSpace> size = parse_free_space("2GB");
  ASSERT_TRUE(size);
  EXPECT_FALSE(size->percent);
  EXPECT_EQ(size->bytes_of(1), 2ull << 30);
  EXPECT_EQ(parse_free_space("2 GB"), std::nullopt);
  EXPECT_EQ(parse_free_space("lots"), std::nullopt);
}

TEST(HealthSchedule, PeriodIsTheLongestGapInAWeek) {
  int64_t now = test::at("2026-11-21 23:05");  // a Saturday
  EXPECT_EQ(schedule_period_seconds("0 * * * *", "UTC", now), 3600);
  EXPECT_EQ(schedule_period_seconds("*/15 * * * *", "UTC", now), 900);
  EXPECT_EQ(schedule_period_seconds("@daily", "UTC", now), 86400);
  EXPECT_EQ(schedule_period_seconds("* * * * *", "UTC", now), 60);
  // Weekdays at nine: Friday 09:00 to Monday 09:00.
  EXPECT_EQ(schedule_period_seconds("0 9 * * 1-5", "UTC", now), 3 * 86400);
  // Monthly: the gap to the next month, beyond the week looked at.
  std::optional<int64_t> monthly = schedule_period_seconds("0 0 1 * *", "UTC", now);
  ASSERT_TRUE(monthly);
  EXPECT_GE(*monthly, 28 * 86400);
  EXPECT_EQ(schedule_period_seconds("0 0 30 2 *", "UTC", now), std::nullopt);  // never
  EXPECT_EQ(schedule_period_seconds("", "UTC", now), std::nullopt);
  EXPECT_EQ(schedule_period_seconds("not cron", "UTC", now), std::nullopt);
}

TEST(HealthThresholds, AgeDefaultsFollowTheSchedule) {
  HealthFacts f = healthy();
  Thresholds hourly = resolve_thresholds({}, f);
  EXPECT_EQ(hourly.warn_age_s, 5400);
  EXPECT_EQ(hourly.crit_age_s, 3 * 3600);
  EXPECT_NE(hourly.age_basis.find("ramsafe.schedule '0 * * * *'"), std::string::npos);

  f.settings->schedule = "30 3 * * *";
  Thresholds daily = resolve_thresholds({}, f);
  EXPECT_EQ(daily.warn_age_s, 36 * 3600);
  EXPECT_EQ(daily.crit_age_s, 72 * 3600);

  // With WAL archiving, a more frequent base backup schedule counts.
  f.settings->schedule = "";
  f.settings->base_backup_schedule = "0 */6 * * *";
  Thresholds base = resolve_thresholds({}, f);
  EXPECT_EQ(base.warn_age_s, 9 * 3600);
  EXPECT_EQ(base.crit_age_s, 18 * 3600);

  f.settings->base_backup_schedule = "";
  Thresholds none = resolve_thresholds({}, f);
  EXPECT_EQ(none.warn_age_s, 36 * 3600);
  EXPECT_NE(none.age_basis.find("no schedule"), std::string::npos);

  f.settings->schedule = "*/5 * * * *";
  Thresholds frequent = resolve_thresholds({}, f);
  EXPECT_EQ(frequent.warn_age_s, 300 + 1800);
  EXPECT_EQ(frequent.crit_age_s, 300 + 7200);
}

TEST(HealthThresholds, OneSidedOptionPullsTheOtherAlong) {
  HealthFacts f = healthy();
  ThresholdOptions o;
  o.warn_age_s = 5 * 3600;  // above the default critical 3 h
  Thresholds t = resolve_thresholds(o, f);
  EXPECT_EQ(t.warn_age_s, 5 * 3600);
  EXPECT_EQ(t.crit_age_s, 5 * 3600);
  ThresholdOptions c;
  c.crit_age_s = 3600;  // below the default warning 1.5 h
  t = resolve_thresholds(c, f);
  EXPECT_EQ(t.warn_age_s, 3600);
  EXPECT_EQ(t.crit_age_s, 3600);
}

TEST(HealthThresholds, BacklogFollowsTheLimitAndRamTheWarnPercent) {
  HealthFacts f = healthy();
  f.settings->wal_backlog_limit = "1GB";
  f.settings->ram_warn_percent = 70;
  Thresholds t = resolve_thresholds({}, f);
  EXPECT_EQ(t.warn_backlog_bytes, 512ull << 20);
  EXPECT_EQ(t.crit_backlog_bytes, (1ull << 30) / 10 * 9);
  EXPECT_EQ(t.warn_ram_percent, 70);
  EXPECT_EQ(t.crit_ram_percent, 85);
  f.settings->wal_backlog_limit = "0";
  f.ram.measured = true;
  f.ram.filesystem_bytes = 4ull << 30;
  t = resolve_thresholds({}, f);
  EXPECT_EQ(t.warn_backlog_bytes, 1ull << 30);
  EXPECT_EQ(t.crit_backlog_bytes, 2ull << 30);
}

TEST(HealthAssess, HealthyIsOk) {
  Assessment a = judge(healthy());
  EXPECT_EQ(a.state, HealthState::kOk);
  EXPECT_NE(a.summary.find("newest backup 20261121T225500Z (logical) 10 min old"),
            std::string::npos)
      << a.summary;
  const PerfDatum* age = perf(a, "backup_age");
  ASSERT_NE(age, nullptr);
  EXPECT_EQ(age->value, "600");
  EXPECT_EQ(age->uom, "s");
  EXPECT_EQ(age->warn, "5400");
  EXPECT_EQ(age->crit, "10800");
}

TEST(HealthAssess, AgeThresholdsGiveWarningThenCritical) {
  HealthFacts f = healthy();
  ThresholdOptions o;
  o.warn_age_s = 600;  // equal: still inside the range
  o.crit_age_s = 1200;
  EXPECT_EQ(judge(f, o).state, HealthState::kOk);
  f.stores[0].newest->finished_ms = kNow - 601 * 1000;
  Assessment w = judge(f, o);
  EXPECT_EQ(w.state, HealthState::kWarning);
  EXPECT_EQ(result(w, "backup age")->state, HealthState::kWarning);
  EXPECT_NE(w.summary.find("backup age: newest usable backup"), std::string::npos) << w.summary;
  f.stores[0].newest->finished_ms = kNow - 1201 * 1000;
  EXPECT_EQ(judge(f, o).state, HealthState::kCritical);
}

TEST(HealthAssess, NoUsableBackupIsCritical) {
  HealthFacts f = healthy();
  f.stores[0].usable_sets = 0;
  f.stores[0].newest.reset();
  f.stores[0].unusable_sets = 1;
  f.stores[0].newest_unusable = "20261121T225500Z: no manifest.json";
  Assessment a = judge(f);
  EXPECT_EQ(a.state, HealthState::kCritical);
  EXPECT_EQ(result(a, "backup age")->text, "no usable backup in local /var/backups/ramsafe/main");
  EXPECT_EQ(result(a, "store local")->state, HealthState::kWarning);
  EXPECT_EQ(perf(a, "local_unusable")->value, "1");
  EXPECT_EQ(perf(a, "local_unusable")->warn, "0");
}

TEST(HealthAssess, ConfigurationProblemsAreCritical) {
  HealthFacts f = healthy();
  f.config.problems.push_back({"unknown_setting", "ramsafe.compresion_level",
                               "unrecognized setting ramsafe.compresion_level at x.conf:3"});
  Assessment a = judge(f);
  EXPECT_EQ(a.state, HealthState::kCritical);
  EXPECT_EQ(perf(a, "config_problems")->value, "1");
  EXPECT_EQ(perf(a, "config_problems")->crit, "0");

  HealthFacts s = healthy();
  s.config.problems.push_back({"invalid_value", "ramsafe.schedule", "x.conf:2: invalid value"});
  s.config.rejected_schedules.push_back("ramsafe.schedule");
  Assessment r = judge(s);
  EXPECT_EQ(r.state, HealthState::kCritical);
  EXPECT_NE(r.summary.find("the server rejects it"), std::string::npos) << r.summary;
}

TEST(HealthAssess, UnreadableThingsAreUnknownOnlyWhenNothingWorseIsSeen) {
  HealthFacts f = healthy();
  f.config.read = false;
  f.config.permission_denied = true;
  f.config.error = "could not open configuration file \"/etc/x\": Permission denied";
  f.settings.reset();
  f.stores.clear();
  Assessment a = judge(f);
  EXPECT_EQ(a.state, HealthState::kUnknown);
  EXPECT_NE(a.summary.find("run check as the server's OS user"), std::string::npos);

  HealthFacts g = healthy();
  g.stores[0].listed = false;
  g.stores[0].permission_denied = true;
  g.stores[0].error = "permission denied";
  g.stores[0].newest.reset();
  EXPECT_EQ(judge(g).state, HealthState::kUnknown);

  // A missing configuration file is the boot path's problem too: CRITICAL.
  HealthFacts m = healthy();
  m.config.read = false;
  m.config.error = "could not open configuration file: No such file or directory";
  m.settings.reset();
  m.stores.clear();
  EXPECT_EQ(judge(m).state, HealthState::kCritical);
}

TEST(HealthAssess, DriveUnreachableIsAWarningBesideALocalStore) {
  HealthFacts f = healthy();
  StoreHealth drive;
  drive.kind = "drive";
  drive.location = "drive My Drive/main";
  drive.error = "Drive did not answer";
  f.stores.push_back(drive);
  EXPECT_EQ(judge(f).state, HealthState::kWarning);
  f.stores.erase(f.stores.begin());  // Drive alone
  EXPECT_EQ(judge(f).state, HealthState::kCritical);
}

TEST(HealthAssess, DriveLagFromTheOldestThingDriveLacks) {
  HealthFacts f = healthy();
  StoreHealth drive;
  drive.kind = "drive";
  drive.location = "drive My Drive/main";
  drive.listed = true;
  drive.pending_known = true;
  drive.pending_sets = 1;
  drive.oldest_pending_set_ms = kNow - 2 * 3600 * 1000;
  drive.pending_wal_files = 3;
  drive.oldest_pending_wal_ms = kNow - 4 * 3600 * 1000;
  f.stores.push_back(drive);
  Assessment a = judge(f);
  EXPECT_EQ(result(a, "drive lag")->state, HealthState::kWarning);
  EXPECT_EQ(perf(a, "drive_lag")->value, std::to_string(4 * 3600));
  EXPECT_EQ(perf(a, "drive_pending_wal")->value, "3");
  f.stores[1].pending_sets = 0;
  f.stores[1].pending_wal_files = 0;
  f.stores[1].oldest_pending_set_ms.reset();
  f.stores[1].oldest_pending_wal_ms.reset();
  Assessment ok = judge(f);
  EXPECT_EQ(result(ok, "drive lag")->state, HealthState::kOk);
  EXPECT_EQ(perf(ok, "drive_lag")->value, "0");
}

TEST(HealthAssess, FreeSpaceAndTheNextBackupFitting) {
  HealthFacts f = healthy();
  f.stores[0].free_bytes = 8ull << 30;  // 8% of 100 GiB
  Assessment w = judge(f);
  EXPECT_EQ(result(w, "free space")->state, HealthState::kWarning);
  const PerfDatum* free = perf(w, "local_free");
  ASSERT_NE(free, nullptr);
  EXPECT_EQ(free->uom, "B");
  EXPECT_EQ(free->warn, std::to_string((100ull << 30) / 10) + ":");
  EXPECT_EQ(free->max, std::to_string(100ull << 30));
  f.stores[0].free_bytes = 60ull << 30;
  f.stores[0].newest->stored_bytes = 70ull << 30;
  Assessment c = judge(f);
  EXPECT_EQ(result(c, "free space")->state, HealthState::kCritical);
  EXPECT_NE(result(c, "free space")->text.find("the next backup does not fit"), std::string::npos);
}

TEST(HealthAssess, ServerFacts) {
  HealthFacts f = healthy();
  f.server.asked = true;
  f.server.target = "postgres@/run/postgresql:5432/postgres";
  f.server.error = "connection refused";
  Assessment down = judge(f);
  EXPECT_EQ(down.state, HealthState::kOk);
  EXPECT_NE(result(down, "server")->text.find("judged from the stores alone"), std::string::npos);
  EXPECT_NE(down.summary.find("server down"), std::string::npos);

  f.server.up = true;
  f.server.status_error = "function ramsafe_status() does not exist";
  EXPECT_EQ(judge(f).state, HealthState::kWarning);

  f.server.status_available = true;
  f.server.worker_pid = 4242;
  f.server.schedule = "0 * * * *";
  f.server.last_finished_ms = kNow - 3600 * 1000;
  f.server.last_error_ms = kNow - 60 * 1000;
  f.server.last_error = "pg_dump failed";
  Assessment failed = judge(f);
  EXPECT_EQ(failed.state, HealthState::kWarning);
  EXPECT_NE(result(failed, "last backup")->text.find("pg_dump failed"), std::string::npos);

  f.server.last_error_ms = kNow - 7200 * 1000;  // before the last success
  f.server.archiving = true;
  f.server.wal_backlog_bytes = 48ll << 20;
  f.server.wal_backlog_oldest_ms = kNow - 20 * 60 * 1000;
  f.server.last_archive_error = "No space left on device";
  Assessment wal = judge(f);
  EXPECT_EQ(result(wal, "WAL archive lag")->state, HealthState::kWarning);
  EXPECT_NE(result(wal, "WAL archive lag")->text.find("No space left"), std::string::npos);
  EXPECT_EQ(result(wal, "WAL backlog")->state, HealthState::kOk);
  EXPECT_EQ(perf(wal, "wal_lag")->value, "1200");
  EXPECT_EQ(perf(wal, "wal_backlog")->value, std::to_string(48ll << 20));
  f.server.worker_pid.reset();
  EXPECT_EQ(result(judge(f), "server")->state, HealthState::kWarning);
}

TEST(HealthAssess, RamUse) {
  HealthFacts f = healthy();
  f.ram.measured = true;
  f.ram.directory = "/run/pg";
  f.ram.filesystem_bytes = 1000;
  f.ram.used_bytes = 850;
  Assessment a = judge(f);
  EXPECT_EQ(result(a, "RAM")->state, HealthState::kWarning);
  EXPECT_EQ(perf(a, "ram_used")->value, "85.0");
  EXPECT_EQ(perf(a, "ram_used")->uom, "%");
  f.ram.used_bytes = 950;
  EXPECT_EQ(judge(f).state, HealthState::kCritical);
}

TEST(HealthAssess, NeverFiringScheduleWarns) {
  HealthFacts f = healthy();
  f.settings->schedule = "0 0 30 2 *";
  Assessment a = judge(f);
  EXPECT_EQ(result(a, "schedule")->state, HealthState::kWarning);
}

TEST(HealthAssess, WalChainBreakWarns) {
  HealthFacts f = healthy();
  f.stores[0].wal_chain_broken_at = "000000010000000000000007";
  EXPECT_EQ(result(judge(f), "WAL chain")->state, HealthState::kWarning);
}

TEST(HealthAssess, ARollbackIsCritical) {
  HealthFacts f = healthy();
  EXPECT_EQ(result(judge(f), "freshness"), nullptr);
  f.rollback = "ROLLBACK: the newest trusted set is older than 20261122T031500Z";
  Assessment a = judge(f);
  ASSERT_NE(result(a, "freshness"), nullptr);
  EXPECT_EQ(result(a, "freshness")->state, HealthState::kCritical);
  EXPECT_EQ(a.state, HealthState::kCritical);
}

}  // namespace
}  // namespace ramsafe
