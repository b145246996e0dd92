#include <iostream>

#include "companion/commands.h"
#include "companion/health_command.h"
#include "core/health/assessment.h"
#include "core/health/render.h"

namespace ramsafe::cli {

CommandSpec check_spec() {
  std::vector<OptionSpec> options = gathering_options();
  std::vector<OptionSpec> more = {
      {"warn-age", 0, true, "DURATION",
       "newest usable backup older than this: WARNING (default: from the schedule, 1.5 "
       "periods for hourly)"},
      {"crit-age", 0, true, "DURATION", "... CRITICAL (default: 3 periods for hourly)"},
      {"warn-drive-lag", 0, true, "DURATION",
       "a set or WAL file Drive lacks for longer: WARNING (default: 3h, or the period)"},
      {"crit-drive-lag", 0, true, "DURATION", "... CRITICAL (default: 1d, or 3 periods)"},
      {"warn-wal-lag", 0, true, "DURATION",
       "a WAL segment waiting to be archived for longer: WARNING (default: 15m)"},
      {"crit-wal-lag", 0, true, "DURATION", "... CRITICAL (default: 1h)"},
      {"warn-backlog", 0, true, "SIZE",
       "more WAL waiting in pg_wal: WARNING (default: half of ramsafe.wal_backlog_limit)"},
      {"crit-backlog", 0, true, "SIZE", "... CRITICAL (default: 90% of the limit)"},
      {"warn-free", 0, true, "SIZE|PCT",
       "less free space in the local store: WARNING (default: 10%)"},
      {"crit-free", 0, true, "SIZE|PCT", "... CRITICAL (default: 5%)"},
      {"warn-ram", 0, true, "PCT",
       "the data directory's filesystem fuller: WARNING (default: ramsafe.ram_warn_percent)"},
      {"crit-ram", 0, true, "PCT", "... CRITICAL (default: half way from there to 100)"},
      {"json", 0, false, "", "print the states, thresholds and facts as JSON"},
  };
  options.insert(options.end(), more.begin(), more.end());
  CommandSpec spec{
      "check",
      "check [options]",
      "Check the backups for a monitoring system (Nagios, Icinga).\n"
      "Exit code and first line follow the monitoring-plugins guidelines: 0 OK, 1 WARNING,\n"
      "2 CRITICAL, 3 UNKNOWN (also for bad arguments, --help and --version), then one line per\n"
      "result.\n"
      "\n"
      "Looks at the configuration file (an unknown ramsafe.* name or a rejected\n"
      "value is CRITICAL), every store (the newest usable backup's age, unusable sets, free\n"
      "space, what Drive lacks), the data directory's filesystem, and ramsafe_status() when\n"
      "the server answers; it needs no running server.\n"
      "\n"
      "DURATION: 90 (seconds), 30m, 2h, 1d,\n"
      "1h30m; SIZE: 512MB, 2GB (no unit: MB); PCT: 80 or 80%. Details: docs/monitoring.md.",
      options,
      0,
      ""};
  spec.monitoring_plugin = true;
  return spec;
}

namespace {

std::optional<int64_t> duration_option(const ParsedArgs& args, const std::string& name) {
  if (!args.has(name)) return std::nullopt;
  std::optional<int64_t> value = parse_duration(args.get(name));
  if (!value)
    throw UsageError("invalid value for --" + name + ": \"" + args.get(name) +
                     "\" (expected a duration such as 90, 30m, 2h, 1d or 1h30m)");
  return value;
}

std::optional<uint64_t> size_option(const ParsedArgs& args, const std::string& name) {
  if (!args.has(name)) return std::nullopt;
  std::optional<uint64_t> value = parse_size(args.get(name));
  if (!value)
    throw UsageError("invalid value for --" + name + ": \"" + args.get(name) +
                     "\" (expected a size such as 512MB or 2GB; no unit means MB)");
  return value;
}

std::optional<FreeSpace> free_option(const ParsedArgs& args, const std::string& name) {
  if (!args.has(name)) return std::nullopt;
  std::optional<FreeSpace> value = parse_free_space(args.get(name));
  if (!value)
    throw UsageError("invalid value for --" + name + ": \"" + args.get(name) +
                     "\" (expected a share such as 10% or a size such as 5GB)");
  return value;
}

std::optional<double> percent_option(const ParsedArgs& args, const std::string& name) {
  if (!args.has(name)) return std::nullopt;
  std::optional<double> value = parse_percent(args.get(name));
  if (!value)
    throw UsageError("invalid value for --" + name + ": \"" + args.get(name) +
                     "\" (expected a percentage from 0 to 100)");
  return value;
}

template <typename T>
void ordered(const std::optional<T>& low, const std::optional<T>& high, const std::string& what) {
  if (low && high && *low > *high)
    throw UsageError("--warn-" + what + " must not be above --crit-" + what);
}

ThresholdOptions threshold_options(const ParsedArgs& args) {
  ThresholdOptions o;
  o.warn_age_s = duration_option(args, "warn-age");
  o.crit_age_s = duration_option(args, "crit-age");
  ordered(o.warn_age_s, o.crit_age_s, "age");
  o.warn_drive_lag_s = duration_option(args, "warn-drive-lag");
  o.crit_drive_lag_s = duration_option(args, "crit-drive-lag");
  ordered(o.warn_drive_lag_s, o.crit_drive_lag_s, "drive-lag");
  o.warn_wal_lag_s = duration_option(args, "warn-wal-lag");
  o.crit_wal_lag_s = duration_option(args, "crit-wal-lag");
  ordered(o.warn_wal_lag_s, o.crit_wal_lag_s, "wal-lag");
  o.warn_backlog_bytes = size_option(args, "warn-backlog");
  o.crit_backlog_bytes = size_option(args, "crit-backlog");
  ordered(o.warn_backlog_bytes, o.crit_backlog_bytes, "backlog");
  o.warn_free = free_option(args, "warn-free");
  o.crit_free = free_option(args, "crit-free");
  if (o.warn_free && o.crit_free && o.warn_free->percent == o.crit_free->percent &&
      o.warn_free->value < o.crit_free->value)
    throw UsageError("--warn-free must not be below --crit-free");
  o.warn_ram_percent = percent_option(args, "warn-ram");
  o.crit_ram_percent = percent_option(args, "crit-ram");
  ordered(o.warn_ram_percent, o.crit_ram_percent, "ram");
  return o;
}

}  // namespace

int run_check(const ParsedArgs& args) {
  ThresholdOptions options = threshold_options(args);
  HealthFacts facts = gather_within_timeout(args, {"RAMSAFE UNKNOWN - ", 1, kExitPluginUnknown});
  Thresholds thresholds = resolve_thresholds(options, facts);
  Assessment assessment = assess(facts, thresholds);
  if (args.has("json"))
    std::cout << render_json(facts, thresholds, assessment);
  else
    std::cout << render_plugin(assessment);
  std::cout.flush();
  return static_cast<int>(assessment.state);
}

}  // namespace ramsafe::cli
