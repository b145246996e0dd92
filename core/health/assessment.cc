#include "core/health/assessment.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/error.h"
#include "core/schedule/cron.h"
#include "core/schedule/timezone.h"

namespace ramsafe {
namespace {

constexpr int64_t kMinute = 60;
constexpr int64_t kHour = 3600;
constexpr int64_t kDay = 86400;

int severity(HealthState state) {
  switch (state) {
    case HealthState::kOk:
      return 0;
    case HealthState::kUnknown:
      return 1;
    case HealthState::kWarning:
      return 2;
    case HealthState::kCritical:
      return 3;
  }
  return 3;
}

// Higher is worse: above crit is CRITICAL, above warn WARNING (as the range expressions of
// the performance data say: a value equal to the threshold is still inside).
template <typename T>
HealthState above(T value, T warn, T crit) {
  if (value > crit) return HealthState::kCritical;
  if (value > warn) return HealthState::kWarning;
  return HealthState::kOk;
}

int64_t age_s(int64_t now_ms, int64_t then_ms) {
  return std::max<int64_t>(0, (now_ms - then_ms) / 1000);
}

std::string quoted(const std::string& text) {
  return "'" + text + "'";
}

std::string number(uint64_t value) {
  return std::to_string(value);
}

std::string percent_text(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", value);
  return buf;
}

std::string free_text(const FreeSpace& f) {
  return f.percent ? percent_text(f.value) + "%" : human_bytes(static_cast<uint64_t>(f.value));
}

// The zone the schedule is evaluated in: ramsafe.timezone, else the server's, else ours.
std::string schedule_zone(const HealthFacts& facts) {
  if (facts.settings && !facts.settings->timezone.empty()) return facts.settings->timezone;
  if (facts.server.status_available) return facts.server.timezone;
  return "";
}

class Judge {
 public:
  Judge(const HealthFacts& facts, const Thresholds& t) : facts_(facts), t_(t) {}

  Assessment run() {
    configuration();
    schedules();
    backup_age();
    if (!facts_.rollback.empty()) add("freshness", HealthState::kCritical, facts_.rollback);
    for (const auto& store : facts_.stores) store_listing(store);
    if (const StoreHealth* local = facts_.store("local")) free_space(*local);
    if (const StoreHealth* drive = facts_.store("drive")) drive_lag(*drive);
    wal_chain();
    server();
    wal_archiving();
    ram();
    summarize();
    return std::move(out_);
  }

 private:
  void add(const std::string& name, HealthState state, const std::string& text) {
    out_.results.push_back({name, state, text});
    out_.state = worse(out_.state, state);
  }
  void perf(PerfDatum datum) { out_.perfdata.push_back(std::move(datum)); }

  void configuration() {
    const ConfigHealth& c = facts_.config;
    if (!c.read) {
      add("configuration", c.permission_denied ? HealthState::kUnknown : HealthState::kCritical,
          c.error + (c.permission_denied ? " (run check as the server's OS user)" : ""));
    } else if (c.problems.empty()) {
      add("configuration", HealthState::kOk, c.path + ": every ramsafe.* setting is valid");
    }
    for (const auto& p : c.problems) {
      std::string text = p.message;
      if (std::find(c.rejected_schedules.begin(), c.rejected_schedules.end(), p.setting) !=
          c.rejected_schedules.end())
        text += "; the server rejects it and runs another schedule (the default after a start)";
      add("configuration", HealthState::kCritical, text);
    }
    if (c.read) perf({"config_problems", number(c.problems.size()), "", "", "0", "0", ""});
  }

  void schedules() {
    if (!facts_.settings) return;
    for (const auto& [name, value] :
         {std::pair<std::string, std::string>{"ramsafe.schedule", facts_.settings->schedule},
          {"ramsafe.base_backup_schedule", facts_.settings->base_backup_schedule}}) {
      if (value.empty()) continue;
      if (!schedule_period_seconds(value, schedule_zone(facts_), facts_.now_ms / 1000))
        add("schedule", HealthState::kWarning,
            name + " = " + quoted(value) + " never fires: it takes no backups");
    }
  }

