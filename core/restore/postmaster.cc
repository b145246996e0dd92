#include "core/restore/postmaster.h"

#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include <libpq-fe.h>

#include "core/backup/base_backup.h"
#include "core/error.h"
#include "core/io/paths.h"
#include "core/pg/pg_connection.h"

namespace ramsafe::restore_internal {

using Clock = std::chrono::steady_clock;

TempDir::TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/ramsafe-restore-XXXXXX";
  if (pattern.size() > 80) pattern = "/tmp/ramsafe-restore-XXXXXX";  // socket paths are short
  if (!::mkdtemp(pattern.data())) throw_errno("create a private directory " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  try {
    remove_tree(path_);
  } catch (const Error&) {
  }
}

PrivatePostmaster::PrivatePostmaster(const PgTools& tools, const std::string& datadir,
                                     const std::string& superuser,
                                     const std::vector<std::string>& settings,
                                     const CancelCheck& cancel, int start_timeout_seconds,
                                     const std::function<void(ChildProcess&)>& on_wait)
    : superuser_(superuser) {
  write_file_atomic(join_path(dir_.path(), "pg_hba.conf"), "local all all trust\n");
  ProcessOptions options;
  options.argv = {tools.path("postgres"),
                  "-D",
                  datadir,
                  "-k",
                  dir_.path(),
                  "-p",
                  "5432",
                  "-c",
                  "listen_addresses=",
                  "-c",
                  "hba_file=" + join_path(dir_.path(), "pg_hba.conf")};
  for (const auto& setting : settings) {
    options.argv.push_back("-c");
    options.argv.push_back(setting);
  }
  child_ = std::make_unique<ChildProcess>(options);
  std::string conninfo = "host=" + conninfo_quote(dir_.path()) +
                         " port=5432 dbname=postgres user=" + conninfo_quote(superuser) +
                         " connect_timeout=5";
  auto deadline = Clock::now() + std::chrono::seconds(start_timeout_seconds);
  for (;;) {
    if (PQping(conninfo.c_str()) == PQPING_OK) break;
    if (on_wait) on_wait(*child_);
    if (auto status = child_->poll())
      throw Error(Errc::kChildFailed,
                  "the restore postmaster " + status->describe() + ": " + child_->stderr_tail());
    if (cancel && cancel())
      throw Error(Errc::kCancelled, "cancelled while starting the restore postmaster");
    if (Clock::now() > deadline)
      throw Error(Errc::kChildFailed, "the restore postmaster did not accept connections within " +
                                          std::to_string(start_timeout_seconds) +
                                          " s: " + child_->stderr_tail());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

PrivatePostmaster::~PrivatePostmaster() {
  if (child_) child_->kill_and_reap(200);  // only on failure: the cluster is discarded
}

ConnectionParams PrivatePostmaster::connection_params(const std::string& dbname) const {
  ConnectionParams params;
  params.host = dir_.path();
  params.port = 5432;
  params.user = superuser_;
  params.dbname = dbname;
  params.application_name = "ramsafe restore";
  return params;
}

std::map<std::string, std::optional<std::string>> PrivatePostmaster::environment() const {
  auto env = connection_params("postgres").environment();
  // A database set to default_transaction_read_only would make pg_restore --create's
  // reconnect read-only; options given at connection start win over database settings.
  env["PGOPTIONS"] = "-c default_transaction_read_only=off";
  return env;
}

void PrivatePostmaster::stop() {
  child_->signal(SIGINT);
  auto deadline = Clock::now() + std::chrono::seconds(kPostmasterStopSeconds);
  while (!child_->poll()) {
    if (Clock::now() > deadline)
      throw Error(Errc::kChildFailed, "the restore postmaster did not stop within " +
                                          std::to_string(kPostmasterStopSeconds) + " s");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ExitStatus status = child_->wait();
  if (!status.success())
    throw Error(Errc::kChildFailed, "the restore postmaster " + status.describe() +
                                        " while stopping: " + child_->stderr_tail());
  child_.reset();
}

std::vector<std::string> neutralised_commands() {
  return {"archive_command=", "archive_library=", "restore_command=", "recovery_end_command=",
          "archive_cleanup_command="};
}

std::vector<std::string> bulk_load_settings(const std::string& preload) {
  std::vector<std::string> settings = neutralised_commands();
  settings.insert(
      settings.end(),
      {"fsync=off", "full_page_writes=off", "synchronous_commit=off", "wal_level=minimal",
       "max_wal_senders=0", "archive_mode=off", "autovacuum=off",
       "shared_preload_libraries=" + preload, "max_wal_size=4GB", "checkpoint_timeout=1h",
       "maintenance_work_mem=256MB", "logging_collector=off", "log_min_messages=warning",
       "log_checkpoints=off", "log_connections=off", "log_disconnections=off", "log_statement=none",
       "log_min_error_statement=panic"});
  // ramsafe's own worker, if preloaded, must not schedule backups of a half-restored
  // cluster.
  if (names_ramsafe_library(preload)) {
    settings.push_back("ramsafe.schedule=");
    settings.push_back("ramsafe.base_backup_schedule=");
  }
  return settings;
}

}  // namespace ramsafe::restore_internal
