#include "core/schedule/cron.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/schedule/timezone.h"
#include "test/unit/test_util.h"

namespace ramsafe {
namespace {

using test::at;

std::string utc_text(std::optional<int64_t> t) {
  return t ? format_civil(civil_from_seconds(*t)) : "never";
}

// The fire instants after `from`, as UTC text.
std::vector<std::string> fires(const char* expression, const TimeZone& zone, const char* from,
                               size_t count) {
  const CronSchedule schedule = CronSchedule::parse(expression);
  std::vector<std::string> out;
  std::optional<int64_t> t = at(from);
  while (out.size() < count) {
    t = schedule.next_after(*t, zone);
    out.push_back(utc_text(t));
    if (!t) break;
  }
  return out;
}

struct NextCase {
  const char* expression;
  const char* zone;
  const char* from;                   // UTC
  std::vector<const char*> expected;  // UTC, consecutive
};

void check_cases(const std::vector<NextCase>& cases) {
  for (const NextCase& c : cases) {
    SCOPED_TRACE(std::string("\"") + c.expression + "\" in " + c.zone + " after " + c.from);
    const TimeZone zone = TimeZone::load(c.zone);
    EXPECT_EQ(fires(c.expression, zone, c.from, c.expected.size()),
              std::vector<std::string>(c.expected.begin(), c.expected.end()));
  }
}

TEST(CronScheduleTest, NextAfterInUtc) {
  check_cases({
      {"* * * * *", "UTC", "2026-01-01 00:00:00", {"2026-01-01 00:01:00", "2026-01-01 00:02:00"}},
      {"* * * * *", "UTC", "2026-01-01 00:00:30", {"2026-01-01 00:01:00"}},
      {"0 * * * *", "UTC", "2026-01-01 00:00:00", {"2026-01-01 01:00:00", "2026-01-01 02:00:00"}},
      {"*/15 * * * *",
       "UTC",
       "2026-01-01 00:14:59",
       {"2026-01-01 00:15:00", "2026-01-01 00:30:00", "2026-01-01 00:45:00",
        "2026-01-01 01:00:00"}},
      {"5,10 * * * *",
       "UTC",
       "2026-01-01 00:07:00",
       {"2026-01-01 00:10:00", "2026-01-01 01:05:00"}},
      {"10/20 * * * *",
       "UTC",
       "2026-01-01 00:00:00",
       {"2026-01-01 00:10:00", "2026-01-01 00:30:00", "2026-01-01 00:50:00",
        "2026-01-01 01:10:00"}},
      {"0 0-23/6 * * *",
       "UTC",
       "2026-01-01 00:00:00",
       {"2026-01-01 06:00:00", "2026-01-01 12:00:00", "2026-01-01 18:00:00",
        "2026-01-02 00:00:00"}},
      {"0 9-17/4 * * *",
       "UTC",
       "2026-01-01 10:00:00",
       {"2026-01-01 13:00:00", "2026-01-01 17:00:00", "2026-01-02 09:00:00"}},
      {"0 0 * * *", "UTC", "2026-12-31 23:59:00", {"2027-01-01 00:00:00"}},
      {"59 23 31 12 *", "UTC", "2026-12-31 23:59:00", {"2027-12-31 23:59:00"}},
      // The 31st skips the short months.
      {"0 0 31 * *",
       "UTC",
       "2026-01-31 00:00:00",
       {"2026-03-31 00:00:00", "2026-05-31 00:00:00", "2026-07-31 00:00:00", "2026-08-31 00:00:00",
        "2026-10-31 00:00:00", "2026-12-31 00:00:00", "2027-01-31 00:00:00"}},
      {"0 12 30 * *", "UTC", "2026-01-30 12:00:00", {"2026-03-30 12:00:00"}},
      // 29 February.
      {"0 0 29 2 *", "UTC", "2026-01-01 00:00:00", {"2028-02-29 00:00:00", "2032-02-29 00:00:00"}},
      {"0 0 29 2 *", "UTC", "2097-01-01 00:00:00", {"2104-02-29 00:00:00"}},
      {"0 0 30 2 *", "UTC", "2026-01-01 00:00:00", {"never"}},
      {"0 0 31 4,6,9,11 *", "UTC", "2026-01-01 00:00:00", {"never"}},
      // Both day fields restricted: either may match (2026-01-01 is a Thursday).
      {"0 0 1 * 1",
       "UTC",
       "2026-01-01 00:00:00",
       {"2026-01-05 00:00:00", "2026-01-12 00:00:00", "2026-01-19 00:00:00", "2026-01-26 00:00:00",
        "2026-02-01 00:00:00", "2026-02-02 00:00:00"}},
      {"30 4 1,15 * 5",
       "UTC",
       "2026-01-01 00:00:00",
       {"2026-01-01 04:30:00", "2026-01-02 04:30:00", "2026-01-09 04:30:00", "2026-01-15 04:30:00",
        "2026-01-16 04:30:00"}},
      // One day field restricted: it alone decides.
      {"0 0 * * 1", "UTC", "2026-01-01 00:00:00", {"2026-01-05 00:00:00", "2026-01-12 00:00:00"}},
      {"0 0 13 * *", "UTC", "2026-01-01 00:00:00", {"2026-01-13 00:00:00", "2026-02-13 00:00:00"}},
      // As in Vixie cron, `*/2` counts as unrestricted: odd days that are Mondays.
      {"0 0 */2 * 1",
       "UTC",
       "2026-01-01 00:00:00",
       {"2026-01-05 00:00:00", "2026-01-19 00:00:00", "2026-02-09 00:00:00"}},
      // Friday the 13th needs both: not expressible, so it is either.
      {"0 0 13 * 5",
       "UTC",
       "2026-02-01 00:00:00",
       {"2026-02-06 00:00:00", "2026-02-13 00:00:00", "2026-02-20 00:00:00"}},
      // Names, any case; 7 is Sunday.
      {"0 12 * JAN-MAR mon-FRI",
       "UTC",
       "2026-03-30 12:00:00",
       {"2026-03-31 12:00:00", "2027-01-01 12:00:00", "2027-01-04 12:00:00"}},
      {"0 9 * * sun", "UTC", "2026-01-01 00:00:00", {"2026-01-04 09:00:00"}},
      {"0 9 * * 7", "UTC", "2026-01-01 00:00:00", {"2026-01-04 09:00:00"}},
      {"0 9 * * 5-7",
       "UTC",
       "2026-01-01 00:00:00",
       {"2026-01-02 09:00:00", "2026-01-03 09:00:00", "2026-01-04 09:00:00",
        "2026-01-09 09:00:00"}},
      {"0 9 * * MON/2",
       "UTC",
       "2026-01-01 00:00:00",
       {"2026-01-02 09:00:00", "2026-01-05 09:00:00", "2026-01-07 09:00:00",
        "2026-01-09 09:00:00"}},
      {"0 0 1 jun,Dec *",
       "UTC",
       "2026-01-01 00:00:00",
       {"2026-06-01 00:00:00", "2026-12-01 00:00:00"}},
      // Macros.
      {"@yearly", "UTC", "2026-01-01 00:00:00", {"2027-01-01 00:00:00"}},
      {"@annually", "UTC", "2026-05-01 00:00:00", {"2027-01-01 00:00:00"}},
      {"@monthly", "UTC", "2026-01-15 00:00:00", {"2026-02-01 00:00:00", "2026-03-01 00:00:00"}},
      {"@weekly", "UTC", "2026-01-01 00:00:00", {"2026-01-04 00:00:00", "2026-01-11 00:00:00"}},
      {"@daily", "UTC", "2026-01-01 00:00:00", {"2026-01-02 00:00:00"}},
      {"@midnight", "UTC", "2026-01-01 12:00:00", {"2026-01-02 00:00:00"}},
      {"@hourly", "UTC", "2026-01-01 00:30:00", {"2026-01-01 01:00:00"}},
      {"  @DAILY  ", "UTC", "2026-01-01 00:00:00", {"2026-01-02 00:00:00"}},
      // Extra blanks between fields; times before 1970.
      {" 0\t0  *  * * ", "UTC", "1969-12-31 12:00:00", {"1970-01-01 00:00:00"}},
      {"0 0 29 2 *", "UTC", "1896-03-01 00:00:00", {"1904-02-29 00:00:00"}},
  });
}

TEST(CronScheduleTest, NextAfterInOtherZones) {
  check_cases({
      {"0 9 * * *", "Asia/Kolkata", "2026-01-01 00:00:00", {"2026-01-01 03:30:00"}},
      {"0 0 * * *", "Asia/Kolkata", "2026-01-01 00:00:00", {"2026-01-01 18:30:00"}},
      {"0 0 1 1 *", "America/New_York", "2026-01-01 04:00:00", {"2026-01-01 05:00:00"}},
      {"0 12 * * *", "Europe/Berlin", "2026-06-01 10:00:00", {"2026-06-02 10:00:00"}},
      {"0 12 * * *", "Europe/Berlin", "2026-06-01 09:59:59", {"2026-06-01 10:00:00"}},
      // The local day decides the weekday: Monday 00:30 in Berlin is Sunday in UTC.
      {"30 0 * * 1", "Europe/Berlin", "2026-01-01 00:00:00", {"2026-01-04 23:30:00"}},
  });
}

TEST(CronScheduleTest, SpringForward) {
  check_cases({
      // Europe/Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00 UTC.
      {"30 2 * * *",
       "Europe/Berlin",
       "2026-03-28 12:00:00",
       {"2026-03-29 01:00:00", "2026-03-30 00:30:00"}},
      {"0 2 * * *", "Europe/Berlin", "2026-03-28 12:00:00", {"2026-03-29 01:00:00"}},
      {"0 3 * * *",
       "Europe/Berlin",
       "2026-03-28 12:00:00",
       {"2026-03-29 01:00:00", "2026-03-30 01:00:00"}},
      {"0,30 2 * * *",
       "Europe/Berlin",
       "2026-03-28 12:00:00",
       {"2026-03-29 01:00:00", "2026-03-30 00:00:00"}},
      {"0 * * * *",
       "Europe/Berlin",
       "2026-03-28 23:30:00",
       {"2026-03-29 00:00:00", "2026-03-29 01:00:00", "2026-03-29 02:00:00"}},
      {"*/15 * * * *",
       "Europe/Berlin",
       "2026-03-29 00:30:00",
       {"2026-03-29 00:45:00", "2026-03-29 01:00:00", "2026-03-29 01:15:00"}},
      {"15 * * * *",
       "Europe/Berlin",
       "2026-03-29 00:00:00",
       {"2026-03-29 00:15:00", "2026-03-29 01:00:00", "2026-03-29 01:15:00"}},
      {"30 2 * * *", "Europe/Berlin", "2026-03-29 01:00:00", {"2026-03-30 00:30:00"}},
      // 2040: past the zone file's table, from its footer rule.
      {"30 2 * * *",
       "Europe/Berlin",
       "2040-03-24 12:00:00",
       {"2040-03-25 01:00:00", "2040-03-26 00:30:00"}},
      // America/New_York, 2026-03-08: 02:00 EST becomes 03:00 EDT at 07:00 UTC.
      {"30 2 * * *",
       "America/New_York",
       "2026-03-07 00:00:00",
       {"2026-03-07 07:30:00", "2026-03-08 07:00:00", "2026-03-09 06:30:00"}},
      {"0 * * * *",
       "America/New_York",
       "2026-03-08 05:30:00",
       {"2026-03-08 06:00:00", "2026-03-08 07:00:00", "2026-03-08 08:00:00"}},
      {"*/15 * * * *",
       "America/New_York",
       "2026-03-08 06:40:00",
       {"2026-03-08 06:45:00", "2026-03-08 07:00:00", "2026-03-08 07:15:00"}},
      {"30 2 * * *", "America/New_York", "2040-03-10 12:00:00", {"2040-03-11 07:00:00"}},
      // Lord Howe Island, 2026-10-04: 02:00 +1030 becomes 02:30 +11 at 15:30 UTC.
      {"15 2 * * *", "Australia/Lord_Howe", "2026-10-03 00:00:00", {"2026-10-03 15:30:00"}},
      {"0 * * * *",
       "Australia/Lord_Howe",
       "2026-10-03 15:00:00",
       {"2026-10-03 15:30:00", "2026-10-03 16:00:00"}},
      {"*/20 * * * *",
       "Australia/Lord_Howe",
       "2026-10-03 15:00:00",
       {"2026-10-03 15:10:00", "2026-10-03 15:30:00", "2026-10-03 15:40:00"}},
  });
}

TEST(CronScheduleTest, FallBack) {
  check_cases({
      // Europe/Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00 UTC.
      {"30 2 * * *",
       "Europe/Berlin",
       "2026-10-24 12:00:00",
       {"2026-10-25 00:30:00", "2026-10-26 01:30:00"}},
      {"0 2 * * *", "Europe/Berlin", "2026-10-25 00:00:00", {"2026-10-26 01:00:00"}},
      {"0 * * * *",
       "Europe/Berlin",
       "2026-10-24 23:30:00",
       {"2026-10-25 00:00:00", "2026-10-25 01:00:00", "2026-10-25 02:00:00"}},
      {"@hourly",
       "Europe/Berlin",
       "2026-10-24 23:30:00",
       {"2026-10-25 00:00:00", "2026-10-25 01:00:00", "2026-10-25 02:00:00"}},
      {"*/15 * * * *",
       "Europe/Berlin",
       "2026-10-25 00:40:00",
       {"2026-10-25 00:45:00", "2026-10-25 01:00:00", "2026-10-25 01:15:00"}},
      {"*/15 2 * * *",
       "Europe/Berlin",
       "2026-10-25 00:40:00",
       {"2026-10-25 00:45:00", "2026-10-26 01:00:00"}},
      {"0 */2 * * *",
       "Europe/Berlin",
       "2026-10-24 23:30:00",
       {"2026-10-25 00:00:00", "2026-10-25 01:00:00", "2026-10-25 03:00:00"}},
      {"30 2 * * *",
       "Europe/Berlin",
       "2040-10-27 12:00:00",
       {"2040-10-28 00:30:00", "2040-10-29 01:30:00"}},
      {"0 * * * *",
       "Europe/Berlin",
       "2040-10-27 23:30:00",
       {"2040-10-28 00:00:00", "2040-10-28 01:00:00", "2040-10-28 02:00:00"}},
      // America/New_York, 2026-11-01: 02:00 EDT becomes 01:00 EST at 06:00 UTC.
      {"30 1 * * *",
       "America/New_York",
       "2026-10-31 12:00:00",
       {"2026-11-01 05:30:00", "2026-11-02 06:30:00"}},
      {"0 * * * *",
       "America/New_York",
       "2026-11-01 04:30:00",
       {"2026-11-01 05:00:00", "2026-11-01 06:00:00", "2026-11-01 07:00:00"}},
      {"30 * * * *",
       "America/New_York",
       "2026-11-01 05:00:00",
       {"2026-11-01 05:30:00", "2026-11-01 06:30:00", "2026-11-01 07:30:00"}},
      {"*/15 * * * *",
       "America/New_York",
       "2026-11-01 05:40:00",
       {"2026-11-01 05:45:00", "2026-11-01 06:00:00", "2026-11-01 06:15:00"}},
      {"*/15 1 * * *",
       "America/New_York",
       "2026-11-01 05:40:00",
       {"2026-11-01 05:45:00", "2026-11-02 06:00:00"}},
      // Lord Howe Island, 2026-04-05: 02:00 +11 becomes 01:30 +1030 at 15:00 UTC.
      {"45 1 * * *",
       "Australia/Lord_Howe",
       "2026-04-04 12:00:00",
       {"2026-04-04 14:45:00", "2026-04-05 15:15:00"}},
      {"45 * * * *",
       "Australia/Lord_Howe",
       "2026-04-04 14:00:00",
       {"2026-04-04 14:45:00", "2026-04-04 15:15:00", "2026-04-04 16:15:00"}},
  });
}

TEST(CronScheduleTest, MissedSince) {
  const TimeZone berlin = TimeZone::load("Europe/Berlin");
  const CronSchedule daily = CronSchedule::parse("30 2 * * *");
  EXPECT_FALSE(daily.missed_since(at("2026-06-01 00:30:00"), at("2026-06-02 00:29:59"), berlin));
  EXPECT_TRUE(daily.missed_since(at("2026-06-01 00:30:00"), at("2026-06-02 00:30:00"), berlin));
  EXPECT_TRUE(daily.missed_since(at("2026-06-01 00:30:00"), at("2026-06-20 00:00:00"), berlin));
  EXPECT_FALSE(daily.missed_since(at("2026-06-01 00:30:00"), at("2026-05-01 00:00:00"), berlin));
  const CronSchedule never = CronSchedule::parse("0 0 30 2 *");
  EXPECT_FALSE(never.missed_since(at("2026-01-01 00:00:00"), at("2036-01-01 00:00:00"), berlin));
}

TEST(CronScheduleTest, TextAndMatches) {
  const CronSchedule schedule = CronSchedule::parse(" 0 2 * * MON ");
  EXPECT_EQ(schedule.text(), " 0 2 * * MON ");
  CivilTime monday;
  monday.year = 2026;
  monday.month = 1;
  monday.day = 5;
  monday.hour = 2;
  EXPECT_TRUE(schedule.matches(monday));
  monday.minute = 1;
  EXPECT_FALSE(schedule.matches(monday));
}

TEST(CronScheduleTest, InvalidExpressions) {
  struct Case {
    const char* expression;
    const char* problem;
  };
  const Case cases[] = {
      {"61 * * * *", "minute 61 is out of range 0-59"},
      {"* 24 * * *", "hour 24 is out of range 0-23"},
      {"* * 0 * *", "day-of-month 0 is out of range 1-31"},
      {"* * 32 * *", "day-of-month 32 is out of range 1-31"},
      {"* * * 13 *", "month 13 is out of range 1-12"},
      {"* * * * 8", "day-of-week 8 is out of range 0-7"},
      {"99999999999 * * * *", "minute 99999999999 is out of range 0-59"},
      {"* * * *", "expected 5 fields (minute hour day-of-month month day-of-week) but found 4"},
      {"* * * * * *", "expected 5 fields (minute hour day-of-month month day-of-week) but found 6"},
      {"", "the schedule is empty"},
      {"   ", "the schedule is empty"},
      {"*/ * * * *", "minute step is empty in \"*/\""},
      {"* 1-5/ * * *", "hour step is empty in \"1-5/\""},
      {"*/0 * * * *", "minute step 0 in \"*/0\" is out of range 1-59"},
      {"* */24 * * *", "hour step 24 in \"*/24\" is out of range 1-23"},
      {"*/x * * * *", "minute step \"x\" in \"*/x\" is not a number"},
      {"5-3 * * * *", "minute range 5-3 is reversed"},
      {"* * * DEC-JAN *", "month range DEC-JAN is reversed"},
      {"* * * * SAT-SUN", "day-of-week range SAT-SUN is reversed"},
      {"* * * FOO *", "unknown month name \"FOO\""},
      {"* * * * FUNDAY", "unknown day-of-week name \"FUNDAY\""},
      {"* * MON * *", "day-of-month \"MON\" is not a number"},
      {"abc * * * *", "minute \"abc\" is not a number"},
      {"*-5 * * * *", "minute \"*\" is not a number"},
      {"? * * * *", "minute \"?\" is not a number"},
      {"1,,2 * * * *", "minute has an empty list item in \"1,,2\""},
      {"1, * * * *", "minute has an empty list item in \"1,\""},
      {"1- * * * *", "minute has an empty value in \"1-\""},
      {"-1 * * * *", "minute has an empty value in \"-1\""},
      {"@reboot", "@reboot is not supported: a backup schedule needs times of day"},
      {"@fortnightly",
       "unknown macro @fortnightly (expected @yearly, @annually, @monthly, @weekly, @daily, "
       "@midnight or @hourly)"},
      {"@daily 5", "@daily must stand alone"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.expression);
    try {
      CronSchedule::parse(c.expression);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kConfig);
      EXPECT_EQ(std::string(e.what()),
                std::string("invalid schedule \"") + c.expression + "\": " + c.problem);
    }
  }
}

TEST(CronScheduleTest, ValidEdgeCases) {
  for (const char* expression :
       {"0-59 0-23 1-31 1-12 0-7", "*/59 */23 */31 */12 */7", "0 0 1 1 0", "59 23 31 12 7",
        "1,2,3-5,10-20/5 * * * *", "0 0 * * 0-7/7", "00 09 * * *", "0 0 * Jan,feb,MAR *"}) {
    SCOPED_TRACE(expression);
    EXPECT_NO_THROW(CronSchedule::parse(expression));
  }
}

TEST(CronScheduleTest, RareSchedulesAreQuick) {
  const TimeZone berlin = TimeZone::load("Europe/Berlin");
  // Monday or 29 February, in February: with both day fields restricted, either matches.
  const CronSchedule rare = CronSchedule::parse("0 0 29 2 1");
  const CronSchedule never = CronSchedule::parse("0 0 30 2 *");
  const CronSchedule leap_day = CronSchedule::parse("0 0 29 2 *");
  EXPECT_EQ(utc_text(rare.next_after(at("2026-03-01 00:00:00"), berlin)), "2027-01-31 23:00:00");
  const auto begin = std::chrono::steady_clock::now();
  int64_t t = at("2026-01-01 00:00:00");
  for (int i = 0; i < 200; ++i) {
    const std::optional<int64_t> next = rare.next_after(t, berlin);
    ASSERT_TRUE(next);
    t = *next;
    EXPECT_FALSE(never.next_after(t, berlin));
    EXPECT_TRUE(leap_day.next_after(t, berlin));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  EXPECT_LT(seconds, 2.0) << "600 searches, 200 of them over 8 years, took " << seconds << " s";
}

// ---- randomized comparison with a minute-by-minute reference ----

// The documented semantics, spelled out one minute at a time (for zones whose offsets are
// whole minutes).
std::optional<int64_t> reference_next_after(const CronSchedule& schedule, bool hour_star,
                                            int64_t after, const TimeZone& zone, int64_t window) {
  for (int64_t minute = (after / 60 + 1) * 60; minute <= after + window; minute += 60) {
    const int offset = zone.offset_at(minute);
    const int previous_offset = zone.offset_at(minute - 1);
    if (offset > previous_offset) {
      for (int64_t wall = minute + previous_offset; wall < minute + offset; wall += 60) {
        if (schedule.matches(civil_from_seconds(wall))) return minute;  // fire once after a gap
      }
    }
    const LocalTime local = zone.to_local(minute);
    if (!schedule.matches(local)) continue;
    if (!hour_star && zone.from_local(local).instants.front() < minute) continue;  // repeat
    return minute;
  }
  return std::nullopt;
}

std::string random_field(std::mt19937& random, int min, int max, const char* const* names) {
  auto number = [&](int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(random);
  };
  auto value = [&](int low, int high) {
    const int v = number(low, high);
    if (names != nullptr && v <= high && v - min < 7 && number(0, 3) == 0)
      return std::string(names[v - min]);
    return std::to_string(v);
  };
  switch (number(0, 7)) {
    case 0:
    case 1:
      return "*";
    case 2:
      return "*/" + std::to_string(number(1, std::min(max, 20)));
    case 3:
      return value(min, max);
    case 4: {
      const int low = number(min, max);
      return value(low, low) + "-" + std::to_string(number(low, max));
    }
    case 5: {
      const int low = number(min, max);
      return std::to_string(low) + "-" + std::to_string(number(low, max)) + "/" +
             std::to_string(number(1, 5));
    }
    case 6:
      return std::to_string(number(min, max)) + "/" + std::to_string(number(1, std::min(max, 10)));
    default:
      return value(min, max) + "," + value(min, max) + "," + value(min, max);
  }
}

TEST(CronScheduleTest, AgreesWithMinuteByMinuteReference) {
  static constexpr const char* kMonthNames[] = {"Jan", "feb", "MAR", "apr", "May", "JUN", "jul"};
  static constexpr const char* kDayNames[] = {"sun", "Mon", "TUE", "wed", "Thu", "FRI", "sat"};
  std::mt19937 random(20260329);
  struct Window {
    const char* zone;
    const char* transition;
  };
  const Window windows[] = {
      {"Europe/Berlin", "2026-03-29 01:00:00"},
      {"Europe/Berlin", "2026-10-25 01:00:00"},
      {"Europe/Berlin", "2040-03-25 01:00:00"},
      {"Europe/Berlin", "2040-10-28 01:00:00"},
      {"America/New_York", "2026-03-08 07:00:00"},
      {"America/New_York", "2026-11-01 06:00:00"},
      {"Australia/Lord_Howe", "2026-04-04 15:00:00"},
      {"Australia/Lord_Howe", "2026-10-03 15:30:00"},
      {"UTC", "2026-02-28 12:00:00"},
  };
  const int64_t kWindow = int64_t{2} * 86400;
  int compared = 0;
  int near_transition = 0;
  for (const Window& window : windows) {
    const TimeZone zone = TimeZone::load(window.zone);
    for (int i = 0; i < 50; ++i) {
      // Dense hours and minutes, so that most schedules fire within the window.
      const std::string hour = random_field(random, 0, 23, nullptr);
      const std::string expression =
          random_field(random, 0, 59, nullptr) + " " + hour + " " +
          (random() % 3 == 0 ? random_field(random, 1, 31, nullptr) : std::string("*")) + " " +
          (random() % 4 == 0 ? random_field(random, 1, 7, kMonthNames) : std::string("*")) + " " +
          (random() % 3 == 0 ? random_field(random, 0, 6, kDayNames) : std::string("*"));
      SCOPED_TRACE("\"" + expression + "\" in " + window.zone);
      const CronSchedule schedule = CronSchedule::parse(expression);
      // Start up to a day before the transition, so that it often lies within the next fires.
      int64_t after = at(window.transition) - std::uniform_int_distribution<int64_t>(
                                                  int64_t{-2} * 3600, int64_t{26} * 3600)(random);
      for (int step = 0; step < 8; ++step) {
        const std::optional<int64_t> expected =
            reference_next_after(schedule, hour[0] == '*', after, zone, kWindow);
        const std::optional<int64_t> actual = schedule.next_after(after, zone);
        if (expected) {
          ASSERT_EQ(utc_text(actual), utc_text(expected)) << "after " << utc_text(after);
          ++compared;
          if (std::llabs(*expected - at(window.transition)) <= int64_t{3} * 3600) ++near_transition;
          after = *expected;
        } else {
          ASSERT_TRUE(!actual || *actual > after + kWindow) << "after " << utc_text(after);
          break;
        }
      }
    }
  }
  EXPECT_GT(compared, 1000);
  EXPECT_GT(near_transition, 300);
}

}  // namespace
}  // namespace ramsafe
