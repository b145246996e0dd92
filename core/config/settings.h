// Every ramsafe.* setting, defined once. The extension turns each definition into a GUC
// (with the same validation in its check hook); the companion validates the values it
// parses from the configuration file against the same definitions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/config/config.h"

namespace ramsafe {

// Typed, validated settings.
struct Settings {
  std::string cluster_name;            // ramsafe.cluster_name
  std::string local_dir;               // ramsafe.local_dir
  std::string recipients_file;         // ramsafe.recipients_file
  std::string passphrase_file;         // ramsafe.passphrase_file
  std::string identity_file;           // ramsafe.identity_file
  std::string signing_key_file;        // ramsafe.signing_key_file: Ed25519 key that signs sets
  std::string verify_keys_file;        // ramsafe.verify_keys_file: the keys readers trust
  std::string state_file;              // ramsafe.state_file; empty = beside the keys
  int compression_level = 3;           // ramsafe.compression_level
  std::string data_directory;          // ramsafe.data_directory, else data_directory
  std::string host;                    // ramsafe.host, else first of unix_socket_directories
  int port = 5432;                     // ramsafe.port, else port
  std::string user;                    // ramsafe.user
  std::string passfile;                // ramsafe.passfile
  std::string bindir;                  // ramsafe.bindir
  int restore_jobs = 0;                // ramsafe.restore_jobs; 0 = number of CPUs
  std::string on_missing = "fail";     // ramsafe.on_missing: fail | init
  std::string schedule = "0 * * * *";  // ramsafe.schedule: cron; empty = not scheduled
  std::string timezone;                // ramsafe.timezone; empty = the server's TimeZone
  int ram_warn_percent = 80;           // ramsafe.ram_warn_percent
  int max_rate = 0;                    // ramsafe.max_rate, MB/s of dump data; 0 = no limit
  std::string drive_credentials_file;  // ramsafe.drive_credentials_file: service account key
  std::string drive_token_file;        // ramsafe.drive_token_file: user refresh token
  std::string drive_folder_id;         // ramsafe.drive_folder_id; empty = My Drive
  std::string drive_ca_file;           // ramsafe.drive_ca_file; empty = system CAs
  int drive_chunk_kb = 8192;           // ramsafe.drive_chunk_kb, multiple of 256
  std::string drive_api_url = "https://www.googleapis.com";       // ramsafe.drive_api_url
  std::string drive_oauth_url = "https://oauth2.googleapis.com";  // ramsafe.drive_oauth_url
  std::string local_retention = "last=3 hourly=24 daily=7";       // ramsafe.local_retention
  std::string drive_retention = "daily=7 weekly=4 monthly=12";    // ramsafe.drive_retention
  std::string local_base_retention = "last=2 daily=7";            // ramsafe.local_base_retention
  std::string drive_base_retention = "last=2 daily=7";            // ramsafe.drive_base_retention
  std::string base_backup_schedule;         // ramsafe.base_backup_schedule: cron; empty = off
  std::string wal_backlog_limit = "1GB";    // ramsafe.wal_backlog_limit: a size (parse_size)
  std::string wal_backlog_policy = "drop";  // ramsafe.wal_backlog_policy: keep | drop

