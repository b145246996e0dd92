#include "core/health/health.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/backup/backup.h"
#include "core/drive/drive_store.h"
#include "core/error.h"
#include "core/io/disk_usage.h"
#include "core/pg/pg_connection.h"
#include "core/retention/prune.h"
#include "core/schedule/timezone.h"
#include "core/set/freshness.h"
#include "core/store/local_store.h"
#include "core/wal/wal_archive.h"
#include "core/wal/wal_window.h"

namespace ramsafe {

bool usable_backup(const SetEntry& set) {
  return set.usable();
}

namespace {

constexpr const char* kPrefix = "ramsafe.";

void tell(const HealthRequest& request, const char* stage) {
  if (request.stage) request.stage(stage);
}

std::optional<int64_t> finished_ms(const SetEntry& set) {
  if (!set.manifest) return std::nullopt;
  return parse_rfc3339_utc(set.manifest->finished_at);
}

SetSummary summary_of(const SetEntry& set) {
  SetSummary s;
  s.id = set.id;
  s.kind = set.manifest->kind;
  s.finished_ms = finished_ms(set).value_or(0);
  s.stored_bytes = set.manifest->stored_bytes();
  s.databases = set.manifest->databases().size();
  return s;
}

bool newer(const SetSummary& candidate, const std::optional<SetSummary>& current) {
  return !current || candidate.finished_ms > current->finished_ms;
}

// Counts and picks the newest sets of one store's listing.
void summarize_sets(const std::vector<SetEntry>& sets, StoreHealth* store) {
  for (const auto& set : sets) {
    if (!usable_backup(set)) {
      if (store->unusable_sets++ == 0)
        store->newest_unusable =
            set.id + ": " + (set.problem.empty() ? std::string("not usable") : set.problem);
      continue;
    }
    store->usable_sets++;
    SetSummary s = summary_of(set);
    if (newer(s, store->newest)) store->newest = s;
    auto& by_kind = s.kind == "physical"  ? store->newest_physical
                    : s.kind == "offline" ? store->newest_offline
                                          : store->newest_logical;
    if (newer(s, by_kind)) by_kind = s;
  }
}

std::vector<SetEntry> usable_only(const std::vector<SetEntry>& sets) {
  std::vector<SetEntry> out;
  for (const auto& set : sets)
    if (usable_backup(set)) out.push_back(set);
  return out;
}

void summarize_wal(const std::vector<StoredWalFile>& files, StoreHealth* store) {
  store->wal_files = files.size();
  for (const auto& f : files) {
    store->wal_bytes += f.stored_bytes;
    if (!store->wal_newest_ms || f.mtime * 1000 >= *store->wal_newest_ms) {
      store->wal_newest_ms = f.mtime * 1000;
      store->wal_newest = f.file.name;
    }
  }
}

bool permission_error(const Error& e) {
  return e.code() == Errc::kPermission;
}

struct LocalListing {
  bool listed = false;
  std::vector<SetEntry> sets;
  std::vector<StoredWalFile> wal;
};

LocalListing gather_local(const Settings& settings, StoreHealth* store) {
  LocalListing listing;
  std::string root = local_store_root(settings);
  LocalStore local(root, trust_policy_for(settings));
  store->kind = "local";
  store->location = local.describe();
  // A store this process may not look into would otherwise list as empty.
  for (const std::string& dir : {settings.local_dir, root}) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 && errno == EACCES) {
      store->error = "cannot read " + dir + ": permission denied";
      store->permission_denied = true;
      return listing;
    }
  }
  try {
    DiskUsage fs = filesystem_usage(settings.local_dir);
    store->filesystem_bytes = fs.filesystem_bytes;
    store->free_bytes = fs.free_bytes;
  } catch (const Error& e) {
    store->filesystem_error = e.what();
  }
  try {
    listing.sets = local.list_sets();
    listing.wal = list_wal_files(root);
    std::vector<SetEntry> usable = usable_only(listing.sets);
    WalWindow window = compute_wal_window(usable, listing.wal, list_wal_chain_breaks(root));
    store->recoverable_to_ms = window.recoverable_to_ms;
    store->wal_chain_broken_at = window.broken_now;
    listing.listed = true;
  } catch (const Error& e) {
    if (e.code() == Errc::kCancelled) throw;
    store->error = e.what();
    store->permission_denied = permission_error(e);
    return listing;
  }
  store->listed = true;
  summarize_sets(listing.sets, store);
  summarize_wal(listing.wal, store);
  return listing;
}

