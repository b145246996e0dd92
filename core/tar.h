// A minimal ustar writer and reader for the small configuration archive
// (config.tar.zst.age). Readable by GNU tar: `... | zstd -d | tar -x`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/sink.h"

namespace ramsafe {

struct TarEntry {
  std::string name;  // relative path, at most 100 bytes
  std::string content;
  unsigned mode = 0600;
  int64_t mtime = 0;
};

void write_tar(const std::vector<TarEntry>& entries, Sink& out);  // does not call finish()
// Throws Error(kCorrupt) for a malformed archive, bad checksum, or an unsafe name
// (absolute, "..", non-regular entries).
std::vector<TarEntry> read_tar(const std::string& archive, const std::string& source);

}  // namespace ramsafe
