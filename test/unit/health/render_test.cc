#include "core/health/render.h"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

namespace ramsafe {
namespace {

constexpr int64_t kNow = 1795302300000;  // 2026-11-21 23:05:00 UTC

HealthFacts facts() {
  HealthFacts f;
  f.now_ms = kNow;
  f.cluster = "main";
  f.config.path = "/etc/ramsafe/ramsafe.conf";
  f.config.read = true;
  Settings s;
  s.local_dir = "/var/backups/ramsafe";
  s.timezone = "UTC";
  f.settings = s;
  StoreHealth local;
  local.kind = "local";
  local.location = "local /var/backups/ramsafe/main";
  local.listed = true;
  local.usable_sets = 2;
  local.newest = SetSummary{"20261121T225500Z", "logical", kNow - 600 * 1000, 1000, 2};
  local.newest_logical = local.newest;
  local.newest_physical = SetSummary{"20261121T030000Z", "physical", kNow - 72000 * 1000, 5000, 0};
  local.filesystem_bytes = 100ull << 30;
  local.free_bytes = 50ull << 30;
  local.wal_files = 3;
  local.wal_bytes = 3000;
  local.wal_newest = "000000010000000000000009";
  local.wal_newest_ms = kNow - 30 * 1000;
  local.recoverable_to_ms = kNow - 30 * 1000;
  f.stores.push_back(local);
  StoreHealth drive;
  drive.kind = "drive";
  drive.location = "drive My Drive/main";
  drive.listed = true;
  drive.usable_sets = 1;
  drive.newest = local.newest;
  drive.newest_logical = local.newest;
  drive.pending_known = true;
  drive.pending_wal_files = 1;
  drive.pending_wal_bytes = 1000;
  drive.oldest_pending_wal_ms = kNow - 30 * 1000;
  f.stores.push_back(drive);
  f.ram.measured = true;
  f.ram.directory = "/run/pg \"ram\"";
  f.ram.filesystem_bytes = 1000;
  f.ram.used_bytes = 400;
  f.ram.free_bytes = 600;
  f.server.asked = true;
  f.server.up = true;
  f.server.status_available = true;
  f.server.worker_pid = 42;
  f.server.archiving = true;
  f.server.backups_failed = 2;
  f.server.wal_backlog_bytes = 0;
  f.server.last_finished_ms = kNow - 600 * 1000;
  return f;
}

// A monitoring-plugins performance value parsed back, as a monitoring system would.
struct Parsed {
  std::string label, value, uom, warn, crit, min, max;
};

std::vector<Parsed> parse_perfdata(const std::string& text) {
  std::vector<Parsed> out;
  std::istringstream in(text);
  // label=value[UOM];warn;crit;min;max, value numeric, UOM letters or %.
  std::regex one(R"(^([^'= ]+)=(-?[0-9]+(?:\.[0-9]+)?)([a-zA-Z%]*)((?:;[^; ]*){0,4})$)");
  for (std::string item; in >> item;) {
    std::smatch m;
    if (!std::regex_match(item, m, one)) {
      ADD_FAILURE() << "not a performance value: " << item;
      continue;
    }
    Parsed p{m[1], m[2], m[3], "", "", "", ""};
    std::vector<std::string> fields;
    std::string rest = m[4];
    std::istringstream f(rest.empty() ? "" : rest.substr(1));
    for (std::string field; std::getline(f, field, ';');) fields.push_back(field);
    fields.resize(4);
    p.warn = fields[0];
    p.crit = fields[1];
    p.min = fields[2];
    p.max = fields[3];
    // Thresholds are range expressions: [@][start:][end] with ~ for minus infinity.
    std::regex range(R"(^(@?(~|-?[0-9.]+)?:?(-?[0-9.]+)?)?$)");
    EXPECT_TRUE(std::regex_match(p.warn, range)) << item;
    EXPECT_TRUE(std::regex_match(p.crit, range)) << item;
    out.push_back(p);
  }
  return out;
}

TEST(HealthRender, PluginFirstLineAndPerfdataParseBack) {
  HealthFacts f = facts();
  Assessment a = assess(f, resolve_thresholds({}, f));
  std::string out = render_plugin(a);
  std::string first = out.substr(0, out.find('\n'));
  std::smatch m;
  ASSERT_TRUE(std::regex_match(
      first, m, std::regex(R"(^RAMSAFE (OK|WARNING|CRITICAL|UNKNOWN) - ([^|]*) \| (.*)$)")))
      << first;
  EXPECT_EQ(m[1], "OK");
  std::map<std::string, Parsed> perf;
  for (const auto& p : parse_perfdata(m[3])) perf[p.label] = p;
  ASSERT_TRUE(perf.count("backup_age"));
  EXPECT_EQ(perf["backup_age"].value, "600");
  EXPECT_EQ(perf["backup_age"].uom, "s");
  EXPECT_EQ(perf["backup_age"].warn, "5400");
  EXPECT_EQ(perf["local_free"].warn.back(), ':');
  EXPECT_EQ(perf["ram_used"].value, "40.0");
  EXPECT_EQ(perf["ram_used"].max, "100");
  EXPECT_EQ(perf["drive_pending_wal"].value, "1");
  EXPECT_EQ(perf["recoverable_age"].value, "30");
  // One line per result after the first.
  size_t lines = static_cast<size_t>(std::count(out.begin(), out.end(), '\n'));
  EXPECT_EQ(lines, 1 + a.results.size());
  EXPECT_NE(out.find("\n[OK] backup age: newest usable backup 20261121T225500Z"),
            std::string::npos);
}

TEST(HealthRender, TextCannotBreakTheFormat) {
  Assessment a;
  a.state = HealthState::kCritical;
  a.summary = "configuration: bad value 'a|b'\nsecond line";
  a.results.push_back({"configuration", HealthState::kCritical, "x|y\rz"});
  a.perfdata.push_back({"config_problems", "1", "", "", "0", "0", ""});
  std::string out = render_plugin(a);
  EXPECT_EQ(out,
            "RAMSAFE CRITICAL - configuration: bad value 'a/b' second line | "
            "config_problems=1;;0;0\n[CRITICAL] configuration: x/y z\n");
}

TEST(HealthRender, PerfdatumLeavesOffEmptyTrailingFields) {
  EXPECT_EQ(render_perfdatum({"a", "1", "s", "", "", "", ""}), "a=1s");
  EXPECT_EQ(render_perfdatum({"a", "1", "", "", "", "0", ""}), "a=1;;;0");
  EXPECT_EQ(render_perfdatum({"a", "5", "B", "10:", "5:", "0", "100"}), "a=5B;10:;5:;0;100");
}

TEST(HealthRender, JsonParsesBack) {
  HealthFacts f = facts();
  f.stores[0].unusable_sets = 1;
  f.stores[0].newest_unusable = "20261121T220000Z: manifest.json: bad checksum";
  Thresholds t = resolve_thresholds({}, f);
  Assessment a = assess(f, t);
  nlohmann::json j = nlohmann::json::parse(render_json(f, t, a));
  EXPECT_EQ(j["state"], "WARNING");
  EXPECT_EQ(j["exit_code"], 1);
  EXPECT_EQ(j["thresholds"]["warn_age_seconds"], 5400);
  EXPECT_EQ(j["facts"]["stores"][0]["newest"]["id"], "20261121T225500Z");
  EXPECT_EQ(j["facts"]["stores"][0]["newest"]["age_seconds"], 600);
  EXPECT_EQ(j["facts"]["stores"][0]["newest"]["finished_at"], "2026-11-21T22:55:00.000Z");
  EXPECT_EQ(j["facts"]["stores"][1]["pending_wal_files"], 1);
  EXPECT_EQ(j["facts"]["server"]["worker_pid"], 42);
  EXPECT_TRUE(j["facts"]["server"]["last_error"].is_null());
  bool found = false;
  for (const auto& r : j["results"])
    if (r["name"] == "store local") {
      found = true;
      EXPECT_EQ(r["state"], "WARNING");
    }
  EXPECT_TRUE(found);
}

// The text exposition format parsed back: every sample's family has HELP and TYPE before it.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

std::vector<Sample> parse_prometheus(const std::string& text,
                                     std::map<std::string, std::string>* types) {
  std::vector<Sample> samples;
  std::istringstream in(text);
  std::map<std::string, bool> helped;
  std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.]+(?:e[+-]?[0-9]+)?)$)");
  std::regex label(R"(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)\",?)");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# HELP ", 0) == 0) {
      helped[line.substr(7, line.find(' ', 7) - 7)] = true;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream t(line.substr(7));
      std::string name, type;
      t >> name >> type;
      EXPECT_TRUE(helped[name]) << "TYPE before HELP: " << line;
      EXPECT_TRUE(type == "gauge" || type == "counter") << line;
      EXPECT_EQ(types->count(name), 0u) << "family twice: " << name;
      (*types)[name] = type;
      continue;
    }
    std::smatch m;
    if (!std::regex_match(line, m, sample)) {
      ADD_FAILURE() << "not a sample line: " << line;
      continue;
    }
    Sample s;
    s.name = m[1];
    EXPECT_TRUE(types->count(s.name)) << "sample without TYPE: " << line;
    std::string labels = m[3];
    for (std::sregex_iterator it(labels.begin(), labels.end(), label), end; it != end; ++it)
      s.labels[(*it)[1]] = (*it)[2];
    s.value = std::stod(m[4]);
    samples.push_back(s);
  }
  return samples;
}

