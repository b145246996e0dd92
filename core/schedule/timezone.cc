#include "core/schedule/timezone.h"

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>

#include "core/error.h"
#include "core/io/unique_fd.h"

namespace ramsafe {

struct TimeZone::Impl {
  cctz::time_zone zone;
};

namespace {

using Seconds = cctz::time_point<cctz::seconds>;

const cctz::civil_second kEpoch(1970, 1, 1, 0, 0, 0);
const cctz::civil_day kEpochDay(1970, 1, 1);

Seconds to_time_point(int64_t seconds) {
  seconds = std::clamp(seconds, TimeZone::kMinTime, TimeZone::kMaxTime);
  return Seconds(cctz::seconds(seconds));
}

int64_t from_time_point(const Seconds& point) {
  return static_cast<int64_t>(point.time_since_epoch().count());
}

cctz::civil_second to_cctz(const CivilTime& civil) {
  return cctz::civil_second(civil.year, civil.month, civil.day, civil.hour, civil.minute,
                            civil.second);
}

CivilTime from_cctz(const cctz::civil_second& civil) {
  CivilTime out;
  out.year = civil.year();
  out.month = civil.month();
  out.day = civil.day();
  out.hour = civil.hour();
  out.minute = civil.minute();
  out.second = civil.second();
  return out;
}

int sunday_based(cctz::weekday day) {
  switch (day) {
    case cctz::weekday::sunday:
      return 0;
    case cctz::weekday::monday:
      return 1;
    case cctz::weekday::tuesday:
      return 2;
    case cctz::weekday::wednesday:
      return 3;
    case cctz::weekday::thursday:
      return 4;
    case cctz::weekday::friday:
      return 5;
    case cctz::weekday::saturday:
      return 6;
  }
  return 0;
}

// Letters, digits and _+-/ only, relative: this keeps out "." and "..", so the name stays
// below the zone directory (CCTZ would open an absolute path as given).
bool is_valid_zone_name(const std::string& name) {
  if (name.empty() || name.front() == '/' || name.back() == '/') return false;
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '+' || c == '-' || c == '/';
    if (!ok) return false;
  }
  return true;
}

// The instant of a transition CCTZ reports as a pair of civil times: the first civil time
// after it maps to the transition instant (unique after a gap, repeated after a fall-back).
int64_t transition_instant(const cctz::time_zone& zone,
                           const cctz::time_zone::civil_transition& transition) {
  return from_time_point(zone.lookup(transition.to).trans);
}

std::string trim(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t\r\n") - begin + 1);
}

// "/usr/share/zoneinfo/Europe/Berlin" -> "Europe/Berlin"; "" if no zoneinfo directory.
std::string zone_name_from_path(const std::string& path) {
  static constexpr char kMarker[] = "zoneinfo/";
  const size_t pos = path.rfind(kMarker);
  return pos == std::string::npos ? "" : path.substr(pos + sizeof kMarker - 1);
}

std::optional<TimeZone> try_load(const std::string& name) {
  try {
    return TimeZone::load(name);
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace

bool is_leap_year(int64_t year) {
  return days_in_month(year, 2) == 29;
}

int days_in_month(int64_t year, int month) {
  const cctz::civil_month first(year, month);
  return static_cast<int>(cctz::civil_day(first + 1) - cctz::civil_day(first));
}

int64_t days_from_civil(int64_t year, int month, int day) {
  return static_cast<int64_t>(cctz::civil_day(year, month, day) - kEpochDay);
}

CivilTime civil_from_days(int64_t days) {
  return from_cctz(cctz::civil_second(kEpochDay + days));
}

int weekday_from_days(int64_t days) {
  return sunday_based(cctz::get_weekday(kEpochDay + days));
}

int64_t seconds_from_civil(const CivilTime& civil) {
  return static_cast<int64_t>(to_cctz(civil) - kEpoch);
}

CivilTime civil_from_seconds(int64_t seconds) {
  return from_cctz(kEpoch + seconds);
}

std::string format_civil(const CivilTime& civil) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04lld-%02d-%02d %02d:%02d:%02d",
                static_cast<long long>(civil.year), civil.month, civil.day, civil.hour,
                civil.minute, civil.second);
  return buffer;
}

TimeZone TimeZone::load(const std::string& name) {
  if (!is_valid_zone_name(name)) {
    throw Error(Errc::kConfig, "invalid time zone name \"" + name +
                                   "\": expected a relative name of letters, digits and _+-/ "
                                   "such as \"Europe/Berlin\"");
  }
  cctz::time_zone zone;
  // CCTZ reads <zoneinfo>/<name> as TZif and refuses what is no zone (tables, directories)
  // and zones with leap seconds; UTC needs no file.
  if (!cctz::load_time_zone(name, &zone)) {
    throw Error(Errc::kConfig, "unknown time zone \"" + name + "\"");
  }
  return TimeZone(name, std::make_shared<const Impl>(Impl{zone}));
}

TimeZone TimeZone::utc() {
  static const std::shared_ptr<const Impl> kUtc =
      std::make_shared<const Impl>(Impl{cctz::utc_time_zone()});
  return TimeZone("UTC", kUtc);
}

TimeZone TimeZone::system_default() {
  if (const char* tz_variable = std::getenv("TZ")) {
    std::string value = tz_variable;
    if (!value.empty() && value.front() == ':') value.erase(0, 1);
    if (!value.empty() && value.front() == '/') value = zone_name_from_path(value);
    auto zone = value.empty() ? std::nullopt : try_load(value);
    return zone ? *zone : utc();
  }
  char target[4096];
  const ssize_t target_size = ::readlink("/etc/localtime", target, sizeof target - 1);
  if (target_size > 0) {
    const std::string name = zone_name_from_path(std::string(target, target_size));
    if (auto zone = name.empty() ? std::nullopt : try_load(name)) return *zone;
  }
  try {
    if (auto zone = try_load(trim(read_file("/etc/timezone", 4096)))) return *zone;
  } catch (const Error&) {
  }
  // CCTZ's "localtime" is /etc/localtime (TZ is unset here).
  if (auto zone = try_load("localtime")) return *zone;
  return utc();
}

int TimeZone::offset_at(int64_t utc_seconds) const {
  return impl_->zone.lookup(to_time_point(utc_seconds)).offset;
}

LocalTime TimeZone::to_local(int64_t utc_seconds) const {
  const cctz::time_zone::absolute_lookup found = impl_->zone.lookup(to_time_point(utc_seconds));
  LocalTime local;
  static_cast<CivilTime&>(local) = from_cctz(found.cs);
  local.weekday = sunday_based(cctz::get_weekday(cctz::civil_day(found.cs)));
  local.utc_offset = found.offset;
  local.is_dst = found.is_dst;
  local.abbreviation = found.abbr;
  return local;
}

OffsetSpan TimeZone::span_at(int64_t utc_seconds) const {
  utc_seconds = std::clamp(utc_seconds, kMinTime, kMaxTime);
  const cctz::time_zone& zone = impl_->zone;
  OffsetSpan span;
  span.utc_offset = offset_at(utc_seconds);
  span.previous_offset = span.utc_offset;
  span.start = std::numeric_limits<int64_t>::min();
  span.end = std::numeric_limits<int64_t>::max();
  cctz::time_zone::civil_transition transition;
  // The latest change at or before utc_seconds (prev_transition looks strictly before).
  if (utc_seconds < kMaxTime && zone.prev_transition(to_time_point(utc_seconds + 1), &transition)) {
    span.start = transition_instant(zone, transition);
    span.previous_offset = offset_at(span.start - 1);
  }
  if (zone.next_transition(to_time_point(utc_seconds), &transition))
    span.end = transition_instant(zone, transition);
  return span;
}

LocalTimeMapping TimeZone::from_local(const CivilTime& local) const {
  if (local.month < 1 || local.month > 12 || local.day < 1 ||
      local.day > days_in_month(local.year, local.month) || local.hour < 0 || local.hour > 23 ||
      local.minute < 0 || local.minute > 59 || local.second < 0 || local.second > 59) {
    throw Error(Errc::kInvalidArgument, "invalid local time " + format_civil(local));
  }
  const cctz::time_zone::civil_lookup found = impl_->zone.lookup(to_cctz(local));
  LocalTimeMapping mapping;
  switch (found.kind) {
    case cctz::time_zone::civil_lookup::UNIQUE:
      mapping.instants = {from_time_point(found.pre)};
      break;
    case cctz::time_zone::civil_lookup::SKIPPED:
      mapping.gap_end = from_time_point(found.trans);
      break;
    case cctz::time_zone::civil_lookup::REPEATED:
      mapping.instants = {from_time_point(found.pre), from_time_point(found.post)};
      break;
  }
  return mapping;
}

}  // namespace ramsafe
