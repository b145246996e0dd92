// manifest.json: what a backup set holds. Written last; its presence marks the set
// complete. It carries a checksum of its own content, so a damaged manifest is detected
// rather than trusted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ramsafe {

// 2: signed sets (manifest.json.sig beside the manifest, a sequence number); 1: sets written
// before ramsafe signed them, which readers still parse (and show as unsigned).
constexpr int kManifestFormatVersion = 2;
constexpr int kUnsignedManifestFormatVersion = 1;

// The manifest's name in every store; written last, its presence marks a complete set.
inline constexpr const char* kManifestName = "manifest.json";

struct ManifestFile {
  std::string path;      // relative to the set: "db/app.dump.zst.age"
  std::string role;      // "globals", "config", "database"
  std::string database;  // for role "database"
  uint64_t plaintext_bytes = 0;
  uint64_t stored_bytes = 0;
  std::string sha256;       // of the stored bytes, hex
  std::string compression;  // "zstd"
  int compression_level = 0;
  std::string encryption;               // "age-v1"
  std::vector<std::string> recipients;  // fingerprints, see age::fingerprint
};

struct InitdbSettings {
  std::string encoding;    // template1's encoding, e.g. "UTF8"
  std::string lc_collate;  // template1's
  std::string lc_ctype;
  std::string locale_provider = "libc";  // "libc" or "icu"
  std::string icu_locale;                // when locale_provider is "icu"
  bool data_checksums = false;
  std::string bootstrap_superuser;  // the role with OID 10
};

// What a physical set (kind "physical", a pg_basebackup tar) needs from the WAL archive:
// every WAL file from start_wal_file through stop_wal_file, then whatever follows.
struct PhysicalInfo {
  std::string start_lsn;          // "0/2000028", the backup's redo start point
  std::string stop_lsn;           // the backup's end point (consistency)
  uint32_t timeline = 0;          // the start point's timeline
  std::string start_wal_file;     // the first WAL segment replay needs
  std::string stop_wal_file;      // the segment holding stop_lsn (archived before publishing)
  uint64_t wal_segment_size = 0;  // bytes, the server's wal_segment_size
};

// What an offline snapshot (kind "offline": a tar of a cleanly shut-down data directory)
// records from its control file. It restores by extraction alone and starts without
// recovery; WAL archived after its checkpoint (on its timeline or a later one) can be
// replayed on top of it, from redo_wal_file on.
struct OfflineInfo {
  std::string checkpoint_lsn;     // "Latest checkpoint location" (the shutdown checkpoint)
  std::string redo_lsn;           // its REDO location (the same for a shutdown checkpoint)
  uint32_t timeline = 0;          // the checkpoint's TimeLineID
  std::string redo_wal_file;      // the segment holding the REDO point (in the snapshot's pg_wal)
  uint64_t wal_segment_size = 0;  // bytes per WAL segment
  int pg_major = 0;               // PG_VERSION: the server binaries the snapshot needs
  std::string cluster_state;      // "shut down" or "shut down in recovery"
};

struct Manifest {
  int format_version = kManifestFormatVersion;
  // Format 2: this cluster's sets are numbered 1, 2, 3, ... in the order they were signed,
  // whatever their clocks said (docs/security.md, "Freshness"); 0 in format 1.
  uint64_t sequence = 0;
  std::string backup_id;
  // "logical", "physical" or "offline"; absent in old manifests: logical
  std::string kind = "logical";
  std::string cluster;
  std::string started_at;  // RFC 3339 UTC with milliseconds
  std::string finished_at;
  std::string server_version;   // "15.18 (Debian 15.18-0+deb12u1)"
  int server_version_num = 0;   // 150018
  std::string pg_dump_version;  // "pg_dump (PostgreSQL) 15.18 (...)"
  std::string system_identifier;
  std::string ramsafe_version;
  // The server's, so restore can preload them: extensions such as ramsafe itself need
  // their library preloaded before CREATE EXTENSION works.
  std::string shared_preload_libraries;
  InitdbSettings initdb;
  std::vector<ManifestFile> files;
  std::optional<PhysicalInfo> physical;  // set exactly when kind == "physical"
  std::optional<OfflineInfo> offline;    // set exactly when kind == "offline"

  std::string to_json() const;  // pretty, with its own checksum
  // Throws Error(kCorrupt) naming source for bad JSON, a wrong checksum, missing fields
  // or a format version newer than this program understands.
  static Manifest parse(const std::string& json, const std::string& source);

  const ManifestFile* find_file(const std::string& path) const;
  uint64_t stored_bytes() const;
  uint64_t plaintext_bytes() const;
  std::vector<std::string> databases() const;
  bool is_physical() const { return kind == "physical"; }
  bool is_offline() const { return kind == "offline"; }
};

// A file name for a database's dump that is safe in any store: bytes outside
// [A-Za-z0-9_-] and a leading '.' are percent-encoded. "my db" -> "my%20db".
std::string database_file_name(const std::string& database);

// Backup ids: "20261122T031500Z", plus "-2", "-3"... when needed to stay unique.
std::string backup_id_for(int64_t unix_seconds);
bool is_valid_backup_id(const std::string& id);

// "2026-11-22T03:15:00.123Z"
std::string format_rfc3339_utc(int64_t unix_millis);
// Parses what format_rfc3339_utc writes (milliseconds optional); nullopt if malformed.
std::optional<int64_t> parse_rfc3339_utc(const std::string& text);
int64_t now_unix_millis();

}  // namespace ramsafe