  void backup_age() {
    if (!facts_.settings) return;
    if (facts_.stores.empty()) {
      add("backup age", HealthState::kCritical,
          "no store is configured: set ramsafe.local_dir, or Drive credentials "
          "(ramsafe.drive_credentials_file or ramsafe.drive_token_file)");
      return;
    }
    std::string listed;
    for (const auto& s : facts_.stores)
      if (s.listed) listed += (listed.empty() ? "" : ", ") + s.location;
    if (listed.empty()) return;  // the stores' own results say why
    std::optional<SetSummary> newest = facts_.newest();
    if (!newest) {
      add("backup age", HealthState::kCritical, "no usable backup in " + listed);
      return;
    }
    std::string where;
    for (const auto& s : facts_.stores)
      if (s.newest && s.newest->id == newest->id) where += (where.empty() ? "" : ", ") + s.kind;
    int64_t age = age_s(facts_.now_ms, newest->finished_ms);
    add("backup age", above(age, t_.warn_age_s, t_.crit_age_s),
        "newest usable backup " + newest->id + " (" + newest->kind + ", " + where + ") finished " +
            human_duration(age) + " ago (warning at " + human_duration(t_.warn_age_s) +
            ", critical at " + human_duration(t_.crit_age_s) + "; " + t_.age_basis + ")");
    perf({"backup_age", std::to_string(age), "s", std::to_string(t_.warn_age_s),
          std::to_string(t_.crit_age_s), "0", ""});
    if (const StoreHealth* local = facts_.store("local"); local && local->recoverable_to_ms)
      perf({"recoverable_age", std::to_string(age_s(facts_.now_ms, *local->recoverable_to_ms)), "s",
            "", "", "0", ""});
  }

  void store_listing(const StoreHealth& s) {
    std::string name = "store " + s.kind;
    if (!s.listed) {
      HealthState state = HealthState::kCritical;
      if (s.permission_denied) {
        state = HealthState::kUnknown;
      } else if (s.kind == "drive") {
        bool other =
            std::any_of(facts_.stores.begin(), facts_.stores.end(),
                        [](const StoreHealth& o) { return o.kind != "drive" && o.listed; });
        if (other) state = HealthState::kWarning;
      }
      add(name, state, "cannot list " + s.location + ": " + s.error);
      return;
    }
    std::string text = s.location + ": " + std::to_string(s.usable_sets) + " usable set" +
                       (s.usable_sets == 1 ? "" : "s");
    if (s.wal_files > 0)
      text += ", " + std::to_string(s.wal_files) + " archived WAL files (" +
              human_bytes(s.wal_bytes) + ")";
    if (s.unusable_sets > 0) {
      add(name, HealthState::kWarning,
          text + "; " + std::to_string(s.unusable_sets) +
              " unusable (the newest: " + s.newest_unusable + ")");
    } else {
      add(name, HealthState::kOk, text);
    }
    perf({s.kind + "_sets", std::to_string(s.usable_sets), "", "", "", "0", ""});
    perf({s.kind + "_unusable", std::to_string(s.unusable_sets), "", "0", "", "0", ""});
  }

  void free_space(const StoreHealth& s) {
    if (!s.free_bytes || !s.filesystem_bytes) {
      if (!s.filesystem_error.empty())
        add("free space", HealthState::kWarning,
            "cannot measure the local store's filesystem: " + s.filesystem_error);
      return;
    }
    uint64_t size = *s.filesystem_bytes, free = *s.free_bytes;
    uint64_t warn = t_.warn_free.bytes_of(size), crit = t_.crit_free.bytes_of(size);
    HealthState state = free < crit   ? HealthState::kCritical
                        : free < warn ? HealthState::kWarning
                                      : HealthState::kOk;
    std::string text = human_bytes(free) + " free of " + human_bytes(size) + " (warning below " +
                       free_text(t_.warn_free) + ", critical below " + free_text(t_.crit_free) +
                       ")";
    // The next backup needs about as much room as the newest one took.
    if (s.newest && s.newest->stored_bytes > free) {
      state = HealthState::kCritical;
      text += "; the next backup does not fit (the newest took " +
              human_bytes(s.newest->stored_bytes) + ")";
    }
    add("free space", state, "local store: " + text);
    perf({"local_free", number(free), "B", number(warn) + ":", number(crit) + ":", "0",
          number(size)});
  }

