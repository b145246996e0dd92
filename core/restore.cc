#include "core/restore.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/base_backup.h"
#include "core/drive_store.h"
#include "core/error.h"
#include "core/paths.h"
#include "core/pg_connection.h"
#include "core/pg_tools.h"
#include "core/pipeline.h"
#include "core/tar.h"
#include "core/verify.h"
#include "core/wal_window.h"

namespace ramsafe {
namespace {

constexpr const char* kStagingName = ".ramsafe-restore";
constexpr const char* kDefaultReportName = "ramsafe_restore_report.json";
constexpr size_t kMaxInMemoryPlaintext = 256u << 20;  // globals and config, not databases
constexpr int kPostmasterStartSeconds = 120;
constexpr int kPostmasterStopSeconds = 600;

using Clock = std::chrono::steady_clock;

// A private directory for the restore postmaster's socket and hba file, removed on exit.
class TempDir {
 public:
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/ramsafe-restore-XXXXXX";
    if (pattern.size() > 80) pattern = "/tmp/ramsafe-restore-XXXXXX";  // socket paths are short
    if (!::mkdtemp(pattern.data())) throw_errno("create a private directory " + pattern);
    path_ = pattern;
  }
  ~TempDir() {
    try {
      remove_tree(path_);
    } catch (const Error&) {
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A postmaster that only this process can reach: unix socket in a private 0700 directory,
// no TCP, trust for local connections through its own hba file, plus the settings the
// caller gives (for bulk load, or for WAL recovery).
class PrivatePostmaster {
 public:
  // settings: "name=value" pairs for -c, on top of the socket, port and hba file.
  // on_wait is called while waiting for connections (progress; it may throw to give up).
  PrivatePostmaster(const PgTools& tools, const std::string& datadir, const std::string& superuser,
                    const std::vector<std::string>& settings, const CancelCheck& cancel,
                    int start_timeout_seconds = kPostmasterStartSeconds,
                    const std::function<void(ChildProcess&)>& on_wait = nullptr)
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
        throw Error(Errc::kChildFailed,
                    "the restore postmaster did not accept connections within " +
                        std::to_string(start_timeout_seconds) + " s: " + child_->stderr_tail());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  ~PrivatePostmaster() {
    if (child_) child_->kill_and_reap(200);  // only on failure: the cluster is discarded
  }
  PrivatePostmaster(const PrivatePostmaster&) = delete;
  PrivatePostmaster& operator=(const PrivatePostmaster&) = delete;

  const std::string& socket_dir() const { return dir_.path(); }

  // Client environment for psql and pg_restore.
  std::map<std::string, std::optional<std::string>> environment() const {
    ConnectionParams params;
    params.host = dir_.path();
    params.port = 5432;
    params.user = superuser_;
    params.application_name = "ramsafe restore";
    auto env = params.environment();
    // A database set to default_transaction_read_only would make pg_restore --create's
    // reconnect read-only; options given at connection start win over database settings.
    env["PGOPTIONS"] = "-c default_transaction_read_only=off";
    return env;
  }

  // Fast shutdown (SIGINT): ends sessions, writes the shutdown checkpoint.
  void stop() {
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

 private:
  TempDir dir_;
  std::string superuser_;
  std::unique_ptr<ChildProcess> child_;
};

// Settings for a logical restore's postmaster: crash safety is not needed while restoring
// (a failed restore is thrown away). preload: the backed-up server's
// shared_preload_libraries, which some extensions need before CREATE EXTENSION works
// (ramsafe among them).
std::vector<std::string> bulk_load_settings(const std::string& preload) {
  std::vector<std::string> settings = {"fsync=off",
                                       "full_page_writes=off",
                                       "synchronous_commit=off",
                                       "wal_level=minimal",
                                       "max_wal_senders=0",
                                       "archive_mode=off",
                                       "autovacuum=off",
                                       "shared_preload_libraries=" + preload,
                                       "max_wal_size=4GB",
                                       "checkpoint_timeout=1h",
                                       "maintenance_work_mem=256MB",
                                       "logging_collector=off",
                                       "log_min_messages=warning",
                                       "log_checkpoints=off",
                                       "log_connections=off",
                                       "log_disconnections=off",
                                       "log_statement=none",
                                       "log_min_error_statement=panic"};
  // ramsafe's own worker, if preloaded, must not schedule backups of a half-restored
  // cluster.
  if (names_ramsafe_library(preload)) {
    settings.push_back("ramsafe.schedule=");
    settings.push_back("ramsafe.base_backup_schedule=");
  }
  return settings;
}

int cpu_count() {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

bool pid_alive(const std::string& pidfile) {
  std::string text;
  try {
    text = read_file(pidfile, 4096);
  } catch (const Error&) {
    return false;
  }
  char* end = nullptr;
  long pid = std::strtol(text.c_str(), &end, 10);
  if (end == text.c_str()) return false;
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

void empty_directory(const std::string& dir) {
  for (const auto& name : list_dir(dir))
    if (name != "lost+found") remove_tree(join_path(dir, name));
}

class Restorer {
 public:
  Restorer(const RestoreRequest& request, const std::vector<Store*>& stores)
      : request_(request),
        stores_(stores),
        pgdata_(request.data_directory),
        staging_(join_path(request.data_directory, kStagingName)) {}

  RestoreReport run() {
    auto started = Clock::now();
    report_.started_at = format_rfc3339_utc(now_unix_millis());
    report_.data_directory = pgdata_;
    check_preconditions();
    UniqueFd lock = lock_data_directory();
    if (prepare_data_directory()) {
      if (!request_.target_time.empty()) {
        target_ms_ = parse_target_time(request_.target_time);
        if (!target_ms_)
          throw Error(Errc::kInvalidArgument, "invalid target time \"" + request_.target_time +
                                                  "\" (expected e.g. 2026-11-26 10:00:00+00)");
        report_.target_time = format_target_time(*target_ms_);
      }
      std::vector<SetEntry> candidates = collect_candidates();
      if (request_.backup_id.empty()) candidates = plan(candidates);
      if (candidates.empty() && !request_.target_time.empty()) {
        report_.outcome = "no-backup";
        report_.error = "no physical base backup finished before " + report_.target_time +
                        " with its WAL archived; --target-time needs one (logical backups "
                        "cannot be restored to a point in time)";
      } else if (candidates.empty()) {
        handle_missing();
      } else {
        try_candidates(candidates);
      }
    }
    report_.finished_at = format_rfc3339_utc(now_unix_millis());
    report_.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    write_report();
    return report_;
  }

 private:
  void check_preconditions() {
    if (::geteuid() == 0)
      throw Error(Errc::kPermission,
                  "ramsafe restore must not run as root: PostgreSQL refuses to; run it as the "
                  "database's OS user (e.g. runuser -u postgres -- ramsafe restore ...)");
    if (pgdata_.empty() || pgdata_[0] != '/')
      throw Error(Errc::kConfig, "the data directory must be an absolute path (got \"" + pgdata_ +
                                     "\"): set ramsafe.data_directory or pass --pgdata");
  }

  UniqueFd lock_data_directory() {
    make_dirs(pgdata_, 0700);
    UniqueFd fd = open_or_throw(pgdata_, O_RDONLY | O_DIRECTORY);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK)
        throw Error(Errc::kBusy, "another ramsafe restore is working on " + pgdata_);
      throw_errno("lock " + pgdata_);
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) throw_errno("stat " + pgdata_);
    if (st.st_uid != ::geteuid())
      throw Error(Errc::kPermission, pgdata_ + " is owned by uid " + std::to_string(st.st_uid) +
                                         ", not by the user running ramsafe restore (uid " +
                                         std::to_string(::geteuid()) + ")");
    if ((st.st_mode & 0777) != 0700 && (st.st_mode & 0777) != 0750 &&
        ::chmod(pgdata_.c_str(), 0700) != 0)
      throw_errno("chmod 0700 " + pgdata_);
    return fd;
  }

  // Returns false when the restore must not go on (report_.outcome says why).
  bool prepare_data_directory() {
    if (is_directory(staging_)) {
      // A previous restore stopped before finishing. PG_VERSION moves into place last and
      // the staging directory is removed after it, so an empty staging directory beside
      // PG_VERSION means that restore had finished.
      if (list_dir(staging_).empty() && path_exists(join_path(pgdata_, "PG_VERSION"))) {
        remove_tree(staging_);
      } else {
        warn("found an unfinished restore in " + pgdata_ + "; discarding it and starting again");
        empty_directory(pgdata_);
      }
    }
    if (data_directory_is_empty(pgdata_)) return true;
    if (request_.if_empty) {
      info(pgdata_ + " is not empty; leaving it alone (--if-empty)");
      report_.outcome = "skipped";
      return false;
    }
    if (!request_.force) {
      report_.outcome = "not-empty";
      report_.error =
          pgdata_ + " is not empty; pass --if-empty to leave it alone or --force to replace it";
      return false;
    }
    if (pid_alive(join_path(pgdata_, "postmaster.pid")))
      throw Error(Errc::kBusy,
                  "a server is running on " + pgdata_ + " (postmaster.pid); stop it first");
    warn("--force: removing the contents of " + pgdata_);
    empty_directory(pgdata_);
    return true;
  }

  std::vector<SetEntry> collect_candidates() {
    std::vector<SetEntry> all;
    for (Store* store : stores_) {
      try {
        auto sets = store->list_sets();
        all.insert(all.end(), sets.begin(), sets.end());
      } catch (const Error& e) {
        // An unreachable remote must not stop a restore from another store.
        if (e.code() == Errc::kCancelled) throw;
        warn("cannot list the backups in " + store->describe() + ": " + e.what());
        report_.attempts.push_back({"", store->describe(), false, e.what()});
      }
    }
    sort_newest_first(all);
    std::vector<SetEntry> usable;
    std::string newest_usable_id;
    for (auto& s : all)
      if (s.usable() && s.id > newest_usable_id) newest_usable_id = s.id;
    for (auto& s : all) {
      if (!request_.backup_id.empty() && s.id != request_.backup_id) continue;
      if (s.usable()) {
        usable.push_back(s);
      } else if (s.id > newest_usable_id || !request_.backup_id.empty()) {
        // A newer set that cannot even be listed properly: say so, loudly.
        warn("backup " + s.id + " in " + s.store + " is unusable: " + s.problem);
        report_.attempts.push_back({s.id, s.store, false, "unusable: " + s.problem});
      }
    }
    return usable;
  }

  // Orders the candidates by how late a point each restores to (plan_restore), and says
  // loudly why a physical set is left out.
  std::vector<SetEntry> plan(const std::vector<SetEntry>& candidates) {
    // Drive's WAL is listed only when a physical set could use it.
    bool physical = std::any_of(candidates.begin(), candidates.end(),
                                [](const SetEntry& s) { return s.manifest->is_physical(); });
    RestorePlan p = plan_restore(
        candidates, physical ? archived_wal() : std::vector<StoredWalFile>{}, target_ms_);
    for (const auto& [set, reason] : p.skipped) {
      warn("physical base backup " + set.id + " cannot be used: " + reason);
      report_.attempts.push_back({set.id, set.store, false, reason});
    }
    return p.order;
  }

  // The archived WAL of every store: the local archive and Drive's copy (wal-fetch reads
  // both), listed once. A Drive that cannot be listed counts as holding none, loudly.
  const std::vector<StoredWalFile>& archived_wal() {
    if (wal_listed_) return wal_;
    std::vector<StoredWalFile> local;
    if (!request_.settings.local_dir.empty()) local = list_wal_files(local_store_root());
    std::vector<StoredWalFile> remote;
    for (Store* store : stores_) {
      auto* drive = dynamic_cast<DriveStore*>(store);
      if (!drive) continue;
      try {
        remote = DriveStore::stored_of(drive->list_wal());
      } catch (const Error& e) {
        if (e.code() == Errc::kCancelled) throw;
        warn("cannot list the WAL archived on " + drive->describe() + ": " + e.what());
      }
    }
    wal_ = union_wal_files(local, remote);
    wal_listed_ = true;
    return wal_;
  }

  std::string local_store_root() const {
    return join_path(request_.settings.local_dir, request_.settings.cluster_name.empty()
                                                      ? "main"
                                                      : request_.settings.cluster_name);
  }

  void handle_missing() {
    std::string where;
    for (Store* store : stores_) where += (where.empty() ? "" : ", ") + store->describe();
    std::string what =
        request_.backup_id.empty() ? "no backup" : "no usable backup " + request_.backup_id;
    if (request_.on_missing == OnMissing::kInit && request_.backup_id.empty() &&
        report_.attempts.empty()) {
      warn(what + " found in " + where + "; initializing an empty cluster (--on-missing=init)");
      initialize_empty();
      report_.outcome = "initialized";
      return;
    }
    report_.outcome = "no-backup";
    report_.error = what + " found in " + where;
  }

  void try_candidates(const std::vector<SetEntry>& candidates) {
    for (size_t i = 0; i < candidates.size(); ++i) {
      const SetEntry& set = candidates[i];
      Store* store = store_for(set);
      try {
        report_.databases = set.manifest->databases();
        if (set.manifest->is_physical()) {
          restore_physical(*store, set);
        } else if (target_ms_) {
          throw Error(Errc::kInvalidArgument,
                      "--target-time needs a physical base backup; " + set.id + " is logical");
        } else {
          restore_set(*store, set);
        }
        report_.attempts.push_back({set.id, set.store, true, ""});
        report_.outcome = "restored";
        report_.kind = set.manifest->kind;
        report_.backup_id = set.id;
        report_.backup_finished_at = set.manifest->finished_at;
        report_.store = set.store;
        report_.stored_bytes = set.manifest->stored_bytes();
        report_.plaintext_bytes = set.manifest->plaintext_bytes();
        return;
      } catch (const Error& e) {
        discard_staging();
        if (e.code() == Errc::kCancelled) throw;
        report_.attempts.push_back({set.id, set.store, false, e.what()});
        bool more = i + 1 < candidates.size() && request_.backup_id.empty();
        warn("RESTORE OF BACKUP " + set.id + " FAILED: " + e.what() +
             (!more ? ""
              : candidates[i + 1].manifest->is_physical()
                  ? "; falling back to the physical backup " + candidates[i + 1].id + " + WAL"
                  : "; falling back to the next older backup " + candidates[i + 1].id));
      }
    }
    report_.outcome = "failed";
    report_.error = "no backup could be restored (" + std::to_string(report_.attempts.size()) +
                    " tried); the data directory is left empty";
  }

  Store* store_for(const SetEntry& set) {
    for (Store* store : stores_)
      if (store->describe() == set.store) return store;
    throw Error(Errc::kInternal, "no store for " + set.store);
  }

  void discard_staging() {
    try {
      remove_tree(staging_);
    } catch (const Error& e) {
      warn("cannot remove " + staging_ + ": " + e.what());
    }
  }

  void restore_set(Store& store, const SetEntry& set) {
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

    // 2. Decrypt the small files now: a wrong key fails here, before initdb.
    std::string globals = decrypt_to_memory(store, set, require_file(m, "globals"));
    std::vector<TarEntry> config = read_tar(
        decrypt_to_memory(store, set, require_file(m, "config")), set.id + "/config.tar.zst.age");

    // 3. A new cluster with the recorded settings, in the staging directory.
    progress_.phase = "initdb";
    report_progress();
    run_initdb(tools, m.initdb);

    {
      PrivatePostmaster postmaster(tools, staging_, m.initdb.bootstrap_superuser,
                                   bulk_load_settings(m.shared_preload_libraries), request_.cancel);
      progress_.phase = "globals";
      report_progress();
      restore_globals(tools, postmaster, globals, m.initdb.bootstrap_superuser);
      restore_databases(tools, postmaster, store, set);
      progress_.phase = "finishing";
      report_progress();
      postmaster.stop();
    }

    progress_.phase = "config";
    report_progress();
    for (const auto& entry : config) {
      std::string path = join_path(staging_, entry.name);
      make_dirs(parent_dir(path), 0700);
      UniqueFd fd = open_or_throw(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      write_all(fd.get(), entry.content.data(), entry.content.size(), path);
      fd.close_checked(path);
    }
    // The restore postmaster's command line is not the server's.
    ::unlink(join_path(staging_, "postmaster.opts").c_str());
    move_into_place();
  }

  // A physical set: extract the base into the staging directory (streamed: decrypt, zstd,
  // tar; no plaintext tar on disk), then replay the archived WAL with a private postmaster
  // whose restore_command is wal-fetch, promote at the end (or at the target time), stop
  // it, move the result into place. The recovery settings are given on the postmaster's
  // command line, so nothing in the data directory has to be undone afterwards; PostgreSQL
  // removes recovery.signal itself when it promotes.
  void restore_physical(Store& store, const SetEntry& set) {
    const Manifest& m = *set.manifest;
    if (!m.physical)
      throw Error(Errc::kCorrupt, "physical backup " + set.id + " lacks its WAL points");
    const PhysicalInfo& p = *m.physical;
    if (request_.wal_fetch_command.empty())
      throw Error(Errc::kConfig, "no restore_command to replay WAL with");
    progress_ = RestoreProgress{};
    progress_.backup_id = set.id;
    WalReach reach = wal_reach(p.timeline, p.start_wal_file, p.stop_wal_file, p.wal_segment_size,
                               archived_wal());
    if (!reach.complete)
      throw Error(Errc::kNotFound, "WAL file " + reach.missing + " is not in the archive");
    report_.wal_last_archived = reach.last_segment;
    if (!request_.settings.local_dir.empty()) {
      WalWindow window =
          compute_wal_window({set}, archived_wal(), list_wal_chain_breaks(local_store_root()));
      if (const PhysicalWindow* w = window.find(set.id); w && !w->chain_broken_at.empty()) {
        report_.wal_chain_broken_at = w->chain_broken_at;
        warn("the WAL chain was broken at " + w->chain_broken_at +
             " (dropped unarchived by ramsafe.wal_backlog_policy = drop): replay stops at the "
             "end of " +
             reach.last_segment + "; changes after that are not in this restore");
      }
    }
    info("restoring physical base backup " + set.id + " (finished " + m.finished_at + ") from " +
         set.store + " + archived WAL from " + p.start_wal_file + " through " + reach.last_segment +
         " (" + std::to_string(reach.segments) + " segments)" +
         (report_.target_time.empty() ? "" : ", to " + report_.target_time));
    PgTools tools = find_pg_tools(request_.settings.bindir, m.server_version_num / 10000);

    verify_stored_files(store, set);

    progress_.phase = "extracting";
    progress_.bytes_done = 0;
    report_progress();
    const ManifestFile& base = require_file(m, "base");
    make_dirs(staging_, 0700);
    {
      TarExtractor extract(staging_, "tar");
      DecryptChain chain(base, set.id + "/" + base.path, request_.identities, extract);
      CallbackStage counted(chain, [&](size_t n) {
        progress_.bytes_done += n;
        report_progress();
      });
      store.read_file(set.id, base.path, counted, request_.cancel);
      counted.finish();
    }
    if (!path_exists(join_path(staging_, "PG_VERSION")))
      throw Error(Errc::kCorrupt, set.id + "/" + base.path + " holds no PG_VERSION");
    // The base's backup_manifest describes the base, not the cluster it becomes.
    ::unlink(join_path(staging_, "backup_manifest").c_str());
    make_dirs(join_path(staging_, "pg_wal/archive_status"), 0700);
    write_file_atomic(join_path(staging_, "recovery.signal"), "", 0600);

    std::vector<std::string> settings = {
        "restore_command=" + request_.wal_fetch_command + " %f %p",
        "recovery_target_action=promote", "recovery_target_timeline=latest",
        // No connections until recovery ends: the standby parameter checks (max_connections
        // and friends at least the primary's) do not apply then.
        "hot_standby=off",
        // .ready files for what the promotion writes (the new timeline's history file, the
        // last partial segment), for the real server's archiver; this one archives nothing.
        "archive_mode=on", "archive_library=", "archive_command=", "max_wal_senders=0",
        "shared_preload_libraries=" + m.shared_preload_libraries, "logging_collector=off",
        "log_min_messages=log",  // "restored log file ..." lines, for progress
        "log_checkpoints=off", "log_connections=off", "log_disconnections=off",
        "log_min_error_statement=panic"};
    if (!report_.target_time.empty())
      settings.push_back("recovery_target_time=" + report_.target_time);
    if (names_ramsafe_library(m.shared_preload_libraries)) {
      settings.push_back("ramsafe.schedule=");
      settings.push_back("ramsafe.base_backup_schedule=");
    }

    progress_.phase = "recovering";
    progress_.bytes_done = progress_.bytes_total = 0;
    report_progress();
    auto last_change = Clock::now();
    auto on_wait = [&](ChildProcess& child) {
      // Each refused connection attempt logs a line: ping less often while replaying.
      std::this_thread::sleep_for(std::chrono::milliseconds(450));
      std::string tail = child.stderr_tail(1 << 16);
      const std::string key = "restored log file \"";
      size_t at = tail.rfind(key);
      std::string file;
      if (at != std::string::npos) file = tail.substr(at + key.size(), 24);
      if (file != progress_.wal_file) {
        progress_.wal_file = file;
        last_change = Clock::now();
        report_progress();
      } else if (Clock::now() - last_change >
                 std::chrono::seconds(request_.recovery_stall_seconds)) {
        throw Error(Errc::kChildFailed, "WAL replay made no progress for " +
                                            std::to_string(request_.recovery_stall_seconds) +
                                            " s (last file " + file + "): " + child.stderr_tail());
      }
    };
    {
      PrivatePostmaster postmaster(tools, staging_, m.initdb.bootstrap_superuser, settings,
                                   request_.cancel, std::numeric_limits<int>::max() / 2, on_wait);
      ConnectionParams params;
      params.host = postmaster.socket_dir();
      params.port = 5432;
      params.user = m.initdb.bootstrap_superuser;
      params.application_name = "ramsafe restore";
      PgConnection conn(params);
      for (auto deadline = Clock::now() + std::chrono::seconds(kPostmasterStartSeconds);;) {
        if (conn.scalar("SELECT pg_is_in_recovery()::text") == "false") break;
        if (Clock::now() > deadline)
          throw Error(Errc::kChildFailed,
                      "the restore postmaster accepts connections but is "
                      "still in recovery");
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      auto row = conn.query(
          "SELECT pg_last_wal_replay_lsn()::text,"
          "       to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC',"
          "               'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
          "       (SELECT timeline_id FROM pg_control_checkpoint())::text");
      report_.recovered_to_lsn = row.at(0)[0].value_or("");
      report_.recovered_to_time = row.at(0)[1].value_or("");
      report_.databases.clear();
      for (const auto& r :
           conn.query("SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname"))
        report_.databases.push_back(r[0].value_or(""));
      progress_.phase = "finishing";
      report_progress();
      postmaster.stop();
    }
    // Replay ended before the archive's last segment without a target: a damaged file?
    // (wal-fetch exits 5 for one, which PostgreSQL takes as the end of the archive.) The
    // cluster up to there is what can be had, so it is kept, and the report says loudly
    // where it stopped and why.
    auto lsn = parse_lsn(report_.recovered_to_lsn);
    // (The segment of the last replayed byte, lsn - 1: a fully replayed segment ends where
    // the next one begins.)
    if (report_.target_time.empty() && lsn && *lsn > 0 &&
        wal_segment_number(wal_segment_file_name(1, *lsn - 1, p.wal_segment_size),
                           p.wal_segment_size) <
            wal_segment_number(reach.last_segment, p.wal_segment_size)) {
      report_.wal_stopped_at = report_.recovered_to_lsn;
      WalFileVerification bad = find_damaged_wal(p, *lsn, archived_wal());
      if (!bad.name.empty()) {
        report_.wal_damaged_file = bad.name;
        report_.wal_damage = bad.problem;
        warn("WAL file " + bad.name + " is damaged: replay stopped at " + report_.recovered_to_lsn +
             (report_.recovered_to_time.empty()
                  ? ""
                  : " (last transaction committed at " + report_.recovered_to_time + ")") +
             "; data after that was not recovered, although the archive reaches " +
             reach.last_segment + " (" + bad.problem + ")");
      } else {
        warn("WAL replay ended at " + report_.recovered_to_lsn +
             ", before the archive's last segment " + reach.last_segment +
             ": a WAL file could not be fetched (see wal-fetch messages above)");
      }
    }
    ::unlink(join_path(staging_, "recovery.signal").c_str());
    ::unlink(join_path(staging_, "postmaster.opts").c_str());
    move_into_place();
  }

  // The archived file that ended a replay at lsn early: the segments at the position
  // after the last replayed record's and at its own (on every timeline from the base's,
  // newest first), then the later timelines' history files, each decrypted and checked
  // like wal-fetch does. An empty name if none of them is damaged.
  WalFileVerification find_damaged_wal(const PhysicalInfo& p, uint64_t lsn,
                                       const std::vector<StoredWalFile>& wal) {
    uint64_t last = wal_segment_number(
        wal_segment_file_name(1, lsn > 0 ? lsn - 1 : 0, p.wal_segment_size), p.wal_segment_size);
    std::vector<const StoredWalFile*> suspects;
    for (uint64_t n : {last + 1, last})
      for (auto it = wal.rbegin(); it != wal.rend(); ++it)
        if (it->file.kind == WalFileKind::kSegment &&
            std::stoul(it->file.timeline, nullptr, 16) >= p.timeline &&
            wal_segment_number(it->file.name, p.wal_segment_size) == n)
          suspects.push_back(&*it);
    for (const auto& f : wal)
      if (f.file.kind == WalFileKind::kHistory &&
          std::stoul(f.file.timeline, nullptr, 16) > p.timeline)
        suspects.push_back(&f);
    for (const StoredWalFile* f : suspects) {
      try {
        WalFileVerification v =
            verify_wal_file(local_store_root(), *f, true, request_.identities, request_.cancel);
        if (!v.ok) return v;
      } catch (const Error& e) {
        if (e.code() == Errc::kCancelled) throw;
        warn("cannot check WAL file " + f->file.name + ": " + e.what());
      }
    }
    return {};
  }

  static const ManifestFile& require_file(const Manifest& m, const std::string& role) {
    for (const auto& f : m.files)
      if (f.role == role) return f;
    throw Error(Errc::kCorrupt, "backup " + m.backup_id + " has no " + role + " file");
  }

  std::string decrypt_to_memory(Store& store, const SetEntry& set, const ManifestFile& file) {
    if (file.plaintext_bytes > kMaxInMemoryPlaintext)
      throw Error(Errc::kCorrupt, set.id + "/" + file.path + " claims " +
                                      std::to_string(file.plaintext_bytes) +
                                      " bytes, more than a " + file.role + " file can hold");
    StringSink out;
    DecryptChain chain(file, set.id + "/" + file.path, request_.identities, out);
    store.read_file(set.id, file.path, chain, request_.cancel);
    chain.finish();
    return out.data();
  }

  void run_initdb(const PgTools& tools, const InitdbSettings& s) {
    ProcessOptions options;
    options.argv = {tools.path("initdb"),
                    "-D",
                    staging_,
                    "-U",
                    s.bootstrap_superuser,
                    "-E",
                    s.encoding,
                    "--lc-collate=" + s.lc_collate,
                    "--lc-ctype=" + s.lc_ctype,
                    "--auth-local=peer",
                    "--auth-host=scram-sha-256",
                    "--no-sync"};
    if (s.locale_provider == "icu") {
      options.argv.push_back("--locale-provider=icu");
      options.argv.push_back("--icu-locale=" + s.icu_locale);
    }
    if (s.data_checksums) options.argv.push_back("--data-checksums");
    options.env["LC_ALL"] = std::nullopt;  // the recorded locale, not this shell's
    ChildProcess child(options);
    child.wait_success();
  }

  void initialize_empty() {
    PgTools tools = find_pg_tools(request_.settings.bindir, 0);
    InitdbSettings s;
    s.encoding = "UTF8";
    s.lc_collate = "C.UTF-8";
    s.lc_ctype = "C.UTF-8";
    s.bootstrap_superuser = request_.settings.user.empty() ? "postgres" : request_.settings.user;
    try {
      run_initdb(tools, s);
      move_into_place();
    } catch (...) {
      discard_staging();
      throw;
    }
  }

  // Every stored byte of the set against its manifest; throws Error(kCorrupt) naming the
  // first damaged file.
  void verify_stored_files(Store& store, const SetEntry& set) {
    progress_.phase = "verifying";
    progress_.bytes_total = set.manifest->stored_bytes();
    report_progress();
    SetVerification check =
        verify_set(store, set, false, {}, request_.cancel, [&](uint64_t done, uint64_t) {
          progress_.bytes_done = done;
          report_progress();
        });
    for (const auto& f : check.files)
      if (!f.ok) throw Error(Errc::kCorrupt, f.problem);
  }

  void restore_globals(const PgTools& tools, PrivatePostmaster& postmaster,
                       const std::string& globals, const std::string& superuser) {
    ProcessOptions options;
    options.argv = {tools.path("psql"), "-X", "-q", "-d", "postgres", "-v", "ON_ERROR_STOP=0"};
    options.env = postmaster.environment();
    options.pipe_stdin = true;
    ChildProcess psql(options);
    feed_child(psql, [&](Sink& sink) {
      sink.write(reinterpret_cast<const uint8_t*>(globals.data()), globals.size());
    });
    // pg_dumpall always emits CREATE ROLE for the bootstrap superuser, which initdb
    // already made; that error is expected. Any other error fails the restore.
    std::string expected = "role \"" + superuser + "\" already exists";
    std::istringstream lines(psql.stderr_tail(1 << 20));
    std::string line;
    while (std::getline(lines, line)) {
      if (line.find("ERROR:") != std::string::npos && line.find(expected) == std::string::npos)
        throw Error(Errc::kChildFailed, "restoring roles and tablespaces failed: " + line);
    }
  }

  void restore_databases(const PgTools& tools, PrivatePostmaster& postmaster, Store& store,
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

  void restore_database(const PgTools& tools, PrivatePostmaster& postmaster, Store& store,
                        const SetEntry& set, const ManifestFile& file, const CancelCheck& cancel) {
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

  void move_into_place() {
    {
      UniqueFd fd = open_or_throw(staging_, O_RDONLY | O_DIRECTORY);
      if (::syncfs(fd.get()) != 0) throw_errno("syncfs " + staging_);
    }
    // PG_VERSION last: until it is in place PostgreSQL will not start from pgdata.
    for (const auto& name : list_dir(staging_)) {
      if (name == "PG_VERSION") continue;
      rename_or_throw(join_path(staging_, name), join_path(pgdata_, name));
    }
    fsync_path(pgdata_);
    rename_or_throw(join_path(staging_, "PG_VERSION"), join_path(pgdata_, "PG_VERSION"));
    fsync_path(pgdata_);
    if (::rmdir(staging_.c_str()) != 0) throw_errno("remove " + staging_);
    fsync_path(pgdata_);
  }

  static void rename_or_throw(const std::string& from, const std::string& to) {
    if (::rename(from.c_str(), to.c_str()) != 0) throw_errno("rename " + from + " to " + to);
  }

  void write_report() {
    std::string path = request_.report_path;
    bool wrote_cluster = report_.outcome == "restored" || report_.outcome == "initialized";
    if (path.empty()) {
      // Only beside a cluster we made: a report file would make an empty directory non-empty.
      if (!wrote_cluster) return;
      path = join_path(pgdata_, kDefaultReportName);
    }
    try {
      write_file_atomic(path, report_.to_json(), 0600);
    } catch (const Error& e) {
      warn("cannot write the restore report " + path + ": " + e.what());
    }
  }

  void report_progress() {
    if (request_.progress) request_.progress(progress_);
  }
  void warn(const std::string& message) {
    if (request_.warn) request_.warn(message);
  }
  void info(const std::string& message) {
    if (request_.info) request_.info(message);
  }

  const RestoreRequest& request_;
  const std::vector<Store*>& stores_;
  std::string pgdata_;
  std::string staging_;
  RestoreReport report_;
  std::optional<int64_t> target_ms_;
  RestoreProgress progress_;
  std::mutex progress_mutex_;
  std::vector<StoredWalFile> wal_;  // archived_wal()
  bool wal_listed_ = false;
};

}  // namespace

std::optional<int64_t> parse_target_time(const std::string& text) {
  // YYYY-MM-DD[ T]HH:MM:SS[.f+](Z|[+-]HH[[:]MM])
  if (text.size() < 20) return std::nullopt;
  std::string base = text.substr(0, 19);
  if (base[10] != ' ' && base[10] != 'T') return std::nullopt;
  base[10] = 'T';
  auto seconds = parse_rfc3339_utc(base + "Z");
  if (!seconds) return std::nullopt;
  size_t pos = 19;
  int64_t millis = 0;
  if (text[pos] == '.') {
    size_t digits = 0;
    int64_t scale = 100;
    for (++pos; pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])); ++pos) {
      millis += (text[pos] - '0') * scale;
      scale /= 10;
      digits++;
    }
    if (digits == 0) return std::nullopt;
  }
  if (pos < text.size() && text[pos] == ' ') ++pos;
  if (pos >= text.size()) return std::nullopt;  // no offset
  std::string zone = text.substr(pos);
  int64_t offset_minutes = 0;
  if (zone != "Z" && zone != "UTC") {
    if (zone[0] != '+' && zone[0] != '-') return std::nullopt;
    std::string digits;
    for (size_t i = 1; i < zone.size(); ++i) {
      if (zone[i] == ':' && i == 3) continue;
      if (!std::isdigit(static_cast<unsigned char>(zone[i]))) return std::nullopt;
      digits += zone[i];
    }
    if (digits.size() != 2 && digits.size() != 4) return std::nullopt;
    int hours = std::stoi(digits.substr(0, 2));
    int minutes = digits.size() == 4 ? std::stoi(digits.substr(2)) : 0;
    if (hours > 15 || minutes > 59) return std::nullopt;
    offset_minutes = int64_t{hours * 60 + minutes} * (zone[0] == '-' ? -1 : 1);
  }
  return *seconds + millis - offset_minutes * 60000;
}

std::string format_target_time(int64_t unix_millis) {
  std::string iso = format_rfc3339_utc(unix_millis);  // 2026-11-26T10:00:00.000Z
  iso[10] = ' ';
  iso.pop_back();
  return iso + "+00";
}

RestorePlan plan_restore(const std::vector<SetEntry>& usable_newest_first,
                         const std::vector<StoredWalFile>& wal, std::optional<int64_t> target_ms) {
  RestorePlan plan;
  std::vector<std::pair<int64_t, SetEntry>> ranked;
  for (const auto& set : usable_newest_first) {
    const Manifest& m = *set.manifest;
    int64_t finished = parse_rfc3339_utc(m.finished_at).value_or(0);
    if (!m.is_physical()) {
      if (!target_ms) ranked.emplace_back(finished, set);
      continue;
    }
    if (target_ms && finished > *target_ms) continue;
    if (!m.physical) {
      plan.skipped.emplace_back(set, "its manifest lacks the WAL start and stop points");
      continue;
    }
    const PhysicalInfo& p = *m.physical;
    WalReach reach =
        wal_reach(p.timeline, p.start_wal_file, p.stop_wal_file, p.wal_segment_size, wal);
    if (!reach.complete) {
      plan.skipped.emplace_back(set, "its WAL file " + reach.missing +
                                         " is not in the WAL archive (a base backup needs the "
                                         "WAL from " +
                                         p.start_wal_file + " through " + p.stop_wal_file + ")");
      continue;
    }
    ranked.emplace_back(std::max(finished, reach.last_mtime * 1000), set);
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (auto& [point, set] : ranked) plan.order.push_back(std::move(set));
  return plan;
}

bool data_directory_is_empty(const std::string& path) {
  if (!is_directory(path)) return !path_exists(path);
  for (const auto& name : list_dir(path))
    if (name != "lost+found") return false;
  return true;
}

std::string RestoreReport::to_json() const {
  nlohmann::json attempts_json = nlohmann::json::array();
  for (const auto& a : attempts)
    attempts_json.push_back({{"backup_id", a.backup_id},
                             {"store", a.store},
                             {"succeeded", a.succeeded},
                             {"reason", a.reason}});
  nlohmann::json j = {{"outcome", outcome},
                      {"error", error},
                      {"data_directory", data_directory},
                      {"backup_id", backup_id},
                      {"backup_finished_at", backup_finished_at},
                      {"kind", kind},
                      {"recovered_to_lsn", recovered_to_lsn},
                      {"recovered_to_time", recovered_to_time},
                      {"target_time", target_time},
                      {"wal_last_archived", wal_last_archived},
                      {"wal_chain_broken_at", wal_chain_broken_at},
                      {"complete", wal_damaged_file.empty()},
                      {"wal_stopped_at", wal_stopped_at},
                      {"wal_damaged_file", wal_damaged_file},
                      {"wal_damage", wal_damage},
                      {"store", store},
                      {"databases", databases},
                      {"attempts", attempts_json},
                      {"started_at", started_at},
                      {"finished_at", finished_at},
                      {"seconds", seconds},
                      {"stored_bytes", stored_bytes},
                      {"plaintext_bytes", plaintext_bytes}};
  return j.dump(2) + "\n";
}

RestoreReport run_restore(const RestoreRequest& request, const std::vector<Store*>& stores) {
  return Restorer(request, stores).run();
}

}  // namespace ramsafe
