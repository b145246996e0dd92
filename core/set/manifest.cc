#include "core/set/manifest.h"

#include <limits>
#include <type_traits>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/stages.h"
#include "core/pg/wal_names.h"

namespace ramsafe {
namespace {

using nlohmann::json;

constexpr const char* kChecksumKey = "manifest_sha256";

json file_to_json(const ManifestFile& f) {
  json j = {{"path", f.path},
            {"role", f.role},
            {"plaintext_bytes", f.plaintext_bytes},
            {"stored_bytes", f.stored_bytes},
            {"sha256", f.sha256},
            {"compression", f.compression},
            {"compression_level", f.compression_level},
            {"encryption", f.encryption},
            {"recipients", f.recipients}};
  if (!f.database.empty()) j["database"] = f.database;
  return j;
}

template <typename T>
T require(const json& j, const char* key, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end()) throw Error(Errc::kCorrupt, source + ": manifest lacks \"" + key + "\"");
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw Error(Errc::kCorrupt, source + ": manifest field \"" + key + "\" has the wrong type");
  }
}

// Integers must be JSON integers within T's range: nlohmann's get<int>() would cast a
// float or an out-of-range number silently (and a float cast out of range is undefined).
template <typename T>
T require_integer(const json& j, const char* key, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end()) throw Error(Errc::kCorrupt, source + ": manifest lacks \"" + key + "\"");
  bool fits = false;
  if (it->is_number_unsigned()) {
    fits = it->get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
  } else if (it->is_number_integer()) {
    // nlohmann reports non-negative integers as unsigned: this one is negative.
    int64_t v = it->get<int64_t>();
    if constexpr (std::is_signed_v<T>)
      fits = v >= static_cast<int64_t>(std::numeric_limits<T>::min());
  }
  if (!fits)
    throw Error(Errc::kCorrupt, source + ": manifest field \"" + key + "\" is not a valid number");
  return it->get<T>();
}

// An optional string field: absent means fallback; present, it must be a string.
std::string optional_string(const json& j, const char* key, const std::string& fallback,
                            const std::string& source) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (!it->is_string())
    throw Error(Errc::kCorrupt, source + ": manifest field \"" + key + "\" has the wrong type");
  return it->get<std::string>();
}

bool is_hex_sha256(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c)) ||
        std::isupper(static_cast<unsigned char>(c)))
      return false;
  return true;
}

// A file path inside a set: below it, and free of backslashes (no other platform's
// separator sneaks a ".." in).
bool is_safe_set_path(const std::string& p) {
  return is_safe_relative_path(p) && p.find('\\') == std::string::npos;
}

bool is_segment_name(const std::string& name) {
  return is_wal_file_name(name) && parse_wal_file_name(name).kind == WalFileKind::kSegment;
}

PhysicalInfo parse_physical(const json& j, const std::string& source) {
  const json p = require<json>(j, "physical", source);
  if (!p.is_object())
    throw Error(Errc::kCorrupt, source + ": manifest field \"physical\" has the wrong type");
  PhysicalInfo info;
  info.start_lsn = require<std::string>(p, "start_lsn", source);
  info.stop_lsn = require<std::string>(p, "stop_lsn", source);
  info.timeline = require_integer<uint32_t>(p, "timeline", source);
  info.start_wal_file = require<std::string>(p, "start_wal_file", source);
  info.stop_wal_file = require<std::string>(p, "stop_wal_file", source);
  info.wal_segment_size = require_integer<uint64_t>(p, "wal_segment_size", source);
  auto start = parse_lsn(info.start_lsn), stop = parse_lsn(info.stop_lsn);
  if (!start || !stop || *stop < *start)
    throw Error(Errc::kCorrupt, source + ": manifest has malformed start/stop LSNs (" +
                                    info.start_lsn + ", " + info.stop_lsn + ")");
  if (info.timeline == 0) throw Error(Errc::kCorrupt, source + ": manifest physical timeline is 0");
  if (!is_valid_wal_segment_size(info.wal_segment_size))
    throw Error(Errc::kCorrupt, source + ": manifest wal_segment_size " +
                                    std::to_string(info.wal_segment_size) + " is not valid");
  if (!is_segment_name(info.start_wal_file) || !is_segment_name(info.stop_wal_file) ||
      info.start_wal_file != wal_segment_file_name(info.timeline, *start, info.wal_segment_size) ||
      info.stop_wal_file.substr(8) !=
          wal_segment_file_name(info.timeline, *stop, info.wal_segment_size).substr(8))
    throw Error(Errc::kCorrupt, source + ": manifest WAL file names (" + info.start_wal_file +
                                    ", " + info.stop_wal_file + ") do not match its LSNs");
  return info;
}

