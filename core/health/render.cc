#include "core/health/render.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/set/manifest.h"

namespace ramsafe {
namespace {

using nlohmann::json;

// One line of plugin text: control characters become spaces, '|' a '/'.
std::string plugin_safe(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f)
      out += ' ';
    else if (c == '|')
      out += '/';
    else
      out += c;
  }
  return out;
}

json optional_ms(const std::optional<int64_t>& ms) {
  return ms ? json(format_rfc3339_utc(*ms)) : json();
}

template <typename T>
json optional_value(const std::optional<T>& v) {
  return v ? json(*v) : json();
}

json text_or_null(const std::string& text) {
  return text.empty() ? json() : json(text);
}

json set_json(const std::optional<SetSummary>& s, int64_t now_ms) {
  if (!s) return json();
  return {{"id", s->id},
          {"kind", s->kind},
          {"finished_at", format_rfc3339_utc(s->finished_ms)},
          {"age_seconds", std::max<int64_t>(0, (now_ms - s->finished_ms) / 1000)},
          {"stored_bytes", s->stored_bytes},
          {"databases", s->databases}};
}

json store_json(const StoreHealth& s, int64_t now_ms) {
  json j = {{"kind", s.kind},
            {"location", s.location},
            {"listed", s.listed},
            {"error", text_or_null(s.error)},
            {"usable_sets", s.usable_sets},
            {"unusable_sets", s.unusable_sets},
            {"newest_unusable", text_or_null(s.newest_unusable)},
            {"newest", set_json(s.newest, now_ms)},
            {"newest_logical", set_json(s.newest_logical, now_ms)},
            {"newest_physical", set_json(s.newest_physical, now_ms)},
            {"newest_offline", set_json(s.newest_offline, now_ms)},
            {"wal_files", s.wal_files},
            {"wal_bytes", s.wal_bytes},
            {"wal_newest", text_or_null(s.wal_newest)},
            {"wal_newest_at", optional_ms(s.wal_newest_ms)}};
  if (s.kind == "local") {
    j["filesystem_bytes"] = optional_value(s.filesystem_bytes);
    j["free_bytes"] = optional_value(s.free_bytes);
    j["filesystem_error"] = text_or_null(s.filesystem_error);
    j["recoverable_to"] = optional_ms(s.recoverable_to_ms);
    j["wal_chain_broken_at"] = text_or_null(s.wal_chain_broken_at);
  } else {
    j["pending_known"] = s.pending_known;
    j["pending_sets"] = s.pending_sets;
    j["oldest_pending_set_at"] = optional_ms(s.oldest_pending_set_ms);
    j["pending_wal_files"] = s.pending_wal_files;
    j["pending_wal_bytes"] = s.pending_wal_bytes;
    j["oldest_pending_wal_at"] = optional_ms(s.oldest_pending_wal_ms);
  }
  return j;
}

json server_json(const ServerHealth& s) {
  json j = {{"asked", s.asked},
            {"target", text_or_null(s.target)},
            {"up", s.up},
            {"error", text_or_null(s.error)},
            {"status_available", s.status_available},
            {"status_error", text_or_null(s.status_error)}};
  if (!s.status_available) return j;
  j["schedule"] = s.schedule;
  j["timezone"] = s.timezone;
  j["worker_pid"] = optional_value(s.worker_pid);
  j["running"] = s.running;
  j["phase"] = text_or_null(s.phase);
  j["next_run"] = optional_ms(s.next_run_ms);
  j["last_backup_id"] = text_or_null(s.last_backup_id);
  j["last_finished_at"] = optional_ms(s.last_finished_ms);
  j["last_error"] = text_or_null(s.last_error);
  j["last_error_at"] = optional_ms(s.last_error_ms);
  j["backups_requested"] = optional_value(s.backups_requested);
  j["backups_scheduled"] = optional_value(s.backups_scheduled);
  j["backups_failed"] = optional_value(s.backups_failed);
  j["pending_uploads"] = optional_value(s.pending_uploads);
  j["remote_store"] = text_or_null(s.remote_store);
  j["last_upload_at"] = optional_ms(s.last_upload_ms);
  j["last_remote_error"] = text_or_null(s.last_remote_error);
  j["last_remote_error_at"] = optional_ms(s.last_remote_error_ms);
  j["uploads_failed"] = optional_value(s.uploads_failed);
  j["archiving"] = s.archiving;
  j["last_archived_wal"] = text_or_null(s.last_archived_wal);
  j["last_archived_at"] = optional_ms(s.last_archived_ms);
  j["archive_failures"] = optional_value(s.archive_failures);
  j["last_archive_error"] = text_or_null(s.last_archive_error);
  j["wal_backlog_bytes"] = optional_value(s.wal_backlog_bytes);
  j["wal_backlog_oldest_at"] = optional_ms(s.wal_backlog_oldest_ms);
  j["wal_chain_broken_at"] = text_or_null(s.wal_chain_broken_at);
  j["last_base_backup_at"] = optional_ms(s.last_base_backup_ms);
  j["last_base_backup_error"] = text_or_null(s.last_base_backup_error);
  j["recoverable_to"] = optional_ms(s.recoverable_to_ms);
  j["wal_drive_pending_files"] = optional_value(s.wal_drive_pending_files);
  j["wal_drive_pending_bytes"] = optional_value(s.wal_drive_pending_bytes);
  j["data_directory_bytes"] = optional_value(s.data_directory_bytes);
  j["filesystem_bytes"] = optional_value(s.filesystem_bytes);
  j["filesystem_free_bytes"] = optional_value(s.filesystem_free_bytes);
  return j;
}

