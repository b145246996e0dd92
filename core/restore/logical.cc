#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/io/dir.h"
#include "core/io/tar.h"
#include "core/pg/sql_script.h"
#include "core/restore/restorer.h"
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
  info("restoring backup " + set.id + " (finished " + m.finished_at + ", " +
       std::to_string(m.databases().size()) + " databases) from " + set.store);
  if (m.kind != "logical")
    throw Error(Errc::kCorrupt,
                "backup kind \"" + m.kind + "\" cannot be restored by this ramsafe");
  PgTools tools = find_pg_tools(request_.settings.bindir, m.server_version_num / 10000);

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
    progress_.phase = "globals";
    report_progress();
    restore_globals(postmaster, globals, m.initdb.bootstrap_superuser);
    restore_databases(tools, postmaster, store, set);
    progress_.phase = "finishing";
    report_progress();
    postmaster.stop();
  }

  progress_.phase = "config";
  report_progress();
  write_config_files(config);
  // The restore postmaster's command line is not the server's.
  Dir::open(pgdata_).sub(kStagingName).unlink("postmaster.opts");
  move_into_place();
}

void Restorer::restore_globals(PrivatePostmaster& postmaster,
                               const std::vector<std::string>& statements,
                               const std::string& superuser) {
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
  ProcessOptions options;
  options.argv = {tools.path("pg_restore"), "--exit-on-error", "--no-password", "--create"};
  if (builtin) {
    options.argv.insert(options.argv.end(), {"--clean", "--if-exists"});
    options.argv.push_back(file.database == "postgres" ? "--dbname=template1"
                                                       : "--dbname=postgres");
  } else {
    options.argv.push_back("--dbname=postgres");
  }
  options.env = postmaster.environment();
  options.pipe_stdin = true;
  ChildProcess child(options);
  std::string source = set.id + "/" + file.path;
  try {
    feed_child(child, [&](Sink& sink) {
      DecryptChain chain(file, source, request_.identities, sink);
      CallbackStage counted(chain, [&](size_t n) {
        std::lock_guard<std::mutex> guard(progress_mutex_);
        progress_.bytes_done += n;
        report_progress();
      });
      store.read_file(set.id, file.path, counted, cancel);
      counted.finish();
    });
  } catch (const Error& e) {
    if (e.code() == Errc::kChildFailed)
      throw Error(e.code(), "restoring database \"" + file.database + "\" failed: " + e.what());
    throw;
  }
  std::lock_guard<std::mutex> guard(progress_mutex_);
  progress_.databases_done++;
  report_progress();
}

}  // namespace ramsafe::restore_internal
