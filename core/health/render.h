// The three forms of the health facts (docs/monitoring.md): the monitoring-plugins output of
// `ramsafe check` (a status line with performance data, then one line per result), its
// --json, and the Prometheus text exposition format of `ramsafe metrics`.
#pragma once

#include <string>

#include "core/health/assessment.h"
#include "core/health/health.h"

namespace ramsafe {

// "RAMSAFE OK - summary | perfdata\n[OK] name: text\n..." Texts are made safe for the format:
// no control characters, and no '|' (it would start the performance data).
std::string render_plugin(const Assessment& assessment);
// One value: label=value[UOM][;warn[;crit[;min[;max]]]], empty trailing fields left off.
std::string render_perfdatum(const PerfDatum& datum);

// The assessment, the thresholds used and the facts, as one JSON object.
std::string render_json(const HealthFacts& facts, const Thresholds& thresholds,
                        const Assessment& assessment);

// Every fact as Prometheus metrics (names ramsafe_*), with HELP and TYPE lines; families
// without a value are left out.
std::string render_prometheus(const HealthFacts& facts, const std::string& version);

}  // namespace ramsafe
