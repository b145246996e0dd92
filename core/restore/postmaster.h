// The private postmaster a restore runs its work in: reachable only through a unix socket
// in a private 0700 directory, no TCP, trust for local connections through its own hba file.
// Internal to core/restore.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/io/process.h"
#include "core/io/sink.h"
#include "core/pg/pg_connection.h"
#include "core/pg/pg_tools.h"

namespace ramsafe::restore_internal {

constexpr int kPostmasterStartSeconds = 120;
constexpr int kPostmasterStopSeconds = 600;

// A private directory for the restore postmaster's socket and hba file, removed on exit.
class TempDir {
 public:
  TempDir();
  ~TempDir();
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
                    const std::function<void(ChildProcess&)>& on_wait = nullptr);

  ~PrivatePostmaster();
  PrivatePostmaster(const PrivatePostmaster&) = delete;
  PrivatePostmaster& operator=(const PrivatePostmaster&) = delete;

  const std::string& socket_dir() const { return dir_.path(); }
  const std::string& superuser() const { return superuser_; }

  // Client environment for pg_restore.
  std::map<std::string, std::optional<std::string>> environment() const;
  // The same target for a libpq connection of ramsafe's own.
  ConnectionParams connection_params(const std::string& dbname) const;

  // Fast shutdown (SIGINT): ends sessions, writes the shutdown checkpoint.
  void stop();

 private:
  TempDir dir_;
  std::string superuser_;
  std::unique_ptr<ChildProcess> child_;
};

// Settings for a logical restore's postmaster: crash safety is not needed while restoring
// (a failed restore is thrown away). preload: the backed-up server's
// shared_preload_libraries, which some extensions need before CREATE EXTENSION works
// (ramsafe among them). Includes neutralised_commands().
std::vector<std::string> bulk_load_settings(const std::string& preload);

// Every setting through which a server runs a shell command or loads an archive library
// (archive_command, archive_library, restore_command, recovery_end_command,
// archive_cleanup_command), emptied: a restore's private postmaster runs none of what a
// set's configuration files say. The command line wins over postgresql.conf and
// postgresql.auto.conf. A physical restore sets its own restore_command after these.
std::vector<std::string> neutralised_commands();

}  // namespace ramsafe::restore_internal