// A rollback of the stores against what this host has seen (core/set/freshness.h), read
// only: check never writes the state file. A state that cannot be read is no finding here;
// list and restore warn about it.
std::string rollback_seen(const Settings& settings, const std::vector<SetEntry>& sets) {
  try {
    FreshnessState state(state_file_path(settings));
    state.load();
    return rollback_problem(state.seen(cluster_name(settings)), newest_by_sequence(sets));
  } catch (const Error&) {
    return "";
  }
}

void gather_drive(const Settings& settings, const LocalListing& local, const HealthRequest& request,
                  StoreHealth* store, std::vector<SetEntry>* listed) {
  store->kind = "drive";
  store->location = DriveStore::describe_for(settings.drive_folder_id, cluster_name(settings));
  // Drive gets what is left of the time, less a second to finish the report.
  auto out_of_time = [&request] {
    return request.deadline_ms > 0 && now_unix_millis() >= request.deadline_ms - 1000;
  };
  CancelCheck cancel = [&request, out_of_time] {
    return (request.cancel && request.cancel()) || out_of_time();
  };
  try {
    std::unique_ptr<DriveStore> drive = make_drive_store(settings);
    drive->set_cancel(cancel);
    std::vector<SetEntry> sets = drive->list_sets();
    std::vector<RemoteWalFile> remote_wal = drive->list_wal();
    store->listed = true;
    summarize_sets(sets, store);
    *listed = sets;
    std::vector<StoredWalFile> wal = DriveStore::stored_of(remote_wal);
    summarize_wal(wal, store);
    if (local.listed) {
      PruneRequest policy = prune_request_for(settings);
      std::vector<SetEntry> pending =
          sets_to_upload(local.sets, sets, policy.drive_policy, policy.zone);
      store->pending_known = true;
      store->pending_sets = static_cast<int>(pending.size());
      for (const auto& set : pending) {
        std::optional<int64_t> ms = finished_ms(set);
        if (ms && (!store->oldest_pending_set_ms || *ms < *store->oldest_pending_set_ms))
          store->oldest_pending_set_ms = ms;
      }
      for (const auto& f : wal_to_upload(local.wal, wal)) {
        store->pending_wal_files++;
        store->pending_wal_bytes += f.stored_bytes;
        if (!store->oldest_pending_wal_ms || f.mtime * 1000 < *store->oldest_pending_wal_ms)
          store->oldest_pending_wal_ms = f.mtime * 1000;
      }
    }
  } catch (const Error& e) {
    if (e.code() == Errc::kCancelled && request.cancel && request.cancel()) throw;
    store->listed = false;
    store->error = e.code() == Errc::kCancelled ? "no answer in the time --timeout leaves"
                                                : std::string(e.what());
  }
}

