// Grandfather-father-son retention (design §8) with the semantics of restic's `forget`:
// keep the N newest sets, and the newest set of each of the last N hours, days, ISO weeks,
// months and years that have a set, in a time zone's local wall time. Deciding is pure
// (no store access), so `prune --dry-run` shows exactly what `prune` would do.
//
// Unlike restic >= 0.17, the oldest set is not kept in addition when a rule finds fewer
// buckets than it may keep: a young store keeps what the rules select, nothing more.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/config/retention_policy.h"
#include "core/schedule/timezone.h"

namespace ramsafe {

struct RetentionCandidate {
  std::string id;
  int64_t finished_unix = 0;  // the manifest's finished_at, seconds since the epoch
  bool usable = true;         // false: the manifest is unusable; never counted by the policy
  bool physical = false;      // a physical base backup: decided by StorePolicy::physical
  bool offline = false;       // an offline snapshot: kept while no newer set exists
  // Why an unusable set is untrusted (core/set/trust.h); empty for a damaged one.
  std::string untrusted;
};

// What one store keeps. Logical sets and physical base backups are decided apart, each by
// its own policy, so that frequent logical backups never push out of the slots the base
// that the archived WAL after it needs (issue 16): the newest set of each kind is kept.
struct StorePolicy {
  RetentionPolicy logical;   // ramsafe.local_retention / ramsafe.drive_retention
  RetentionPolicy physical;  // ramsafe.local_base_retention / ramsafe.drive_base_retention
};

struct RetentionDecision {
  std::string id;
  bool keep = false;
  // When kept: every rule that keeps it ("last 1 of 3", "hourly 2026-11-22 04h (3 of 24)",
  // "daily 2026-11-22 (1 of 7)", "weekly 2026-W47 (1 of 4)", "monthly 2026-11 (1 of 12)",
  // "yearly 2026 (1 of 3)"), then the safety reasons ("newest complete set", the protect
  // reason, "unusable: left for inspection"). When deleted: one reason,
  // "not selected by daily=7 weekly=4".
  std::vector<std::string> reasons;

  std::string reason_text() const;  // reasons joined with "; "
};

// Applies the policy to the sets of one store and returns one decision per candidate:
// usable sets newest first (by finished_unix, ties by id descending, "...Z-10" after "...Z-9"),
// then unusable ones by id descending (as Store::list_sets). Buckets come from local wall time in
// zone, so the hour repeated by a fall-back is one hourly bucket. Whatever the policy says:
//  - the newest usable set is kept ("newest complete set");
//  - ids in protect are kept with the mapped reason (e.g. "not yet on Drive"); protected
//    usable sets still count for the rules like any other;
//  - unusable sets are kept ("unusable: left for inspection"): deleting damaged sets is the
//    operator's call; so are untrusted ones ("UNTRUSTED: ...; retention neither counts
//    nor deletes it"): a forged set must not count, and an unsigned one from before
//    ramsafe signed its sets may be the only copy of old data.
// A policy that keeps everything keeps every set with the reason "no retention policy".
// Throws Error(kInvalidArgument) when an id appears twice (deleting "the other one" would
// delete a kept set).
std::vector<RetentionDecision> decide_retention(
    std::vector<RetentionCandidate> candidates, const RetentionPolicy& policy, const TimeZone& zone,
    const std::map<std::string, std::string>& protect = {});

// One store's sets, each kind by its own policy: physical ones by policy.physical (their
// reasons start with "base backup: ", the newest is kept as "newest base backup"), offline
// snapshots apart (reasons start with "offline snapshot: "): one is kept while no newer
// usable set of any kind exists ("newest set"), and deleted once one does ("superseded by
// <id>"): they are large, and a planned reboot only needs the newest; a policy.logical that
// keeps everything keeps them too, and protect keeps them as it keeps any set. Every other
// set, and every unusable one, by policy.logical as decide_retention does. Decisions
// come in decide_retention's order over all candidates.
std::vector<RetentionDecision> decide_store_retention(
    const std::vector<RetentionCandidate>& candidates, const StorePolicy& policy,
    const TimeZone& zone, const std::map<std::string, std::string>& protect = {});

}  // namespace ramsafe