  void drive_lag(const StoreHealth& s) {
    if (!s.listed || !s.pending_known) return;
    std::optional<int64_t> oldest = s.oldest_pending_set_ms;
    if (s.oldest_pending_wal_ms && (!oldest || *s.oldest_pending_wal_ms < *oldest))
      oldest = s.oldest_pending_wal_ms;
    int64_t lag = oldest ? age_s(facts_.now_ms, *oldest) : 0;
    std::string text;
    if (s.pending_sets == 0 && s.pending_wal_files == 0) {
      text = "Drive holds every set and WAL file it should";
    } else {
      text = "Drive lacks " + std::to_string(s.pending_sets) + " set" +
             (s.pending_sets == 1 ? "" : "s") + " and " + std::to_string(s.pending_wal_files) +
             " WAL file" + (s.pending_wal_files == 1 ? "" : "s") + ", the oldest finished " +
             human_duration(lag) + " ago";
      const ServerHealth& server = facts_.server;
      if (server.status_available && !server.last_remote_error.empty() &&
          server.last_remote_error_ms &&
          (!server.last_upload_ms || *server.last_remote_error_ms > *server.last_upload_ms))
        text += "; the worker's last upload failed: " + server.last_remote_error;
    }
    add("drive lag", above(lag, t_.warn_drive_lag_s, t_.crit_drive_lag_s),
        text + " (warning at " + human_duration(t_.warn_drive_lag_s) + ", critical at " +
            human_duration(t_.crit_drive_lag_s) + ")");
    perf({"drive_lag", std::to_string(lag), "s", std::to_string(t_.warn_drive_lag_s),
          std::to_string(t_.crit_drive_lag_s), "0", ""});
    perf({"drive_pending", std::to_string(s.pending_sets), "", "", "", "0", ""});
    perf({"drive_pending_wal", std::to_string(s.pending_wal_files), "", "", "", "0", ""});
  }

  void wal_chain() {
    std::string broken;
    if (const StoreHealth* local = facts_.store("local")) broken = local->wal_chain_broken_at;
    if (broken.empty() && facts_.server.status_available)
      broken = facts_.server.wal_chain_broken_at;
    if (broken.empty()) return;
    add("WAL chain", HealthState::kWarning,
        "broken at " + broken +
            " (dropped: ramsafe.wal_backlog_policy = drop); WAL archived since restores only "
            "after the next base backup");
  }

  void server() {
    const ServerHealth& s = facts_.server;
    if (!facts_.settings) return;
    if (!s.asked) {
      add("server", HealthState::kOk, "not asked (--no-server)");
      return;
    }
    if (!s.up) {
      add("server", HealthState::kOk,
          s.target + " does not answer; judged from the stores alone (" + s.error + ")");
      return;
    }
    if (!s.status_available) {
      add("server", HealthState::kWarning,
          "cannot read ramsafe_status() on " + s.target + ": " + s.status_error +
              " (CREATE EXTENSION ramsafe in that database, or choose it with --dbname)");
      return;
    }
    if (!s.worker_pid) {
      add("server", HealthState::kWarning,
          "the ramsafe worker is not running on " + s.target + " (the server restarts it)");
    } else {
      std::string text = s.target + ": worker pid " + std::to_string(*s.worker_pid) +
                         ", schedule " + (s.schedule.empty() ? "off" : quoted(s.schedule));
      if (s.running) text += ", backing up (" + s.phase + ")";
      add("server", HealthState::kOk, text);
    }
    if (s.last_error_ms && (!s.last_finished_ms || *s.last_error_ms > *s.last_finished_ms))
      add("last backup", HealthState::kWarning,
          "the worker's last backup failed " +
              human_duration(age_s(facts_.now_ms, *s.last_error_ms)) + " ago: " + s.last_error);
  }

