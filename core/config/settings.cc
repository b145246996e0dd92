#include "core/config/settings.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <utility>

#include "core/config/retention_policy.h"
#include "core/error.h"
#include "core/io/paths.h"
#include "core/schedule/cron.h"
#include "core/schedule/timezone.h"

namespace ramsafe {
namespace {

std::string to_lower_ascii(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

bool is_space(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

// The cluster name becomes a directory name in every store.
bool is_valid_cluster_name(const std::string& value) {
  if (value.empty()) return true;  // means "main"
  if (value.size() > 63 || value == "." || value == "..") return false;
  return std::all_of(value.begin(), value.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

// TLS is never optional for a remote store.
bool is_https_url(const std::string& value) {
  return value.size() > 8 && value.compare(0, 8, "https://") == 0 && value.back() != '/' &&
         value.find_first_of(" \t\r\n") == std::string::npos;
}

// Google accepts resumable chunks in multiples of 256 KiB only.
bool is_chunk_size(const std::string& value) {
  auto kb = parse_pg_int(value);
  return kb && *kb % 256 == 0;
}

SettingDef make_setting(std::string name, SettingType type, std::string default_value,
                        SettingField field, std::string description) {
  SettingDef def;
  def.name = std::move(name);
  def.type = type;
  def.default_value = std::move(default_value);
  def.field = field;
  def.description = std::move(description);
  return def;
}

SettingDef text_setting(std::string name, std::string Settings::*field, std::string description) {
  return make_setting(std::move(name), SettingType::kString, "", field, std::move(description));
}

// A path setting: empty means "not set"; when set it must be absolute.
SettingDef path_setting(std::string name, std::string Settings::*field, std::string description) {
  return make_setting(std::move(name), SettingType::kPath, "", field, std::move(description));
}

SettingDef integer_setting(std::string name, int default_value, long long min_value,
                           long long max_value, int Settings::*field, std::string description) {
  SettingDef def = make_setting(std::move(name), SettingType::kInteger,
                                std::to_string(default_value), field, std::move(description));
  def.min_value = min_value;
  def.max_value = max_value;
  return def;
}

SettingDef enum_setting(std::string name, std::string default_value,
                        std::vector<std::string> values, std::string Settings::*field,
                        std::string description) {
  SettingDef def = make_setting(std::move(name), SettingType::kEnum, std::move(default_value),
                                field, std::move(description));
  def.enum_values = std::move(values);
  return def;
}

SettingDef superuser_only(SettingDef def) {
  def.superuser_only = true;
  return def;
}

SettingDef at_server_start(SettingDef def) {
  def.context = SettingContext::kPostmaster;
  return def;
}

SettingDef with_default(SettingDef def, std::string default_value) {
  def.default_value = std::move(default_value);
  return def;
}

SettingDef with_explain(SettingDef def, SettingExplain explain) {
  def.explain = explain;
  return def;
}

std::optional<std::string> schedule_problem(const std::string& value) {
  if (value.empty()) return std::nullopt;  // scheduling disabled
  try {
    CronSchedule::parse(value);
    return std::nullopt;
  } catch (const Error& e) {
    // The message repeats the value; keep only what is wrong with it.
    std::string message = e.what();
    std::string repeated = "invalid schedule " + config::quote_for_message(value) + ": ";
    if (message.compare(0, repeated.size(), repeated) == 0) message.erase(0, repeated.size());
    return message;
  }
}

std::optional<std::string> size_problem(const std::string& value) {
  if (parse_size(value)) return std::nullopt;
  return std::string(
      "expected a size such as 1GB, 512MB or 0; units B, kB, MB, GB, TB, none "
      "means MB");
}

std::optional<std::string> retention_problem(const std::string& value) {
  try {
    RetentionPolicy::parse(value);
    return std::nullopt;
  } catch (const Error& e) {
    return std::string(e.what());
  }
}

std::optional<std::string> timezone_problem(const std::string& value) {
  if (value.empty()) return std::nullopt;  // the server's TimeZone
  try {
    TimeZone::load(value);
    return std::nullopt;
  } catch (const Error&) {
    return std::string("not a time zone in ") + TimeZone::kDefaultZoneinfoDir +
           "; expected an IANA name such as Europe/Berlin or UTC";
  }
}

SettingDef with_check(SettingDef def, SettingCheck check, std::string expected) {
  def.check = check;
  def.expected = std::move(expected);
  return def;
}

std::vector<SettingDef> build_setting_defs() {
  return {
      with_check(
          text_setting("ramsafe.cluster_name", &Settings::cluster_name,
                       "Name of this cluster's backups in the stores; empty means \"main\"."),
          is_valid_cluster_name,
          "1 to 63 letters, digits, '_', '.' or '-', other than \".\" and \"..\""),
      path_setting("ramsafe.local_dir", &Settings::local_dir,
                   "Directory of the local backup store; empty means no local store."),
      path_setting("ramsafe.recipients_file", &Settings::recipients_file,
                   "File of age recipients (public keys) that backups are encrypted to."),
      superuser_only(path_setting("ramsafe.passphrase_file", &Settings::passphrase_file,
                                  "File holding the passphrase that backups are encrypted "
                                  "with, instead of recipients.")),
      superuser_only(path_setting("ramsafe.identity_file", &Settings::identity_file,
                                  "File of age identities (private keys) that the companion "
                                  "decrypts backups with.")),
      superuser_only(path_setting("ramsafe.signing_key_file", &Settings::signing_key_file,
                                  "File of the Ed25519 key that signs every backup set and "
                                  "archived WAL file (ramsafe keygen); mode 0600.")),
      path_setting("ramsafe.verify_keys_file", &Settings::verify_keys_file,
                   "File of the Ed25519 verify keys whose signatures this host trusts; sets "
                   "and WAL files signed by no key in it are never restored, counted or "
                   "uploaded."),
      path_setting("ramsafe.state_file", &Settings::state_file,
                   "File where this host keeps the newest backup sequence number it has seen "
                   "(rollback detection); empty means ramsafe-state.json beside "
                   "ramsafe.signing_key_file (else ramsafe.identity_file)."),
      integer_setting("ramsafe.compression_level", 3, 1, 19, &Settings::compression_level,
                      "zstd compression level of backups."),
      at_server_start(path_setting("ramsafe.data_directory", &Settings::data_directory,
                                   "The cluster's data directory; empty means the server's "
                                   "data_directory.")),
      text_setting("ramsafe.host", &Settings::host,
                   "Unix socket directory or host name for the backup connection; empty means "
                   "the server's first unix_socket_directories entry."),
      integer_setting("ramsafe.port", 5432, 1, 65535, &Settings::port,
                      "Port for the backup connection; unset means the server's port."),
      text_setting("ramsafe.user", &Settings::user,
                   "Role for the backup connection; empty means the operating system user."),
      superuser_only(path_setting("ramsafe.passfile", &Settings::passfile,
                                  "Password file for the backup connection (libpq passfile).")),
      path_setting("ramsafe.bindir", &Settings::bindir,
                   "Directory of pg_dump, pg_restore and initdb; empty means the server's own "
                   "version's bin directory."),
      integer_setting("ramsafe.restore_jobs", 0, 0, 64, &Settings::restore_jobs,
                      "Parallel jobs for pg_restore; 0 means the number of CPUs."),
      enum_setting("ramsafe.on_missing", "fail", {"fail", "init"}, &Settings::on_missing,
                   "What restore-before-start does when no backup exists: fail, or init an "
                   "empty cluster."),
      with_explain(with_default(text_setting("ramsafe.schedule", &Settings::schedule,
                                             "When the server's worker takes backups: 5-field "
                                             "cron or @hourly, @daily, ...; empty disables "
                                             "scheduled backups."),
                                "0 * * * *"),
                   schedule_problem),
      with_explain(text_setting("ramsafe.timezone", &Settings::timezone,
                                "Time zone the schedule is evaluated in (IANA name); empty means "
                                "the server's TimeZone."),
                   timezone_problem),
      integer_setting("ramsafe.max_rate", 0, 0, 100000, &Settings::max_rate,
                      "Most megabytes per second of dump data a backup reads (it slows pg_dump "
                      "and its server backend too); 0 means no limit."),
      integer_setting("ramsafe.ram_warn_percent", 80, 1, 100, &Settings::ram_warn_percent,
                      "Warn in the log when the data directory's filesystem is fuller than this "
                      "percentage."),
      superuser_only(path_setting("ramsafe.drive_credentials_file",
                                  &Settings::drive_credentials_file,
                                  "Google service account JSON key file for the Drive store "
                                  "(the folder must be in a shared drive).")),
      superuser_only(path_setting("ramsafe.drive_token_file", &Settings::drive_token_file,
                                  "Google user token file for the Drive store, written by "
                                  "`ramsafe drive-login`.")),
      text_setting("ramsafe.drive_folder_id", &Settings::drive_folder_id,
                   "Drive folder (or shared drive) id that holds the cluster's backup folder; "
                   "empty means My Drive."),
      path_setting("ramsafe.drive_ca_file", &Settings::drive_ca_file,
                   "CA bundle that Drive's TLS certificates are checked against; empty means "
                   "the system's."),
      with_explain(with_default(text_setting("ramsafe.local_retention", &Settings::local_retention,
                                             "Which local backups to keep: last=N hourly=N "
                                             "daily=N weekly=N monthly=N yearly=N; empty keeps "
                                             "all."),
                                "last=3 hourly=24 daily=7"),
                   retention_problem),
      with_explain(with_default(text_setting("ramsafe.drive_retention", &Settings::drive_retention,
                                             "Which backups to keep on Drive, in the same form "
                                             "as ramsafe.local_retention."),
                                "daily=7 weekly=4 monthly=12"),
                   retention_problem),
      with_explain(
          with_default(text_setting("ramsafe.local_base_retention", &Settings::local_base_retention,
                                    "Which physical base backups (sets for WAL replay) to keep "
                                    "locally, in the same form as ramsafe.local_retention; "
                                    "the newest is always kept."),
                       "last=2 daily=7"),
          retention_problem),
      with_explain(
          with_default(text_setting("ramsafe.drive_base_retention", &Settings::drive_base_retention,
                                    "Which physical base backups to keep on Drive, in the same "
                                    "form as ramsafe.local_retention; the newest is always "
                                    "kept."),
                       "last=2 daily=7"),
          retention_problem),
      with_check(
          integer_setting("ramsafe.drive_chunk_kb", 8192, 256, 1048576, &Settings::drive_chunk_kb,
                          "Size of each resumable upload request to Drive, in KiB."),
          is_chunk_size, "a multiple of 256 from 256 to 1048576"),
      with_check(with_default(text_setting("ramsafe.drive_api_url", &Settings::drive_api_url,
                                           "Base URL of the Drive API."),
                              "https://www.googleapis.com"),
                 is_https_url, "an https:// URL without a trailing slash"),
      with_check(with_default(text_setting("ramsafe.drive_oauth_url", &Settings::drive_oauth_url,
                                           "Base URL of Google's OAuth 2.0 endpoints (token "
                                           "and device code)."),
                              "https://oauth2.googleapis.com"),
                 is_https_url, "an https:// URL without a trailing slash"),
      with_explain(text_setting("ramsafe.base_backup_schedule", &Settings::base_backup_schedule,
                                "When the server's worker takes physical base backups (cron, "
                                "as ramsafe.schedule); empty disables them. Needs WAL "
                                "archiving through ramsafe."),
                   schedule_problem),
      with_explain(
          with_default(text_setting("ramsafe.wal_backlog_limit", &Settings::wal_backlog_limit,
                                    "WAL waiting to be archived (in pg_wal, in RAM) "
                                    "beyond which ramsafe.wal_backlog_policy = drop "
                                    "gives up the oldest segment; 0 = no limit."),
                       "1GB"),
          size_problem),
      enum_setting("ramsafe.wal_backlog_policy", "drop", {"keep", "drop"},
                   &Settings::wal_backlog_policy,
                   "When WAL cannot be archived and the backlog passes "
                   "ramsafe.wal_backlog_limit: keep it (pg_wal grows), or drop the oldest "
                   "segment (the WAL chain is broken until the next base backup)."),
  };
}

// Settings that `ramsafe restore` and the `wal-fetch` it runs never read: a bad value of one
// must not keep a server from starting, since the server itself only warns about it. Every
// other setting, a new one too, counts as read at boot: the safe side.
const char* const kNotReadAtBoot[] = {
    "ramsafe.recipients_file",
    "ramsafe.compression_level",
    "ramsafe.host",
    "ramsafe.port",
    "ramsafe.passfile",
    "ramsafe.schedule",
    "ramsafe.timezone",
    "ramsafe.max_rate",
    "ramsafe.ram_warn_percent",
    "ramsafe.local_retention",
    "ramsafe.drive_retention",
    "ramsafe.local_base_retention",
    "ramsafe.drive_base_retention",
    "ramsafe.drive_chunk_kb",
    "ramsafe.base_backup_schedule",
    "ramsafe.wal_backlog_limit",
    "ramsafe.wal_backlog_policy",
};

std::vector<SettingDef> build_all_setting_defs() {
  std::vector<SettingDef> defs = build_setting_defs();
  for (SettingDef& def : defs)
    for (const char* name : kNotReadAtBoot)
      if (def.name == name) def.read_at_boot = false;
  return defs;
}

std::string expected_text(const SettingDef& def) {
  if (!def.expected.empty()) return def.expected;
  switch (def.type) {
    case SettingType::kString:
      return "a string";
    case SettingType::kPath:
      return "an absolute path";
    case SettingType::kInteger:
      return "an integer from " + std::to_string(def.min_value) + " to " +
             std::to_string(def.max_value);
    case SettingType::kBoolean:
      return "on, off, true, false, yes, no, 1 or 0";
    case SettingType::kEnum: {
      std::string values;
      for (const auto& value : def.enum_values) values += (values.empty() ? "" : ", ") + value;
      return "one of: " + values;
    }
  }
  return "a valid value";
}

// The canonical spelling of an enum value, matched case-insensitively like PostgreSQL.
std::optional<std::string> find_enum_value(const SettingDef& def, const std::string& value) {
  std::string lowered = to_lower_ascii(value);
  for (const auto& candidate : def.enum_values) {
    if (to_lower_ascii(candidate) == lowered) return candidate;
  }
  return std::nullopt;
}

// Optimal string alignment distance: edits, where swapping two neighbours is one edit.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// " (did you mean ramsafe.port?)" when one known name is close enough to be the intent.
std::string suggestion_for(const std::string& unknown) {
  const SettingDef* best = nullptr;
  size_t best_distance = 0;
  for (const auto& def : setting_defs()) {
    size_t distance = edit_distance(unknown, def.name);
    if (best == nullptr || distance < best_distance) {
      best = &def;
      best_distance = distance;
    }
  }
  const size_t suffix_length = best->name.size() - std::string("ramsafe.").size();
  if (best_distance <= std::max<size_t>(2, suffix_length / 3)) {
    return " (did you mean " + best->name + "?)";
  }
  return "";
}

// PostgreSQL's SplitDirectoriesString, first entry only: entries are comma-separated,
// surrounding whitespace is dropped, and an entry may be double-quoted ("" for a quote).
std::string first_socket_directory(const std::string& list) {
  size_t i = 0;
  while (i < list.size() && is_space(list[i])) ++i;
  std::string entry;
  if (i < list.size() && list[i] == '"') {
    for (++i; i < list.size(); ++i) {
      if (list[i] == '"') {
        if (i + 1 < list.size() && list[i + 1] == '"') {
          entry += '"';
          ++i;
        } else {
          break;
        }
      } else {
        entry += list[i];
      }
    }
    return entry;
  }
  size_t comma = list.find(',', i);
  entry = list.substr(i, comma == std::string::npos ? std::string::npos : comma - i);
  while (!entry.empty() && is_space(entry.back())) entry.pop_back();
  return entry;
}

// A server setting that stands in for a ramsafe.* setting the file leaves unset.
struct ServerEquivalent {
  const char* ramsafe_name;
  const char* server_name;
  std::string (*extract)(const std::string& server_value);
};

std::string whole_value(const std::string& value) {
  return value;
}

const ServerEquivalent kServerEquivalents[] = {
    {"ramsafe.data_directory", "data_directory", whole_value},
    {"ramsafe.port", "port", whole_value},
    {"ramsafe.host", "unix_socket_directories", first_socket_directory},
};

const config::RawSetting* find_raw(const config::ParsedConfig& parsed, const std::string& name) {
  auto it = parsed.settings.find(name);
  return it == parsed.settings.end() ? nullptr : &it->second;
}

void store_value(const SettingDef& def, const std::string& value, Settings* settings) {
  if (auto* text_field = std::get_if<std::string Settings::*>(&def.field)) {
    settings->** text_field =
        def.type == SettingType::kEnum ? find_enum_value(def, value).value_or(value) : value;
  } else if (auto* int_field = std::get_if<int Settings::*>(&def.field)) {
    settings->** int_field = parse_pg_int(value).value_or(0);
  } else if (auto* bool_field = std::get_if<bool Settings::*>(&def.field)) {
    settings->** bool_field = parse_pg_bool(value).value_or(false);
  }
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += (out.empty() ? "" : "\n") + line;
  return out;
}

}  // namespace

const std::vector<SettingDef>& setting_defs() {
  static const std::vector<SettingDef> defs = build_all_setting_defs();
  return defs;
}

const SettingDef* find_setting(const std::string& name) {
  std::string lowered = to_lower_ascii(name);
  for (const auto& def : setting_defs()) {
    if (def.name == lowered) return &def;
  }
  return nullptr;
}

std::string setting_suggestion(const std::string& unknown_name) {
  return suggestion_for(to_lower_ascii(unknown_name));
}

std::optional<int> parse_pg_int(const std::string& value) {
  // As guc.c parse_int: strtol with base 0 (so 0x hex and 0 octal), re-read as a double
  // when it stops at a decimal point or exponent or overflows, then rounded.
  const char* text = value.c_str();
  const char* text_end = text + value.size();
  char* end = nullptr;
  errno = 0;
  auto number = static_cast<double>(std::strtol(text, &end, 0));
  if (*end == '.' || *end == 'e' || *end == 'E' || errno == ERANGE) {
    errno = 0;
    number = std::strtod(text, &end);
  }
  if (end == text || errno == ERANGE || std::isnan(number)) return std::nullopt;
  while (end < text_end && is_space(*end)) ++end;
  if (end != text_end) return std::nullopt;  // a unit, junk or an embedded NUL
  number = std::rint(number);
  if (number > INT_MAX || number < INT_MIN) return std::nullopt;
  return static_cast<int>(number);
}

std::optional<uint64_t> parse_size(const std::string& value) {
  size_t i = 0;
  while (i < value.size() && is_space(value[i])) ++i;
  size_t digits = i;
  uint64_t number = 0;
  while (i < value.size() && value[i] >= '0' && value[i] <= '9') {
    if (number > (UINT64_MAX - 9) / 10) return std::nullopt;
    number = number * 10 + static_cast<uint64_t>(value[i] - '0');
    ++i;
  }
  if (i == digits) return std::nullopt;
  size_t unit_start = i;
  while (i < value.size() && !is_space(value[i])) ++i;
  std::string unit = value.substr(unit_start, i - unit_start);
  while (i < value.size() && is_space(value[i])) ++i;
  if (i != value.size()) return std::nullopt;
  // PostgreSQL's memory units are case-sensitive: kB, MB, GB, TB.
  int shift;
  if (unit == "B")
    shift = 0;
  else if (unit == "kB")
    shift = 10;
  else if (unit.empty() || unit == "MB")
    shift = 20;
  else if (unit == "GB")
    shift = 30;
  else if (unit == "TB")
    shift = 40;
  else
    return std::nullopt;
  if (shift > 0 && number > (UINT64_MAX >> shift)) return std::nullopt;
  return number << shift;
}

std::optional<bool> parse_pg_bool(const std::string& value) {
  // As guc.c parse_bool: any case-insensitive prefix of true, false, yes or no; "on" and
  // "off" need two letters at least ("o" is ambiguous); "1" and "0".
  std::string lowered = to_lower_ascii(value);
  auto abbreviates = [&lowered](const std::string& word, size_t min_length) {
    return lowered.size() >= min_length && lowered.size() <= word.size() &&
           word.compare(0, lowered.size(), lowered) == 0;
  };
  if (abbreviates("true", 1) || abbreviates("yes", 1) || abbreviates("on", 2)) return true;
  if (abbreviates("false", 1) || abbreviates("no", 1) || abbreviates("off", 2)) return false;
  if (lowered == "1") return true;
  if (lowered == "0") return false;
  return std::nullopt;
}

std::optional<std::string> validate_setting(const SettingDef& def, const std::string& value) {
  bool valid = true;
  switch (def.type) {
    case SettingType::kString:
      break;
    case SettingType::kPath:
      valid = value.empty() || value[0] == '/';
      break;
    case SettingType::kInteger: {
      std::optional<int> number = parse_pg_int(value);
      valid = number && *number >= def.min_value && *number <= def.max_value;
      break;
    }
    case SettingType::kBoolean:
      valid = parse_pg_bool(value).has_value();
      break;
    case SettingType::kEnum:
      valid = find_enum_value(def, value).has_value();
      break;
  }
  if (valid && def.check != nullptr) valid = def.check(value);
  if (valid && def.explain != nullptr) {
    if (std::optional<std::string> problem = def.explain(value))
      return "invalid value for " + def.name + ": " + config::quote_for_message(value) + " (" +
             *problem + ")";
  }
  if (valid) return std::nullopt;
  return "invalid value for " + def.name + ": " + config::quote_for_message(value) + " (expected " +
         expected_text(def) + ")";
}

CheckedSettings check_settings(const config::ParsedConfig& parsed) {
  CheckedSettings checked;
  const std::string prefix = "ramsafe.";
  for (const auto& [name, raw] : parsed.settings) {
    if (name.compare(0, prefix.size(), prefix) != 0 || find_setting(name) != nullptr) continue;
    checked.problems.push_back(
        {SettingProblem::Kind::kUnknownName, name, raw.where.describe(),
         "unrecognized setting " + name + " at " + raw.where.describe() + suggestion_for(name)});
  }

  Settings& settings = checked.settings;
  for (const SettingDef& def : setting_defs()) {
    std::string value = def.default_value;
    std::string origin = "default";
    SettingDef checked_as = def;  // names the server setting when its value stands in
    if (const config::RawSetting* raw = find_raw(parsed, def.name)) {
      value = raw->value;
      origin = raw->where.describe();
    } else {
      for (const auto& equivalent : kServerEquivalents) {
        const config::RawSetting* server = find_raw(parsed, equivalent.server_name);
        if (def.name != equivalent.ramsafe_name || server == nullptr) continue;
        std::string extracted = equivalent.extract(server->value);
        if (extracted.empty()) continue;
        value = std::move(extracted);
        origin = server->where.describe();
        checked_as.name = equivalent.server_name;
      }
    }
    if (auto message = validate_setting(checked_as, value)) {
      checked.problems.push_back(
          {SettingProblem::Kind::kInvalidValue, def.name, origin, origin + ": " + *message});
      settings.origin[def.name] = "default";
      continue;
    }
    store_value(def, value, &settings);
    settings.origin[def.name] = origin;
  }

  if (!settings.recipients_file.empty() && !settings.passphrase_file.empty()) {
    checked.problems.push_back(
        {SettingProblem::Kind::kConflict, "ramsafe.recipients_file", "",
         "ramsafe.recipients_file (" + settings.origin["ramsafe.recipients_file"] +
             ") and ramsafe.passphrase_file (" + settings.origin["ramsafe.passphrase_file"] +
             ") are both set: set only one, as a passphrase must be a backup's only age "
             "recipient"});
  }
  return checked;
}

Settings load_settings(const config::ParsedConfig& parsed) {
  CheckedSettings checked = check_settings(parsed);
  if (!checked.problems.empty()) {
    std::vector<std::string> lines;
    for (const auto& problem : checked.problems) lines.push_back(problem.message);
    throw Error(Errc::kConfig, join_lines(lines));
  }
  return std::move(checked.settings);
}

Settings load_boot_settings(const config::ParsedConfig& parsed,
                            std::vector<std::string>* warnings) {
  CheckedSettings checked = check_settings(parsed);
  std::vector<std::string> errors;
  for (const auto& problem : checked.problems) {
    const SettingDef* def = find_setting(problem.setting);
    switch (problem.kind) {
      case SettingProblem::Kind::kUnknownName:
        warnings->push_back(problem.message + "; ignored, as the server ignores it");
        break;
      case SettingProblem::Kind::kInvalidValue:
      case SettingProblem::Kind::kConflict:
        if (def != nullptr && !def->read_at_boot)
          warnings->push_back(problem.message + (problem.kind == SettingProblem::Kind::kConflict
                                                     ? "; ignored: only backups encrypt"
                                                     : "; ignored: a restore does not need it"));
        else
          errors.push_back(problem.message);
        break;
    }
  }
  if (!errors.empty()) throw Error(Errc::kConfig, join_lines(errors));
  return std::move(checked.settings);
}

Settings load_settings_file(const std::string& path) {
  return load_settings(config::parse_file(path));
}

std::string state_file_path(const Settings& settings) {
  std::string path = settings.state_file;
  if (path.empty()) {
    const std::string& beside =
        !settings.signing_key_file.empty() ? settings.signing_key_file : settings.identity_file;
    if (beside.empty()) return "";
    path = join_path(parent_dir(beside), "ramsafe-state.json");
  }
  const std::string& data = settings.data_directory;
  if (!data.empty() &&
      (path == data || (path.size() > data.size() && path.compare(0, data.size(), data) == 0 &&
                        (data.back() == '/' || path[data.size()] == '/'))))
    throw Error(Errc::kConfig,
                "the freshness state file " + path + " lies inside the data directory " + data +
                    ", which a power cut wipes: set ramsafe.state_file to a file outside it "
                    "(beside the keys)");
  return path;
}

std::string cluster_name(const Settings& settings) {
  return settings.cluster_name.empty() ? "main" : settings.cluster_name;
}

std::string local_store_root(const Settings& settings) {
  if (settings.local_dir.empty())
    throw Error(Errc::kConfig,
                "ramsafe.local_dir is not set: it names the directory backups are written to");
  return join_path(settings.local_dir, cluster_name(settings));
}

}  // namespace ramsafe
