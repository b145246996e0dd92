#include "core/schedule/scheduler.h"

#include <gtest/gtest.h>

#include "core/schedule/timezone.h"

namespace ramsafe {
namespace {

// 2026-11-22 10:00:00 UTC
constexpr int64_t kTen = 1795341600;
constexpr int64_t kHour = 3600;

Scheduler hourly() {
  return Scheduler(CronSchedule::parse("0 * * * *"), TimeZone::utc());
}

TEST(Scheduler, FreshBackupAtStartMeansNoCatchUpAndTheNextHour) {
  Scheduler s = hourly();
  s.start(kTen + 600, kTen + 300);  // 10:10, backup at 10:05
  EXPECT_FALSE(s.catch_up_pending());
  EXPECT_EQ(s.next_run(), kTen + kHour);
  EXPECT_FALSE(s.due(kTen + 1800));
  EXPECT_TRUE(s.due(kTen + kHour));
  s.ran(kTen + kHour + 5);
  EXPECT_EQ(s.next_run(), kTen + 2 * kHour);
  EXPECT_FALSE(s.due(kTen + kHour + 10));
}

TEST(Scheduler, CatchUpWhenNoBackupOrAMissedTime) {
  Scheduler none = hourly();
  none.start(kTen + 600, std::nullopt);
  EXPECT_TRUE(none.catch_up_pending());
  EXPECT_FALSE(none.had_backup_at_start());
  EXPECT_TRUE(none.due(kTen + 600));
  EXPECT_EQ(none.wait_ms(kTen + 600, 60000), 100);
  none.ran(kTen + 610);
  EXPECT_FALSE(none.due(kTen + 620));

  Scheduler missed = hourly();
  missed.start(kTen + 600, kTen - kHour + 300);  // newest 09:05: 10:00 was missed
  EXPECT_TRUE(missed.catch_up_pending());
  EXPECT_TRUE(missed.had_backup_at_start());
  EXPECT_TRUE(missed.due(kTen + 600));
}

TEST(Scheduler, ForwardClockJumpGivesOneBackupNotABurst) {
  Scheduler s = hourly();
  s.start(kTen + 600, kTen + 300);
  // The clock jumps five hours ahead: five scheduled times were skipped.
  int64_t later = kTen + 5 * kHour + 600;
  EXPECT_TRUE(s.due(later));
  s.ran(later + 30);
  int runs = 1;
  for (int64_t t = later + 31; t < kTen + 6 * kHour; t += 60) runs += s.due(t) ? 1 : 0;
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(s.next_run(), kTen + 6 * kHour);
}

TEST(Scheduler, BackwardClockJumpRecomputesTheNextTime) {
  Scheduler s = hourly();
  s.start(kTen + 600, kTen + 300);
  EXPECT_EQ(s.next_run(), kTen + kHour);
  // The clock goes back three hours: the next time is 08:00, not 11:00.
  EXPECT_FALSE(s.due(kTen - 3 * kHour + 600));
  EXPECT_EQ(s.next_run(), kTen - 2 * kHour);
  EXPECT_TRUE(s.due(kTen - 2 * kHour));
}

TEST(Scheduler, DisabledNeverDueAndSleepsTheMaximum) {
  Scheduler s(std::nullopt, TimeZone::utc());
  s.start(kTen, std::nullopt);
  EXPECT_FALSE(s.catch_up_pending());
  EXPECT_FALSE(s.due(kTen + 10 * kHour));
  EXPECT_EQ(s.next_run(), 0);
  EXPECT_EQ(s.wait_ms(kTen, 60000), 60000);
}

TEST(Scheduler, ReconfigureKeepsAPendingCatchUpAndMovesTheNextTime) {
  Scheduler s = hourly();
  s.start(kTen + 600, std::nullopt);
  s.reconfigure(CronSchedule::parse("*/5 * * * *"), TimeZone::utc(), kTen + 610);
  EXPECT_TRUE(s.catch_up_pending());
  EXPECT_EQ(s.next_run(), kTen + 900);
  s.ran(kTen + 620);
  EXPECT_EQ(s.wait_ms(kTen + 620, 60000), 60000);  // 280 s away: capped
  EXPECT_EQ(s.wait_ms(kTen + 899, 60000), 1000);
  s.reconfigure(std::nullopt, TimeZone::utc(), kTen + 700);
  EXPECT_FALSE(s.due(kTen + 900));
}

TEST(Scheduler, EvaluatesInItsTimeZone) {
  // Daily at 02:30 in Berlin: 01:30 UTC in winter.
  Scheduler s(CronSchedule::parse("30 2 * * *"), TimeZone::load("Europe/Berlin"));
  s.start(kTen, kTen - 60);
  EXPECT_EQ(s.next_run(), kTen + 15 * kHour + 1800);  // 2026-11-23 01:30 UTC
}

}  // namespace
}  // namespace ramsafe
