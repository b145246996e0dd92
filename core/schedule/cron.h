// Cron schedules (the ramsafe.schedule setting) evaluated in a time zone.
//
// Syntax: 5 fields, minute hour day-of-month month day-of-week, each `*`, a number, a
// range `a-b`, a list `a,b,...`, or a step `*/n`, `a-b/n`, `a/n` (a through the field's
// maximum). Months may be JAN-DEC and days SUN-SAT, case-insensitive; day-of-week 7 is
// Sunday like 0. Macros: @yearly, @annually, @monthly, @weekly, @daily, @midnight,
// @hourly. As in Vixie cron, when both day fields are restricted (neither starts with
// `*`), a day matches if either matches; otherwise both must match.
//
// Evaluation uses the local wall-clock time of the time zone. Around daylight saving time
// changes:
//  - Spring forward: wall times skipped by the jump never occur. If any matching wall time
//    falls into the gap, the schedule fires once, at the first instant after the gap
//    (cronie does this for fixed-time jobs): "30 2 * * *" in Europe/Berlin fires at 03:00
//    CEST on the last Sunday of March, and "*/15 * * * *" fires once at 03:00 CEST for the
//    four skipped quarter hours.
//  - Fall back: wall times repeated by the jump fire at both occurrences when the hour field
//    starts with `*` (`*`, `*/n`: interval-like jobs keep their interval in real time), but
//    only at the first occurrence when the hour field is restricted (fixed-time jobs run
//    once a day): "0 * * * *" fires at 02:00 CEST and again at 02:00 CET, "30 2 * * *"
//    only at 02:30 CEST.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/schedule/timezone.h"

namespace ramsafe {

class CronSchedule {
 public:
  // Throws Error(kConfig) naming the field and the problem. The empty string is not a
  // schedule (callers treat it as "disabled" before getting here) and is rejected too.
  static CronSchedule parse(const std::string& expression);

  const std::string& text() const { return text_; }

  // Whether a local wall-clock time matches (seconds are ignored).
  bool matches(const CivilTime& local) const;

  // The first instant strictly after utc_seconds at which the schedule fires, or nullopt
  // if it never fires within the next 8 years (such as "0 0 30 2 *"; 8 years covers the
  // longest stretch between two 29 Februaries). Fire instants are at whole local minutes.
  std::optional<int64_t> next_after(int64_t utc_seconds, const TimeZone& tz) const;

  // Whether the schedule fired after last_run_utc and up to now_utc (a missed backup).
  bool missed_since(int64_t last_run_utc, int64_t now_utc, const TimeZone& tz) const;

 private:
  CronSchedule() = default;

  bool day_matches(int64_t year, int month, int day) const;
  // The first matching whole-minute wall time in [from, limit) (local times as seconds
  // since 1970-01-01 read as UTC).
  std::optional<int64_t> next_matching_wall_time(int64_t from, int64_t limit) const;

  std::string text_;
  uint64_t minutes_ = 0;        // bit n: minute n
  uint32_t hours_ = 0;          // bit n: hour n
  uint32_t days_of_month_ = 0;  // bit n: day n, 1-31
  uint32_t months_ = 0;         // bit n: month n, 1-12
  uint32_t days_of_week_ = 0;   // bit n: weekday n, 0 = Sunday
  bool day_of_month_star_ = false;
  bool day_of_week_star_ = false;
  bool hour_star_ = false;
};

}  // namespace ramsafe