  void wal_archiving() {
    const ServerHealth& s = facts_.server;
    if (!s.status_available || !s.archiving) return;
    int64_t lag = s.wal_backlog_oldest_ms ? age_s(facts_.now_ms, *s.wal_backlog_oldest_ms) : 0;
    std::string text = lag == 0 && !s.wal_backlog_oldest_ms
                           ? "no WAL is waiting to be archived"
                           : "the oldest WAL segment waiting to be archived was finished " +
                                 human_duration(lag) + " ago";
    if (lag > 0 && !s.last_archive_error.empty())
      text += "; the last failure: " + s.last_archive_error;
    add("WAL archive lag", above(lag, t_.warn_wal_lag_s, t_.crit_wal_lag_s),
        text + " (warning at " + human_duration(t_.warn_wal_lag_s) + ", critical at " +
            human_duration(t_.crit_wal_lag_s) + ")");
    perf({"wal_lag", std::to_string(lag), "s", std::to_string(t_.warn_wal_lag_s),
          std::to_string(t_.crit_wal_lag_s), "0", ""});
    uint64_t backlog = static_cast<uint64_t>(std::max<int64_t>(0, s.wal_backlog_bytes.value_or(0)));
    add("WAL backlog", above(backlog, t_.warn_backlog_bytes, t_.crit_backlog_bytes),
        human_bytes(backlog) + " of WAL waiting in pg_wal (warning at " +
            human_bytes(t_.warn_backlog_bytes) + ", critical at " +
            human_bytes(t_.crit_backlog_bytes) + ")");
    perf({"wal_backlog", number(backlog), "B", number(t_.warn_backlog_bytes),
          number(t_.crit_backlog_bytes), "0", ""});
  }

  void ram() {
    const RamHealth& r = facts_.ram;
    if (!r.measured) {
      if (!r.directory.empty())
        add("RAM", HealthState::kOk, "cannot measure " + r.directory + " now: " + r.error);
      return;
    }
    double used = r.used_percent();
    add("RAM", above(used, t_.warn_ram_percent, t_.crit_ram_percent),
        "the filesystem of " + (r.directory.empty() ? "the data directory" : r.directory) + " is " +
            percent_text(used) + "% full (" + human_bytes(r.used_bytes) + " of " +
            human_bytes(r.filesystem_bytes) +
            (r.directory_bytes ? ", the data directory " + human_bytes(*r.directory_bytes) : "") +
            "; warning at " + percent_text(t_.warn_ram_percent) + "%, critical at " +
            percent_text(t_.crit_ram_percent) + "%)");
    perf({"ram_used", percent_text(used), "%", percent_text(t_.warn_ram_percent),
          percent_text(t_.crit_ram_percent), "0", "100"});
    if (r.directory_bytes) perf({"data_dir", number(*r.directory_bytes), "B", "", "", "0", ""});
  }

  void summarize() {
    if (out_.state == HealthState::kOk) {
      std::optional<SetSummary> newest = facts_.newest();
      std::string text = newest ? "newest backup " + newest->id + " (" + newest->kind + ") " +
                                      human_duration(age_s(facts_.now_ms, newest->finished_ms)) +
                                      " old"
                                : "nothing to report";
      int stores = 0;
      for (const auto& s : facts_.stores) stores += s.listed ? 1 : 0;
      text += ", " + std::to_string(stores) + " store" + (stores == 1 ? "" : "s");
      if (facts_.server.asked)
        text += facts_.server.status_available ? ", server up" : ", server down";
      out_.summary = text;
      return;
    }
    std::vector<const CheckResult*> problems;
    for (const auto& r : out_.results)
      if (r.state != HealthState::kOk) problems.push_back(&r);
    std::stable_sort(problems.begin(), problems.end(), [](const auto* a, const auto* b) {
      return severity(a->state) > severity(b->state);
    });
    const size_t shown = 3;
    std::string text;
    for (size_t i = 0; i < problems.size() && i < shown; ++i)
      text += (i ? "; " : "") + problems[i]->name + ": " + problems[i]->text;
    if (problems.size() > shown)
      text += " (and " + std::to_string(problems.size() - shown) + " more)";
    out_.summary = text;
  }

