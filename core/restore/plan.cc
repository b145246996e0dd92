#include "core/restore/plan.h"

#include <algorithm>
#include <cctype>

#include "core/set/manifest.h"

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

RestorePlan plan_restore(const std::vector<SetEntry>& usable_newest_first,
                         const std::vector<StoredWalFile>& wal, std::optional<int64_t> target_ms) {
  RestorePlan plan;
  std::vector<std::pair<int64_t, SetEntry>> ranked;
  for (const auto& set : usable_newest_first) {
    const Manifest& m = *set.manifest;
    int64_t finished = parse_rfc3339_utc(m.finished_at).value_or(0);
    if (!m.is_physical()) {
      if (!target_ms) ranked.emplace_back(finished, set);
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
    ranked.emplace_back(std::max(finished, reach.last_mtime_ms), set);
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (auto& [point, set] : ranked) plan.order.push_back(std::move(set));
  return plan;
}

}  // namespace ramsafe
