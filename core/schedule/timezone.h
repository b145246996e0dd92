// IANA time zones and the proleptic Gregorian calendar, on Google's CCTZ (libcctz, from
// Debian): the TZif files, their POSIX TZ footers and the civil-time arithmetic are CCTZ's.
// This is the small interface the schedule and retention use. Nothing here reads or changes
// the C library's time zone state (TZ, tzset, localtime), so it is thread-safe and
// independent of the process time zone. All instants are 64-bit seconds since
// 1970-01-01 00:00:00 UTC, without leap seconds.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ramsafe {

// A calendar date and wall-clock time with no time zone attached.
struct CivilTime {
  int64_t year = 1970;
  int month = 1;   // 1-12
  int day = 1;     // 1-31
  int hour = 0;    // 0-23
  int minute = 0;  // 0-59
  int second = 0;  // 0-59
};

bool is_leap_year(int64_t year);
int days_in_month(int64_t year, int month);
// Days since 1970-01-01 and back.
int64_t days_from_civil(int64_t year, int month, int day);
CivilTime civil_from_days(int64_t days);
int weekday_from_days(int64_t days);  // 0 = Sunday
// Seconds since 1970-01-01 00:00:00 of a civil time read as UTC, and back.
int64_t seconds_from_civil(const CivilTime& civil);
CivilTime civil_from_seconds(int64_t seconds);
// "2026-03-29 02:30:00"
std::string format_civil(const CivilTime& civil);

// Local time at one instant in one time zone.
struct LocalTime : CivilTime {
  int weekday = 4;     // 0 = Sunday
  int utc_offset = 0;  // seconds east of UTC
  bool is_dst = false;
  std::string abbreviation;  // "CEST"
};

// A maximal stretch of time [start, end) during which a zone's UTC offset is constant,
// as far as the zone's data says. start is INT64_MIN and end INT64_MAX where unbounded.
// previous_offset is the offset just before start (equal to utc_offset when unbounded).
struct OffsetSpan {
  int64_t start = 0;
  int64_t end = 0;
  int utc_offset = 0;
  int previous_offset = 0;
};

// Where a local civil time falls on the UTC time line.
struct LocalTimeMapping {
  // Increasing: one instant normally, none when a forward jump of the clocks skips the
  // local time (spring-forward gap), two when a backward jump repeats it (fall-back overlap).
  std::vector<int64_t> instants;
  // When instants is empty: the instant of the forward jump, which is the first instant
  // after the gap.
  int64_t gap_end = 0;
};

class TimeZone {
 public:
  // Where CCTZ reads zone files (it honours $TZDIR); named in messages.
  static constexpr const char* kDefaultZoneinfoDir = "/usr/share/zoneinfo";

  // An IANA zone such as "UTC", "Europe/Berlin" or "America/New_York". Throws
  // Error(kConfig) for an invalid name, an unknown zone, a file that is no zone, and zones
  // that count leap seconds ("right/...").
  static TimeZone load(const std::string& name);
  static TimeZone utc();
  // The process's zone: the TZ environment variable if set (a zone name, ":name", or a path
  // below a zoneinfo directory), else the zone /etc/localtime points to, else
  // /etc/timezone, else /etc/localtime's contents, else UTC. Never throws: anything unusable
  // means UTC (also a POSIX rule such as "CET-1CEST,M3.5.0,M10.5.0/3" in TZ, which CCTZ
  // reads only inside zone files; ramsafe.timezone names a zone instead).
  static TimeZone system_default();

  const std::string& name() const { return name_; }

  int offset_at(int64_t utc_seconds) const;  // seconds east of UTC
  LocalTime to_local(int64_t utc_seconds) const;
  OffsetSpan span_at(int64_t utc_seconds) const;
  LocalTimeMapping from_local(const CivilTime& local) const;

  // Instants are clamped into this range (about +-300 million years), which keeps all
  // calendar arithmetic free of overflow.
  static constexpr int64_t kMinTime = -(int64_t{1} << 53);
  static constexpr int64_t kMaxTime = int64_t{1} << 53;

  struct Impl;

 private:
  TimeZone(std::string name, std::shared_ptr<const Impl> impl)
      : name_(std::move(name)), impl_(std::move(impl)) {}

  std::string name_;
  std::shared_ptr<const Impl> impl_;  // CCTZ's zone handle: immutable and thread-safe
};

}  // namespace ramsafe
