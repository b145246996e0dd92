// WAL-aware retention (issue 7): which archived WAL files a store may delete, given the
// physical base backups that store keeps. Pure: no store access, so `prune --dry-run` shows
// exactly what `prune` does.
//
// A file goes when its WAL position (the segment it belongs to) is before the
// start_wal_file of the oldest kept physical base, on any timeline: replay from every kept
// base starts at or after that position. .history files are always kept (tiny, and needed
// to follow timelines). Without a kept physical base nothing goes: WAL is useless without
// a base, but deleting it would also throw away what a base uploaded later, or one the
// policy is about to keep, could still need.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/wal/wal_archive.h"

namespace ramsafe {

struct WalBase {
  std::string backup_id;
  std::string start_wal_file;  // 24 hex digits
  uint64_t wal_segment_size = 0;
};

struct WalRetention {
  std::vector<StoredWalFile> remove;  // in list_wal_files() order
  size_t kept = 0;
  uint64_t remove_bytes = 0;
  // The oldest kept base and its first WAL file (empty when there is none).
  std::string oldest_base;
  std::string cutoff_file;
  // Why files before the cutoff are kept anyway (name -> reason), e.g. "not yet on Drive".
  std::map<std::string, std::string> protected_files;
  // One line for people: what goes and why, or why nothing does.
  std::string summary() const;
};

// files: one store's archived WAL files; bases: the physical sets that store keeps;
// protect: names kept whatever their position, with the reason.
WalRetention decide_wal_retention(const std::vector<StoredWalFile>& files,
                                  const std::vector<WalBase>& bases,
                                  const std::map<std::string, std::string>& protect = {});

}  // namespace ramsafe
