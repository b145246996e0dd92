#include "core/backup/backup.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/tar.h"
#include "core/pg/pg_tools.h"
#include "core/set/pipeline.h"
#include "core/set/trust.h"
#include "core/store/local_store.h"
#include "core/version.h"

namespace ramsafe {

Manifest manifest_for_server(const ServerFacts& facts, const std::string& backup_id,
                             const std::string& cluster, int64_t started_ms,
                             const std::string& tool_version) {
  Manifest manifest;
  manifest.backup_id = backup_id;
  manifest.cluster = cluster;
  manifest.started_at = format_rfc3339_utc(started_ms);
  manifest.server_version = facts.server_version;
  manifest.server_version_num = facts.server_version_num;
  manifest.pg_dump_version = tool_version;
  manifest.system_identifier = facts.system_identifier;
  manifest.ramsafe_version = RAMSAFE_VERSION;
  manifest.initdb = facts.initdb;
  manifest.shared_preload_libraries = facts.shared_preload_libraries;
  return manifest;
}

ServerFacts query_server(PgConnection& conn) {
  ServerFacts facts;
  auto rows = conn.query(
      "SELECT current_setting('server_version'), current_setting('server_version_num'),"
      "       (SELECT system_identifier::text FROM pg_control_system()),"
      "       current_setting('data_directory'), current_setting('data_checksums'),"
      "       (SELECT rolname FROM pg_roles WHERE oid = 10),"
      "       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)::text,"
      "       current_user, current_setting('shared_preload_libraries')");
  const Row& r = rows.at(0);
  if (r[6].value_or("false") != "true")
    throw Error(Errc::kConfig,
                "the backup connection's role " + r[7].value_or("?") +
                    " is not a superuser; ramsafe needs one to dump roles with their "
                    "passwords and every database (set ramsafe.user)");
  facts.server_version = r[0].value_or("");
  facts.server_version_num = std::stoi(r[1].value_or("0"));
  facts.system_identifier = r[2].value_or("");
  facts.data_directory = r[3].value_or("");
  facts.initdb.data_checksums = r[4].value_or("off") == "on";
  facts.initdb.bootstrap_superuser = r[5].value_or("postgres");
  facts.shared_preload_libraries = r[8].value_or("");

  // The provider's locale is daticulocale up to PostgreSQL 16 and datlocale from 17 (which
  // added the builtin provider); ICU rules exist from 16.
  const int v = facts.server_version_num;
  auto t1 = conn.query(std::string("SELECT pg_encoding_to_char(encoding), datcollate, datctype,"
                                   "       datlocprovider::text, coalesce(") +
                       (v >= 170000 ? "datlocale" : "daticulocale") + ", ''), " +
                       (v >= 160000 ? "coalesce(daticurules, '')" : "''") +
                       " FROM pg_database WHERE datname = 'template1'");
  if (t1.empty()) throw Error(Errc::kServer, "the server has no template1 database");
  facts.initdb.encoding = t1[0][0].value_or("");
  facts.initdb.lc_collate = t1[0][1].value_or("");
  facts.initdb.lc_ctype = t1[0][2].value_or("");
  std::string provider = t1[0][3].value_or("c");
  facts.initdb.locale_provider = provider == "i" ? "icu" : provider == "b" ? "builtin" : "libc";
  if (provider == "i") {
    facts.initdb.icu_locale = t1[0][4].value_or("");
    facts.initdb.icu_rules = t1[0][5].value_or("");
  } else if (provider == "b") {
    facts.initdb.builtin_locale = t1[0][4].value_or("");
  }

  for (auto& row :
       conn.query("SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname"))
    facts.databases.push_back(row[0].value_or(""));

  // Files that configure the server and live in its data directory: the main file, the
  // auto file, hba and ident, and any included file that contributed a setting.
  auto files = conn.query(
      "SELECT DISTINCT f FROM ("
      "  SELECT current_setting('config_file') AS f"
      "  UNION ALL SELECT current_setting('hba_file')"
      "  UNION ALL SELECT current_setting('ident_file')"
      "  UNION ALL SELECT current_setting('data_directory') || '/postgresql.auto.conf'"
      "  UNION ALL SELECT sourcefile FROM pg_file_settings WHERE sourcefile IS NOT NULL"
      ") s ORDER BY f");
  std::string prefix = facts.data_directory + "/";
  for (auto& row : files) {
    std::string f = row[0].value_or("");
    // Only what a restore may write back (never a file in one of PostgreSQL's own
    // directories, which a configuration file cannot sensibly be).
    if (f.compare(0, prefix.size(), prefix) == 0 &&
        is_restorable_config_name(f.substr(prefix.size())))
      facts.config_files.push_back(f);
  }
  return facts;
}

namespace {

// pg_dump and pg_dumpall connect under this name, so their backends can be found.
constexpr const char* kChildApplicationName = "ramsafe pg_dump";

class Backup {
 public:
  explicit Backup(const BackupRequest& request) : request_(request) {}

