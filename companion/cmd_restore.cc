#include <unistd.h>

#include <climits>
#include <iostream>
#include <optional>

#include "companion/commands.h"
#include "companion/stores.h"
#include "core/backup/backup.h"
#include "core/config/keys.h"
#include "core/error.h"
#include "core/io/unique_fd.h"
#include "core/restore/restore.h"

namespace ramsafe::cli {

CommandSpec restore_spec() {
  return {
      "restore",
      "restore [options]",
      "Restore the newest good backup into the (empty) data directory, before the server starts.\n"
      "Sets are tried newest first; each is checked against its checksums and, on any failure,\n"
      "the next older one is tried and the failure is reported loudly. Runs initdb with the\n"
      "recorded encoding, locale and checksum settings, restores roles, every database and the\n"
      "configuration files through a private postmaster (unix socket only, no TCP), and writes\n"
      "a JSON report to <data directory>/ramsafe_restore_report.json.\n"
      "With WAL archiving (docs/wal.md), a physical base backup plus the archived WAL after it\n"
      "is restored instead when that reaches a later point than the newest logical backup: the\n"
      "base is extracted and the WAL replayed (restore_command = this program's wal-fetch) to\n"
      "its end, or to --target-time. Without its WAL, the next backup is used, loudly.\n"
      "An offline snapshot (`ramsafe snapshot`) that is the latest point is extracted and\n"
      "starts without recovery; WAL archived after it is replayed on top. Of sets reaching\n"
      "the same point the fastest is used; the report's \"reason\" says why.\n"
      "Only sets (and WAL) signed by a key in ramsafe.verify_keys_file are restored; a set\n"
      "older than one this host has already seen is reported as a ROLLBACK (docs/security.md).\n"
      "Run it as the database's OS user, e.g. in systemd's ExecStartPre:\n"
      "  ramsafe restore --if-empty\n"
      "On this boot path an unknown ramsafe.* name, or a bad value of a setting a restore\n"
      "does not read (e.g. ramsafe.schedule), is a warning, as it is in the server.",
      {config_option(),
       {"pgdata", 'D', true, "DIR",
        "data directory to restore into (default: ramsafe.data_directory)"},
       {"backup-id", 0, true, "ID", "restore this set (no fallback to others)"},
       {"target-time", 0, true, "TIME",
        "replay WAL only up to this time, e.g. '2026-11-26 10:00:00+00' (UTC offset required);\n"
        "uses the newest physical base backup finished before it"},
       store_option(),
       {"identity", 'i', true, "FILE", "age identity file (default: ramsafe.identity_file)"},
       {"if-empty", 0, false, "",
        "leave a non-empty data directory alone and exit 0, before the configuration\n"
        "or the keys are read (what a restore would fail on is still warned about)"},
       {"force", 0, false, "",
        "empty a non-empty data directory first (the server must be stopped)"},
       {"on-missing", 0, true, "init|fail",
        "when no backup exists: initialize an empty cluster, or fail with exit code 3 "
        "(default: ramsafe.on_missing, fail)"},
       {"jobs", 'j', true, "N",
        "databases restored at once (default: ramsafe.restore_jobs, else CPUs)"},
       {"allow-unsigned", 0, false, "",
        "also restore sets and WAL with no signature at all (written before ramsafe signed\n"
        "its backups), after every trusted set; never a badly signed one. Check them first:\n"
        "anyone who can write to a store can make an unsigned set"},
       {"report", 0, true, "FILE", "write the JSON report here instead"},
       {"json", 0, false, "", "print the report as JSON on stdout"},
       {"no-progress", 0, false, "", "no progress line even on a terminal"}}};
}

namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (!::getcwd(cwd, sizeof cwd)) return path;
  return std::string(cwd) + "/" + path;
}

