#include "core/wal/wal_window.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <map>

#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/unique_fd.h"
#include "core/set/manifest.h"

namespace ramsafe {
namespace {

constexpr const char* kBreakSuffix = ".dropped";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

uint32_t timeline_of(const std::string& segment) {
  return static_cast<uint32_t>(std::stoul(segment.substr(0, 8), nullptr, 16));
}

// A segment's position independent of the segment size: its last 16 hex digits compare
// in WAL order.
std::string position_of(const std::string& segment) {
  return segment.substr(8);
}

// The segment after `segment` on its timeline.
std::string next_segment(const std::string& segment, uint64_t segment_size) {
  uint64_t n = wal_segment_number(segment, segment_size) + 1;
  uint64_t per_id = (uint64_t{1} << 32) / segment_size;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%08X%08X", segment.substr(0, 8).c_str(),
                static_cast<unsigned>(n / per_id), static_cast<unsigned>(n % per_id));
  return buf;
}

// The marker at `segment`'s position on a timeline from `timeline` on, if any.
const WalChainBreak* break_at(const std::vector<WalChainBreak>& breaks, uint32_t timeline,
                              const std::string& segment) {
  for (const auto& b : breaks)
    if (timeline_of(b.segment) >= timeline && position_of(b.segment) == position_of(segment))
      return &b;
  return nullptr;
}

}  // namespace

std::string wal_chain_break_path(const std::string& store_root, const std::string& segment) {
  WalFileName name = parse_wal_file_name(segment);
  if (name.kind != WalFileKind::kSegment)
    throw Error(Errc::kInvalidArgument, "not a WAL segment name: \"" + segment + "\"");
  return join_path(join_path(wal_archive_dir(store_root), name.timeline), segment + kBreakSuffix);
}

void record_wal_chain_break(const std::string& store_root, const std::string& segment,
                            const std::string& note) {
  std::string path = wal_chain_break_path(store_root, segment);
  make_dirs(parent_dir(path), 0700);
  write_file_atomic(path, note + "\n", 0600);
}

std::vector<WalChainBreak> list_wal_chain_breaks(const std::string& store_root) {
  std::vector<WalChainBreak> breaks;
  std::string top = wal_archive_dir(store_root);
  if (!is_directory(top)) return breaks;
  for (const auto& timeline : list_dir(top)) {
    std::string dir = join_path(top, timeline);
    if (timeline.size() != 8 || !is_directory(dir)) continue;
    for (const auto& entry : list_dir(dir)) {
      if (!ends_with(entry, kBreakSuffix)) continue;
      std::string segment = entry.substr(0, entry.size() - std::string(kBreakSuffix).size());
      if (!is_wal_file_name(segment) ||
          parse_wal_file_name(segment).kind != WalFileKind::kSegment ||
          segment.compare(0, 8, timeline) != 0)
        continue;
      WalChainBreak b;
      b.segment = segment;
      b.timeline = timeline;
      std::string path = join_path(dir, entry);
      struct stat st;
      if (::stat(path.c_str(), &st) == 0) b.mtime = st.st_mtime;
      std::ifstream in(path);
      std::getline(in, b.note);
      breaks.push_back(std::move(b));
    }
  }
  return breaks;  // list_dir sorts each directory; timelines in order
}

const PhysicalWindow* WalWindow::find(const std::string& backup_id) const {
  for (const auto& p : physical)
    if (p.backup_id == backup_id) return &p;
  return nullptr;
}

bool WalWindow::base_started_after(const std::string& segment) const {
  if (!is_wal_file_name(segment) || segment.size() != 24) return false;
  for (const auto& p : physical) {
    if (p.start_wal_file.size() != 24) continue;
    uint32_t tl = timeline_of(p.start_wal_file);
    if (tl > timeline_of(segment) ||
        (tl == timeline_of(segment) && position_of(p.start_wal_file) > position_of(segment)))
      return true;
  }
  return false;
}

