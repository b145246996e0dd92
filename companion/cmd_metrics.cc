#include <iostream>

#include "companion/commands.h"
#include "companion/health_command.h"
#include "core/health/render.h"
#include "core/version.h"

namespace ramsafe::cli {

CommandSpec metrics_spec() {
  return {"metrics",
          "metrics [options]",
          "Print the facts `ramsafe check` judges as Prometheus metrics.\n"
          "In the text format, for node_exporter's textfile collector:\n"
          "the configuration's problems, every store's sets,\n"
          "free space, archived WAL and what Drive lacks, the data directory's filesystem, and\n"
          "ramsafe_status() when the server answers. Times are unix timestamps; alert rules\n"
          "judge them. Exits 0 whenever it printed the metrics, also when they show a problem.\n"
          "Write the file atomically: docs/monitoring.md.",
          gathering_options(),
          0,
          ""};
}

int run_metrics(const ParsedArgs& args) {
  HealthFacts facts = gather_within_timeout(args, {"ramsafe metrics: ", 2, kExitFailed});
  std::cout << render_prometheus(facts, RAMSAFE_VERSION);
  std::cout.flush();
  return std::cout ? kExitOk : kExitFailed;
}

}  // namespace ramsafe::cli