// restore_command for a physical restore: this very program's wal-fetch, with the same
// configuration file and identity.
std::string wal_fetch_command(const ParsedArgs& args) {
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "";
  std::string command = shell_quote(std::string(self, static_cast<size_t>(n))) +
                        " wal-fetch --config " + shell_quote(absolute(config_path(args)));
  if (args.has("identity")) command += " --identity " + shell_quote(absolute(args.get("identity")));
  if (args.has("allow-unsigned")) command += " --allow-unsigned";
  return command;
}

// What a restore into the empty data directory would trip over, said as warnings while
// --if-empty leaves a full one alone: the restart succeeds, and the log shows what the next
// reboot would fail on. Never throws.
void warn_what_a_restore_would_fail_on(const ParsedArgs& args) {
  const std::string prefix =
      "a restore into the empty data directory (after a reboot) would fail: ";
  if (::geteuid() == 0)
    warn(prefix +
         "ramsafe restore must not run as root; run it as the database's OS user (e.g. runuser "
         "-u postgres -- ramsafe restore ...)");
  try {
    Settings settings = load_boot_config(args);
    load_identities(settings, args.get("identity"));
  } catch (const std::exception& e) {
    warn(prefix + e.what());
  }
}

// --if-empty on a directory that holds a cluster: exit 0 before anything that could fail
// (the configuration, the keys, the stores) is read. nullopt: go on with the full restore.
std::optional<int> skip_full_data_directory(const ParsedArgs& args) {
  std::string pgdata = args.get("pgdata");
  if (pgdata.empty()) {
    try {
      pgdata = check_settings(config::parse_file(config_path(args))).settings.data_directory;
    } catch (const std::exception&) {
      return std::nullopt;  // no data directory known: the full path reports why
    }
  }
  std::optional<RestoreReport> report = skip_if_not_empty(pgdata);
  if (!report) return std::nullopt;
  info(pgdata + " is not empty; leaving it alone (--if-empty)");
  warn_what_a_restore_would_fail_on(args);
  if (args.has("report")) {
    try {
      write_file_atomic(args.get("report"), report->to_json(), 0600);
    } catch (const Error& e) {
      warn("cannot write the restore report " + args.get("report") + ": " + e.what());
    }
  }
  if (args.has("json")) std::cout << report->to_json();
  return kExitOk;
}

}  // namespace