json facts_json(const HealthFacts& f) {
  json problems = json::array();
  for (const auto& p : f.config.problems)
    problems.push_back(
        {{"kind", p.kind}, {"setting", text_or_null(p.setting)}, {"message", p.message}});
  json stores = json::array();
  for (const auto& s : f.stores) stores.push_back(store_json(s, f.now_ms));
  json ram = {{"directory", text_or_null(f.ram.directory)},
              {"measured", f.ram.measured},
              {"source", text_or_null(f.ram.source)},
              {"error", text_or_null(f.ram.error)}};
  if (f.ram.measured) {
    ram["filesystem_bytes"] = f.ram.filesystem_bytes;
    ram["used_bytes"] = f.ram.used_bytes;
    ram["free_bytes"] = f.ram.free_bytes;
    ram["used_percent"] = f.ram.used_percent();
  }
  ram["directory_bytes"] = optional_value(f.ram.directory_bytes);
  return {{"checked_at", format_rfc3339_utc(f.now_ms)},
          {"cluster", text_or_null(f.cluster)},
          {"rollback", text_or_null(f.rollback)},
          {"config",
           {{"path", f.config.path},
            {"read", f.config.read},
            {"error", text_or_null(f.config.error)},
            {"problems", problems},
            {"rejected_schedules", f.config.rejected_schedules}}},
          {"stores", stores},
          {"ram", ram},
          {"server", server_json(f.server)}};
}

// ---- Prometheus ----------------------------------------------------------------------

std::string label_value(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string sample_value(double value) {
  char buf[64];
  if (value == static_cast<double>(static_cast<int64_t>(value)) && value < 9e15 && value > -9e15)
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(value));
  else
    std::snprintf(buf, sizeof buf, "%.3f", value);
  return buf;
}

double seconds_of(int64_t ms) {
  return static_cast<double>(ms) / 1000.0;
}

using Labels = std::vector<std::pair<std::string, std::string>>;

// Families in the order first added; a family without samples is not written.
class Exposition {
 public:
  void add(const std::string& name, const std::string& type, const std::string& help,
           const Labels& labels, double value) {
    Family& f = family(name, type, help);
    std::string line = name;
    if (!labels.empty()) {
      line += "{";
      for (size_t i = 0; i < labels.size(); ++i)
        line += (i ? "," : "") + labels[i].first + "=\"" + label_value(labels[i].second) + "\"";
      line += "}";
    }
    f.samples.push_back(line + " " + sample_value(value));
  }
  void gauge(const std::string& name, const std::string& help, const Labels& labels, double value) {
    add(name, "gauge", help, labels, value);
  }
  template <typename T>
  void gauge(const std::string& name, const std::string& help, const Labels& labels,
             const std::optional<T>& value) {
    if (value) add(name, "gauge", help, labels, static_cast<double>(*value));
  }
  void timestamp(const std::string& name, const std::string& help, const Labels& labels,
                 const std::optional<int64_t>& ms) {
    if (ms) add(name, "gauge", help, labels, seconds_of(*ms));
  }
  void counter(const std::string& name, const std::string& help, const Labels& labels,
               const std::optional<int64_t>& value) {
    if (value) add(name, "counter", help, labels, static_cast<double>(*value));
  }

