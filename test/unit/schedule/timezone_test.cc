#include "core/schedule/timezone.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/unique_fd.h"
#include "test/unit/test_util.h"

namespace ramsafe {
namespace {

using test::at;

std::string utc_text(int64_t t) {
  return format_civil(civil_from_seconds(t));
}

CivilTime civil(int64_t year, int month, int day, int hour, int minute, int second = 0) {
  CivilTime c;
  c.year = year;
  c.month = month;
  c.day = day;
  c.hour = hour;
  c.minute = minute;
  c.second = second;
  return c;
}

// Sets TZ for the C library for the lifetime of the object (tests only: the code under
// test must never look at it).
class ScopedTzVariable {
 public:
  explicit ScopedTzVariable(const std::optional<std::string>& value) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    if (value) {
      ::setenv("TZ", value->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }
  ~ScopedTzVariable() {
    if (old_) {
      ::setenv("TZ", old_->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }
  ScopedTzVariable(const ScopedTzVariable&) = delete;
  ScopedTzVariable& operator=(const ScopedTzVariable&) = delete;

 private:
  std::optional<std::string> old_;
};

// ---- calendar arithmetic ----

TEST(CivilTimeTest, KnownDays) {
  EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(days_from_civil(1969, 12, 31), -1);
  EXPECT_EQ(days_from_civil(2000, 3, 1), 951868800 / 86400);
  EXPECT_EQ(days_from_civil(1900, 1, 1), -2208988800LL / 86400);
  EXPECT_EQ(days_from_civil(2400, 2, 29), 13574563200LL / 86400);
  EXPECT_EQ(at("2026-03-29 01:00"), 1774746000);
  EXPECT_EQ(weekday_from_days(0), 4);  // Thursday
  EXPECT_EQ(weekday_from_days(-1), 3);
  EXPECT_EQ(weekday_from_days(days_from_civil(2026, 3, 29)), 0);  // Sunday
  EXPECT_EQ(weekday_from_days(days_from_civil(2028, 2, 29)), 2);  // Tuesday
}

TEST(CivilTimeTest, RoundTripsAcrossEras) {
  for (int64_t day = -800000; day <= 800000; day += 7) {
    const CivilTime c = civil_from_days(day);
    ASSERT_EQ(days_from_civil(c.year, c.month, c.day), day);
    ASSERT_GE(c.day, 1);
    ASSERT_LE(c.day, days_in_month(c.year, c.month));
  }
  EXPECT_EQ(days_from_civil(-4713, 11, 24), -2440588);  // Julian day 0
}

TEST(CivilTimeTest, LeapYearsAndMonthLengths) {
  EXPECT_TRUE(is_leap_year(2000));
  EXPECT_TRUE(is_leap_year(2028));
  EXPECT_FALSE(is_leap_year(2100));
  EXPECT_FALSE(is_leap_year(2026));
  EXPECT_EQ(days_in_month(2028, 2), 29);
  EXPECT_EQ(days_in_month(2100, 2), 28);
  EXPECT_EQ(days_in_month(2026, 4), 30);
  EXPECT_EQ(days_in_month(2026, 12), 31);
}

TEST(CivilTimeTest, SecondsAndFormatting) {
  EXPECT_EQ(utc_text(0), "1970-01-01 00:00:00");
  EXPECT_EQ(utc_text(-1), "1969-12-31 23:59:59");
  EXPECT_EQ(utc_text(1774746000), "2026-03-29 01:00:00");
  EXPECT_EQ(seconds_from_civil(civil(2026, 3, 29, 1, 0)), 1774746000);
}

// ---- zones ----

TEST(TimeZoneTest, Utc) {
  for (const TimeZone& zone : {TimeZone::utc(), TimeZone::load("UTC")}) {
    EXPECT_EQ(zone.name(), "UTC");
    for (int64_t t : {int64_t{0}, int64_t{-1}, at("2026-03-29 01:00"), at("2040-10-28 01:00"),
                      TimeZone::kMaxTime, TimeZone::kMinTime}) {
      EXPECT_EQ(zone.offset_at(t), 0);
    }
    const LocalTime local = zone.to_local(at("2026-03-29 02:30:15"));
    EXPECT_EQ(format_civil(local), "2026-03-29 02:30:15");
    EXPECT_EQ(local.weekday, 0);
    EXPECT_FALSE(local.is_dst);
    const LocalTimeMapping mapping = zone.from_local(civil(2026, 3, 29, 2, 30));
    ASSERT_EQ(mapping.instants.size(), 1u);
    EXPECT_EQ(mapping.instants[0], at("2026-03-29 02:30"));
  }
}

struct OffsetCase {
  const char* zone;
  const char* utc;
  int offset;
  bool is_dst;
  const char* abbreviation;
  const char* local;
};

TEST(TimeZoneTest, OffsetsAroundTransitions) {
  const OffsetCase cases[] = {
      // Europe/Berlin 2026: from the table.
      {"Europe/Berlin", "2026-01-15 12:00:00", 3600, false, "CET", "2026-01-15 13:00:00"},
      {"Europe/Berlin", "2026-03-29 00:59:59", 3600, false, "CET", "2026-03-29 01:59:59"},
      {"Europe/Berlin", "2026-03-29 01:00:00", 7200, true, "CEST", "2026-03-29 03:00:00"},
      {"Europe/Berlin", "2026-10-25 00:59:59", 7200, true, "CEST", "2026-10-25 02:59:59"},
      {"Europe/Berlin", "2026-10-25 01:00:00", 3600, false, "CET", "2026-10-25 02:00:00"},
      // Europe/Berlin 2040: past the table (2037), from the footer rule.
      {"Europe/Berlin", "2040-03-25 00:59:59", 3600, false, "CET", "2040-03-25 01:59:59"},
      {"Europe/Berlin", "2040-03-25 01:00:00", 7200, true, "CEST", "2040-03-25 03:00:00"},
      {"Europe/Berlin", "2040-10-28 00:59:59", 7200, true, "CEST", "2040-10-28 02:59:59"},
      {"Europe/Berlin", "2040-10-28 01:00:00", 3600, false, "CET", "2040-10-28 02:00:00"},
      {"Europe/Berlin", "2040-12-31 23:00:00", 3600, false, "CET", "2041-01-01 00:00:00"},
      {"America/New_York", "2026-03-08 06:59:59", -18000, false, "EST", "2026-03-08 01:59:59"},
      {"America/New_York", "2026-03-08 07:00:00", -14400, true, "EDT", "2026-03-08 03:00:00"},
      {"America/New_York", "2026-11-01 05:59:59", -14400, true, "EDT", "2026-11-01 01:59:59"},
      {"America/New_York", "2026-11-01 06:00:00", -18000, false, "EST", "2026-11-01 01:00:00"},
      {"America/New_York", "2040-03-11 06:59:59", -18000, false, "EST", "2040-03-11 01:59:59"},
      {"America/New_York", "2040-03-11 07:00:00", -14400, true, "EDT", "2040-03-11 03:00:00"},
      {"America/New_York", "2040-11-04 05:59:59", -14400, true, "EDT", "2040-11-04 01:59:59"},
      {"America/New_York", "2040-11-04 06:00:00", -18000, false, "EST", "2040-11-04 01:00:00"},
      {"America/New_York", "2041-01-01 04:59:59", -18000, false, "EST", "2040-12-31 23:59:59"},
      {"Asia/Kolkata", "2026-06-01 00:00:00", 19800, false, "IST", "2026-06-01 05:30:00"},
      {"Asia/Kolkata", "2040-06-01 18:30:00", 19800, false, "IST", "2040-06-02 00:00:00"},
      {"Asia/Kolkata", "1945-10-14 17:29:59", 23400, true, "+0630", "1945-10-14 23:59:59"},
      {"Asia/Kolkata", "1945-10-14 17:30:00", 19800, false, "IST", "1945-10-14 23:00:00"},
      // Lord Howe Island: +10:30, with 30 minutes of DST.
      {"Australia/Lord_Howe", "2026-04-04 14:59:59", 39600, true, "+11", "2026-04-05 01:59:59"},
      {"Australia/Lord_Howe", "2026-04-04 15:00:00", 37800, false, "+1030", "2026-04-05 01:30:00"},
      {"Australia/Lord_Howe", "2026-10-03 15:29:59", 37800, false, "+1030", "2026-10-04 01:59:59"},
      {"Australia/Lord_Howe", "2026-10-03 15:30:00", 39600, true, "+11", "2026-10-04 02:30:00"},
      {"Australia/Lord_Howe", "2040-03-31 15:00:00", 37800, false, "+1030", "2040-04-01 01:30:00"},
      {"Australia/Lord_Howe", "2040-10-06 15:30:00", 39600, true, "+11", "2040-10-07 02:30:00"},
  };
  for (const OffsetCase& c : cases) {
    SCOPED_TRACE(std::string(c.zone) + " at " + c.utc);
    const TimeZone zone = TimeZone::load(c.zone);
    EXPECT_EQ(zone.name(), c.zone);
    EXPECT_EQ(zone.offset_at(at(c.utc)), c.offset);
    const LocalTime local = zone.to_local(at(c.utc));
    EXPECT_EQ(local.utc_offset, c.offset);
    EXPECT_EQ(local.is_dst, c.is_dst);
    EXPECT_EQ(local.abbreviation, c.abbreviation);
    EXPECT_EQ(format_civil(local), c.local);
  }
}

TEST(TimeZoneTest, Weekday) {
  const TimeZone berlin = TimeZone::load("Europe/Berlin");
  EXPECT_EQ(berlin.to_local(at("2026-03-28 22:59:59")).weekday, 6);  // Saturday 23:59:59 CET
  EXPECT_EQ(berlin.to_local(at("2026-03-28 23:00:00")).weekday, 0);  // Sunday 00:00 CET
  const TimeZone new_york = TimeZone::load("America/New_York");
  EXPECT_EQ(new_york.to_local(at("2026-03-02 04:59:59")).weekday, 0);  // Sunday evening
}

TEST(TimeZoneTest, SpansAroundTransitions) {
  const TimeZone berlin = TimeZone::load("Europe/Berlin");
  OffsetSpan span = berlin.span_at(at("2026-06-01 00:00"));
  EXPECT_EQ(utc_text(span.start), "2026-03-29 01:00:00");
  EXPECT_EQ(utc_text(span.end), "2026-10-25 01:00:00");
  EXPECT_EQ(span.utc_offset, 7200);
  EXPECT_EQ(span.previous_offset, 3600);
  span = berlin.span_at(at("2040-06-01 00:00"));  // footer
  EXPECT_EQ(utc_text(span.start), "2040-03-25 01:00:00");
  EXPECT_EQ(utc_text(span.end), "2040-10-28 01:00:00");
  EXPECT_EQ(span.utc_offset, 7200);
  EXPECT_EQ(span.previous_offset, 3600);
  span = berlin.span_at(at("2040-12-01 00:00"));  // footer
  EXPECT_EQ(utc_text(span.start), "2040-10-28 01:00:00");
  EXPECT_EQ(utc_text(span.end), "2041-03-31 01:00:00");
  EXPECT_EQ(span.utc_offset, 3600);
  EXPECT_EQ(span.previous_offset, 7200);
  // Walking the spans from 2030 to 2045 crosses the end of the table without a seam.
  int64_t pos = at("2030-01-01 00:00");
  int count = 0;
  while (pos < at("2045-01-01 00:00")) {
    span = berlin.span_at(pos);
    EXPECT_EQ(span.start, pos == at("2030-01-01 00:00") ? at("2029-10-28 01:00") : pos);
    EXPECT_NE(span.utc_offset, span.previous_offset);
    EXPECT_EQ(berlin.offset_at(span.start), span.utc_offset);
    EXPECT_EQ(berlin.offset_at(span.start - 1), span.previous_offset);
    pos = span.end;
    ++count;
  }
  EXPECT_EQ(count, 31);  // two a year, and the one in effect at the start

  const TimeZone kolkata = TimeZone::load("Asia/Kolkata");
  span = kolkata.span_at(at("2026-01-01 00:00"));
  EXPECT_EQ(span.end, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(span.utc_offset, 19800);
}

struct LocalCase {
  const char* zone;
  CivilTime local;
  std::vector<const char*> instants;
  const char* gap_end;  // when instants is empty
};

TEST(TimeZoneTest, LocalToUtc) {
  const LocalCase cases[] = {
      {"Europe/Berlin", civil(2026, 6, 1, 12, 0), {"2026-06-01 10:00:00"}, nullptr},
      {"Europe/Berlin", civil(2026, 3, 29, 1, 59, 59), {"2026-03-29 00:59:59"}, nullptr},
      {"Europe/Berlin", civil(2026, 3, 29, 2, 0), {}, "2026-03-29 01:00:00"},
      {"Europe/Berlin", civil(2026, 3, 29, 2, 30), {}, "2026-03-29 01:00:00"},
      {"Europe/Berlin", civil(2026, 3, 29, 2, 59, 59), {}, "2026-03-29 01:00:00"},
      {"Europe/Berlin", civil(2026, 3, 29, 3, 0), {"2026-03-29 01:00:00"}, nullptr},
      {"Europe/Berlin", civil(2026, 10, 25, 1, 59, 59), {"2026-10-24 23:59:59"}, nullptr},
      {"Europe/Berlin",
       civil(2026, 10, 25, 2, 0),
       {"2026-10-25 00:00:00", "2026-10-25 01:00:00"},
       nullptr},
      {"Europe/Berlin",
       civil(2026, 10, 25, 2, 30),
       {"2026-10-25 00:30:00", "2026-10-25 01:30:00"},
       nullptr},
      {"Europe/Berlin", civil(2026, 10, 25, 3, 0), {"2026-10-25 02:00:00"}, nullptr},
      {"Europe/Berlin", civil(2040, 3, 25, 2, 0), {}, "2040-03-25 01:00:00"},
      {"Europe/Berlin",
       civil(2040, 10, 28, 2, 59, 59),
       {"2040-10-28 00:59:59", "2040-10-28 01:59:59"},
       nullptr},
      {"America/New_York", civil(2026, 3, 8, 2, 30), {}, "2026-03-08 07:00:00"},
      {"America/New_York", civil(2026, 3, 8, 3, 0), {"2026-03-08 07:00:00"}, nullptr},
      {"America/New_York",
       civil(2026, 11, 1, 1, 30),
       {"2026-11-01 05:30:00", "2026-11-01 06:30:00"},
       nullptr},
      {"America/New_York", civil(2040, 3, 11, 2, 15), {}, "2040-03-11 07:00:00"},
      {"America/New_York",
       civil(2040, 11, 4, 1, 0),
       {"2040-11-04 05:00:00", "2040-11-04 06:00:00"},
       nullptr},
      {"Asia/Kolkata", civil(2026, 1, 1, 0, 0), {"2025-12-31 18:30:00"}, nullptr},
      {"Australia/Lord_Howe", civil(2026, 10, 4, 2, 15), {}, "2026-10-03 15:30:00"},
      {"Australia/Lord_Howe", civil(2026, 10, 4, 2, 30), {"2026-10-03 15:30:00"}, nullptr},
      {"Australia/Lord_Howe",
       civil(2026, 4, 5, 1, 45),
       {"2026-04-04 14:45:00", "2026-04-04 15:15:00"},
       nullptr},
      {"Australia/Lord_Howe", civil(2026, 4, 5, 2, 0), {"2026-04-04 15:30:00"}, nullptr},
      // Samoa skipped 30 December 2011 entirely.
      {"Pacific/Apia", civil(2011, 12, 30, 12, 0), {}, "2011-12-30 10:00:00"},
      {"Pacific/Apia", civil(2011, 12, 31, 0, 0), {"2011-12-30 10:00:00"}, nullptr},
  };
  for (const LocalCase& c : cases) {
    SCOPED_TRACE(std::string(c.zone) + " local " + format_civil(c.local));
    const LocalTimeMapping mapping = TimeZone::load(c.zone).from_local(c.local);
    std::vector<std::string> got;
    for (int64_t t : mapping.instants) got.push_back(utc_text(t));
    EXPECT_EQ(got, std::vector<std::string>(c.instants.begin(), c.instants.end()));
    if (c.gap_end != nullptr) {
      EXPECT_EQ(utc_text(mapping.gap_end), c.gap_end);
    }
  }
}

TEST(TimeZoneTest, LocalToUtcRejectsInvalidCivilTimes) {
  const TimeZone berlin = TimeZone::load("Europe/Berlin");
  EXPECT_THROW(berlin.from_local(civil(2026, 2, 29, 0, 0)), Error);
  EXPECT_THROW(berlin.from_local(civil(2026, 13, 1, 0, 0)), Error);
  EXPECT_THROW(berlin.from_local(civil(2026, 1, 1, 24, 0)), Error);
}

TEST(TimeZoneTest, LocalToUtcInvertsToLocal) {
  for (const char* name : {"Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                           "Pacific/Apia", "America/Sao_Paulo"}) {
    SCOPED_TRACE(name);
    const TimeZone zone = TimeZone::load(name);
    for (int64_t t = at("2005-01-01 00:00"); t < at("2045-01-01 00:00"); t += 86400 * 3 + 3607) {
      const LocalTime local = zone.to_local(t);
      const LocalTimeMapping mapping = zone.from_local(local);
      ASSERT_FALSE(mapping.instants.empty()) << utc_text(t);
      bool found = false;
      for (int64_t instant : mapping.instants) {
        found = found || instant == t;
        ASSERT_EQ(format_civil(zone.to_local(instant)), format_civil(local));
      }
      ASSERT_TRUE(found) << utc_text(t);
    }
  }
}

// ---- the C library as a reference ----

struct CLibraryLocal {
  long offset;
  bool is_dst;
  std::string abbreviation;
  std::string civil;
};

CLibraryLocal c_library_local(int64_t t) {
  const time_t time = static_cast<time_t>(t);
  struct tm tm {};
  if (::localtime_r(&time, &tm) == nullptr) throw std::runtime_error("localtime_r failed");
  char civil_text[64];
  std::snprintf(civil_text, sizeof civil_text, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return {tm.tm_gmtoff, tm.tm_isdst > 0, tm.tm_zone, civil_text};
}

void expect_same_as_c_library(const TimeZone& zone, int64_t t) {
  const CLibraryLocal expected = c_library_local(t);
  const LocalTime local = zone.to_local(t);
  ASSERT_EQ(local.utc_offset, expected.offset) << zone.name() << " at " << utc_text(t);
  ASSERT_EQ(local.is_dst, expected.is_dst) << zone.name() << " at " << utc_text(t);
  ASSERT_EQ(local.abbreviation, expected.abbreviation) << zone.name() << " at " << utc_text(t);
  ASSERT_EQ(format_civil(local), expected.civil) << zone.name() << " at " << utc_text(t);
}

void compare_with_c_library(const TimeZone& zone, const std::string& tz_variable, int64_t from,
                            int64_t to, int64_t step) {
  ScopedTzVariable tz(tz_variable);
  for (int64_t t = from; t < to; t += step) expect_same_as_c_library(zone, t);
  // Every transition, exactly.
  for (int64_t pos = from; pos < to;) {
    const OffsetSpan span = zone.span_at(pos);
    if (span.start >= from) {
      expect_same_as_c_library(zone, span.start - 1);
      expect_same_as_c_library(zone, span.start);
    }
    if (span.end == std::numeric_limits<int64_t>::max()) break;
    pos = span.end;
  }
}

TEST(TimeZoneTest, AgreesWithCLibrary) {
  const char* zones[] = {"Europe/Berlin",    "America/New_York",  "Australia/Lord_Howe",
                         "Asia/Kolkata",     "America/Sao_Paulo", "Pacific/Apia",
                         "Asia/Jerusalem",   "America/Nuuk",      "Africa/Casablanca",
                         "Europe/Dublin",    "Pacific/Chatham",   "America/St_Johns",
                         "Antarctica/Troll", "Asia/Tehran",       "Europe/London"};
  // 1970 to 2037 at an odd step (so all times of day come up), then on to 2100, where the
  // footer rules take over.
  const int64_t step = 13 * 3600 + 1234;
  for (const char* name : zones) {
    SCOPED_TRACE(name);
    const TimeZone zone = TimeZone::load(name);
    compare_with_c_library(zone, std::string(":") + name, at("1970-01-01 00:00"),
                           at("2038-01-19 00:00"), step);
    compare_with_c_library(zone, std::string(":") + name, at("2038-01-19 00:00"),
                           at("2100-01-01 00:00"), step * 5);
  }
}

// ---- loading ----

TEST(TimeZoneTest, RejectsBadNames) {
  for (const char* name : {"../etc/passwd", "Europe/../../etc/passwd", "/etc/passwd",
                           "Europe/Berlin/", "", "Europe Berlin", "zone.tab", "UTC;rm"}) {
    SCOPED_TRACE(name);
    try {
      TimeZone::load(name);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kConfig);
      EXPECT_EQ(
          std::string(e.what()).rfind("invalid time zone name \"" + std::string(name) + "\"", 0),
          0u)
          << e.what();
    }
  }
}

TEST(TimeZoneTest, UnknownZones) {
  for (const char* name : {"Europe/Atlantis", "Europe", "leapseconds", "Mars/Olympus_Mons"}) {
    SCOPED_TRACE(name);
    try {
      TimeZone::load(name);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kConfig);
      EXPECT_EQ(std::string(e.what()), "unknown time zone \"" + std::string(name) + "\"");
    }
  }
}

TEST(TimeZoneTest, LeapSecondZonesAreRefused) {
  if (!path_exists("/usr/share/zoneinfo/right/UTC")) GTEST_SKIP() << "no right/UTC";
  try {
    TimeZone::load("right/UTC");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kConfig);
    EXPECT_EQ(std::string(e.what()), "unknown time zone \"right/UTC\"");
  }
}

TEST(TimeZoneTest, SystemDefault) {
  {
    ScopedTzVariable tz(std::string("Europe/Berlin"));
    EXPECT_EQ(TimeZone::system_default().name(), "Europe/Berlin");
  }
  {
    ScopedTzVariable tz(std::string(":America/New_York"));
    EXPECT_EQ(TimeZone::system_default().name(), "America/New_York");
  }
  {
    ScopedTzVariable tz(std::string("/usr/share/zoneinfo/Asia/Kolkata"));
    const TimeZone zone = TimeZone::system_default();
    EXPECT_EQ(zone.name(), "Asia/Kolkata");
    EXPECT_EQ(zone.offset_at(0), 19800);
  }
  for (const char* unusable :
       {"", ":", "Not/A_Zone", "../../etc/passwd", "/etc/passwd", "CET-1CEST,M3.5.0,M10.5.0/3"}) {
    ScopedTzVariable tz(std::string{unusable});
    EXPECT_EQ(TimeZone::system_default().name(), "UTC") << unusable;
  }
  {
    ScopedTzVariable tz(std::nullopt);
    const TimeZone zone = TimeZone::system_default();  // whatever this machine uses
    EXPECT_FALSE(zone.name().empty());
  }
}

TEST(TimeZoneTest, CopiesShareDataAcrossThreads) {
  const TimeZone berlin = TimeZone::load("Europe/Berlin");
  std::vector<int64_t> instants;
  std::vector<int> expected;
  for (int64_t t = at("2020-01-01 00:00"); t < at("2060-01-01 00:00"); t += 86399) {
    instants.push_back(t);
    expected.push_back(berlin.offset_at(t));
  }
  std::vector<int> mismatches(4, 0);
  const std::vector<TimeZone> copies(4, berlin);
  std::vector<std::thread> threads;
  threads.reserve(copies.size());
  for (size_t i = 0; i < copies.size(); ++i) {
    threads.emplace_back([&, i] {
      for (size_t j = 0; j < instants.size(); ++j) {
        if (copies[i].offset_at(instants[j]) != expected[j]) ++mismatches[i];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace ramsafe
