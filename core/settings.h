// Every ramsafe.* setting, defined once. The extension turns each definition into a GUC
// (with the same validation in its check hook); the companion validates the values it
// parses from the configuration file against the same definitions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"

namespace ramsafe {

enum class SettingType { kString, kPath, kInteger, kBoolean, kEnum };

// When a changed value takes effect inside the server.
enum class SettingContext { kPostmaster, kSighup };

struct SettingDef {
  std::string name;  // "ramsafe.compression_level"
  SettingType type;
  std::string default_value;  // textual, as it would appear in the file
  long long min_value = 0;  // kInteger only
  long long max_value = 0;
  std::vector<std::string> enum_values;  // kEnum only
  std::string description;
  SettingContext context = SettingContext::kSighup;
  // Names a file holding a secret (or a passfile): visible to superusers only in
  // pg_settings. The value is a path, never the secret itself.
  bool superuser_only = false;
};

const std::vector<SettingDef>& setting_defs();
const SettingDef* find_setting(const std::string& name);

// Validates a textual value against its definition. Returns an error message that
// names the setting and the bad value and says what is expected, or nullopt if valid.
std::optional<std::string> validate_setting(const SettingDef& def, const std::string& value);

// Typed, validated settings.
struct Settings {
  std::string cluster_name;       // ramsafe.cluster_name
  std::string local_dir;          // ramsafe.local_dir
  std::string recipients_file;    // ramsafe.recipients_file
  std::string passphrase_file;    // ramsafe.passphrase_file
  std::string identity_file;      // ramsafe.identity_file
  int compression_level = 3;      // ramsafe.compression_level
  std::string data_directory;     // ramsafe.data_directory, else data_directory
  std::string host;               // ramsafe.host, else first of unix_socket_directories
  int port = 5432;                // ramsafe.port, else port
  std::string user;               // ramsafe.user
  std::string passfile;           // ramsafe.passfile
  std::string bindir;             // ramsafe.bindir
  int restore_jobs = 0;           // ramsafe.restore_jobs; 0 = number of CPUs
  std::string on_missing = "fail";  // ramsafe.on_missing: fail | init

  // Where each value came from ("file:line" or "default"), for messages.
  std::map<std::string, std::string> origin;
};

// Builds Settings from a parsed file: every ramsafe.* name must be known (a misspelt
// setting is an error, as PostgreSQL's reserved prefix makes it), every value valid.
// Also picks up the server's own data_directory, port and unix_socket_directories when
// the file (or what it includes) sets them and the ramsafe.* equivalents are unset.
// Throws Error(kConfig) whose message names the setting, the value and file:line.
Settings load_settings(const config::ParsedConfig& parsed);
Settings load_settings_file(const std::string& path);

}  // namespace ramsafe