int run_restore(const ParsedArgs& args) {
  if (args.has("if-empty") && args.has("force"))
    throw UsageError("--if-empty and --force contradict each other");
  if (args.has("if-empty"))
    if (std::optional<int> code = skip_full_data_directory(args)) return *code;
  RestoreRequest request;
  request.settings = load_boot_config(args);
  request.data_directory = args.get("pgdata", request.settings.data_directory);
  if (request.data_directory.empty())
    throw UsageError("no data directory: pass --pgdata DIR or set ramsafe.data_directory");
  std::string on_missing = args.get("on-missing", request.settings.on_missing);
  if (on_missing != "init" && on_missing != "fail")
    throw UsageError("invalid value for --on-missing: \"" + on_missing +
                     "\" (expected init or fail)");
  request.on_missing = on_missing == "init" ? OnMissing::kInit : OnMissing::kFail;
  request.backup_id = args.get("backup-id");
  if (!request.backup_id.empty() && !is_valid_backup_id(request.backup_id))
    throw UsageError("invalid value for --backup-id: \"" + request.backup_id +
                     "\" (expected an id such as 20261122T031500Z)");
  request.target_time = args.get("target-time");
  if (!request.target_time.empty() && !parse_target_time(request.target_time))
    throw UsageError("invalid value for --target-time: \"" + request.target_time +
                     "\" (expected e.g. '2026-11-26 10:00:00+00', with a UTC offset)");
  request.wal_fetch_command = wal_fetch_command(args);
  request.if_empty = args.has("if-empty");
  request.force = args.has("force");
  request.jobs = args.get_int("jobs", 0, 1, 64);
  request.report_path = args.get("report");
  request.allow_unsigned = args.has("allow-unsigned");
  request.identities = load_identities(request.settings, args.get("identity"));
  request.cancel = cancel_check();
  request.warn = warn;
  request.info = info;
  ProgressLine line(stdout_is_terminal() && !args.has("no-progress") && !args.has("json"));
  request.progress = [&](const RestoreProgress& p) {
    std::string text = "restore " + p.backup_id + ": " + p.phase;
    if (p.phase == "database")
      text += " " + std::to_string(p.databases_done) + "/" + std::to_string(p.database_count) +
              " " + p.database;
    if (p.bytes_total > 0)
      text += "  " + std::to_string(p.bytes_done * 100 / p.bytes_total) + "% of " +
              format_bytes(p.bytes_total);
    line.update(text);
  };

  Stores stores = open_stores(request.settings, args.get("store"));
  RestoreReport report = run_restore(request, stores.all());
  line.clear();
  if (args.has("json")) std::cout << report.to_json();

  if (report.outcome == "restored") {
    if (!args.has("json")) info("chose " + report.backup_id + ": " + report.reason);
    if (!args.has("json") && report.kind == "offline")
      std::cout << "restored offline snapshot " << report.backup_id << " (finished "
                << report.backup_finished_at << ")"
                << (report.wal_replayed ? " + WAL up to " +
                                              (report.recovered_to_time.empty()
                                                   ? std::string("(no transaction replayed)")
                                                   : report.recovered_to_time) +
                                              " (" + report.recovered_to_lsn + ")"
                                        : std::string(", no recovery needed"))
                << " into " << report.data_directory << " in " << format_duration(report.seconds)
                << "\n";
    else if (!args.has("json") && report.kind == "physical")
      std::cout << "restored base " << report.backup_id << " + WAL up to "
                << (report.recovered_to_time.empty() ? "(no transaction replayed)"
                                                     : report.recovered_to_time)
                << " (" << report.recovered_to_lsn << ") into " << report.data_directory << " in "
                << format_duration(report.seconds) << "\n";
    else if (!args.has("json"))
      std::cout << "restored backup " << report.backup_id << " (finished "
                << report.backup_finished_at << ", " << report.databases.size()
                << " databases) into " << report.data_directory << " in "
                << format_duration(report.seconds) << "\n";
    if (report.attempts.size() > 1)
      warn("the newest backup could not be used; restored the older " + report.kind + " backup " +
           report.backup_id + " (see the report's attempts)");
    if (report.trust == "unsigned")
      warn("RESTORED AN UNSIGNED BACKUP " + report.backup_id +
           " (--allow-unsigned): its authenticity could not be checked. Look at the restored "
           "roles, pg_hba.conf and postgresql.auto.conf before starting the server, and set up "
           "signing keys (docs/security.md, \"Upgrading\")");
    if (!report.rollback.empty())
      warn(report.rollback + "; restored " + report.backup_id +
           ", the newest trusted backup left (see the report's \"rollback\")");
    if (!report.complete()) {
      // Said last, so that it is the line an operator sees: the cluster is usable, but it is
      // not everything the archive held.
      warn("RESTORE INCOMPLETE: WAL file " + report.wal_damaged_file +
           " is damaged: replay stopped at " + report.wal_stopped_at +
           (report.recovered_to_time.empty() ? "" : " (" + report.recovered_to_time + ")") +
           "; data after that was not recovered. The restored cluster is the last good point; "
           "exit status 7");
      return kExitIncomplete;
    }
    return kExitOk;
  }
  if (report.outcome == "skipped" || report.outcome == "initialized") return kExitOk;
  std::cerr << "ramsafe restore: " << report.error << "\n";
  if (report.outcome == "no-backup") return kExitNoBackup;
  if (report.outcome == "not-empty") return kExitNotEmpty;
  return kExitFailed;
}

}  // namespace ramsafe::cli