  const HealthFacts& facts_;
  const Thresholds& t_;
  Assessment out_;
};

}  // namespace

const char* state_name(HealthState state) {
  switch (state) {
    case HealthState::kOk:
      return "OK";
    case HealthState::kWarning:
      return "WARNING";
    case HealthState::kCritical:
      return "CRITICAL";
    case HealthState::kUnknown:
      return "UNKNOWN";
  }
  return "UNKNOWN";
}

HealthState worse(HealthState a, HealthState b) {
  return severity(a) >= severity(b) ? a : b;
}

uint64_t FreeSpace::bytes_of(uint64_t filesystem_bytes) const {
  if (!percent) return static_cast<uint64_t>(value);
  return static_cast<uint64_t>(static_cast<double>(filesystem_bytes) * value / 100.0);
}

std::optional<int64_t> parse_duration(const std::string& text) {
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  size_t i = 0;
  const int64_t limit = int64_t{100} * 365 * kDay;
  while (i < text.size()) {
    size_t start = i;
    int64_t value = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      value = value * 10 + (text[i] - '0');
      if (value > limit) return std::nullopt;
      ++i;
    }
    if (i == start) return std::nullopt;
    int64_t unit = 1;
    if (i < text.size()) {
      switch (text[i]) {
        case 's':
          unit = 1;
          break;
        case 'm':
          unit = kMinute;
          break;
        case 'h':
          unit = kHour;
          break;
        case 'd':
          unit = kDay;
          break;
        default:
          return std::nullopt;
      }
      ++i;
    } else if (start != 0) {
      return std::nullopt;  // "1h30": a bare number only on its own
    }
    total += value * unit;
    if (total > limit) return std::nullopt;
  }
  return total;
}

std::optional<double> parse_percent(const std::string& text) {
  std::string number = text;
  if (!number.empty() && number.back() == '%') number.pop_back();
  if (number.empty() || !(std::isdigit(static_cast<unsigned char>(number[0])) || number[0] == '.'))
    return std::nullopt;
  char* end = nullptr;
  double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(value) || value < 0 || value > 100)
    return std::nullopt;
  return value;
}

std::optional<FreeSpace> parse_free_space(const std::string& text) {
  if (!text.empty() && text.back() == '%') {
    std::optional<double> p = parse_percent(text);
    if (!p) return std::nullopt;
    return FreeSpace{true, *p};
  }
  std::optional<uint64_t> bytes = parse_size(text);
  if (!bytes || text.find_first_of(" \t") != std::string::npos) return std::nullopt;
  return FreeSpace{false, static_cast<double>(*bytes)};
}

std::string human_duration(int64_t seconds) {
  seconds = std::max<int64_t>(0, seconds);
  char buf[48];
  if (seconds < 120)
    std::snprintf(buf, sizeof buf, "%lld s", static_cast<long long>(seconds));
  else if (seconds < 2 * kHour)
    std::snprintf(buf, sizeof buf, "%lld min", static_cast<long long>(seconds / kMinute));
  else if (seconds < 2 * kDay)
    std::snprintf(buf, sizeof buf, "%lld h %02lld min", static_cast<long long>(seconds / kHour),
                  static_cast<long long>(seconds % kHour / kMinute));
  else
    std::snprintf(buf, sizeof buf, "%lld d %02lld h", static_cast<long long>(seconds / kDay),
                  static_cast<long long>(seconds % kDay / kHour));
  return buf;
}

std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

std::optional<int64_t> schedule_period_seconds(const std::string& schedule,
                                               const std::string& zone_name, int64_t now_s) {
  if (schedule.empty()) return std::nullopt;
  TimeZone zone = TimeZone::system_default();
  if (!zone_name.empty()) {
    try {
      zone = TimeZone::load(zone_name);
    } catch (const Error&) {
      // the server's unknown zone: it then schedules in UTC
      zone = TimeZone::utc();
    }
  }
  std::optional<CronSchedule> cron;
  try {
    cron = CronSchedule::parse(schedule);
  } catch (const Error&) {
    return std::nullopt;
  }
  std::optional<int64_t> first = cron->next_after(now_s, zone);
  if (!first) return std::nullopt;
  int64_t previous = *first, longest = 0;
  // At most a fire a minute: eight days are 11520 fire times.
  for (int i = 0; i < 12000; ++i) {
    std::optional<int64_t> next = cron->next_after(previous, zone);
    if (!next) break;
    longest = std::max(longest, *next - previous);
    if (*next - *first > 8 * kDay) break;
    previous = *next;
  }
  if (longest == 0) return std::nullopt;
  return longest;
}