const Sample* find(const std::vector<Sample>& samples, const std::string& name,
                   const std::map<std::string, std::string>& labels = {}) {
  for (const auto& s : samples) {
    if (s.name != name) continue;
    bool all = true;
    for (const auto& [k, v] : labels) all = all && s.labels.count(k) && s.labels.at(k) == v;
    if (all) return &s;
  }
  return nullptr;
}

TEST(HealthRender, PrometheusParsesBack) {
  HealthFacts f = facts();
  std::map<std::string, std::string> types;
  std::vector<Sample> samples = parse_prometheus(render_prometheus(f, "0.9.1"), &types);
  const Sample* info = find(samples, "ramsafe_info");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->labels.at("version"), "0.9.1");
  EXPECT_EQ(info->labels.at("cluster"), "main");
  const Sample* newest = find(samples, "ramsafe_newest_backup_timestamp_seconds",
                              {{"store", "local"}, {"kind", "logical"}});
  ASSERT_NE(newest, nullptr);
  EXPECT_DOUBLE_EQ(newest->value, (kNow - 600 * 1000) / 1000.0);
  EXPECT_NE(find(samples, "ramsafe_newest_backup_timestamp_seconds",
                 {{"store", "local"}, {"kind", "physical"}}),
            nullptr);
  EXPECT_EQ(find(samples, "ramsafe_newest_backup_timestamp_seconds",
                 {{"store", "drive"}, {"kind", "physical"}}),
            nullptr);
  EXPECT_EQ(find(samples, "ramsafe_store_up", {{"store", "drive"}})->value, 1);
  EXPECT_EQ(find(samples, "ramsafe_drive_lag_seconds")->value, 30);
  EXPECT_EQ(find(samples, "ramsafe_store_filesystem_free_bytes", {{"store", "local"}})->value,
            static_cast<double>(50ull << 30));
  EXPECT_EQ(find(samples, "ramsafe_worker_backups_failed_total")->value, 2);
  EXPECT_EQ(types["ramsafe_worker_backups_failed_total"], "counter");
  EXPECT_EQ(find(samples, "ramsafe_wal_archive_lag_seconds")->value, 0);
  EXPECT_EQ(find(samples, "ramsafe_data_directory_filesystem_used_bytes")->value, 400);
  EXPECT_EQ(find(samples, "ramsafe_config_problems")->value, 0);
  // Counters end in _total, nothing else does.
  for (const auto& [name, type] : types)
    EXPECT_EQ(type == "counter", name.size() > 6 && name.substr(name.size() - 6) == "_total")
        << name;
}

TEST(HealthRender, PrometheusServerDownAndLabelEscaping) {
  HealthFacts f = facts();
  f.cluster = "a\"b\\c\nd";
  f.server = ServerHealth{};
  f.server.asked = true;
  f.server.error = "connection refused";
  std::string text = render_prometheus(f, "1");
  EXPECT_NE(text.find("cluster=\"a\\\"b\\\\c\\nd\""), std::string::npos) << text;
  std::map<std::string, std::string> types;
  std::vector<Sample> samples = parse_prometheus(text, &types);
  EXPECT_EQ(find(samples, "ramsafe_server_up")->value, 0);
  EXPECT_EQ(find(samples, "ramsafe_worker_up"), nullptr);
  EXPECT_EQ(types.count("ramsafe_worker_up"), 0u);  // no family without a sample
}

}  // namespace
}  // namespace ramsafe