OfflineInfo parse_offline(const json& j, const std::string& source) {
  const json o = require<json>(j, "offline", source);
  if (!o.is_object())
    throw Error(Errc::kCorrupt, source + ": manifest field \"offline\" has the wrong type");
  OfflineInfo info;
  info.checkpoint_lsn = require<std::string>(o, "checkpoint_lsn", source);
  info.redo_lsn = require<std::string>(o, "redo_lsn", source);
  info.timeline = require_integer<uint32_t>(o, "timeline", source);
  info.redo_wal_file = require<std::string>(o, "redo_wal_file", source);
  info.wal_segment_size = require_integer<uint64_t>(o, "wal_segment_size", source);
  info.pg_major = require_integer<int>(o, "pg_major", source);
  info.cluster_state = require<std::string>(o, "cluster_state", source);
  auto checkpoint = parse_lsn(info.checkpoint_lsn), redo = parse_lsn(info.redo_lsn);
  if (!checkpoint || !redo || *checkpoint < *redo)
    throw Error(Errc::kCorrupt, source + ": manifest has malformed checkpoint/redo LSNs (" +
                                    info.checkpoint_lsn + ", " + info.redo_lsn + ")");
  if (info.timeline == 0) throw Error(Errc::kCorrupt, source + ": manifest offline timeline is 0");
  if (!is_valid_wal_segment_size(info.wal_segment_size))
    throw Error(Errc::kCorrupt, source + ": manifest wal_segment_size " +
                                    std::to_string(info.wal_segment_size) + " is not valid");
  if (!is_segment_name(info.redo_wal_file) ||
      info.redo_wal_file != wal_segment_file_name(info.timeline, *redo, info.wal_segment_size))
    throw Error(Errc::kCorrupt, source + ": manifest redo_wal_file " + info.redo_wal_file +
                                    " does not match its redo LSN");
  if (info.pg_major < 10 || info.pg_major > 99)
    throw Error(Errc::kCorrupt,
                source + ": manifest pg_major " + std::to_string(info.pg_major) + " is not valid");
  if (info.cluster_state != "shut down" && info.cluster_state != "shut down in recovery")
    throw Error(Errc::kCorrupt, source + ": manifest cluster_state \"" + info.cluster_state +
                                    "\" is not a clean shutdown");
  return info;
}

}  // namespace

std::string Manifest::to_json() const {
  json files_json = json::array();
  for (const auto& f : files) files_json.push_back(file_to_json(f));
  json j = {{"format", "ramsafe-backup"},
            {"format_version", format_version},
            {"backup_id", backup_id},
            {"kind", kind},
            {"cluster", cluster},
            {"started_at", started_at},
            {"finished_at", finished_at},
            {"server_version", server_version},
            {"server_version_num", server_version_num},
            {"pg_dump_version", pg_dump_version},
            {"system_identifier", system_identifier},
            {"ramsafe_version", ramsafe_version},
            {"shared_preload_libraries", shared_preload_libraries},
            {"initdb",
             {{"encoding", initdb.encoding},
              {"lc_collate", initdb.lc_collate},
              {"lc_ctype", initdb.lc_ctype},
              {"locale_provider", initdb.locale_provider},
              {"icu_locale", initdb.icu_locale},
              {"data_checksums", initdb.data_checksums},
              {"bootstrap_superuser", initdb.bootstrap_superuser}}},
            {"files", files_json}};
  if (format_version >= 2) j["sequence"] = sequence;
  if (physical)
    j["physical"] = {{"start_lsn", physical->start_lsn},
                     {"stop_lsn", physical->stop_lsn},
                     {"timeline", physical->timeline},
                     {"start_wal_file", physical->start_wal_file},
                     {"stop_wal_file", physical->stop_wal_file},
                     {"wal_segment_size", physical->wal_segment_size}};
  if (offline)
    j["offline"] = {{"checkpoint_lsn", offline->checkpoint_lsn},
                    {"redo_lsn", offline->redo_lsn},
                    {"timeline", offline->timeline},
                    {"redo_wal_file", offline->redo_wal_file},
                    {"wal_segment_size", offline->wal_segment_size},
                    {"pg_major", offline->pg_major},
                    {"cluster_state", offline->cluster_state}};
  // json objects keep keys sorted, so dump() is canonical for the checksum.
  j[kChecksumKey] = sha256_hex(j.dump());
  return j.dump(2) + "\n";
}

