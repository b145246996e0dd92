// How much of a filesystem a directory takes: the data directory on its tmpfs.
#pragma once

#include <cstdint>
#include <string>

namespace ramsafe {

struct DiskUsage {
  uint64_t directory_bytes = 0;   // bytes allocated to the files under the directory
  uint64_t filesystem_bytes = 0;  // size of the filesystem it lives on
  uint64_t used_bytes = 0;        // used on that filesystem (by anything)
  uint64_t free_bytes = 0;        // available to unprivileged users
  double used_percent() const {
    return filesystem_bytes ? 100.0 * static_cast<double>(used_bytes) / filesystem_bytes : 0;
  }
};

// Walks dir without following symlinks or crossing into other filesystems. Files that
// vanish during the walk (a running server) are skipped. Throws Error if dir is unreadable.
DiskUsage disk_usage(const std::string& dir);

// Only the filesystem figures (directory_bytes stays 0): no walk, for frequent checks.
DiskUsage filesystem_usage(const std::string& dir);

}  // namespace ramsafe
