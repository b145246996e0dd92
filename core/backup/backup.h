// A logical backup of a whole cluster into the local store:
//   globals.sql.zst.age        pg_dumpall --globals-only (roles, memberships, tablespaces)
//   config.tar.zst.age         the server's configuration files that live in its data directory
//   db/<name>.dump.zst.age     pg_dump -Fc -Z0 of every connectable database
//   manifest.json              written last; the set is published by an atomic rename
// Each database is dumped from its own consistent snapshot.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config/settings.h"
#include "core/crypto/age.h"
#include "core/io/sink.h"
#include "core/pg/pg_connection.h"
#include "core/set/manifest.h"
#include "core/store/local_store.h"

namespace ramsafe {

struct BackupProgress {
  std::string phase;      // "starting", "globals", "config", "database", "publishing", "done"
  std::string backup_id;  // once the set is begun
  std::string database;
  int database_index = 0;  // 1-based while dumping databases
  int database_count = 0;
  uint64_t bytes_read = 0;    // plaintext so far, whole backup
  uint64_t bytes_stored = 0;  // encrypted bytes written so far, whole backup
};

struct BackupRequest {
  Settings settings;
  std::vector<age::Recipient> recipients;
  CancelCheck cancel;
  std::function<void(const BackupProgress&)> progress;
  bool low_priority = false;  // nice 10 and idle I/O class for pg_dump and pg_dumpall
  int zstd_workers = 1;       // 0: compress in the calling thread
};

struct BackupResult {
  Manifest manifest;
  std::string path;
  double seconds = 0;
  std::vector<std::string> vanished_databases;  // dropped while the backup ran
  std::vector<std::string> warnings;            // e.g. the freshness state not updated
};

// What a backup records about the server it backs up.
struct ServerFacts {
  std::string server_version;
  int server_version_num = 0;
  std::string system_identifier;
  std::string data_directory;
  InitdbSettings initdb;
  std::string shared_preload_libraries;
  std::vector<std::string> databases;
  std::vector<std::string> config_files;  // absolute paths inside the data directory
};

// Reads the facts above; throws Error(kConfig) unless the connection's role is a superuser.
ServerFacts query_server(PgConnection& conn);
// The manifest fields every set of this server has: id, cluster, start time, server and
// tool versions, system identifier, initdb settings, preloaded libraries.
Manifest manifest_for_server(const ServerFacts& facts, const std::string& backup_id,
                             const std::string& cluster, int64_t started_ms,
                             const std::string& tool_version);

// Connection parameters for the server the settings describe.
ConnectionParams connection_params(const Settings& settings,
                                   const std::string& dbname = "postgres");
// The local store the settings name, reading it with the trust the settings give
// (trust_policy_for), or nullptr when ramsafe.local_dir is empty (commands that can work
// from Drive alone).
std::unique_ptr<LocalStore> make_local_store(const Settings& settings);
// Why no backup at all can be written with these settings, or nullopt: ramsafe.local_dir
// is not set (every backup, logical or base, is published locally first; Drive only gets
// copies), or this process cannot create or write the store's directory (checked with
// access(2) on the store, or on its nearest existing parent when it does not exist yet).
std::optional<std::string> backup_store_problem(const Settings& settings);

// Runs a whole backup; throws Error on failure, leaving no complete-looking set.
BackupResult run_backup(const BackupRequest& request);

}  // namespace ramsafe
