// IANA time zones read from TZif files (RFC 8536, versions 1-4), including the POSIX TZ
// rule in the footer that governs instants after the file's last transition, and the
// proleptic Gregorian calendar arithmetic they need. Nothing here reads or changes the
// C library's time zone state (TZ, tzset, localtime), so it is thread-safe and
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
// Days since 1970-01-01 and back (Howard Hinnant's algorithms).
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
  static constexpr const char* kDefaultZoneinfoDir = "/usr/share/zoneinfo";

  // An IANA zone such as "UTC", "Europe/Berlin" or "America/New_York", read from
  // <zoneinfo_dir>/<name>. Throws Error(kConfig) for an invalid or unknown name and
  // Error(kCorrupt) for a malformed zone file.
  static TimeZone load(const std::string& name,
                       const std::string& zoneinfo_dir = kDefaultZoneinfoDir);
  static TimeZone utc();
  // A zone given only by a POSIX TZ rule such as "CET-1CEST,M3.5.0,M10.5.0/3" (with the
  // RFC 8536 extensions: hours -167..167 in transition times). Throws Error(kConfig).
  static TimeZone from_posix_rule(const std::string& rule);
  // The process's zone: the TZ environment variable if set (a zone name, ":name", a
  // path below a zoneinfo directory, or a POSIX rule), else the zone /etc/localtime
  // points to, else /etc/timezone, else UTC. Never throws: anything unusable means UTC,
  // as in the C library.
  static TimeZone system_default();

  const std::string& name() const;

  int offset_at(int64_t utc_seconds) const;  // seconds east of UTC
  LocalTime to_local(int64_t utc_seconds) const;
  OffsetSpan span_at(int64_t utc_seconds) const;
  LocalTimeMapping from_local(const CivilTime& local) const;

  // Instants are clamped into this range (about +-300 million years), which keeps all
  // calendar arithmetic free of overflow.
  static constexpr int64_t kMinTime = -(int64_t{1} << 53);
  static constexpr int64_t kMaxTime = int64_t{1} << 53;

  struct Data;

 private:
  explicit TimeZone(std::shared_ptr<const Data> data) : data_(std::move(data)) {}
  static TimeZone load_file(const std::string& path, const std::string& name);

  std::shared_ptr<const Data> data_;  // immutable, so copies share it and threads may too
};

}  // namespace ramsafe
