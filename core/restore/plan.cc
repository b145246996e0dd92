#include "core/restore/plan.h"

#include <algorithm>
#include <cctype>

#include "core/set/manifest.h"
#include "core/wal/wal_window.h"

namespace ramsafe {

std::optional<int64_t> parse_target_time(const std::string& text) {
  // YYYY-MM-DD[ T]HH:MM:SS[.f+](Z|[+-]HH[[:]MM])
  if (text.size() < 20) return std::nullopt;
  std::string base = text.substr(0, 19);
  if (base[10] != ' ' && base[10] != 'T') return std::nullopt;
  base[10] = 'T';
  auto seconds = parse_rfc3339_utc(base + "Z");
  if (!seconds) return std::nullopt;
  size_t pos = 19;
  int64_t millis = 0;
  if (text[pos] == '.') {
    size_t digits = 0;
    int64_t scale = 100;
    for (++pos; pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])); ++pos) {
      millis += (text[pos] - '0') * scale;
      scale /= 10;
      digits++;
    }
    if (digits == 0) return std::nullopt;
  }
  if (pos < text.size() && text[pos] == ' ') ++pos;
  if (pos >= text.size()) return std::nullopt;  // no offset
  std::string zone = text.substr(pos);
  int64_t offset_minutes = 0;
  if (zone != "Z" && zone != "UTC") {
    if (zone[0] != '+' && zone[0] != '-') return std::nullopt;
    std::string digits;
    for (size_t i = 1; i < zone.size(); ++i) {
      if (zone[i] == ':' && i == 3) continue;
      if (!std::isdigit(static_cast<unsigned char>(zone[i]))) return std::nullopt;
      digits += zone[i];
    }
    if (digits.size() != 2 && digits.size() != 4) return std::nullopt;
    int hours = std::stoi(digits.substr(0, 2));
    int minutes = digits.size() == 4 ? std::stoi(digits.substr(2)) : 0;
    if (hours > 15 || minutes > 59) return std::nullopt;
    offset_minutes = int64_t{hours * 60 + minutes} * (zone[0] == '-' ? -1 : 1);
  }
  return *seconds + millis - offset_minutes * 60000;
}

std::string format_target_time(int64_t unix_millis) {
  std::string iso = format_rfc3339_utc(unix_millis);  // 2026-11-26T10:00:00.000Z
  iso[10] = ' ';
  iso.pop_back();
  return iso + "+00";
}

namespace {

// How fast a set restores, for sets that reach the same point, fastest first: extraction
// alone (an offline snapshot without later WAL), then extraction and replay (the less WAL
// the faster), then initdb and pg_restore (a logical set).
struct Speed {
  int method = 0;       // 0 extraction, 1 extraction + replay, 2 logical
  size_t segments = 0;  // WAL segments to replay
  bool operator<(const Speed& o) const {
    return method != o.method ? method < o.method : segments < o.segments;
  }
};

struct Ranked {
  int64_t point = 0;
  Speed speed;
  SetEntry set;
  std::string how;
};

}  // namespace

RestorePlan plan_restore(const std::vector<SetEntry>& usable_newest_first,
                         const std::vector<StoredWalFile>& wal, std::optional<int64_t> target_ms) {
  RestorePlan plan;
  std::vector<Ranked> ranked;
  for (const auto& set : usable_newest_first) {
    const Manifest& m = *set.manifest;
    int64_t finished = parse_rfc3339_utc(m.finished_at).value_or(0);
    if (m.is_offline()) {
      if (!m.offline) {
        plan.skipped.emplace_back(set, "its manifest lacks the checkpoint it was taken at");
        continue;
      }
      if (target_ms && finished > *target_ms) continue;
      OfflineReach reach = offline_wal_reach(*m.offline, wal);
      if (target_ms && !reach.later_wal) continue;  // nothing to replay up to the target
      if (reach.later_wal) {
        ranked.push_back({std::max(finished, reach.last_mtime_ms),
                          {1, reach.segments},
                          set,
                          "offline snapshot (finished " + m.finished_at +
                              ") + the WAL archived after its checkpoint " +
                              m.offline->checkpoint_lsn + ", through " + reach.last_segment +
                              " (archived " + format_rfc3339_utc(reach.last_mtime_ms) +
                              "): extraction, then WAL replay"});
      } else {
        ranked.push_back({finished,
                          {0, 0},
                          set,
                          "offline snapshot finished " + m.finished_at +
                              "; no WAL was archived after its checkpoint " +
                              m.offline->checkpoint_lsn +
                              ": extraction only, the server starts without recovery"});
      }
      continue;
    }
    if (!m.is_physical()) {
      if (!target_ms)
        ranked.push_back({finished,
                          {2, 0},
                          set,
                          m.kind + " backup finished " + m.finished_at +
                              ": initdb and pg_restore of every database"});
      continue;
    }
    if (target_ms && finished > *target_ms) continue;
    if (!m.physical) {
      plan.skipped.emplace_back(set, "its manifest lacks the WAL start and stop points");
      continue;
    }
    const PhysicalInfo& p = *m.physical;
    WalReach reach =
        wal_reach(p.timeline, p.start_wal_file, p.stop_wal_file, p.wal_segment_size, wal);
    if (!reach.complete) {
      plan.skipped.emplace_back(set, "its WAL file " + reach.missing +
                                         " is not in the WAL archive (a base backup needs the "
                                         "WAL from " +
                                         p.start_wal_file + " through " + p.stop_wal_file + ")");
      continue;
    }
    ranked.push_back({std::max(finished, reach.last_mtime_ms),
                      {1, reach.segments},
                      set,
                      "physical base backup (finished " + m.finished_at +
                          ") + archived WAL through " + reach.last_segment + " (archived " +
                          format_rfc3339_utc(reach.last_mtime_ms) +
                          "): extraction, then WAL replay"});
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
    return a.point != b.point ? a.point > b.point : a.speed < b.speed;
  });
  for (size_t i = 0; i < ranked.size(); ++i) {
    std::string why = ranked[i].how + "; reaches " + format_rfc3339_utc(ranked[i].point);
    if (i + 1 < ranked.size()) {
      const Ranked& next = ranked[i + 1];
      why += next.point == ranked[i].point
                 ? ", as " + next.set.id + " (" + next.set.manifest->kind +
                       ") does, which restores more slowly"
                 : ", later than any other set (next: " + next.set.id + ", " +
                       next.set.manifest->kind + ", reaches " + format_rfc3339_utc(next.point) +
                       ")";
    } else if (i == 0) {
      why += ", the only usable set";
    }
    plan.order.push_back(std::move(ranked[i].set));
    plan.reasons.push_back(std::move(why));
  }
  return plan;
}

}  // namespace ramsafe
