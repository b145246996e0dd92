// Judging the facts of core/health/health.h: thresholds (given, or defaults from the
// settings and the schedule), one result per aspect with a monitoring-plugins state, the
// overall state and the performance data (docs/monitoring.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/health/health.h"

namespace ramsafe {

// The monitoring-plugins states; the value is the plugin's exit code.
enum class HealthState { kOk = 0, kWarning = 1, kCritical = 2, kUnknown = 3 };

const char* state_name(HealthState state);  // "OK", "WARNING", "CRITICAL", "UNKNOWN"
// The worse of two: CRITICAL, then WARNING, then UNKNOWN, then OK (a problem that was seen
// outranks one that could not be looked at).
HealthState worse(HealthState a, HealthState b);

// Free space as a share of the filesystem ("10%") or in bytes ("5GB").
struct FreeSpace {
  bool percent = true;
  double value = 0;
  uint64_t bytes_of(uint64_t filesystem_bytes) const;
};

// Thresholds from the command line; an unset one takes its default (resolve_thresholds).
struct ThresholdOptions {
  std::optional<int64_t> warn_age_s, crit_age_s;
  std::optional<int64_t> warn_drive_lag_s, crit_drive_lag_s;
  std::optional<int64_t> warn_wal_lag_s, crit_wal_lag_s;
  std::optional<uint64_t> warn_backlog_bytes, crit_backlog_bytes;
  std::optional<FreeSpace> warn_free, crit_free;
  std::optional<double> warn_ram_percent, crit_ram_percent;
};

struct Thresholds {
  int64_t warn_age_s = 0, crit_age_s = 0;
  std::string age_basis;  // where the age defaults come from, for the text
  int64_t warn_drive_lag_s = 0, crit_drive_lag_s = 0;
  int64_t warn_wal_lag_s = 0, crit_wal_lag_s = 0;
  uint64_t warn_backlog_bytes = 0, crit_backlog_bytes = 0;
  FreeSpace warn_free, crit_free;
  double warn_ram_percent = 0, crit_ram_percent = 0;
};

// "90" (seconds), "90s", "30m", "2h", "1d", "1h30m": seconds, or nullopt.
std::optional<int64_t> parse_duration(const std::string& text);
// "10%", or a size as PostgreSQL writes one ("5GB", "512MB"; no unit means MB).
std::optional<FreeSpace> parse_free_space(const std::string& text);
// "80" or "80%", from 0 to 100.
std::optional<double> parse_percent(const std::string& text);
// "45 s", "12 min", "3 h 05 min", "2 d 04 h"
std::string human_duration(int64_t seconds);
// "512 B", "1.5 MiB"
std::string human_bytes(uint64_t bytes);

// The longest time between two consecutive fire times of a cron schedule in the eight days
// after now_s (a weekly pattern shows whole); nullopt for an empty, invalid or never-firing
// schedule.
std::optional<int64_t> schedule_period_seconds(const std::string& schedule,
                                               const std::string& zone_name, int64_t now_s);

// Fills what options leave unset (docs/monitoring.md, "Thresholds"). With only one of a
// pair given, the other follows it where its default would be on the wrong side.
Thresholds resolve_thresholds(const ThresholdOptions& options, const HealthFacts& facts);

struct CheckResult {
  std::string name;  // "backup age", "configuration", "store local", ...
  HealthState state = HealthState::kOk;
  std::string text;
};

// One monitoring-plugins performance value: 'label'=value[UOM];[warn];[crit];[min];[max],
// warn and crit as range expressions.
struct PerfDatum {
  std::string label;
  std::string value;
  std::string uom;
  std::string warn, crit, min, max;
};

struct Assessment {
  HealthState state = HealthState::kOk;
  std::vector<CheckResult> results;  // every aspect looked at, in a fixed order
  std::vector<PerfDatum> perfdata;
  std::string summary;  // the first line's text
};

Assessment assess(const HealthFacts& facts, const Thresholds& thresholds);

}  // namespace ramsafe
