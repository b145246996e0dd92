#include "core/retention/prune.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <functional>
#include <map>
#include <set>

#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/unique_fd.h"
#include "core/set/manifest.h"
#include "core/wal/wal_window.h"

namespace ramsafe {
namespace {

std::vector<RetentionCandidate> candidates_of(const std::vector<SetEntry>& sets) {
  std::vector<RetentionCandidate> out;
  for (const auto& s : sets) {
    RetentionCandidate c;
    c.id = s.id;
    c.usable = s.usable();
    if (s.untrusted()) c.untrusted = s.problem;
    if (s.usable()) {
      c.finished_unix = parse_rfc3339_utc(s.manifest->finished_at).value_or(0) / 1000;
      c.physical = s.manifest->is_physical();
      c.offline = s.manifest->is_offline();
    }
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

// What a store holds besides its sets, for the recoverable-window guard.
struct StoreWal {
  std::vector<StoredWalFile> files;
  std::vector<WalChainBreak> breaks;
};

void decide_and_delete(const std::string& store_name, Store& store,
                       const std::vector<SetEntry>& sets, const StorePolicy& policy,
                       const PruneRequest& request,
                       const std::map<std::string, std::string>& protect, const StoreWal& wal,
                       std::vector<PruneEntry>& out) {
  auto finished = finish_times(sets);
  std::map<std::string, std::string> kinds;
  for (const auto& s : sets)
    if (s.usable()) kinds[s.id] = s.manifest->kind;
  std::vector<RetentionDecision> decisions =
      decide_store_retention(candidates_of(sets), policy, request.zone, protect);
  WindowGuard guard = keep_recoverable_point(decisions, sets, wal.files, wal.breaks);
  for (const auto& d : decisions) {
    PruneEntry e;
    e.store = store_name;
    e.backup_id = d.id;
    e.set_kind = kinds.count(d.id) ? kinds[d.id] : "";
    e.finished_at = finished.count(d.id) ? finished[d.id] : "";
    e.keep = d.keep;
    e.reason = d.reason_text();
    if (d.id == guard.kept_id) e.warning = store_name + ": " + guard.warning;
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

// Makes the local WAL deletions durable (one fsync per timeline directory).
void fsync_wal_dirs(const std::string& root) {
  std::string top = wal_archive_dir(root);
  if (!is_directory(top)) return;
  for (const auto& timeline : list_dir(top)) {
    std::string dir = join_path(top, timeline);
    if (is_directory(dir)) fsync_path(dir);
  }
}

// The physical sets this store keeps after the decisions in out (entries of store_name).
std::vector<WalBase> kept_bases(const std::string& store_name, const std::vector<SetEntry>& sets,
                                const std::vector<PruneEntry>& out) {
  std::set<std::string> kept;
  for (const auto& e : out)
    if (e.store == store_name && !e.wal && e.keep) kept.insert(e.backup_id);
  std::vector<WalBase> bases;
  for (const auto& s : sets)
    if (s.usable() && s.manifest->is_physical() && s.manifest->physical && kept.count(s.id))
      bases.push_back(
          {s.id, s.manifest->physical->start_wal_file, s.manifest->physical->wal_segment_size});
    else if (s.usable() && s.manifest->is_offline() && s.manifest->offline && kept.count(s.id))
      // A kept offline snapshot is a base too: the WAL archived after it replays on it.
      bases.push_back(
          {s.id, s.manifest->offline->redo_wal_file, s.manifest->offline->wal_segment_size});
  return bases;
}

// Applies a WAL decision: one entry for the store; delete_one removes one file.
void prune_wal(const std::string& store_name, const WalRetention& decision,
               const PruneRequest& request,
               const std::function<void(const StoredWalFile&)>& delete_one,
               std::vector<PruneEntry>& out) {
  PruneEntry e;
  e.store = store_name;
  e.wal = true;
  e.keep = decision.remove.empty();
  e.reason = decision.summary();
  e.wal_files = static_cast<int>(decision.remove.size());
  e.wal_bytes = decision.remove_bytes;
  if (!decision.remove.empty()) {
    e.wal_first = decision.remove.front().file.name;
    e.wal_last = decision.remove.back().file.name;
  }
  if (!e.keep && !request.dry_run) {
    int done = 0;
    for (const auto& f : decision.remove) {
      if (request.cancel && request.cancel()) throw Error(Errc::kCancelled, "cancelled");
      try {
        delete_one(f);
        ++done;
      } catch (const Error& err) {
        if (err.code() == Errc::kCancelled) throw;
        e.error = "deleted " + std::to_string(done) + " of " +
                  std::to_string(decision.remove.size()) + "; " + f.file.name + ": " + err.what();
        break;
      }
    }
    e.deleted = e.error.empty();
  }
  out.push_back(std::move(e));
}

// Removes a local WAL file: the data file first (its presence means "archived"), then the
// checksum file.
void delete_local_wal(const std::string& root, const StoredWalFile& f) {
  std::string data = wal_stored_path(root, f.file.name);
  std::string sum = data.substr(0, data.size() - std::string(".zst.age").size()) + ".sha256";
  if (::unlink(data.c_str()) != 0 && errno != ENOENT) throw_errno("cannot delete " + data);
  if (::unlink(sum.c_str()) != 0 && errno != ENOENT) throw_errno("cannot delete " + sum);
}

// A dropped-segment marker before the oldest kept base's first WAL file no longer breaks
// any chain a kept base could replay; it goes with the WAL around it. Best effort: a marker
// left behind only shows up in `ramsafe list` and verify as an old break.
void delete_stale_chain_breaks(const std::string& root, const std::string& cutoff_file) {
  if (cutoff_file.size() != 24) return;
  for (const auto& b : list_wal_chain_breaks(root))
    if (b.segment.size() == 24 && b.segment.compare(8, 16, cutoff_file, 8, 16) < 0)
      ::unlink(wal_chain_break_path(root, b.segment).c_str());
}

}  // namespace

WindowGuard keep_recoverable_point(std::vector<RetentionDecision>& decisions,
                                   const std::vector<SetEntry>& sets,
                                   const std::vector<StoredWalFile>& wal,
                                   const std::vector<WalChainBreak>& breaks) {
  WalWindow before = compute_wal_window(sets, wal, breaks);
  if (!before.recoverable_to_ms) return {};
  std::set<std::string> kept;
  for (const auto& d : decisions)
    if (d.keep) kept.insert(d.id);
  std::vector<SetEntry> kept_sets;
  for (const auto& s : sets)
    if (kept.count(s.id)) kept_sets.push_back(s);
  WalWindow after = compute_wal_window(kept_sets, wal, breaks);
  if (after.recoverable_to_ms && *after.recoverable_to_ms >= *before.recoverable_to_ms) return {};

  const std::string point = format_rfc3339_utc(*before.recoverable_to_ms);
  WindowGuard guard;
  for (auto& d : decisions) {
    if (d.id != before.recoverable_to_backup_id || d.keep) continue;
    d.keep = true;
    d.reasons.back() += ", but kept: the latest recoverable point (" + point + ") depends on it";
    guard.kept_id = d.id;
    guard.warning = "retention would have moved the latest recoverable point back from " + point +
                    " to " +
                    (after.recoverable_to_ms ? format_rfc3339_utc(*after.recoverable_to_ms)
                                             : std::string("nothing")) +
                    " by deleting " + d.id + " (" + d.reason_text() +
                    "); it is kept. A newer base backup whose WAL is complete lets it go.";
  }
  return guard;
}

std::vector<StoredWalFile> wal_to_upload(const std::vector<StoredWalFile>& local,
                                         const std::vector<StoredWalFile>& remote) {
  std::map<std::string, uint64_t> on_drive;
  for (const auto& r : remote) on_drive.emplace(r.file.name, r.stored_bytes);
  std::vector<StoredWalFile> out;
  for (const auto& l : local) {
    auto it = on_drive.find(l.file.name);
    if (it == on_drive.end() || it->second != l.stored_bytes) out.push_back(l);
  }
  return out;
}

std::vector<SetEntry> sets_to_upload(const std::vector<SetEntry>& local,
                                     const std::vector<SetEntry>& remote,
                                     const StorePolicy& drive_policy, const TimeZone& zone) {
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
  for (const auto& d : decide_store_retention(candidates_of(combined), drive_policy, zone)) {
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
  std::vector<RemoteWalFile> remote_wal;
  std::vector<UnfinishedUpload> unfinished;
  std::set<std::string> queued;
  bool remote_known = false;
  std::string remote_error;
  if (drive) {
    try {
      remote = drive->list_sets();
      unfinished = drive->unfinished_uploads();
      remote_wal = drive->list_wal();
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
    const std::string& root = local->root();
    StoreWal wal{list_wal_files(root), list_wal_chain_breaks(root)};
    decide_and_delete("local", *local, sets, request.local_policy, request, protect, wal, out);

    std::map<std::string, std::string> wal_protect;
    if (drive && !remote_known) {
      for (const auto& f : wal.files) wal_protect[f.file.name] = "kept: Drive could not be listed";
    } else if (drive) {
      for (const auto& f : wal_to_upload(wal.files, DriveStore::stored_of(remote_wal)))
        wal_protect[f.file.name] = "kept: not yet on Drive";
    }
    WalRetention decision =
        decide_wal_retention(wal.files, kept_bases("local", sets, out), wal_protect);
    prune_wal(
        "local", decision, request, [&root](const StoredWalFile& f) { delete_local_wal(root, f); },
        out);
    if (!request.dry_run) {
      delete_stale_chain_breaks(root, decision.cutoff_file);
      fsync_wal_dirs(root);
    }
  }
  if (drive && remote_known && request.prune_drive) {
    StoreWal wal{DriveStore::stored_of(remote_wal), {}};
    decide_and_delete("drive", *drive, remote, request.drive_policy, request, {}, wal, out);
    prune_unfinished(*drive, unfinished, queued, local != nullptr, request, out);
    std::map<std::string, const RemoteWalFile*> by_name;
    for (const auto& r : remote_wal) by_name[r.wal.file.name] = &r;
    prune_wal(
        "drive", decide_wal_retention(wal.files, kept_bases("drive", remote, out)), request,
        [&](const StoredWalFile& f) {
          drive->delete_wal_file(*by_name[f.file.name], request.cancel);
        },
        out);
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
  r.local_policy = {RetentionPolicy::parse(settings.local_retention),
                    RetentionPolicy::parse(settings.local_base_retention)};
  r.drive_policy = {RetentionPolicy::parse(settings.drive_retention),
                    RetentionPolicy::parse(settings.drive_base_retention)};
  r.zone = zone;
  return r;
}

PruneRequest prune_request_for(const Settings& settings) {
  return prune_request_for(settings, settings.timezone.empty() ? TimeZone::system_default()
                                                               : TimeZone::load(settings.timezone));
}

}  // namespace ramsafe
