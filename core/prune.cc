#include "core/prune.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <set>

#include "core/error.h"
#include "core/manifest.h"

namespace ramsafe {
namespace {

std::vector<RetentionCandidate> candidates_of(const std::vector<SetEntry>& sets) {
  std::vector<RetentionCandidate> out;
  for (const auto& s : sets) {
    RetentionCandidate c;
    c.id = s.id;
    c.usable = s.usable();
    if (s.usable()) c.finished_unix = parse_rfc3339_utc(s.manifest->finished_at).value_or(0) / 1000;
    out.push_back(c);
  }
  return out;
}

std::map<std::string, std::string> finish_times(const std::vector<SetEntry>& sets) {
  std::map<std::string, std::string> out;
  for (const auto& s : sets)
    if (s.usable()) out[s.id] = s.manifest->finished_at;
  return out;
}

std::string age_text(int64_t seconds) {
  if (seconds >= int64_t{2} * 86400) return std::to_string(seconds / 86400) + " days";
  if (seconds >= int64_t{2} * 3600) return std::to_string(seconds / 3600) + " hours";
  return std::to_string(std::max<int64_t>(seconds, 0) / 60) + " minutes";
}

// Unfinished uploads: the queue resumes the ones it holds; the rest are deleted once old.
void prune_unfinished(DriveStore& drive, const std::vector<UnfinishedUpload>& unfinished,
                      const std::set<std::string>& queued, bool queue_known,
                      const PruneRequest& request, std::vector<PruneEntry>& out) {
  const int64_t now = request.now_unix ? request.now_unix : static_cast<int64_t>(time(nullptr));
  for (const auto& u : unfinished) {
    PruneEntry e;
    e.store = "drive";
    e.backup_id = u.backup_id;
    const int64_t age = now - u.last_modified_unix;
    const std::string what = "unfinished upload (" + std::to_string(u.files) +
                             " files, no manifest), last written " + age_text(age) + " ago";
    if (queued.count(u.backup_id)) {
      e.reason = what + "; the next upload pass finishes it";
    } else if (u.last_modified_unix == 0 || age < request.abandoned_upload_seconds) {
      e.reason = what + (queue_known ? "; not queued, deleted once " : "; deleted once ") +
                 age_text(request.abandoned_upload_seconds) + " old";
    } else {
      e.keep = false;
      e.reason = what + (queue_known ? "; abandoned: its local set is not queued for upload"
                                     : "; abandoned");
      if (!request.dry_run) {
        if (request.cancel && request.cancel()) throw Error(Errc::kCancelled, "cancelled");
        try {
          drive.delete_set(u.backup_id);
          e.deleted = true;
        } catch (const Error& err) {
          if (err.code() == Errc::kCancelled) throw;
          e.error = err.what();
        }
      }
    }
    out.push_back(std::move(e));
  }
}

void decide_and_delete(const std::string& store_name, Store& store,
                       const std::vector<SetEntry>& sets, const RetentionPolicy& policy,
                       const PruneRequest& request,
                       const std::map<std::string, std::string>& protect,
                       std::vector<PruneEntry>& out) {
  auto finished = finish_times(sets);
  for (const auto& d : decide_retention(candidates_of(sets), policy, request.zone, protect)) {
    PruneEntry e;
    e.store = store_name;
    e.backup_id = d.id;
    e.finished_at = finished.count(d.id) ? finished[d.id] : "";
    e.keep = d.keep;
    e.reason = d.reason_text();
    if (!d.keep && !request.dry_run) {
      if (request.cancel && request.cancel()) throw Error(Errc::kCancelled, "cancelled");
      try {
        store.delete_set(d.id);
        e.deleted = true;
      } catch (const Error& err) {
        if (err.code() == Errc::kCancelled) throw;
        e.error = err.what();
      }
    }
    out.push_back(std::move(e));
  }
}

}  // namespace

std::vector<SetEntry> sets_to_upload(const std::vector<SetEntry>& local,
                                     const std::vector<SetEntry>& remote,
                                     const RetentionPolicy& drive_policy, const TimeZone& zone) {
  // Drive as it would be with every missing set added: the ones its policy keeps are due.
  std::set<std::string> remote_ids;
  std::vector<SetEntry> combined;
  for (const auto& r : remote)
    if (r.usable() && remote_ids.insert(r.id).second) combined.push_back(r);
  std::map<std::string, const SetEntry*> missing;
  for (const auto& l : local)
    if (l.usable() && remote_ids.count(l.id) == 0 && missing.emplace(l.id, &l).second)
      combined.push_back(l);
  std::vector<SetEntry> out;
  for (const auto& d : decide_retention(candidates_of(combined), drive_policy, zone)) {
    auto it = missing.find(d.id);
    if (it != missing.end() && d.keep) out.push_back(*it->second);
  }
  sort_newest_first(out);
  return out;
}

std::vector<PruneEntry> run_prune(const PruneRequest& request, LocalStore* local,
                                  DriveStore* drive) {
  std::vector<PruneEntry> out;
  std::vector<SetEntry> remote;
  std::vector<UnfinishedUpload> unfinished;
  std::set<std::string> queued;
  bool remote_known = false;
  std::string remote_error;
  if (drive) {
    try {
      remote = drive->list_sets();
      unfinished = drive->unfinished_uploads();
      remote_known = true;
    } catch (const Error& e) {
      if (e.code() == Errc::kCancelled) throw;
      remote_error = e.what();
    }
  }
  if (local) {
    UniqueFd lock;
    if (!request.dry_run) lock = local->lock("prune");
    std::vector<SetEntry> sets = local->list_sets();
    std::map<std::string, std::string> protect;
    if (drive && !remote_known) {
      for (const auto& s : sets) protect[s.id] = "Drive could not be listed";
    } else if (drive) {
      for (const auto& s : sets_to_upload(sets, remote, request.drive_policy, request.zone)) {
        protect[s.id] = "not yet on Drive";
        queued.insert(s.id);
      }
    }
    decide_and_delete("local", *local, sets, request.local_policy, request, protect, out);
  }
  if (drive && remote_known) {
    decide_and_delete("drive", *drive, remote, request.drive_policy, request, {}, out);
    prune_unfinished(*drive, unfinished, queued, local != nullptr, request, out);
  } else if (drive) {
    PruneEntry e;
    e.store = "drive";
    e.error = remote_error;
    e.reason = "Drive could not be listed: nothing deleted there, every local set kept";
    out.push_back(std::move(e));
  }
  return out;
}

PruneRequest prune_request_for(const Settings& settings, const TimeZone& zone) {
  PruneRequest r;
  r.local_policy = RetentionPolicy::parse(settings.local_retention);
  r.drive_policy = RetentionPolicy::parse(settings.drive_retention);
  r.zone = zone;
  return r;
}

PruneRequest prune_request_for(const Settings& settings) {
  return prune_request_for(settings, settings.timezone.empty() ? TimeZone::system_default()
                                                               : TimeZone::load(settings.timezone));
}

}  // namespace ramsafe
