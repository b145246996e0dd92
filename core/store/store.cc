#include "core/store/store.h"

#include <algorithm>

#include "core/error.h"

namespace ramsafe {

std::string SetEntry::problem_text() const {
  return untrusted() ? "UNTRUSTED: " + problem : problem;
}

SetEntry set_entry_from(const std::string& id, const std::string& store, ManifestCheck check) {
  SetEntry entry;
  entry.id = id;
  entry.store = store;
  entry.trust = check.trust;
  entry.key_id = check.key_id;
  entry.problem = printable(check.problem);  // it may quote what a store holds
  if (check.trust == Trust::kTrusted)
    entry.manifest = std::move(check.manifest);
  else if (check.trust == Trust::kUnsigned)
    entry.unsigned_manifest = std::move(check.manifest);
  return entry;
}

void sort_newest_first(std::vector<SetEntry>& sets) {
  std::stable_sort(sets.begin(), sets.end(), [](const SetEntry& a, const SetEntry& b) {
    if (a.usable() != b.usable()) return a.usable();
    if (a.usable()) {
      auto ta = parse_rfc3339_utc(a.manifest->finished_at).value_or(0);
      auto tb = parse_rfc3339_utc(b.manifest->finished_at).value_or(0);
      if (ta != tb) return ta > tb;
    }
    return a.id > b.id;
  });
}

std::optional<SeenBackup> newest_by_sequence(const std::vector<SetEntry>& sets) {
  const Manifest* newest = nullptr;
  for (const auto& s : sets)
    if (s.usable() && (newest == nullptr || s.manifest->sequence > newest->sequence))
      newest = &*s.manifest;
  if (newest == nullptr) return std::nullopt;
  return seen_backup_of(*newest);
}

}  // namespace ramsafe
