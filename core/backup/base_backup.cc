#include "core/backup/base_backup.h"

#include <chrono>
#include <optional>
#include <thread>

#include "core/backup/backup.h"
#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/tar.h"
#include "core/pg/pg_connection.h"
#include "core/pg/pg_tools.h"
#include "core/set/pipeline.h"
#include "core/set/trust.h"
#include "core/store/local_store.h"
#include "core/wal/wal_archive.h"

namespace ramsafe {
namespace {

constexpr const char* kBaseFile = "base.tar.zst.age";
constexpr const char* kApplicationName = "ramsafe pg_basebackup";
constexpr size_t kManifestTail = size_t{64} * 1024;  // WAL-Ranges and the checksum end it

using Clock = std::chrono::steady_clock;

// The server side of the checks: WAL archiving through ramsafe into the store this backup
// goes to, no extra tablespaces. Returns the WAL segment size.
uint64_t check_server(PgConnection& conn, const Settings& settings) {
  auto rows = conn.query(
      "SELECT current_setting('archive_mode'), current_setting('archive_library'),"
      "       current_setting('wal_level'), coalesce(current_setting('ramsafe.local_dir', true), "
      "''),"
      "       coalesce(current_setting('ramsafe.cluster_name', true), ''),"
      "       pg_size_bytes(current_setting('wal_segment_size'))::text");
  const Row& r = rows.at(0);
  std::string archive_mode = r[0].value_or(""), library = r[1].value_or("");
  if ((archive_mode != "on" && archive_mode != "always") || !names_ramsafe_library(library))
    throw Error(Errc::kConfig,
                "a physical base backup is useless without its WAL: the server must archive WAL "
                "through ramsafe (archive_mode = on, archive_library = 'ramsafe', ramsafe in "
                "shared_preload_libraries; a restart is needed); it has archive_mode = " +
                    archive_mode + ", archive_library = '" + library + "'");
  Settings server = settings;
  server.local_dir = r[3].value_or("");
  server.cluster_name = r[4].value_or("");
  if (server.local_dir.empty() || local_store_root(server) != local_store_root(settings))
    throw Error(Errc::kConfig,
                "the server archives WAL into " +
                    (server.local_dir.empty() ? std::string("(ramsafe.local_dir unset)")
                                              : local_store_root(server)) +
                    " but this base backup would go to " + local_store_root(settings) +
                    ": ramsafe.local_dir and ramsafe.cluster_name must match");
  std::string tablespaces;
  for (const auto& row : conn.query("SELECT spcname FROM pg_tablespace WHERE spcname NOT IN "
                                    "('pg_default', 'pg_global') ORDER BY spcname"))
    tablespaces += (tablespaces.empty() ? "" : ", ") + row[0].value_or("");
  if (!tablespaces.empty())
    throw Error(Errc::kConfig,
                "physical base backups do not support tablespaces yet; this "
                "cluster has: " +
                    tablespaces);
  return std::stoull(r[5].value_or("0"));
}

}  // namespace

bool names_ramsafe_library(const std::string& libraries) {
  size_t start = 0;
  while (start <= libraries.size()) {
    size_t end = libraries.find(',', start);
    if (end == std::string::npos) end = libraries.size();
    std::string name = libraries.substr(start, end - start);
    auto strip = [&name](const char* chars) {
      name.erase(0, name.find_first_not_of(chars));
      name.erase(name.find_last_not_of(chars) + 1);
    };
    strip(" \t");
    strip("\"");
    std::string base = name.substr(name.rfind('/') == std::string::npos ? 0 : name.rfind('/') + 1);
    if (base == "ramsafe" || base == "ramsafe.so") return true;
    start = end + 1;
  }
  return false;
}

namespace {

// The value after "key": in text from pos: a number or a quoted string.
std::optional<std::string> json_value_after(const std::string& text, const std::string& key,
                                            size_t from, size_t to) {
  size_t at = text.find("\"" + key + "\"", from);
  if (at == std::string::npos || at >= to) return std::nullopt;
  size_t colon = text.find(':', at);
  if (colon == std::string::npos || colon >= to) return std::nullopt;
  size_t start = text.find_first_not_of(" \t\r\n", colon + 1);
  if (start == std::string::npos || start >= to) return std::nullopt;
  if (text[start] == '"') {
    size_t end = text.find('"', start + 1);
    if (end == std::string::npos || end >= to) return std::nullopt;
    return text.substr(start + 1, end - start - 1);
  }
  size_t end = text.find_first_not_of("0123456789", start);
  if (end == start) return std::nullopt;
  return text.substr(start, end - start);
}

}  // namespace

BaseBackupPoints parse_manifest_wal_ranges(const std::string& text) {
  size_t ranges = text.rfind("\"WAL-Ranges\"");
  if (ranges == std::string::npos)
    throw Error(Errc::kChildFailed, "the base backup's backup_manifest has no WAL-Ranges");
  size_t end = text.find(']', ranges);
  if (end == std::string::npos)
    throw Error(Errc::kChildFailed, "the base backup's backup_manifest WAL-Ranges is truncated");
  BaseBackupPoints points;
  bool first = true;
  size_t pos = ranges;
  for (;;) {
    size_t open = text.find('{', pos);
    if (open == std::string::npos || open > end) break;
    size_t close = text.find('}', open);
    if (close == std::string::npos || close > end)
      throw Error(Errc::kChildFailed, "the base backup's backup_manifest WAL-Ranges is malformed");
    auto tli = json_value_after(text, "Timeline", open, close);
    auto start = json_value_after(text, "Start-LSN", open, close);
    auto stop = json_value_after(text, "End-LSN", open, close);
    std::optional<uint64_t> start_lsn = start ? parse_lsn(*start) : std::nullopt;
    std::optional<uint64_t> stop_lsn = stop ? parse_lsn(*stop) : std::nullopt;
    if (!tli || tli->empty() || tli->size() > 10 || !start_lsn || !stop_lsn)
      throw Error(Errc::kChildFailed,
                  "the base backup's backup_manifest has a malformed WAL range: " +
                      text.substr(open, close - open + 1));
    if (first) {
      unsigned long long t = std::stoull(*tli);
      if (t == 0 || t > 0xFFFFFFFFull)
        throw Error(Errc::kChildFailed, "the base backup's backup_manifest names timeline " + *tli);
      points.timeline = static_cast<uint32_t>(t);
      points.start_lsn = *start_lsn;
      first = false;
    }
    points.stop_lsn = *stop_lsn;
    pos = close + 1;
  }
  if (first) throw Error(Errc::kChildFailed, "the base backup's backup_manifest has no WAL range");
  if (points.stop_lsn < points.start_lsn)
    throw Error(Errc::kChildFailed,
                "the base backup's backup_manifest WAL range ends before it starts");
  return points;
}

BaseBackupResult run_base_backup(const BaseBackupRequest& request) {
  auto started = Clock::now();
  int64_t started_ms = now_unix_millis();
  BaseBackupProgress progress;
  auto report = [&](const std::string& phase) {
    progress.phase = phase;
    if (request.progress) request.progress(progress);
  };
  report("starting");
  // Before anything else: ramsafe writes no set it cannot sign.
  SetSigner signer = set_signer_for(request.settings);
  ConnectionParams params = connection_params(request.settings);
  PgConnection conn(params);
  ServerFacts facts = query_server(conn);
  uint64_t segment_size = check_server(conn, request.settings);
  if (!is_valid_wal_segment_size(segment_size))
    throw Error(Errc::kServer, "the server reports a WAL segment size of " +
                                   std::to_string(segment_size) + " bytes");
  PgTools tools = find_pg_tools(request.settings.bindir, facts.server_version_num / 10000);
  ConnectionParams child_params = params;
  child_params.host = conn.connected_host();
  child_params.user = conn.connected_user();
  child_params.application_name = kApplicationName;

  std::string root = local_store_root(request.settings);
  LocalStore store(root, signer.trust);
  UniqueFd lock = store.lock("take a base backup");
  store.cleanup_partials(0);
  auto writer = store.begin_set(started_ms / 1000, signer);
  progress.backup_id = writer->id();

  Manifest manifest = manifest_for_server(facts, writer->id(), cluster_name(request.settings),
                                          started_ms, tools.version_string("pg_basebackup"));
  manifest.kind = "physical";

  // -X none: the WAL comes from the archive. The backup manifest is kept for its
  // WAL-Ranges (the backup's start and end points; -X none does not print them), without
  // per-file checksums: the set's own SHA-256, the age MACs and zstd's checksums already
  // cover the tar.
  ProcessOptions options;
  options.argv = {tools.path("pg_basebackup"),
                  "-D",
                  "-",
                  "-Ft",
                  "-X",
                  "none",
                  "--checkpoint=fast",
                  "--manifest-checksums=NONE",
                  "-v",
                  "-w",
                  "--label=ramsafe " + writer->id()};
  options.env = child_params.environment();
  options.pipe_stdout = true;
  if (request.low_priority) {
    options.nice_increment = 10;
    options.idle_io = true;
  }
  report("copying");
  ManifestFile file;
  BaseBackupPoints points;
  {
    ChildProcess child(options);
    UniqueFd fd = writer->create_file(kBaseFile);
    std::string full = join_path(writer->partial_path(), kBaseFile);
    EncryptChain chain(fd.get(), full, request.settings.compression_level, request.recipients,
                       request.zstd_workers);
    CallbackStage counted(chain, [&](size_t) {
      progress.bytes_read = chain.plaintext_bytes();
      progress.bytes_stored = chain.stored_bytes();
      report("copying");
    });
    RateLimitStage limited(counted, uint64_t(request.settings.max_rate) * 1000000, request.cancel);
    TarWatch watch(limited, "pg_basebackup's output", {"backup_manifest"}, kManifestTail);
    pump_child(child, watch, request.cancel, nullptr);
    writer->close_file(fd, kBaseFile);
    const std::string* manifest_tail = watch.captured("backup_manifest");
    if (!manifest_tail)
      throw Error(Errc::kChildFailed, "pg_basebackup's tar has no backup_manifest");
    points = parse_manifest_wal_ranges(*manifest_tail);
    file.path = kBaseFile;
    file.role = "base";
    chain.describe(file);
  }
  manifest.files.push_back(file);
  PhysicalInfo info;
  info.start_lsn = format_lsn(points.start_lsn);
  info.stop_lsn = format_lsn(points.stop_lsn);
  info.timeline = points.timeline;
  info.start_wal_file = wal_segment_file_name(points.timeline, points.start_lsn, segment_size);
  info.stop_wal_file = wal_segment_file_name(points.timeline, points.stop_lsn, segment_size);
  info.wal_segment_size = segment_size;
  manifest.physical = info;

  // The server's BASE_BACKUP waits for the last segment to be archived (pg_basebackup
  // does not ask it not to); check the store itself before publishing anyway.
  report("waiting for WAL");
  std::string stop_path = wal_stored_path(root, info.stop_wal_file);
  auto deadline = Clock::now() + std::chrono::seconds(request.archive_wait_seconds);
  while (!path_exists(stop_path)) {
    if (request.cancel && request.cancel())
      throw Error(Errc::kCancelled, "cancelled while waiting for WAL " + info.stop_wal_file);
    if (Clock::now() > deadline)
      throw Error(Errc::kServer, "the base backup's last WAL segment " + info.stop_wal_file +
                                     " did not reach " + stop_path + " within " +
                                     std::to_string(request.archive_wait_seconds) +
                                     " s; see pg_stat_archiver and the server log");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }

  report("publishing");
  manifest.finished_at = format_rfc3339_utc(now_unix_millis());
  BaseBackupResult result;
  result.path = writer->publish(manifest);
  if (!writer->warning().empty()) result.warnings.push_back(writer->warning());
  result.manifest = std::move(manifest);
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  report("done");
  return result;
}

}  // namespace ramsafe
