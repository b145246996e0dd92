// Writes the seeds that need ramsafe itself to be right: a real manifest (as
// test/unit/set/manifest_test.cc builds one, written by Manifest::to_json) and a configuration
// file setting every ramsafe.* setting to its default. Usage: make_seeds <seed dir>; the
// manifest and config subdirectories must exist.
#include <cstdio>
#include <fstream>
#include <string>

#include "core/config/settings.h"
#include "core/set/manifest.h"

namespace {

ramsafe::Manifest sample() {
  ramsafe::Manifest m;
  m.backup_id = "20261122T031500Z";
  m.cluster = "main";
  m.started_at = "2026-11-22T03:15:00.000Z";
  m.finished_at = "2026-11-22T03:15:04.250Z";
  m.server_version = "15.18";
  m.server_version_num = 150018;
  m.pg_dump_version = "pg_dump (PostgreSQL) 15.18";
  m.system_identifier = "7312345678901234567";
  m.ramsafe_version = "0.1.0";
  m.shared_preload_libraries = "ramsafe,pg_stat_statements";
  m.initdb = {"UTF8", "C.UTF-8", "C.UTF-8", "libc", "", true, "postgres"};
  ramsafe::ManifestFile g{
      "globals.sql.zst.age", "globals", "", 100,      80,
      std::string(64, 'a'),  "zstd",    3,  "age-v1", {"x25519:0123456789abcdef"}};
  ramsafe::ManifestFile d{
      "db/app.dump.zst.age", "database", "app", 5000,     1200,
      std::string(64, 'b'),  "zstd",     3,     "age-v1", {"x25519:0123456789abcdef", "scrypt"}};
  m.files = {g, d};
  return m;
}

bool write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) std::fprintf(stderr, "make_seeds: cannot write %s\n", path.c_str());
  return static_cast<bool>(out);
}

std::string quote(const std::string& value) {
  std::string out = "'";
  for (char c : value) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds <seed dir>\n");
    return 2;
  }
  std::string dir = argv[1];
  std::string conf = "# every ramsafe setting at its default\n";
  for (const ramsafe::SettingDef& def : ramsafe::setting_defs())
    conf += def.name + " = " + quote(def.default_value) + "\n";
  bool ok = write(dir + "/manifest/sample.json", sample().to_json()) &&
            write(dir + "/config/defaults.conf", conf);
  return ok ? 0 : 1;
}