  std::string text() const {
    std::string out;
    for (const auto& name : order_) {
      const Family& f = families_.at(name);
      if (f.samples.empty()) continue;
      out.append("# HELP ").append(name).append(" ").append(f.help);
      out.append("\n# TYPE ").append(name).append(" ").append(f.type).append("\n");
      for (const auto& s : f.samples) out += s + "\n";
    }
    return out;
  }

 private:
  struct Family {
    std::string type, help;
    std::vector<std::string> samples;
  };
  Family& family(const std::string& name, const std::string& type, const std::string& help) {
    auto it = families_.find(name);
    if (it != families_.end()) return it->second;
    order_.push_back(name);
    return families_[name] = Family{type, help, {}};
  }

  std::vector<std::string> order_;
  std::map<std::string, Family> families_;
};

void store_metrics(const StoreHealth& s, int64_t now_ms, Exposition& e) {
  Labels store = {{"store", s.kind}};
  e.gauge("ramsafe_store_up", "Whether the store could be listed (1) or not (0).", store,
          s.listed ? 1.0 : 0.0);
  if (!s.listed) return;
  e.gauge("ramsafe_store_usable_sets", "Backup sets a restore could use.", store, s.usable_sets);
  e.gauge("ramsafe_store_unusable_sets", "Backup sets with a missing or damaged manifest.", store,
          s.unusable_sets);
  for (const auto* set : {&s.newest_logical, &s.newest_physical, &s.newest_offline}) {
    if (!*set) continue;
    Labels labels = {{"store", s.kind}, {"kind", (*set)->kind}};
    e.timestamp("ramsafe_newest_backup_timestamp_seconds",
                "When the newest usable set of this kind finished (unix time).", labels,
                (*set)->finished_ms);
    e.gauge("ramsafe_newest_backup_stored_bytes",
            "Stored (compressed, encrypted) bytes of the newest usable set of this kind.", labels,
            static_cast<double>((*set)->stored_bytes));
  }
  e.gauge("ramsafe_store_filesystem_size_bytes", "Size of the filesystem the store is on.", store,
          s.filesystem_bytes);
  e.gauge("ramsafe_store_filesystem_free_bytes",
          "Bytes available to unprivileged users on the store's filesystem.", store, s.free_bytes);
  e.gauge("ramsafe_wal_archived_files", "Archived WAL files in the store.", store,
          static_cast<double>(s.wal_files));
  e.gauge("ramsafe_wal_archived_bytes", "Stored bytes of the archived WAL files in the store.",
          store, static_cast<double>(s.wal_bytes));
  e.timestamp("ramsafe_wal_newest_archived_timestamp_seconds",
              "When the store's newest archived WAL file was archived (unix time).", store,
              s.wal_newest_ms);
  if (s.kind == "local") {
    e.timestamp("ramsafe_recoverable_to_timestamp_seconds",
                "The latest point a restore from the store reaches (unix time; an estimate "
                "with WAL).",
                store, s.recoverable_to_ms);
    e.gauge("ramsafe_wal_chain_broken",
            "1 while a dropped WAL segment has no base backup after it.", store,
            s.wal_chain_broken_at.empty() ? 0.0 : 1.0);
  }
  if (s.kind == "drive" && s.pending_known) {
    e.gauge("ramsafe_drive_pending_sets", "Local sets Drive's retention wants but Drive lacks.", {},
            s.pending_sets);
    e.gauge("ramsafe_drive_pending_wal_files", "Archived WAL files Drive lacks.", {},
            static_cast<double>(s.pending_wal_files));
    e.gauge("ramsafe_drive_pending_wal_bytes", "Stored bytes of the WAL files Drive lacks.", {},
            static_cast<double>(s.pending_wal_bytes));
    std::optional<int64_t> oldest = s.oldest_pending_set_ms;
    if (s.oldest_pending_wal_ms && (!oldest || *s.oldest_pending_wal_ms < *oldest))
      oldest = s.oldest_pending_wal_ms;
    e.gauge("ramsafe_drive_lag_seconds",
            "Age of the oldest set or WAL file Drive lacks (0 when it lacks none).", {},
            oldest ? std::max<double>(0, seconds_of(now_ms - *oldest)) : 0.0);
  }
}