  BackupResult run() {
    auto started = std::chrono::steady_clock::now();
    int64_t started_ms = now_unix_millis();
    report("starting");
    // Before anything else: ramsafe writes no set it cannot sign.
    SetSigner signer = set_signer_for(request_.settings);
    ConnectionParams params = connection_params(request_.settings);
    PgConnection conn(params);
    child_params_ = params;
    child_params_.host = conn.connected_host();
    child_params_.user = conn.connected_user();
    child_params_.application_name = kChildApplicationName;
    conn_ = &conn;
    ServerFacts facts = query_server(conn);
    PgTools tools = find_pg_tools(request_.settings.bindir, facts.server_version_num / 10000);

    LocalStore store(local_store_root(request_.settings), signer.trust);
    UniqueFd lock = store.lock("back up");
    // Holding the lock, no other backup is writing: any .partial is a dead one's leftover.
    store.cleanup_partials(0);
    auto writer = store.begin_set(started_ms / 1000, signer);

    Manifest manifest = manifest_for_server(facts, writer->id(), cluster_name(request_.settings),
                                            started_ms, tools.version_string("pg_dump"));
    progress_.backup_id = writer->id();
    progress_.database_count = static_cast<int>(facts.databases.size());

    report("globals");
    {
      ChildProcess child(dump_options(tools, {tools.path("pg_dumpall"), "--globals-only", "-w"}));
      manifest.files.push_back(
          write_from_child(*writer, "globals.sql.zst.age", "globals", "", child));
    }

    report("config");
    {
      std::vector<TarEntry> entries;
      std::vector<std::string> names;
      for (const auto& path : facts.config_files) {
        TarEntry e;
        e.name = path.substr(facts.data_directory.size() + 1);
        e.content = conn.scalar_bytea("SELECT pg_read_binary_file($1)", {path});
        e.mtime = started_ms / 1000;
        names.push_back(e.name);
        entries.push_back(std::move(e));
      }
      manifest.files.push_back(
          write_stream(*writer, "config.tar.zst.age", "config", "", [&](Sink& sink) {
            write_tar(entries, sink);
            sink.finish();
          }));
      // The restore writes only these names.
      manifest.files.back().config_files = names;
    }

    for (size_t i = 0; i < facts.databases.size(); ++i) {
      const std::string& db = facts.databases[i];
      progress_.database = db;
      progress_.database_index = static_cast<int>(i) + 1;
      report("database");
      std::string path = "db/" + database_file_name(db) + ".dump.zst.age";
      try {
        std::map<std::string, ExtensionVersion> extensions = database_extensions(db);
        ChildProcess child(dump_options(tools, {tools.path("pg_dump"), "-Fc", "-Z0", "-w",
                                                "--dbname=dbname=" + conninfo_quote(db)}));
        manifest.files.push_back(write_from_child(*writer, path, "database", db, child));
        manifest.files.back().extensions = std::move(extensions);
      } catch (const Error& e) {
        bool lost = e.code() == Errc::kChildFailed || e.code() == Errc::kServer;
        if (!lost || database_exists(conn, db)) throw;
        result_.vanished_databases.push_back(db);
        writer->remove_file(path);
      }
    }

    report("publishing");
    manifest.finished_at = format_rfc3339_utc(now_unix_millis());
    result_.path = writer->publish(manifest);
    if (!writer->warning().empty()) result_.warnings.push_back(writer->warning());
    result_.manifest = std::move(manifest);
    result_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    report("done");
    return std::move(result_);
  }

 private:
  ProcessOptions dump_options(const PgTools& tools, std::vector<std::string> argv) const {
    ProcessOptions options;
    options.argv = std::move(argv);
    options.env = child_params_.environment();
    options.pipe_stdout = true;
    if (request_.low_priority) {
      options.nice_increment = 10;
      options.idle_io = true;
    }
    return options;
  }

  // Once the dump's data flows, its backend exists: lower it like pg_dump itself.
  void lower_dump_backends() {
    auto rows = conn_->query(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> "
        "pg_backend_pid()",
        {kChildApplicationName});
    for (const auto& row : rows)
      if (row[0]) (void)lower_priority(static_cast<pid_t>(std::stol(*row[0])));
  }