OfflineReach offline_wal_reach(const OfflineInfo& info, const std::vector<StoredWalFile>& wal) {
  OfflineReach reach;
  if (!is_valid_wal_segment_size(info.wal_segment_size) || !is_wal_file_name(info.redo_wal_file))
    return reach;
  // segment number -> the file of the newest timeline (>= the snapshot's) that holds it
  std::map<uint64_t, const StoredWalFile*> newest;
  for (const auto& f : wal) {
    if (f.file.kind != WalFileKind::kSegment) continue;
    auto tl = static_cast<uint32_t>(std::stoul(f.file.timeline, nullptr, 16));
    if (tl < info.timeline) continue;
    uint64_t n = wal_segment_number(f.file.name, info.wal_segment_size);
    auto it = newest.find(n);
    if (it == newest.end() || it->second->file.timeline < f.file.timeline) newest[n] = &f;
  }
  for (uint64_t n = wal_segment_number(info.redo_wal_file, info.wal_segment_size);; ++n) {
    auto it = newest.find(n);
    if (it == newest.end()) break;
    reach.last_segment = it->second->file.name;
    reach.last_mtime_ms = it->second->mtime_ms ? it->second->mtime_ms : it->second->mtime * 1000;
    reach.segments++;
  }
  reach.later_wal = reach.segments > 0;
  return reach;
}

WalWindow compute_wal_window(const std::vector<SetEntry>& sets,
                             const std::vector<StoredWalFile>& wal,
                             const std::vector<WalChainBreak>& breaks) {
  WalWindow window;
  auto consider = [&window](int64_t finished, int64_t reaches, const std::string& id) {
    if (!window.oldest_ms || finished < *window.oldest_ms) window.oldest_ms = finished;
    if (!window.recoverable_to_ms || reaches > *window.recoverable_to_ms) {
      window.recoverable_to_ms = reaches;
      window.recoverable_to_backup_id = id;
    }
  };
  std::string newest_base_start;  // position of the newest physical base's start
  uint32_t newest_base_timeline = 0;
  for (const auto& set : sets) {
    if (!set.usable()) continue;
    const Manifest& m = *set.manifest;
    std::optional<int64_t> finished = parse_rfc3339_utc(m.finished_at);
    if (!finished) continue;
    if (m.is_offline() && m.offline) {
      OfflineReach reach = offline_wal_reach(*m.offline, wal);
      consider(*finished, std::max(*finished, reach.later_wal ? reach.last_mtime_ms : 0), set.id);
      continue;
    }
    if (!m.is_physical()) {
      consider(*finished, *finished, set.id);
      continue;
    }
    if (!m.physical) continue;
    const PhysicalInfo& p = *m.physical;
    if (!is_valid_wal_segment_size(p.wal_segment_size)) continue;
    PhysicalWindow w;
    w.backup_id = set.id;
    w.finished_at = m.finished_at;
    w.start_wal_file = p.start_wal_file;
    w.reach = wal_reach(p.timeline, p.start_wal_file, p.stop_wal_file, p.wal_segment_size, wal);
    std::string end =
        w.reach.complete ? next_segment(w.reach.last_segment, p.wal_segment_size) : w.reach.missing;
    if (const WalChainBreak* b = break_at(breaks, p.timeline, end)) w.chain_broken_at = b->segment;
    if (w.reach.complete) {
      w.reaches_ms = std::max(*finished, w.reach.last_mtime_ms);
      consider(*finished, *w.reaches_ms, set.id);
    }
    if (p.timeline > newest_base_timeline ||
        (p.timeline == newest_base_timeline && position_of(p.start_wal_file) > newest_base_start)) {
      newest_base_timeline = p.timeline;
      newest_base_start = position_of(p.start_wal_file);
    }
    window.physical.push_back(std::move(w));
  }
  for (const auto& b : breaks) {
    uint32_t tl = timeline_of(b.segment);
    bool base_after = newest_base_timeline > tl ||
                      (newest_base_timeline == tl && newest_base_start > position_of(b.segment));
    if (!base_after && (window.broken_now.empty() || b.segment > window.broken_now)) {
      window.broken_now = b.segment;
      window.broken_now_mtime = b.mtime;
    }
  }
  return window;
}

}  // namespace ramsafe
