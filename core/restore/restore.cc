#include "core/restore/restore.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "core/drive/drive_store.h"
#include "core/error.h"
#include "core/io/bounded_json.h"
#include "core/io/dir.h"
#include "core/io/paths.h"
#include "core/io/tar.h"
#include "core/restore/restorer.h"
#include "core/set/freshness.h"
#include "core/set/pipeline.h"
#include "core/wal/wal_window.h"

namespace ramsafe {
namespace restore_internal {
namespace {

constexpr const char* kDefaultReportName = "ramsafe_restore_report.json";
constexpr size_t kMaxInMemoryPlaintext = 256u << 20;  // globals and config, not databases

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

}  // namespace

RestoreReport Restorer::run() {
  auto started = Clock::now();
  report_.started_at = format_rfc3339_utc(now_unix_millis());
  report_.data_directory = pgdata_;
  check_preconditions();
  try {
    if (!request_.pg_bindir.empty())
      target_tools_ = pg_tools_in(request_.pg_bindir, "--bindir");
    else if (request_.pg_major > 0)
      target_tools_ = find_pg_tools_of_major(request_.settings.bindir, request_.pg_major);
  } catch (const Error& e) {
    // The PostgreSQL asked for is not there: a bad argument.
    if (e.code() != Errc::kNotFound) throw;
    throw Error(Errc::kConfig, (request_.pg_bindir.empty()
                                    ? "--pg-version " + std::to_string(request_.pg_major) + ": "
                                    : std::string()) +
                                   e.what());
  }
  UniqueFd lock = lock_data_directory();
  if (prepare_data_directory()) {
    if (!request_.target_time.empty()) {
      target_ms_ = parse_target_time(request_.target_time);
      if (!target_ms_)
        throw Error(Errc::kInvalidArgument, "invalid target time \"" + request_.target_time +
                                                "\" (expected e.g. 2026-11-26 10:00:00+00)");
      report_.target_time = format_target_time(*target_ms_);
    }
    std::vector<SetEntry> unsigned_sets;
    std::vector<SetEntry> candidates = collect_candidates(&unsigned_sets);
    if (request_.backup_id.empty()) candidates = plan(candidates);
    // Unsigned sets only after every trusted one, whatever they claim about their age.
    candidates.insert(candidates.end(), unsigned_sets.begin(), unsigned_sets.end());
    if (candidates.empty() && !request_.target_time.empty()) {
      report_.outcome = "no-backup";
      report_.error = "no physical base backup finished before " + report_.target_time +
                      " with its WAL archived; --target-time needs one (logical backups "
                      "cannot be restored to a point in time)";
      if (target_tools_)
        report_.error +=
            "; and WAL replays only on the major it was written by, so "
            "--target-time needs a base backup of PostgreSQL " +
            std::to_string(target_tools_->major);
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

void Restorer::check_preconditions() {
  if (::geteuid() == 0)
    throw Error(Errc::kPermission,
                "ramsafe restore must not run as root: PostgreSQL refuses to; run it as the "
                "database's OS user (e.g. runuser -u postgres -- ramsafe restore ...)");
  if (pgdata_.empty() || pgdata_[0] != '/')
    throw Error(Errc::kConfig, "the data directory must be an absolute path (got \"" + pgdata_ +
                                   "\"): set ramsafe.data_directory or pass --pgdata");
}

UniqueFd Restorer::lock_data_directory() {
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

bool Restorer::prepare_data_directory() {
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

std::vector<SetEntry> Restorer::collect_candidates(std::vector<SetEntry>* unsigned_sets) {
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
  check_freshness(all);
  std::vector<SetEntry> usable;
  std::string newest_usable_id;
  for (auto& s : all)
    if (s.usable() && s.id > newest_usable_id) newest_usable_id = s.id;
  for (auto& s : all) {
    if (s.untrusted()) ++untrusted_sets_;
    if (s.trust == Trust::kUnsigned) ++unsigned_sets_;
    if (!request_.backup_id.empty() && s.id != request_.backup_id) continue;
    if (s.usable()) {
      usable.push_back(s);
    } else if (request_.allow_unsigned && s.trust == Trust::kUnsigned) {
      SetEntry candidate = s;
      candidate.manifest = candidate.unsigned_manifest;
      unsigned_sets->push_back(std::move(candidate));
    } else if (s.id > newest_usable_id || !request_.backup_id.empty()) {
      // A newer set that cannot even be listed properly, or that no trusted key signed: say
      // so, loudly.
      warn("backup " + s.id + " in " + s.store + " is " +
           (s.untrusted() ? s.problem_text() : "unusable: " + s.problem));
      report_.attempts.push_back(
          {s.id, s.store, false, s.untrusted() ? s.problem_text() : "unusable: " + s.problem});
    }
  }
  sort_newest_first(*unsigned_sets);
  return usable;
}

void Restorer::check_freshness(const std::vector<SetEntry>& all) {
  FreshnessState state(state_file_path(request_.settings));
  try {
    state.load();
  } catch (const Error& e) {
    warn(std::string(e.what()) + "; this restore cannot tell whether the store was rolled back");
    return;
  }
  std::string cluster = cluster_name(request_.settings);
  std::optional<SeenBackup> seen = state.seen(cluster);
  std::optional<SeenBackup> newest = newest_by_sequence(all);
  if (seen) report_.seen_sequence = seen->sequence;
  report_.rollback = rollback_problem(seen, newest);
  if (!report_.rollback.empty()) warn(report_.rollback);
  std::string problem;
  if (newest && !state.note(cluster, *newest, &problem)) warn(problem);
}

std::vector<SetEntry> Restorer::plan(const std::vector<SetEntry>& all) {
  // Into another major, only logical sets can go: say so for each physical one.
  std::vector<SetEntry> candidates;
  std::string first_refusal;
  int refused = 0;
  for (const auto& set : all) {
    std::string refusal = cross_major_refusal(set);
    if (refusal.empty()) {
      candidates.push_back(set);
    } else {
      if (refused++ == 0) first_refusal = refusal;
      report_.attempts.push_back({set.id, set.store, false, refusal});
    }
  }
  if (refused > 0)
    warn(first_refusal +
         (refused > 1 ? " (and so are " + std::to_string(refused - 1) + " older physical backups)"
                      : ""));
  // Drive's WAL is listed only when a physical set or an offline snapshot could use it.
  bool uses_wal = std::any_of(candidates.begin(), candidates.end(), [](const SetEntry& s) {
    return s.manifest->is_physical() || s.manifest->is_offline();
  });
  RestorePlan p = plan_restore(candidates, uses_wal ? archived_wal() : std::vector<StoredWalFile>{},
                               target_ms_);
  for (size_t i = 0; i < p.order.size() && i < p.reasons.size(); ++i)
    plan_reasons_[p.order[i].id + "\n" + p.order[i].store] = p.reasons[i];
  for (const auto& [set, reason] : p.skipped) {
    warn("physical base backup " + set.id + " cannot be used: " + reason);
    report_.attempts.push_back({set.id, set.store, false, reason});
  }
  return p.order;
}

const std::vector<StoredWalFile>& Restorer::archived_wal() {
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

void Restorer::handle_missing() {
  std::string where;
  for (Store* store : stores_) where += (where.empty() ? "" : ", ") + store->describe();
  std::string what = request_.backup_id.empty()
                         ? (untrusted_sets_ > 0 ? "no trusted backup" : "no backup")
                         : "no usable backup " + request_.backup_id;
  if (request_.on_missing == OnMissing::kInit && request_.backup_id.empty() &&
      report_.attempts.empty()) {
    warn(what + " found in " + where + "; initializing an empty cluster (--on-missing=init)");
    initialize_empty();
    report_.outcome = "initialized";
    return;
  }
  report_.outcome = "no-backup";
  report_.error = what + " found in " + where;
  if (untrusted_sets_ > 0)
    report_.error += "; " + std::to_string(untrusted_sets_) +
                     (untrusted_sets_ == 1 ? " set is" : " sets are") +
                     " UNTRUSTED (`ramsafe list` says why)" +
                     (unsigned_sets_ > 0 && !request_.allow_unsigned
                          ? ", " + std::to_string(unsigned_sets_) +
                                " of them unsigned: sets written before ramsafe signed its "
                                "backups restore only with --allow-unsigned (docs/security.md, "
                                "\"Upgrading\")"
                          : "");
}

void Restorer::try_candidates(const std::vector<SetEntry>& candidates) {
  for (size_t i = 0; i < candidates.size(); ++i) {
    const SetEntry& set = candidates[i];
    Store* store = store_for(set);
    bool is_unsigned = set.trust == Trust::kUnsigned;
    try {
      if (is_unsigned)
        warn("RESTORING UNSIGNED BACKUP " + set.id + " from " + set.store +
             " (--allow-unsigned): ramsafe cannot tell it from a forgery; anyone who could "
             "write to that store could have made it");
      report_.databases = set.manifest->databases();
      // What a failed attempt's replay left must not describe this one.
      report_.wal_replayed = false;
      report_.recovered_to_lsn.clear();
      report_.recovered_to_time.clear();
      if (set.manifest->is_physical()) {
        restore_physical(*store, set);
      } else if (set.manifest->is_offline()) {
        restore_offline(*store, set);
      } else if (target_ms_) {
        throw Error(Errc::kInvalidArgument,
                    "--target-time needs a physical base backup; " + set.id + " is logical");
      } else {
        restore_logical(*store, set);
      }
      report_.attempts.push_back({set.id, set.store, true, ""});
      report_.source_major = set.manifest->server_version_num / 10000;
      report_.outcome = "restored";
      report_.kind = set.manifest->kind;
      auto reason = plan_reasons_.find(set.id + "\n" + set.store);
      report_.reason = reason != plan_reasons_.end() ? reason->second
                       : !request_.backup_id.empty() ? "--backup-id " + request_.backup_id
                                                     : "the newest unsigned set (--allow-unsigned)";
      if (i > 0 && request_.backup_id.empty())
        report_.reason += " (after " + std::to_string(i) + " failed " +
                          (i == 1 ? "attempt" : "attempts") + ", see attempts)";
      report_.backup_id = set.id;
      report_.backup_finished_at = set.manifest->finished_at;
      report_.store = set.store;
      report_.stored_bytes = set.manifest->stored_bytes();
      report_.plaintext_bytes = set.manifest->plaintext_bytes();
      report_.trust = trust_name(set.trust);
      report_.signed_by = set.key_id;
      report_.sequence = set.manifest->sequence;
      return;
    } catch (const Error& e) {
      discard_staging();
      report_.dropped_settings.clear();
      report_.extension_changes.clear();
      if (e.code() == Errc::kCancelled) throw;
      report_.attempts.push_back({set.id, set.store, false, e.what()});
      bool more = i + 1 < candidates.size() && request_.backup_id.empty();
      warn("RESTORE OF BACKUP " + set.id + " FAILED: " + e.what() +
           (!more ? ""
            : candidates[i + 1].manifest->is_physical()
                ? "; falling back to the physical backup " + candidates[i + 1].id + " + WAL"
            : candidates[i + 1].manifest->is_offline()
                ? "; falling back to the offline snapshot " + candidates[i + 1].id
                : "; falling back to the next older backup " + candidates[i + 1].id));
    }
  }
  report_.outcome = "failed";
  report_.error = "no backup could be restored (" + std::to_string(report_.attempts.size()) +
                  " tried); the data directory is left empty";
}

Store* Restorer::store_for(const SetEntry& set) {
  for (Store* store : stores_)
    if (store->describe() == set.store) return store;
  throw Error(Errc::kInternal, "no store for " + set.store);
}

void Restorer::discard_staging() {
  try {
    remove_tree(staging_);
  } catch (const Error& e) {
    warn("cannot remove " + staging_ + ": " + e.what());
  }
}

const ManifestFile& Restorer::require_file(const Manifest& m, const char* role) {
  for (const auto& f : m.files)
    if (f.role == role) return f;
  throw Error(Errc::kCorrupt, "backup " + m.backup_id + " has no " + role + " file");
}

std::string Restorer::decrypt_to_memory(Store& store, const SetEntry& set,
                                        const ManifestFile& file) {
  if (file.plaintext_bytes > kMaxInMemoryPlaintext)
    throw Error(Errc::kCorrupt, set.id + "/" + file.path + " claims " +
                                    std::to_string(file.plaintext_bytes) + " bytes, more than a " +
                                    file.role + " file can hold");
  // The chain stops as soon as the plaintext passes the recorded size (a zstd bomb), so
  // memory holds at most what the file really decompresses to, and never over the cap.
  StringSink out;
  DecryptChain chain(file, set.id + "/" + file.path, request_.identities, out);
  store.read_file(set.id, file.path, chain, request_.cancel);
  chain.finish();
  return out.data();
}

std::string Restorer::cross_major_refusal(const SetEntry& set) const {
  int source = set.manifest->server_version_num / 10000;
  bool files = set.manifest->is_physical() || set.manifest->is_offline();
  if (!target_tools_ || !files || source == target_tools_->major) return "";
  return "backup " + set.id + " is " +
         std::string(set.manifest->is_offline() ? "an offline snapshot"
                                                : "a physical base backup") +
         " of PostgreSQL " + std::to_string(source) +
         ": its data files and WAL can only be restored by PostgreSQL " + std::to_string(source) +
         ", not " + std::to_string(target_tools_->major) +
         " (a major upgrade restores a logical backup: docs/upgrade.md)";
}

PgTools Restorer::tools_for(const SetEntry& set) {
  int source = set.manifest->server_version_num / 10000;
  if (!target_tools_) {
    try {
      return find_pg_tools(request_.settings.bindir, source);
    } catch (const Error& e) {
      if (e.code() != Errc::kNotFound || set.manifest->is_physical() || set.manifest->is_offline())
        throw;
      // The set's major is gone, a newer one is here: say how to move to it.
      for (int major : installed_majors())
        if (major > source)
          throw Error(e.code(), std::string(e.what()) + "; PostgreSQL " + std::to_string(major) +
                                    " is installed: ramsafe restore --pg-version " +
                                    std::to_string(major) +
                                    " restores this logical backup into it (a major upgrade, "
                                    "docs/upgrade.md)");
      throw;
    }
  }
  if (target_tools_->major < source)
    throw Error(Errc::kInvalidArgument, "backup " + set.id + " was taken on PostgreSQL " +
                                            std::to_string(source) + ", newer than PostgreSQL " +
                                            std::to_string(target_tools_->major) + " (" +
                                            target_tools_->bindir +
                                            "): a restore can only move to the same or a newer "
                                            "major");
  if (std::string refusal = cross_major_refusal(set); !refusal.empty())
    throw Error(Errc::kInvalidArgument, refusal);
  return *target_tools_;
}

void Restorer::run_initdb(const PgTools& tools, const InitdbSettings& s) {
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
    if (!s.icu_rules.empty()) options.argv.push_back("--icu-rules=" + s.icu_rules);
  } else if (s.locale_provider == "builtin") {
    options.argv.push_back("--locale-provider=builtin");
    options.argv.push_back("--builtin-locale=" + s.builtin_locale);
  }
  // What the set recorded, either way: initdb of PostgreSQL 18 turns checksums on by default.
  if (s.data_checksums)
    options.argv.push_back("--data-checksums");
  else if (tools.major >= 18)
    options.argv.push_back("--no-data-checksums");
  options.env["LC_ALL"] = std::nullopt;  // the recorded locale, not this shell's
  ChildProcess child(options);
  child.wait_success();
}

void Restorer::initialize_empty() {
  PgTools tools = target_tools_ ? *target_tools_ : find_pg_tools(request_.settings.bindir, 0);
  report_.target_major = tools.major;
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

void Restorer::verify_stored_files(Store& store, const SetEntry& set) {
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

void Restorer::move_into_place() {
  // Relative to the two directories, never through a link.
  Dir pgdata = Dir::open(pgdata_);
  Dir staging = pgdata.sub(kStagingName);
  if (::syncfs(staging.fd()) != 0) throw_errno("syncfs " + staging_);
  // PG_VERSION last: until it is in place PostgreSQL will not start from pgdata.
  for (const auto& name : staging.list()) {
    if (name == "PG_VERSION") continue;
    staging.rename(name, pgdata, name);
  }
  pgdata.fsync();
  staging.rename("PG_VERSION", pgdata, "PG_VERSION");
  pgdata.fsync();
  pgdata.rmdir(kStagingName);
  pgdata.fsync();
}

void Restorer::write_report() {
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

}  // namespace restore_internal

bool data_directory_is_empty(const std::string& path) {
  if (!is_directory(path)) return !path_exists(path);
  for (const auto& name : list_dir(path))
    if (name != "lost+found") return false;
  return true;
}

std::optional<RestoreReport> skip_if_not_empty(const std::string& data_directory) {
  try {
    if (data_directory.empty() || data_directory[0] != '/' || !is_directory(data_directory) ||
        path_exists(join_path(data_directory, restore_internal::kStagingName)) ||
        data_directory_is_empty(data_directory))
      return std::nullopt;
  } catch (const Error&) {
    return std::nullopt;
  }
  RestoreReport report;
  report.outcome = "skipped";
  report.data_directory = data_directory;
  report.started_at = report.finished_at = format_rfc3339_utc(now_unix_millis());
  return report;
}

std::string RestoreReport::to_json() const {
  nlohmann::json attempts_json = nlohmann::json::array();
  for (const auto& a : attempts)
    attempts_json.push_back({{"backup_id", a.backup_id},
                             {"store", a.store},
                             {"succeeded", a.succeeded},
                             {"reason", a.reason}});
  nlohmann::json dropped = nlohmann::json::array();
  for (const auto& d : dropped_settings)
    dropped.push_back({{"setting", d.name}, {"value", d.value}, {"where", d.where}});
  nlohmann::json extensions = nlohmann::json::array();
  for (const auto& e : extension_changes)
    extensions.push_back({{"database", e.database},
                          {"extension", e.name},
                          {"backed_up", e.backed_up},
                          {"restored", e.restored},
                          {"note", e.note}});
  nlohmann::json j = {{"outcome", outcome},
                      {"error", error},
                      {"data_directory", data_directory},
                      {"backup_id", backup_id},
                      {"backup_finished_at", backup_finished_at},
                      {"kind", kind},
                      {"reason", reason},
                      {"wal_replayed", wal_replayed},
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
                      {"trust", trust},
                      {"signed_by", signed_by},
                      {"sequence", sequence},
                      {"seen_sequence", seen_sequence},
                      {"rollback", rollback},
                      {"source_major", source_major},
                      {"target_major", target_major},
                      {"dropped_settings", dropped},
                      {"extension_changes", extensions},
                      {"databases", databases},
                      {"attempts", attempts_json},
                      {"started_at", started_at},
                      {"finished_at", finished_at},
                      {"seconds", seconds},
                      {"stored_bytes", stored_bytes},
                      {"plaintext_bytes", plaintext_bytes}};
  // Reasons carry text from stores: nothing in the report may drive a terminal.
  return dump_printable_json(j, 2) + "\n";
}

RestoreReport run_restore(const RestoreRequest& request, const std::vector<Store*>& stores) {
  return restore_internal::Restorer(request, stores).run();
}

}  // namespace ramsafe
