// Command-line plumbing shared by the companion's subcommands: option parsing, exit
// codes, messages, cancellation on SIGINT/SIGTERM, and the terminal progress line.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config/settings.h"
#include "core/io/sink.h"

namespace ramsafe::cli {

// Documented in `ramsafe --help` and docs/companion.md; scripts depend on them.
enum ExitCode {
  kExitOk = 0,
  kExitFailed = 1,       // the operation failed (details on stderr)
  kExitUsage = 2,        // bad arguments or configuration
  kExitNoBackup = 3,     // restore: no backup found (--on-missing=fail)
  kExitNotEmpty = 4,     // restore: data directory not empty (no --if-empty or --force)
  kExitDamaged = 5,      // verify: damage found; wal-fetch: the archived file is damaged
  kExitFetchFailed = 6,  // wal-fetch: any other failure (I/O, permissions)
  kExitIncomplete = 7,   // restore: restored to the last good point; a WAL file is damaged
  kExitRefused = 8,      // snapshot: not cleanly shut down, or a postmaster runs

  kExitCancelled = 130,
};

struct OptionSpec {
  std::string name;     // "config" for --config
  char short_name = 0;  // 'c' for -c
  bool takes_value = false;
  std::string value_name;  // "FILE"
  std::string help;
};

struct CommandSpec {
  std::string name;
  std::string synopsis;     // "restore [options]"
  std::string description;  // a paragraph
  std::vector<OptionSpec> options;
  int max_positionals = 0;
  std::string positional_help;
  // A monitoring plugin (`check`): --help, bad arguments and unexpected failures exit 3
  // (UNKNOWN), with the message on stdout, where the monitoring system reads it.
  bool monitoring_plugin = false;
};

// The monitoring-plugins exit code for "could not tell".
constexpr int kExitPluginUnknown = 3;

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ParsedArgs {
  std::map<std::string, std::string> values;  // option name -> value ("" for flags)
  std::vector<std::string> positionals;
  bool has(const std::string& name) const { return values.count(name) > 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const;
  // Parses an integer option, throwing UsageError naming the option and the bad value.
  int get_int(const std::string& name, int fallback, int min, int max) const;
};

// Throws UsageError for unknown options, missing values, too many arguments.
ParsedArgs parse_args(const CommandSpec& spec, const std::vector<std::string>& args);
std::string command_help(const CommandSpec& spec);

// The common --config option and how the config file is found.
OptionSpec config_option();
std::string config_path(const ParsedArgs& args);  // --config, $RAMSAFE_CONFIG, default
Settings load_config(const ParsedArgs& args);
// The boot path's reading (restore, wal-fetch; load_boot_settings): problems of settings a
// restore does not need are printed as warnings, not errors.
Settings load_boot_config(const ParsedArgs& args);

// Cancellation: the first SIGINT/SIGTERM asks running work to stop.
void install_signal_handlers();
CancelCheck cancel_check();

void warn(const std::string& message);  // "ramsafe: WARNING: ..." on stderr
void info(const std::string& message);  // "ramsafe: ..." on stderr

// A single self-overwriting status line on stdout, only when stdout is a terminal,
// redrawn at most 10 times a second.
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  void update(const std::string& text, bool force = false);
  void clear();
  bool enabled() const { return enabled_; }

 private:
  bool enabled_;
  size_t last_width_ = 0;
  long long last_draw_ms_ = 0;
};
bool stdout_is_terminal();

std::string format_bytes(uint64_t bytes);     // "12.3 MiB"
std::string format_duration(double seconds);  // "3.2 s", "4 min 05 s"

}  // namespace ramsafe::cli