Manifest Manifest::parse(const std::string& text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(Errc::kCorrupt, source + ": manifest is not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw Error(Errc::kCorrupt, source + ": manifest is not a JSON object");
  if (optional_string(j, "format", "", source) != "ramsafe-backup")
    throw Error(Errc::kCorrupt, source + ": not a ramsafe manifest");
  std::string stored_checksum = require<std::string>(j, kChecksumKey, source);
  j.erase(kChecksumKey);
  if (sha256_hex(j.dump()) != stored_checksum)
    throw Error(Errc::kCorrupt, source + ": manifest checksum mismatch (the manifest is damaged)");

  Manifest m;
  m.format_version = require_integer<int>(j, "format_version", source);
  if (m.format_version > kManifestFormatVersion ||
      m.format_version < kUnsignedManifestFormatVersion)
    throw Error(Errc::kCorrupt, source + ": manifest format version " +
                                    std::to_string(m.format_version) +
                                    " is not supported by this ramsafe (supports up to " +
                                    std::to_string(kManifestFormatVersion) + ")");
  if (m.format_version >= 2) m.sequence = require_integer<uint64_t>(j, "sequence", source);
  m.backup_id = require<std::string>(j, "backup_id", source);
  // Manifests written before physical sets existed may lack the kind: they are logical.
  m.kind = optional_string(j, "kind", "logical", source);
  if (m.kind == "physical") m.physical = parse_physical(j, source);
  if (m.kind == "offline") m.offline = parse_offline(j, source);
  m.cluster = require<std::string>(j, "cluster", source);
  m.started_at = require<std::string>(j, "started_at", source);
  m.finished_at = require<std::string>(j, "finished_at", source);
  if (!parse_rfc3339_utc(m.finished_at))
    throw Error(Errc::kCorrupt, source + ": manifest finished_at is not a timestamp");
  m.server_version = require<std::string>(j, "server_version", source);
  m.server_version_num = require_integer<int>(j, "server_version_num", source);
  m.pg_dump_version = require<std::string>(j, "pg_dump_version", source);
  m.system_identifier = require<std::string>(j, "system_identifier", source);
  m.ramsafe_version = require<std::string>(j, "ramsafe_version", source);
  m.shared_preload_libraries = optional_string(j, "shared_preload_libraries", "", source);
  const json initdb = require<json>(j, "initdb", source);
  m.initdb.encoding = require<std::string>(initdb, "encoding", source);
  m.initdb.lc_collate = require<std::string>(initdb, "lc_collate", source);
  m.initdb.lc_ctype = require<std::string>(initdb, "lc_ctype", source);
  m.initdb.locale_provider = require<std::string>(initdb, "locale_provider", source);
  m.initdb.icu_locale = require<std::string>(initdb, "icu_locale", source);
  m.initdb.data_checksums = require<bool>(initdb, "data_checksums", source);
  m.initdb.bootstrap_superuser = require<std::string>(initdb, "bootstrap_superuser", source);
  for (const auto& fj : require<json>(j, "files", source)) {
    ManifestFile f;
    f.path = require<std::string>(fj, "path", source);
    if (!is_safe_set_path(f.path))
      throw Error(Errc::kCorrupt, source + ": manifest names an unsafe path \"" + f.path + "\"");
    f.role = require<std::string>(fj, "role", source);
    f.database = optional_string(fj, "database", "", source);
    f.plaintext_bytes = require_integer<uint64_t>(fj, "plaintext_bytes", source);
    f.stored_bytes = require_integer<uint64_t>(fj, "stored_bytes", source);
    f.sha256 = require<std::string>(fj, "sha256", source);
    if (!is_hex_sha256(f.sha256))
      throw Error(Errc::kCorrupt, source + ": manifest has a malformed sha256 for " + f.path);
    f.compression = require<std::string>(fj, "compression", source);
    f.compression_level = require_integer<int>(fj, "compression_level", source);
    f.encryption = require<std::string>(fj, "encryption", source);
    f.recipients = require<std::vector<std::string>>(fj, "recipients", source);
    if (f.role == "database" && f.database.empty())
      throw Error(Errc::kCorrupt, source + ": database file " + f.path + " names no database");
    m.files.push_back(std::move(f));
  }
  return m;
}

const ManifestFile* Manifest::find_file(const std::string& path) const {
  for (const auto& f : files)
    if (f.path == path) return &f;
  return nullptr;
}

uint64_t Manifest::stored_bytes() const {
  uint64_t total = 0;
  for (const auto& f : files) total += f.stored_bytes;
  return total;
}

uint64_t Manifest::plaintext_bytes() const {
  uint64_t total = 0;
  for (const auto& f : files) total += f.plaintext_bytes;
  return total;
}

std::vector<std::string> Manifest::databases() const {
  std::vector<std::string> out;
  for (const auto& f : files)
    if (f.role == "database") out.push_back(f.database);
  return out;
}

std::string database_file_name(const std::string& database) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < database.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(database[i]);
    bool safe = std::isalnum(c) || c == '_' || c == '-' || (c == '.' && i > 0);
    if (safe && c < 128) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string backup_id_for(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

bool is_valid_backup_id(const std::string& id) {
  // 20261122T031500Z or 20261122T031500Z-<n>
  if (id.size() < 16) return false;
  for (size_t i = 0; i < 16; ++i) {
    char c = id[i];
    bool ok = (i == 8)    ? c == 'T'
              : (i == 15) ? c == 'Z'
                          : std::isdigit(static_cast<unsigned char>(c)) != 0;
    if (!ok) return false;
  }
  if (id.size() == 16) return true;
  if (id[16] != '-' || id.size() == 17 || id.size() > 22) return false;
  for (size_t i = 17; i < id.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(id[i]))) return false;
  return true;
}

std::string format_rfc3339_utc(int64_t unix_millis) {
  time_t t = static_cast<time_t>(unix_millis / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(unix_millis % 1000));
  return out;
}

namespace {

// Digits [pos, pos + count) of text as a number, if they are all digits.
std::optional<int> fixed_digits(const std::string& text, size_t pos, size_t count) {
  if (pos + count > text.size()) return std::nullopt;
  int value = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

}  // namespace

// Exactly YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DDTHH:MM:SS.mmmZ, as format_rfc3339_utc writes.
std::optional<int64_t> parse_rfc3339_utc(const std::string& text) {
  if (text.size() != 20 && text.size() != 24) return std::nullopt;
  if (text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      text.back() != 'Z')
    return std::nullopt;
  auto y = fixed_digits(text, 0, 4), mo = fixed_digits(text, 5, 2), d = fixed_digits(text, 8, 2),
       h = fixed_digits(text, 11, 2), mi = fixed_digits(text, 14, 2), s = fixed_digits(text, 17, 2);
  std::optional<int> ms = 0;
  if (text.size() == 24) ms = text[19] == '.' ? fixed_digits(text, 20, 3) : std::nullopt;
  if (!y || !mo || !d || !h || !mi || !s || !ms) return std::nullopt;
  if (*mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 || *mi > 59 || *s > 60)
    return std::nullopt;
  struct tm tm {};
  tm.tm_year = *y - 1900;
  tm.tm_mon = *mo - 1;
  tm.tm_mday = *d;
  tm.tm_hour = *h;
  tm.tm_min = *mi;
  tm.tm_sec = *s;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + *ms;
}

int64_t now_unix_millis() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace ramsafe