void server_metrics(const HealthFacts& f, Exposition& e) {
  const ServerHealth& s = f.server;
  if (!s.asked) return;
  e.gauge("ramsafe_server_up", "Whether the server accepted a connection (1) or not (0).", {},
          s.up ? 1.0 : 0.0);
  if (!s.up) return;
  e.gauge("ramsafe_status_up", "Whether ramsafe_status() could be read (1) or not (0).", {},
          s.status_available ? 1.0 : 0.0);
  if (!s.status_available) return;
  e.gauge("ramsafe_worker_up", "Whether the ramsafe worker runs (1) or not (0).", {},
          s.worker_pid ? 1.0 : 0.0);
  e.gauge("ramsafe_backup_running", "Whether a backup runs now (1) or not (0).", {},
          s.running ? 1.0 : 0.0);
  e.timestamp("ramsafe_worker_next_run_timestamp_seconds", "The next scheduled backup (unix time).",
              {}, s.next_run_ms);
  e.timestamp("ramsafe_worker_last_backup_timestamp_seconds",
              "When the worker's last backup since the server started finished (unix time).", {},
              s.last_finished_ms);
  e.timestamp("ramsafe_worker_last_error_timestamp_seconds",
              "When the worker's last backup failed (unix time).", {}, s.last_error_ms);
  e.counter("ramsafe_worker_backups_requested_total",
            "ramsafe_backup_now() calls that filed a request, since the server started.", {},
            s.backups_requested);
  e.counter("ramsafe_worker_backups_scheduled_total",
            "Backups the worker started on its own, since the server started.", {},
            s.backups_scheduled);
  e.counter("ramsafe_worker_backups_failed_total",
            "Backups that failed or were cancelled, since the server started.", {},
            s.backups_failed);
  e.counter("ramsafe_worker_uploads_failed_total",
            "Upload passes to Drive that failed, since the server started.", {}, s.uploads_failed);
  e.timestamp("ramsafe_worker_last_upload_timestamp_seconds",
              "When the worker last finished copying a set to Drive (unix time).", {},
              s.last_upload_ms);
  e.timestamp("ramsafe_worker_last_upload_error_timestamp_seconds",
              "When an upload pass to Drive last failed (unix time).", {}, s.last_remote_error_ms);
  e.gauge("ramsafe_wal_archiving", "Whether the server archives WAL through ramsafe.", {},
          s.archiving ? 1.0 : 0.0);
  if (s.archiving) {
    e.counter("ramsafe_wal_archive_failures_total",
              "Failed WAL archive attempts, since the server started.", {}, s.archive_failures);
    e.timestamp("ramsafe_wal_last_archived_timestamp_seconds",
                "When the archive module last stored a WAL file (unix time).", {},
                s.last_archived_ms);
    e.gauge("ramsafe_wal_backlog_bytes", "WAL in pg_wal waiting to be archived.", {},
            s.wal_backlog_bytes.value_or(0));
    e.gauge("ramsafe_wal_archive_lag_seconds",
            "Age of the oldest WAL segment waiting to be archived (0 when none waits).", {},
            s.wal_backlog_oldest_ms
                ? std::max<double>(0, seconds_of(f.now_ms - *s.wal_backlog_oldest_ms))
                : 0.0);
  }
}

}  // namespace

std::string render_perfdatum(const PerfDatum& d) {
  std::vector<std::string> fields = {d.warn, d.crit, d.min, d.max};
  while (!fields.empty() && fields.back().empty()) fields.pop_back();
  std::string out = d.label + "=" + d.value + d.uom;
  for (const auto& f : fields) out += ";" + f;
  return out;
}