std::optional<std::string> text_of(const nlohmann::json& row, const char* key) {
  auto it = row.find(key);
  if (it == row.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::string string_of(const nlohmann::json& row, const char* key) {
  return text_of(row, key).value_or("");
}

std::optional<int64_t> number_of(const nlohmann::json& row, const char* key) {
  auto it = row.find(key);
  if (it == row.end() || !it->is_number()) return std::nullopt;
  return it->get<int64_t>();
}

std::optional<int64_t> time_of(const nlohmann::json& row, const char* key) {
  std::optional<std::string> text = text_of(row, key);
  return text ? parse_json_timestamp(*text) : std::nullopt;
}

bool bool_of(const nlohmann::json& row, const char* key) {
  auto it = row.find(key);
  return it != row.end() && it->is_boolean() && it->get<bool>();
}

// ramsafe_status()'s row by column name, so an older extension version (fewer columns)
// answers too.
void read_status(const nlohmann::json& row, ServerHealth* s) {
  s->schedule = string_of(row, "schedule");
  s->timezone = string_of(row, "timezone");
  if (auto pid = number_of(row, "worker_pid")) s->worker_pid = static_cast<int>(*pid);
  s->running = bool_of(row, "running");
  s->phase = string_of(row, "phase");
  s->next_run_ms = time_of(row, "next_run");
  s->last_backup_id = string_of(row, "last_backup_id");
  s->last_finished_ms = time_of(row, "last_finished_at");
  s->last_error = string_of(row, "last_error");
  s->last_error_ms = time_of(row, "last_error_at");
  s->backups_requested = number_of(row, "backups_requested");
  s->backups_scheduled = number_of(row, "backups_scheduled");
  s->backups_failed = number_of(row, "backups_failed");
  s->pending_uploads = number_of(row, "pending_uploads");
  s->remote_store = string_of(row, "remote_store");
  s->last_upload_ms = time_of(row, "last_upload_at");
  s->last_remote_error = string_of(row, "last_remote_error");
  s->last_remote_error_ms = time_of(row, "last_remote_error_at");
  s->uploads_failed = number_of(row, "uploads_failed");
  s->archiving = bool_of(row, "archiving");
  s->last_archived_wal = string_of(row, "last_archived_wal");
  s->last_archived_ms = time_of(row, "last_archived_at");
  s->archive_failures = number_of(row, "archive_failures");
  s->last_archive_error = string_of(row, "last_archive_error");
  s->wal_backlog_bytes = number_of(row, "wal_backlog_bytes");
  s->wal_backlog_oldest_ms = time_of(row, "wal_backlog_oldest_at");
  s->wal_chain_broken_at = string_of(row, "wal_chain_broken_at");
  s->last_base_backup_ms = time_of(row, "last_base_backup_at");
  s->last_base_backup_error = string_of(row, "last_base_backup_error");
  s->recoverable_to_ms = time_of(row, "recoverable_to");
  s->wal_drive_pending_files = number_of(row, "wal_drive_pending_files");
  s->wal_drive_pending_bytes = number_of(row, "wal_drive_pending_bytes");
  s->data_directory_bytes = number_of(row, "data_directory_bytes");
  s->filesystem_bytes = number_of(row, "filesystem_bytes");
  s->filesystem_free_bytes = number_of(row, "filesystem_free_bytes");
}

void gather_server(const Settings& settings, const HealthRequest& request, ServerHealth* s) {
  ConnectionParams params = connection_params(settings, request.dbname);
  params.application_name = "ramsafe check";
  // A third of what is left for the connection and for the query each, 1 to 10 s.
  int64_t left_s =
      request.deadline_ms > 0 ? (request.deadline_ms - now_unix_millis()) / 1000 : int64_t{30};
  int seconds = static_cast<int>(std::clamp<int64_t>(left_s / 3, 1, 10));
  params.connect_timeout_seconds = seconds;
  s->asked = true;
  s->target = params.describe();
  std::unique_ptr<PgConnection> conn;
  try {
    conn = std::make_unique<PgConnection>(params);
  } catch (const Error& e) {
    s->error = e.what();
    return;
  }
  s->up = true;
  try {
    conn->query("SET TIME ZONE 'UTC'");
    conn->query("SET statement_timeout = " + std::to_string(seconds * 1000));
    std::string json = conn->scalar("SELECT to_jsonb(s)::text FROM ramsafe_status() s");
    nlohmann::json row = nlohmann::json::parse(json);
    if (!row.is_object()) throw Error(Errc::kServer, "ramsafe_status() gave no row");
    read_status(row, s);
    s->status_available = true;
  } catch (const Error& e) {
    s->status_error = e.what();
  } catch (const nlohmann::json::exception& e) {
    s->status_error = std::string("cannot read ramsafe_status(): ") + e.what();
  }
}

void gather_ram(const Settings* settings, RamHealth* ram, const ServerHealth& server) {
  if (settings && !settings->data_directory.empty()) {
    ram->directory = settings->data_directory;
    try {
      DiskUsage fs = filesystem_usage(settings->data_directory);
      ram->source = "filesystem";
      ram->filesystem_bytes = fs.filesystem_bytes;
      ram->used_bytes = fs.used_bytes;
      ram->free_bytes = fs.free_bytes;
      ram->measured = true;
    } catch (const Error& e) {
      ram->error = e.what();
    }
  }
  if (server.status_available) {
    if (server.data_directory_bytes) ram->directory_bytes = *server.data_directory_bytes;
    if (!ram->measured && server.filesystem_bytes && server.filesystem_free_bytes) {
      // The server reports size and free space; what is not free counts as used (the
      // blocks reserved for root are none on a tmpfs).
      ram->source = "server";
      ram->filesystem_bytes = static_cast<uint64_t>(*server.filesystem_bytes);
      ram->free_bytes = static_cast<uint64_t>(*server.filesystem_free_bytes);
      ram->used_bytes = ram->filesystem_bytes - std::min(ram->free_bytes, ram->filesystem_bytes);
      ram->measured = true;
      ram->error.clear();
    }
  }
}

int two_digits(const std::string& text, size_t pos) {
  if (pos + 2 > text.size() || !isdigit(static_cast<unsigned char>(text[pos])) ||
      !isdigit(static_cast<unsigned char>(text[pos + 1])))
    return -1;
  return (text[pos] - '0') * 10 + (text[pos + 1] - '0');
}

}  // namespace

const StoreHealth* HealthFacts::store(const std::string& kind) const {
  for (const auto& s : stores)
    if (s.kind == kind) return &s;
  return nullptr;
}

std::optional<SetSummary> HealthFacts::newest() const {
  std::optional<SetSummary> best;
  for (const auto& s : stores)
    if (s.newest && newer(*s.newest, best)) best = s.newest;
  return best;
}

std::optional<int64_t> parse_json_timestamp(const std::string& text) {
  // YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+HH:MM|-HH:MM)
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':')
    return std::nullopt;
  int64_t year = 0;
  for (size_t i = 0; i < 4; ++i) {
    if (!isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    year = year * 10 + (text[i] - '0');
  }
  int month = two_digits(text, 5), day = two_digits(text, 8), hour = two_digits(text, 11),
      minute = two_digits(text, 14), second = two_digits(text, 17);
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour < 0 ||
      hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59)
    return std::nullopt;
  size_t pos = 19;
  int64_t millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    int digits = 0;
    for (++pos; pos < text.size() && isdigit(static_cast<unsigned char>(text[pos])); ++pos)
      if (digits++ < 3) millis = millis * 10 + (text[pos] - '0');
    if (digits == 0) return std::nullopt;
    for (; digits < 3; ++digits) millis *= 10;
  }
  int64_t offset = 0;
  if (pos < text.size() && text[pos] == 'Z') {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int sign = text[pos] == '-' ? -1 : 1;
    int oh = two_digits(text, pos + 1);
    if (oh < 0) return std::nullopt;
    pos += 3;
    int om = 0;
    if (pos < text.size() && text[pos] == ':') {
      om = two_digits(text, pos + 1);
      if (om < 0) return std::nullopt;
      pos += 3;
    }
    offset = int64_t{sign} * (int64_t{oh} * 3600 + int64_t{om} * 60);
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  CivilTime civil{year, month, day, hour, minute, second};
  return (seconds_from_civil(civil) - offset) * 1000 + millis;
}

