#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/io/dir.h"
#include "core/io/tar.h"
#include "core/pg/pg_connection.h"
#include "core/pg/sql_script.h"
#include "core/restore/restorer.h"
#include "core/restore/upgrade.h"
#include "core/set/pipeline.h"

namespace ramsafe::restore_internal {
namespace {

int cpu_count() {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

// pg_dumpall's CREATE ROLE of the bootstrap superuser, which initdb already made, with the
// name plain or quoted.
bool creates_role(const std::string& statement, const std::string& role) {
  std::string quoted = "\"";
  for (char c : role) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  quoted += "\"";
  return statement == "CREATE ROLE " + role + ";" || statement == "CREATE ROLE " + quoted + ";";
}

// "<source> holds "<name>"<why>", the name escaped.
std::string holds(const std::string& source, const std::string& name, const char* why) {
  std::string message = source;
  message += " holds \"";
  message += printable(name);
  message += '"';
  message += why;
  return message;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

ConnectionParams private_connection(const PrivatePostmaster& postmaster, const std::string& user,
                                    const std::string& database) {
  ConnectionParams params;
  params.host = postmaster.socket_dir();
  params.port = 5432;
  params.user = user;
  params.dbname = database;
  params.application_name = "ramsafe restore";
  return params;
}

// A connection to the restore postmaster that may write even in a database set to
// default_transaction_read_only.
std::unique_ptr<PgConnection> connect_writable(const PrivatePostmaster& postmaster,
                                               const std::string& user,
                                               const std::string& database) {
  auto conn = std::make_unique<PgConnection>(private_connection(postmaster, user, database));
  conn->query("SET default_transaction_read_only = off");
  return conn;
}

std::string not_installed_message(const std::string& name, const std::string& version,
                                  const std::string& database, int major) {
  return "extension " + name + " " + version + " (in database \"" + database +
         "\") is not installed for PostgreSQL " + std::to_string(major) + " here (no " + name +
         ".control in its extension directory)";
}

ExtensionChange version_change(const std::string& database, const std::string& name,
                               const std::string& backed_up, const std::string& restored,
                               bool installable, int major) {
  std::string note = installable
                         ? "PostgreSQL " + std::to_string(major) + " created version " + restored +
                               " and " + backed_up + " could not be kept"
                         : backed_up + " is not available for PostgreSQL " + std::to_string(major) +
                               "; restored at " + restored + ", its default";
  return {database, name, backed_up, restored, note};
}

std::string change_message(const ExtensionChange& c) {
  return "extension " + c.name + " of database " + c.database + " is at version " + c.restored +
         " (it was " + c.backed_up + " when backed up): " + c.note;
}

// The files of a config archive that are not of postgresql.conf syntax: the hba and ident
// files, by their default names and as hba_file and ident_file name them (paths inside the
// data directory; the archive holds them by their names relative to it).
std::set<std::string> hba_and_ident_files(const std::vector<TarEntry>& config) {
  std::set<std::string> out = {"pg_hba.conf", "pg_ident.conf"};
  for (const auto& e : config) {
    if (e.name != "postgresql.conf" && e.name != "postgresql.auto.conf") continue;
    for (const auto& a : config_assignments(e.content)) {
      if (a.name != "hba_file" && a.name != "ident_file") continue;
      for (const auto& f : config)
        if (a.value == f.name || (a.value.size() > f.name.size() &&
                                  a.value.compare(a.value.size() - f.name.size() - 1,
                                                  std::string::npos, "/" + f.name) == 0))
          out.insert(f.name);
    }
  }
  return out;
}

}  // namespace

std::vector<TarEntry> Restorer::restorable_config(const ManifestFile& file,
                                                  std::vector<TarEntry> entries,
                                                  const std::string& source) {
  std::vector<TarEntry> out;
  for (auto& entry : entries) {
    if (!is_restorable_config_name(entry.name))
      throw Error(Errc::kCorrupt, holds(source, entry.name,
                                        ", which a restore never writes into a data directory"));
    if (file.config_files) {
      const auto& declared = *file.config_files;
      if (std::find(declared.begin(), declared.end(), entry.name) == declared.end())
        throw Error(Errc::kCorrupt,
                    holds(source, entry.name, ", which its manifest does not declare"));
    } else if (!ends_with(entry.name, ".conf")) {
      // A set from before the manifest declared its configuration files: only what can be
      // a configuration file (the four standard names, include_dir's *.conf) goes back.
      warn("not restoring a file: " +
           holds(source, entry.name,
                 ", and the set's manifest declares no configuration files: only *.conf "
                 "files are restored from such sets"));
      continue;
    }
    out.push_back(std::move(entry));
  }
  return out;
}

void Restorer::write_config_files(const std::vector<TarEntry>& config) {
  // Relative to the staging directory, never through a link, each file replaced atomically.
  Dir staging = Dir::open(pgdata_).sub(kStagingName);
  for (const auto& entry : config) {
    std::string dir = parent_dir(entry.name);
    if (dir == ".") {
      staging.write_file_atomic(entry.name, entry.content, 0600);
    } else {
      staging.make_sub(dir, 0700).write_file_atomic(base_name(entry.name), entry.content, 0600);
    }
  }
}

void Restorer::restore_logical(Store& store, const SetEntry& set) {
  const Manifest& m = *set.manifest;
  progress_ = RestoreProgress{};
  progress_.backup_id = set.id;
  if (m.kind != "logical")
    throw Error(Errc::kCorrupt,
                "backup kind \"" + m.kind + "\" cannot be restored by this ramsafe");
  int source_major = m.server_version_num / 10000;
  PgTools tools = tools_for(set);
  report_.target_major = tools.major;
  upgrade_ = tools.major != source_major;
  info("restoring backup " + set.id + " (finished " + m.finished_at + ", " +
       std::to_string(m.databases().size()) + " databases) from " + set.store +
       (upgrade_ ? " into PostgreSQL " + std::to_string(tools.major) + " (taken on PostgreSQL " +
                       std::to_string(source_major) + ": a major upgrade)"
                 : ""));

  // 1. Every stored byte against the manifest, before touching the data directory.
  verify_stored_files(store, set);

  // 2. Decrypt the small files now: a wrong key fails here, before initdb. The globals are
  // taken apart into statements and the configuration archive checked against what the
  // manifest declares before anything is written.
  const ManifestFile& globals_file = require_file(m, "globals");
  const ManifestFile& config_file = require_file(m, "config");
  std::vector<std::string> globals = globals_statements(decrypt_to_memory(store, set, globals_file),
                                                        set.id + "/" + globals_file.path);
  std::string config_source = set.id + "/" + config_file.path;
  std::vector<TarEntry> config = restorable_config(
      config_file, read_tar(decrypt_to_memory(store, set, config_file), config_source),
      config_source);

  // 3. A new cluster with the recorded settings, in the staging directory.
  progress_.phase = "initdb";
  report_progress();
  run_initdb(tools, m.initdb);

  {
    PrivatePostmaster postmaster(tools, staging_, m.initdb.bootstrap_superuser,
                                 bulk_load_settings(m.shared_preload_libraries), request_.cancel);
    known_settings_.clear();
    if (upgrade_) known_settings_ = target_settings(postmaster);
    read_target_extensions(postmaster, m, tools.major);
    progress_.phase = "globals";
    report_progress();
    restore_globals(postmaster, globals, m.initdb.bootstrap_superuser,
                    upgrade_ ? &known_settings_ : nullptr);
    restore_databases(tools, postmaster, store, set);
    reconcile_extensions(postmaster, m, tools.major);
    progress_.phase = "finishing";
    report_progress();
    postmaster.stop();
  }

  progress_.phase = "config";
  report_progress();
  if (upgrade_) {
    // Settings the newer major does not have are commented out, and reported.
    std::set<std::string> not_settings = hba_and_ident_files(config);
    for (auto& entry : config) {
      if (not_settings.count(entry.name) != 0) continue;
      std::vector<DroppedSetting> dropped;
      entry.content = comment_out_unknown_settings(entry.content, entry.name, known_settings_,
                                                   tools.major, &dropped);
      for (const auto& d : dropped) drop_setting(d);
    }
  }
  write_config_files(config);
  // The restore postmaster's command line is not the server's.
  Dir::open(pgdata_).sub(kStagingName).unlink("postmaster.opts");
  move_into_place();
}

void Restorer::drop_setting(const DroppedSetting& setting) {
  std::lock_guard<std::mutex> guard(report_mutex_);
  report_.dropped_settings.push_back(setting);
  warn("setting " + setting.name + " (" + setting.where + ") does not exist in PostgreSQL " +
       std::to_string(report_.target_major) + "; left out of the restore");
}

std::set<std::string> Restorer::target_settings(PrivatePostmaster& postmaster) {
  PgConnection conn(private_connection(postmaster, postmaster.superuser(), "postgres"));
  std::set<std::string> known;
  for (const auto& row : conn.query("SELECT lower(name) FROM pg_settings"))
    known.insert(row[0].value_or(""));
  return known;
}

void Restorer::read_target_extensions(PrivatePostmaster& postmaster, const Manifest& m,
                                      int target_major) {
  target_extensions_.clear();
  PgConnection conn(private_connection(postmaster, postmaster.superuser(), "postgres"));
  for (const auto& row : conn.query("SELECT name, default_version FROM pg_available_extensions"))
    target_extensions_[row[0].value_or("")].default_version = row[1].value_or("");
  for (const auto& row : conn.query("SELECT name, version, coalesce(array_to_string(requires, "
                                    "' '), '') FROM pg_available_extension_versions")) {
    std::vector<std::string>& needs =
        target_extensions_[row[0].value_or("")].needs[row[1].value_or("")];
    std::istringstream words(row[2].value_or(""));
    for (std::string w; words >> w;) needs.push_back(w);
  }
  // Within a major, every recorded extension must be installable, or pg_restore fails
  // half-way: say which. Into a newer major, one it no longer has (adminpack is gone from
  // 17) is left out and reported, as long as nothing else in the database needs it.
  missing_extensions_.clear();
  for (const auto& f : m.files) {
    if (f.role != "database" || !f.extensions) continue;
    for (const auto& [name, ext] : *f.extensions) {
      if (target_extensions_.count(name)) continue;
      std::string where = not_installed_message(name, ext.version, f.database, target_major);
      if (!upgrade_) throw Error(Errc::kNotFound, where + ": install it, then restore again");
      missing_extensions_.insert(name);
      report_.extension_changes.push_back(
          {f.database, name, ext.version, "",
           "not available for PostgreSQL " + std::to_string(target_major) + ": left out"});
      warn(where + "; left out of the restore (anything that needs it fails the restore)");
    }
  }
}

void Restorer::reconcile_extensions(PrivatePostmaster& postmaster, const Manifest& m,
                                    int target_major) {
  for (const auto& f : m.files) {
    if (f.role != "database" || !f.extensions || f.extensions->empty()) continue;
    auto conn = connect_writable(postmaster, postmaster.superuser(), f.database);
    std::map<std::string, std::string> now;
    for (const auto& row : conn->query("SELECT extname, extversion FROM pg_extension"))
      now[row[0].value_or("")] = row[1].value_or("");
    for (const auto& [name, ext] : *f.extensions) {
      auto it = now.find(name);
      if (it == now.end()) {
        if (missing_extensions_.count(name)) continue;  // reported when it was left out
        report_.extension_changes.push_back({f.database, name, ext.version, "", "not restored"});
        warn("extension " + name + " of database " + f.database + " was not restored");
        continue;
      }
      if (it->second == ext.version) continue;
      // Up to the recorded version when the restored one can be updated to it.
      bool reachable = !conn->query(
                                "SELECT 1 FROM pg_extension_update_paths($1) WHERE source = "
                                "$2 AND target = $3 AND path IS NOT NULL",
                                {name, it->second, ext.version})
                            .empty();
      if (reachable) {
        conn->query(
            conn->scalar("SELECT format('ALTER EXTENSION %I UPDATE TO %L', $1::text, "
                         "$2::text)",
                         {name, ext.version}));
        info("extension " + name + " of database " + f.database + " updated from " + it->second +
             " to " + ext.version + ", its version when backed up");
        continue;
      }
      auto available = target_extensions_.find(name);
      bool installable =
          available != target_extensions_.end() && available->second.needs.count(ext.version) > 0;
      ExtensionChange change =
          version_change(f.database, name, ext.version, it->second, installable, target_major);
      warn(change_message(change));
      report_.extension_changes.push_back(std::move(change));
    }
  }
}

void Restorer::restore_globals(PrivatePostmaster& postmaster,
                               const std::vector<std::string>& statements,
                               const std::string& superuser,
                               const std::set<std::string>* known_settings) {
  // Role settings the target lacks (a major upgrade): their ALTER ROLE fails, expectedly.
  std::set<std::string> unknown;
  if (known_settings != nullptr)
    for (const auto& statement : statements)
      if (auto set = parse_set_statement(statement);
          set && !setting_exists(*known_settings, set->name)) {
        unknown.insert(set->name);
        drop_setting({set->name, set->value, set->where});
      }
  // SQL only, one statement at a time over libpq: no psql reads the script, so no
  // meta-command in it can run (globals_statements() refused the set if it had one).
  PgConnection conn(postmaster.connection_params("postgres"));
  for (const auto& statement : statements) {
    if (request_.cancel && request_.cancel())
      throw Error(Errc::kCancelled, "cancelled while restoring roles and tablespaces");
    StatementResult result = conn.execute(statement);
    // pg_dumpall always emits CREATE ROLE for the bootstrap superuser, which initdb
    // already made; that error is expected. Any other error fails the restore.
    if (result.ok || (result.sqlstate == "42710" && creates_role(statement, superuser))) continue;
    if (!unknown.empty() && unknown.count(unrecognized_setting(result.message)) != 0) continue;
    throw Error(Errc::kServer, "restoring roles and tablespaces failed: ERROR:  " + result.message +
                                   " (in \"" + printable(statement.substr(0, 80)) + "\")");
  }
}

void Restorer::restore_databases(const PgTools& tools, PrivatePostmaster& postmaster, Store& store,
                                 const SetEntry& set) {
  const Manifest& m = *set.manifest;
  std::vector<const ManifestFile*> first, rest;
  // postgres is dropped and recreated from template1, then template1 from postgres; the
  // other databases are created from postgres, so those two go first, one at a time.
  for (const char* name : {"postgres", "template1"})
    for (const auto& f : m.files)
      if (f.role == "database" && f.database == name) first.push_back(&f);
  for (const auto& f : m.files)
    if (f.role == "database" && f.database != "postgres" && f.database != "template1")
      rest.push_back(&f);
  progress_.database_count = static_cast<int>(first.size() + rest.size());
  progress_.phase = "database";
  progress_.bytes_done = 0;
  progress_.bytes_total = 0;
  for (const auto& f : m.files)
    if (f.role == "database") progress_.bytes_total += f.stored_bytes;

  for (const ManifestFile* f : first)
    restore_database(tools, postmaster, store, set, *f, request_.cancel);

  int jobs = request_.jobs > 0                    ? request_.jobs
             : request_.settings.restore_jobs > 0 ? request_.settings.restore_jobs
                                                  : cpu_count();
  jobs = std::max(1, std::min<int>(jobs, static_cast<int>(rest.size())));
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  std::optional<Error> first_error;
  CancelCheck cancel = [&] { return failed.load() || (request_.cancel && request_.cancel()); };
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < rest.size();) {
      if (cancel()) return;
      try {
        restore_database(tools, postmaster, store, set, *rest[i], cancel);
      } catch (const Error& e) {
        std::lock_guard<std::mutex> guard(error_mutex);
        // The first real error explains the others, which were cancelled because of it.
        if (!first_error ||
            (first_error->code() == Errc::kCancelled && e.code() != Errc::kCancelled))
          first_error = e;
        failed = true;
        return;
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> guard(error_mutex);
        if (!first_error) first_error = Error(Errc::kInternal, e.what());
        failed = true;
        return;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 1; i < jobs; ++i) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (first_error) throw *first_error;
}

void Restorer::restore_database(const PgTools& tools, PrivatePostmaster& postmaster, Store& store,
                                const SetEntry& set, const ManifestFile& file,
                                const CancelCheck& cancel) {
  bool builtin = file.database == "postgres" || file.database == "template1";
  {
    std::lock_guard<std::mutex> guard(progress_mutex_);
    progress_.database = file.database;
    report_progress();
  }
  std::string source = set.id + "/" + file.path;
  // Runs pg_restore with args on the file's stream. stop_early: pg_restore needs only the
  // archive's table of contents and may exit before the end of the stream.
  auto run = [&](std::vector<std::string> args, bool stop_early, bool count) {
    ProcessOptions options;
    options.argv = {tools.path("pg_restore"), "--no-password"};
    // Into a newer major, a setting the source had may be gone: pg_restore goes on past the
    // failed entry, and accept_restore_errors() decides (and redoes the rest of the entry).
    if (!upgrade_) options.argv.push_back("--exit-on-error");
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    options.env = postmaster.environment();
    options.pipe_stdin = true;
    ChildProcess child(options);
    ExitStatus status = feed_child_status(
        child,
        [&](Sink& sink) {
          DecryptChain chain(file, source, request_.identities, sink);
          CallbackStage counted(chain, [&](size_t n) {
            if (!count) return;
            std::lock_guard<std::mutex> guard(progress_mutex_);
            progress_.bytes_done += n;
            report_progress();
          });
          store.read_file(set.id, file.path, counted, cancel);
          counted.finish();
        },
        stop_early);
    if (!status.success()) {
      if (!upgrade_ || status.code != 1) child.wait_success();  // throws with stderr's tail
      accept_restore_errors(postmaster, file.database, child.stderr_tail(16 << 20));
    }
  };
  std::vector<std::string> create = {"--create"};
  if (builtin) create.insert(create.end(), {"--clean", "--if-exists"});
  create.push_back(file.database == "postgres" ? "--dbname=template1" : "--dbname=postgres");

  std::vector<ExtensionCreate> first;
  if (file.extensions) first = extensions_to_create_first(*file.extensions, target_extensions_);
  try {
    if (first.empty()) {
      run(create, false, true);
    } else {
      // An extension to keep at another version than the target's default: pg_restore
      // first creates only the database (with --create, DATABASE and DATABASE PROPERTIES
      // are restored whatever the filters; no schema is named so), then the extensions
      // are created at their versions, then pg_restore restores everything else into it
      // (its CREATE EXTENSION IF NOT EXISTS finds them).
      std::vector<std::string> only_database = create;
      only_database.push_back("--schema=ramsafe restore: database only");
      run(only_database, true, false);
      create_extensions_first(postmaster, file.database, first);
      run({"--dbname=dbname=" + conninfo_quote(file.database)}, false, true);
    }
  } catch (const Error& e) {
    if (e.code() == Errc::kChildFailed)
      throw Error(e.code(), "restoring database \"" + file.database + "\" failed: " + e.what());
    throw;
  }
  std::lock_guard<std::mutex> guard(progress_mutex_);
  progress_.databases_done++;
  report_progress();
}

void Restorer::create_extensions_first(PrivatePostmaster& postmaster, const std::string& database,
                                       const std::vector<ExtensionCreate>& extensions) {
  auto conn = connect_writable(postmaster, postmaster.superuser(), database);
  for (const auto& e : extensions) {
    // A schema the dump creates itself is not there yet: pg_restore creates that extension.
    if (conn->query("SELECT 1 FROM pg_namespace WHERE nspname = $1", {e.schema}).empty()) continue;
    try {
      conn->query(conn->scalar(
          "SELECT format('CREATE EXTENSION IF NOT EXISTS %I WITH SCHEMA %I VERSION %L', $1::text, "
          "$2::text, $3::text)",
          {e.name, e.schema, e.version}));
    } catch (const Error& err) {
      // pg_restore creates it then, at the default version; the report says so.
      info("could not create extension " + e.name + " " + e.version + " in database " + database +
           " ahead of pg_restore: " + err.what());
    }
  }
}

}  // namespace ramsafe::restore_internal

namespace ramsafe::restore_internal {

void Restorer::accept_restore_errors(PrivatePostmaster& postmaster, const std::string& database,
                                     const std::string& stderr_text) {
  PgRestoreErrors found = parse_pg_restore_errors(stderr_text);
  auto fail = [&](const std::string& why) {
    throw Error(Errc::kChildFailed, "pg_restore failed: " + why);
  };
  if (!found.first_other.empty()) fail(found.first_other);
  if (found.ignored != static_cast<int>(found.errors.size()) || found.errors.empty())
    fail("it reported " + std::to_string(found.ignored) + " errors (" +
         std::to_string(found.errors.size()) + " understood): " + stderr_text.substr(0, 2000));
  // Each failed entry must be an extension the target does not have (its CREATE EXTENSION,
  // its comment), or consist of ALTER ... SET statements (a database's settings) and fail
  // for a setting the target lacks; those entries' other statements are run again here.
  std::vector<std::string> redo;
  for (const auto& e : found.errors) {
    std::string extension = missing_extension(e.message);
    if (!extension.empty() && missing_extensions_.count(extension)) continue;
    std::string name = unrecognized_setting(e.message);
    if (name.empty() || setting_exists(known_settings_, name))
      fail("could not execute query: " + e.message + " (" + e.command.substr(0, 500) + ")");
    for (const auto& statement : split_sql_statements(e.command)) {
      std::optional<SetStatement> set = parse_set_statement(statement);
      if (set && !setting_exists(known_settings_, set->name)) {
        drop_setting({set->name, set->value, set->where});
        continue;
      }
      if (!set && statement.compare(0, 15, "ALTER DATABASE ") != 0)
        fail("could not execute query: " + e.message + " (" + e.command.substr(0, 500) + ")");
      redo.push_back(statement);
    }
  }
  auto conn = connect_writable(postmaster, postmaster.superuser(), "postgres");
  for (const auto& statement : redo) {
    try {
      conn->query(statement);
    } catch (const Error& e) {
      throw Error(Errc::kChildFailed, "restoring database \"" + database +
                                          "\": after leaving out settings PostgreSQL " +
                                          std::to_string(report_.target_major) +
                                          " lacks, the rest of its settings failed: " + e.what());
    }
  }
}

}  // namespace ramsafe::restore_internal