Thresholds resolve_thresholds(const ThresholdOptions& o, const HealthFacts& facts) {
  Thresholds t;
  // Backup age: from the most frequent of the two schedules.
  std::optional<int64_t> period;
  std::string basis = "no schedule: as for a daily one";
  if (facts.settings) {
    for (const auto& [name, value] :
         {std::pair<std::string, std::string>{"ramsafe.schedule", facts.settings->schedule},
          {"ramsafe.base_backup_schedule", facts.settings->base_backup_schedule}}) {
      std::optional<int64_t> p =
          schedule_period_seconds(value, schedule_zone(facts), facts.now_ms / 1000);
      if (p && (!period || *p < *period)) {
        period = p;
        basis = name + " " + quoted(value) + " leaves at most " + human_duration(*p) +
                " between backups";
      }
    }
  }
  int64_t p = period.value_or(kDay);
  int64_t warn_age = p + std::max(p / 2, 30 * kMinute);
  int64_t crit_age = p + std::max(2 * p, 2 * kHour);
  if (o.warn_age_s || o.crit_age_s) basis = "thresholds given";

  auto pair = [](std::optional<int64_t> warn, std::optional<int64_t> crit, int64_t warn_default,
                 int64_t crit_default, int64_t* out_warn, int64_t* out_crit) {
    *out_warn = warn.value_or(warn_default);
    *out_crit = crit.value_or(crit_default);
    if (*out_warn > *out_crit) {
      if (!crit) *out_crit = *out_warn;
      if (!warn) *out_warn = *out_crit;
    }
  };
  pair(o.warn_age_s, o.crit_age_s, warn_age, crit_age, &t.warn_age_s, &t.crit_age_s);
  t.age_basis = basis;
  pair(o.warn_drive_lag_s, o.crit_drive_lag_s, std::max(3 * kHour, p), std::max(kDay, 3 * p),
       &t.warn_drive_lag_s, &t.crit_drive_lag_s);
  pair(o.warn_wal_lag_s, o.crit_wal_lag_s, 15 * kMinute, kHour, &t.warn_wal_lag_s,
       &t.crit_wal_lag_s);

  // Backlog: against ramsafe.wal_backlog_limit, where the drop policy breaks the chain.
  uint64_t limit = 0;
  if (facts.settings) limit = parse_size(facts.settings->wal_backlog_limit).value_or(0);
  uint64_t warn_backlog = uint64_t{1} << 30, crit_backlog = uint64_t{2} << 30;
  if (limit > 0) {
    warn_backlog = limit / 2;
    crit_backlog = limit / 10 * 9;
  } else if (facts.ram.measured && facts.ram.filesystem_bytes > 0) {
    warn_backlog = facts.ram.filesystem_bytes / 4;
    crit_backlog = facts.ram.filesystem_bytes / 2;
  }
  int64_t wb = 0, cb = 0;
  pair(o.warn_backlog_bytes ? std::optional<int64_t>(static_cast<int64_t>(*o.warn_backlog_bytes))
                            : std::nullopt,
       o.crit_backlog_bytes ? std::optional<int64_t>(static_cast<int64_t>(*o.crit_backlog_bytes))
                            : std::nullopt,
       static_cast<int64_t>(warn_backlog), static_cast<int64_t>(crit_backlog), &wb, &cb);
  t.warn_backlog_bytes = static_cast<uint64_t>(wb);
  t.crit_backlog_bytes = static_cast<uint64_t>(cb);

  t.warn_free = o.warn_free.value_or(FreeSpace{true, 10});
  t.crit_free = o.crit_free.value_or(FreeSpace{true, 5});
  // Less is worse: a warning level below the critical one follows it (same kind only).
  if (t.warn_free.percent == t.crit_free.percent && t.warn_free.value < t.crit_free.value) {
    if (!o.crit_free) t.crit_free = t.warn_free;
    if (!o.warn_free) t.warn_free = t.crit_free;
  }

  double ram_warn = facts.settings ? facts.settings->ram_warn_percent : 80;
  t.warn_ram_percent = o.warn_ram_percent.value_or(ram_warn);
  t.crit_ram_percent = o.crit_ram_percent.value_or(ram_warn + (100 - ram_warn) / 2);
  if (t.warn_ram_percent > t.crit_ram_percent) {
    if (!o.crit_ram_percent) t.crit_ram_percent = t.warn_ram_percent;
    if (!o.warn_ram_percent) t.warn_ram_percent = t.crit_ram_percent;
  }
  return t;
}

Assessment assess(const HealthFacts& facts, const Thresholds& thresholds) {
  return Judge(facts, thresholds).run();
}

}  // namespace ramsafe
