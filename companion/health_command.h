// What `ramsafe check` and `ramsafe metrics` share: the options that say how to gather the
// facts (core/health/health.h), and the time limit.
#pragma once

#include <vector>

#include "companion/cli.h"
#include "core/health/health.h"

namespace ramsafe::cli {

// --no-server, --dbname, -t/--timeout (and --config).
std::vector<OptionSpec> gathering_options();

// How a run that overstays its --timeout ends: the line written, where, and the exit code.
struct TimeoutReport {
  const char* prefix;  // "RAMSAFE UNKNOWN - " or "ramsafe metrics: "
  int fd;              // 1 or 2
  int exit_code;
};

// Gathers the facts within --timeout: the server and Drive are given what is left of it; if
// anything else hangs (a filesystem that does not answer), SIGALRM ends the process at the
// limit with "<prefix>timed out after N s while <stage>".
HealthFacts gather_within_timeout(const ParsedArgs& args, const TimeoutReport& report);

}  // namespace ramsafe::cli