  // Where each value came from ("file:line" or "default"), for messages.
  std::map<std::string, std::string> origin;
};

enum class SettingType { kString, kPath, kInteger, kBoolean, kEnum };

// When a changed value takes effect inside the server.
enum class SettingContext { kPostmaster, kSighup };

// The Settings member a definition fills in (kString, kPath and kEnum: string; kInteger:
// int; kBoolean: bool).
using SettingField = std::variant<std::string Settings::*, int Settings::*, bool Settings::*>;

// A rule beyond the type's own (e.g. a name that becomes a directory name): true when the
// value is acceptable.
using SettingCheck = bool (*)(const std::string& value);
// A rule that can say what is wrong: the problem, or nullopt when the value is acceptable.
using SettingExplain = std::optional<std::string> (*)(const std::string& value);

struct SettingDef {
  std::string name;  // "ramsafe.compression_level"
  SettingType type;
  std::string default_value;  // textual, as it would appear in the file
  long long min_value = 0;    // kInteger only
  long long max_value = 0;
  std::vector<std::string> enum_values;  // kEnum only
  std::string description;
  SettingContext context = SettingContext::kSighup;
  // Names a file holding a secret (or a passfile): visible to superusers only in
  // pg_settings. The value is a path, never the secret itself.
  bool superuser_only = false;
  SettingField field;
  SettingCheck check = nullptr;
  std::string expected;  // what check wants, for messages ("expected ...")
  SettingExplain explain = nullptr;
  // Read by `ramsafe restore` or the `wal-fetch` it runs (the boot path). An invalid value of
  // a setting the boot path does not read is only a warning there (load_boot_settings).
  bool read_at_boot = true;
};

const std::vector<SettingDef>& setting_defs();
// Case-insensitive, like GUC names; nullptr for an unknown name.
const SettingDef* find_setting(const std::string& name);
// " (did you mean ramsafe.port?)" when one known name is close to an unknown one, else "".
std::string setting_suggestion(const std::string& unknown_name);

// Validates a textual value against its definition. Returns an error message that
// names the setting and the bad value and says what is expected, or nullopt if valid.
std::optional<std::string> validate_setting(const SettingDef& def, const std::string& value);

// PostgreSQL's reading of integer and boolean values (guc.c parse_int, parse_bool):
// integers in decimal, 0x hex or 0-prefixed octal, fractions rounded, surrounding
// whitespace allowed, no units; booleans on/off/true/false/yes/no/1/0 and unique
// prefixes, case-insensitive. nullopt when the text is not one.
std::optional<int> parse_pg_int(const std::string& value);
std::optional<bool> parse_pg_bool(const std::string& value);

// A size as PostgreSQL writes memory sizes: an integer with an optional unit B, kB, MB, GB
// or TB (1024-based; no unit means MB), surrounding whitespace allowed. nullopt when the
// text is not one or overflows.
std::optional<uint64_t> parse_size(const std::string& value);

// One problem of a configuration file, as load_settings reports it.
struct SettingProblem {
  enum class Kind {
    kUnknownName,   // a ramsafe.* name that is no setting (a misspelling, a newer release's)
    kInvalidValue,  // a value its setting refuses; the default stands in for it
    kConflict,      // settings that are valid alone but not together
  };
  Kind kind;
  std::string setting;  // the name as the file has it (lower-cased); for a conflict, the
                        // setting whose readers it concerns (ramsafe.recipients_file)
  std::string where;    // "file:line" of the value, "default", or "" for a conflict
  std::string message;  // one line, as load_settings puts it in its error
};

struct CheckedSettings {
  Settings settings;  // every valid value; an invalid one leaves the default in place
  std::vector<SettingProblem> problems;  // unknown names, then invalid values, then conflicts
};

// Reads a parsed file like load_settings but never throws for a setting's problem: every
// problem is collected (for `ramsafe check`, which reports them all, and the boot path).
CheckedSettings check_settings(const config::ParsedConfig& parsed);

// Builds Settings from a parsed file: every ramsafe.* name must be known (a misspelt
// setting is an error, as PostgreSQL's reserved prefix makes it), every value valid.
// Also picks up the server's own data_directory, port and unix_socket_directories when
// the file (or what it includes) sets them and the ramsafe.* equivalents are unset.
// Throws Error(kConfig) whose message names the setting, the value and file:line; with
// several problems, one line each.
Settings load_settings(const config::ParsedConfig& parsed);
Settings load_settings_file(const std::string& path);

// The boot path's reading (`ramsafe restore` and the `wal-fetch` it runs): it fails only
// for what it needs, like the server, which only warns about the same file. Unknown
// ramsafe.* names, invalid values of settings it does not read (read_at_boot false; the
// default stands in) and conflicts between settings it does not read are returned in
// warnings, one line each; a problem of a setting it reads throws Error(kConfig) as
// load_settings does.
Settings load_boot_settings(const config::ParsedConfig& parsed, std::vector<std::string>* warnings);

// The freshness state file (docs/security.md): ramsafe.state_file, else ramsafe-state.json
// beside ramsafe.signing_key_file, else beside ramsafe.identity_file; "" when none of them
// is set (then no state is kept). Throws Error(kConfig) when it would lie inside the data
// directory, which a power cut wipes.
std::string state_file_path(const Settings& settings);

// ramsafe.cluster_name or "main".
std::string cluster_name(const Settings& settings);
// <local_dir>/<cluster>; throws Error(kConfig) if ramsafe.local_dir is not set.
std::string local_store_root(const Settings& settings);

}  // namespace ramsafe