ConfigHealth check_config_file(const std::string& path, std::optional<Settings>* settings) {
  ConfigHealth health;
  health.path = path;
  settings->reset();
  config::ParsedConfig parsed;
  try {
    parsed = config::parse_file(path);
  } catch (const Error& e) {
    health.error = e.what();
    health.permission_denied = ::access(path.c_str(), R_OK) != 0 && errno == EACCES;
    return health;
  }
  health.read = true;
  // What the server takes: it warns about an unknown ramsafe.* name and drops it, and
  // rejects an invalid value (keeping the default at start, the previous value on reload).
  config::ParsedConfig accepted = parsed;
  for (const auto& [name, raw] : parsed.settings) {
    if (name.rfind(kPrefix, 0) != 0) continue;
    const SettingDef* def = find_setting(name);
    if (def == nullptr) {
      health.problems.push_back({"unknown_setting", name,
                                 "unrecognized setting " + name + " at " + raw.where.describe() +
                                     setting_suggestion(name)});
      accepted.settings.erase(name);
      continue;
    }
    if (std::optional<std::string> message = validate_setting(*def, raw.value)) {
      health.problems.push_back({"invalid_value", name, raw.where.describe() + ": " + *message});
      if (name == "ramsafe.schedule" || name == "ramsafe.base_backup_schedule")
        health.rejected_schedules.push_back(name);
      accepted.settings.erase(name);
    }
  }
  try {
    *settings = load_settings(accepted);
  } catch (const Error& e) {
    // What is left: settings that conflict, or a server setting standing in for one.
    std::istringstream lines(e.what());
    for (std::string line; std::getline(lines, line);)
      if (!line.empty()) health.problems.push_back({"invalid", "", line});
  }
  return health;
}

HealthFacts gather_health(const HealthRequest& request) {
  HealthFacts facts;
  facts.now_ms = request.now_ms ? request.now_ms : now_unix_millis();
  tell(request, "reading the configuration");
  facts.config = check_config_file(request.config_path, &facts.settings);
  const Settings* settings = facts.settings ? &*facts.settings : nullptr;
  if (settings) facts.cluster = cluster_name(*settings);

  LocalListing local;
  std::vector<SetEntry> drive_sets;
  if (settings && !settings->local_dir.empty()) {
    tell(request, "listing the local store");
    StoreHealth store;
    local = gather_local(*settings, &store);
    facts.stores.push_back(std::move(store));
  }
  if (settings && request.ask_server) {
    tell(request, "asking the server for ramsafe_status()");
    gather_server(*settings, request, &facts.server);
  }
  tell(request, "measuring the data directory");
  gather_ram(settings, &facts.ram, facts.server);
  if (settings && drive_configured(*settings)) {
    tell(request, "listing Google Drive");
    StoreHealth store;
    gather_drive(*settings, local, request, &store, &drive_sets);
    facts.stores.push_back(std::move(store));
  }
  if (settings) {
    std::vector<SetEntry> all = local.sets;
    all.insert(all.end(), drive_sets.begin(), drive_sets.end());
    facts.rollback = rollback_seen(*settings, all);
  }
  tell(request, "judging");
  return facts;
}

}  // namespace ramsafe
