// Freshness (docs/security.md): what this host remembers of the newest signed backup it has
// seen, per cluster, so that a store rolled back to an older copy (or whose newest sets
// were deleted) is noticed. A signature proves a set is genuine, not that it is the newest:
// that only the memory of a higher sequence number can tell.
//
// The state file (ramsafe.state_file, by default beside the keys, never in the data
// directory, which a power cut wipes) is JSON written atomically under a lock file
// (<state>.lock):
//   {"format": "ramsafe-state", "format_version": 1,
//    "clusters": {"main": {"sequence": 42, "backup_id": "20261122T031500Z",
//                          "finished_at": "2026-11-22T03:16:02.311Z",
//                          "noted_at": "2026-11-22T03:16:02.400Z"}}}
// It only ever grows: a lower sequence never replaces a higher one.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/set/manifest.h"

namespace ramsafe {

struct SeenBackup {
  uint64_t sequence = 0;
  std::string backup_id;
  std::string finished_at;
  std::string noted_at;  // when this host noted it (by its clock)
};

// A trusted set as the state records it (noted now).
SeenBackup seen_backup_of(const Manifest& manifest);

class FreshnessState {
 public:
  // path "": no state is kept (load finds nothing, note does nothing).
  explicit FreshnessState(std::string path) : path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  // Reads the file; a missing one means nothing seen yet. Throws Error(kConfig) naming the
  // file when it cannot be read or is not a state file.
  void load();
  std::optional<SeenBackup> seen(const std::string& cluster) const;
  // This host's clock cannot be earlier than this (unix ms): the later of the newest seen
  // set's finish time and when it was noted. 0 when nothing was seen.
  int64_t clock_floor_ms(const std::string& cluster) const;

  // Records backup as the newest seen for cluster unless a higher sequence is already
  // recorded (re-read under the lock first, so concurrent writers never lose one). Returns
  // false with the cause in *problem when the file cannot be written (the caller warns);
  // the in-memory state is updated either way.
  bool note(const std::string& cluster, const SeenBackup& backup, std::string* problem);

 private:
  void parse(const std::string& text);
  std::string serialize() const;

  std::string path_;
  std::map<std::string, SeenBackup> clusters_;
};

// When the newest trusted set (by sequence; nullopt: none) is older than what this host has
// seen: a message for people ("ROLLBACK: ..."); "" when it is not.
std::string rollback_problem(const std::optional<SeenBackup>& seen,
                             const std::optional<SeenBackup>& newest);

}  // namespace ramsafe
