#include "core/wal/wal_retention.h"

#include <limits>

#include "core/error.h"

namespace ramsafe {
namespace {

std::string bytes_text(uint64_t bytes) {
  char buf[32];
  if (bytes >= (uint64_t{1} << 20))
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  else
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
  return buf;
}

}  // namespace

WalRetention decide_wal_retention(const std::vector<StoredWalFile>& files,
                                  const std::vector<WalBase>& bases,
                                  const std::map<std::string, std::string>& protect) {
  WalRetention out;
  uint64_t segment_size = 0;
  uint64_t cutoff = std::numeric_limits<uint64_t>::max();
  for (const auto& b : bases) {
    uint64_t start = wal_segment_number(b.start_wal_file, b.wal_segment_size);
    if (segment_size != 0 && b.wal_segment_size != segment_size)
      throw Error(Errc::kInvalidArgument, "physical base backups " + out.oldest_base + " and " +
                                              b.backup_id + " differ in wal_segment_size");
    segment_size = b.wal_segment_size;
    if (out.oldest_base.empty() || start < cutoff) {
      cutoff = start;
      out.oldest_base = b.backup_id;
      out.cutoff_file = b.start_wal_file;
    }
  }
  for (const auto& f : files) {
    // .history names carry no position; every other kind starts with its segment's name.
    bool before = !out.oldest_base.empty() && f.file.kind != WalFileKind::kHistory &&
                  wal_segment_number(f.file.name.substr(0, 24), segment_size) < cutoff;
    if (before) {
      auto p = protect.find(f.file.name);
      if (p != protect.end()) {
        out.protected_files.insert(*p);
        before = false;
      }
    }
    if (before) {
      out.remove.push_back(f);
      out.remove_bytes += f.stored_bytes;
    } else {
      out.kept++;
    }
  }
  return out;
}

std::string WalRetention::summary() const {
  if (oldest_base.empty())
    return "no physical base backup is kept: all " + std::to_string(kept) +
           " archived WAL files kept (WAL is deleted only before the oldest kept base)";
  std::string s;
  if (remove.empty()) {
    s = "nothing before " + cutoff_file;
  } else {
    s = std::to_string(remove.size()) + " WAL files (" + bytes_text(remove_bytes) + ") " +
        remove.front().file.name + " .. " + remove.back().file.name + " before " + cutoff_file;
  }
  s += ", the start of the oldest kept physical base " + oldest_base + "; " + std::to_string(kept) +
       " kept";
  if (!protected_files.empty())
    s += " (" + std::to_string(protected_files.size()) + " older ones " +
         protected_files.begin()->second + ")";
  return s;
}

}  // namespace ramsafe