std::string render_plugin(const Assessment& a) {
  std::string out = std::string("RAMSAFE ") + state_name(a.state) + " - " + plugin_safe(a.summary);
  if (!a.perfdata.empty()) {
    out += " |";
    for (const auto& d : a.perfdata) out += " " + render_perfdatum(d);
  }
  out += "\n";
  for (const auto& r : a.results)
    out +=
        std::string("[") + state_name(r.state) + "] " + plugin_safe(r.name + ": " + r.text) + "\n";
  return out;
}

std::string render_json(const HealthFacts& facts, const Thresholds& t, const Assessment& a) {
  json results = json::array();
  for (const auto& r : a.results)
    results.push_back({{"name", r.name}, {"state", state_name(r.state)}, {"text", r.text}});
  json perfdata = json::array();
  for (const auto& d : a.perfdata)
    perfdata.push_back({{"label", d.label},
                        {"value", d.value},
                        {"uom", d.uom},
                        {"warn", d.warn},
                        {"crit", d.crit},
                        {"min", d.min},
                        {"max", d.max}});
  auto free_json = [](const FreeSpace& f) {
    return f.percent ? json{{"percent", f.value}} : json{{"bytes", f.value}};
  };
  json thresholds = {
      {"warn_age_seconds", t.warn_age_s},
      {"crit_age_seconds", t.crit_age_s},
      {"age_basis", t.age_basis},
      {"warn_drive_lag_seconds", t.warn_drive_lag_s},
      {"crit_drive_lag_seconds", t.crit_drive_lag_s},
      {"warn_wal_lag_seconds", t.warn_wal_lag_s},
      {"crit_wal_lag_seconds", t.crit_wal_lag_s},
      {"warn_backlog_bytes", t.warn_backlog_bytes},
      {"crit_backlog_bytes", t.crit_backlog_bytes},
      {"warn_free", free_json(t.warn_free)},
      {"crit_free", free_json(t.crit_free)},
      {"warn_ram_percent", t.warn_ram_percent},
      {"crit_ram_percent", t.crit_ram_percent},
  };
  json out = {{"state", state_name(a.state)}, {"exit_code", static_cast<int>(a.state)},
              {"summary", a.summary},         {"results", results},
              {"perfdata", perfdata},         {"thresholds", thresholds},
              {"facts", facts_json(facts)}};
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string render_prometheus(const HealthFacts& f, const std::string& version) {
  Exposition e;
  e.gauge("ramsafe_info", "ramsafe's version and the cluster it watches (always 1).",
          {{"version", version}, {"cluster", f.cluster}}, 1.0);
  e.gauge("ramsafe_collected_timestamp_seconds", "When these metrics were collected (unix time).",
          {}, seconds_of(f.now_ms));
  e.gauge("ramsafe_config_readable",
          "Whether the configuration file and its includes could be read and parsed.", {},
          f.config.read ? 1.0 : 0.0);
  if (f.config.read) {
    e.gauge("ramsafe_config_problems",
            "Problems in the configuration file: unknown ramsafe.* names, rejected values.", {},
            static_cast<double>(f.config.problems.size()));
    e.gauge("ramsafe_config_rejected_schedules",
            "Schedules (ramsafe.schedule, ramsafe.base_backup_schedule) the server rejects.", {},
            static_cast<double>(f.config.rejected_schedules.size()));
  }
  for (const auto& s : f.stores) store_metrics(s, f.now_ms, e);
  if (std::optional<SetSummary> newest = f.newest())
    e.timestamp("ramsafe_newest_usable_backup_timestamp_seconds",
                "When the newest usable set of any store and kind finished (unix time).", {},
                newest->finished_ms);
  server_metrics(f, e);
  if (f.ram.measured) {
    e.gauge("ramsafe_data_directory_filesystem_size_bytes",
            "Size of the data directory's filesystem (the tmpfs).", {},
            static_cast<double>(f.ram.filesystem_bytes));
    e.gauge("ramsafe_data_directory_filesystem_used_bytes",
            "Used bytes of the data directory's filesystem.", {},
            static_cast<double>(f.ram.used_bytes));
    e.gauge("ramsafe_data_directory_filesystem_free_bytes",
            "Bytes available on the data directory's filesystem.", {},
            static_cast<double>(f.ram.free_bytes));
  }
  e.gauge("ramsafe_data_directory_bytes", "Bytes allocated to the files of the data directory.", {},
          f.ram.directory_bytes);
  return e.text();
}

}  // namespace ramsafe