  // The database's extensions and their versions, for the manifest: pg_dump records no
  // versions, and a restore (into a newer major too) needs them to bring each back at its
  // version or to say why it cannot.
  std::map<std::string, ExtensionVersion> database_extensions(const std::string& db) const {
    ConnectionParams params = child_params_;
    params.dbname = db;
    params.application_name = kChildApplicationName;
    PgConnection conn(params);
    std::map<std::string, ExtensionVersion> extensions;
    for (const auto& row : conn.query("SELECT e.extname, e.extversion, n.nspname FROM pg_extension "
                                      "e JOIN pg_namespace n ON n.oid = e.extnamespace"))
      extensions[row[0].value_or("")] = {row[1].value_or(""), row[2].value_or("")};
    return extensions;
  }

  static bool database_exists(PgConnection& conn, const std::string& db) {
    return !conn.query("SELECT 1 FROM pg_database WHERE datname = $1", {db}).empty();
  }

  ManifestFile write_stream(LocalSetWriter& writer, const std::string& path,
                            const std::string& role, const std::string& database,
                            const std::function<void(Sink&)>& produce) {
    UniqueFd fd = writer.create_file(path);
    std::string full = join_path(writer.partial_path(), path);
    EncryptChain chain(fd.get(), full, request_.settings.compression_level, request_.recipients,
                       request_.zstd_workers);
    uint64_t read_before = progress_.bytes_read, stored_before = progress_.bytes_stored;
    bool backends_lowered = false;
    CallbackStage counted(chain, [&](size_t) {
      // nice only reaches pg_dump; the server backend that feeds it does most of the work.
      if (request_.low_priority && !backends_lowered) {
        lower_dump_backends();
        backends_lowered = true;
      }
      progress_.bytes_read = read_before + chain.plaintext_bytes();
      progress_.bytes_stored = stored_before + chain.stored_bytes();
      report(progress_.phase);
    });
    RateLimitStage limited(counted, uint64_t(request_.settings.max_rate) * 1000000,
                           request_.cancel);
    produce(limited);
    writer.close_file(fd, path);
    progress_.bytes_read = read_before + chain.plaintext_bytes();
    progress_.bytes_stored = stored_before + chain.stored_bytes();

    ManifestFile f;
    f.path = path;
    f.role = role;
    f.database = database;
    chain.describe(f);
    return f;
  }

  ManifestFile write_from_child(LocalSetWriter& writer, const std::string& path,
                                const std::string& role, const std::string& database,
                                ChildProcess& child) {
    return write_stream(writer, path, role, database,
                        [&](Sink& sink) { pump_child(child, sink, request_.cancel, nullptr); });
  }

  void report(const std::string& phase) {
    progress_.phase = phase;
    if (request_.progress) request_.progress(progress_);
  }

  const BackupRequest& request_;
  BackupProgress progress_;
  ConnectionParams child_params_;  // the backup connection's resolved host and user
  PgConnection* conn_ = nullptr;   // the backup's own connection, while run() runs
  BackupResult result_;
};

}  // namespace

ConnectionParams connection_params(const Settings& settings, const std::string& dbname) {
  ConnectionParams params;
  params.host = settings.host;
  params.port = settings.port;
  params.user = settings.user;
  params.passfile = settings.passfile;
  params.dbname = dbname;
  return params;
}

std::unique_ptr<LocalStore> make_local_store(const Settings& settings) {
  if (settings.local_dir.empty()) return nullptr;
  return std::make_unique<LocalStore>(local_store_root(settings), trust_policy_for(settings));
}

std::optional<std::string> backup_store_problem(const Settings& settings) {
  if (settings.local_dir.empty())
    return std::string(
        "ramsafe.local_dir is not set: every backup is written to the local store first "
        "(Drive only gets copies)");
  const std::string root = local_store_root(settings);
  std::string existing = root;
  while (existing != "/" && !path_exists(existing)) existing = parent_dir(existing);
  const std::string setting = "ramsafe.local_dir = '" + settings.local_dir + "': ";
  if (!is_directory(existing)) return setting + existing + " is not a directory";
  if (::access(existing.c_str(), W_OK | X_OK) != 0)
    return setting + "cannot " + (existing == root ? "write in " : "create the store in ") +
           existing + ": " + std::strerror(errno);
  return std::nullopt;
}

BackupResult run_backup(const BackupRequest& request) {
  return Backup(request).run();
}

}  // namespace ramsafe
