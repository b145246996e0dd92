#include "core/retention/retention.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <utility>

#include "core/error.h"

namespace ramsafe {
namespace {

std::string two_digits(int value) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d", value);
  return buf;
}

std::string year_text(int64_t year) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld", static_cast<long long>(year));
  return buf;
}

// ISO 8601 week of a date: weeks start on Monday and belong to the year of their Thursday,
// so 2027-01-01 (a Friday) is in 2026-W53.
std::string iso_week_text(const CivilTime& date) {
  const int64_t days = days_from_civil(date.year, date.month, date.day);
  const int weekday = weekday_from_days(days);  // 0 = Sunday
  const int64_t thursday = days - (weekday == 0 ? 7 : weekday) + 4;
  const int64_t iso_year = civil_from_days(thursday).year;
  const int64_t week = (thursday - days_from_civil(iso_year, 1, 1)) / 7 + 1;
  return year_text(iso_year) + "-W" + two_digits(static_cast<int>(week));
}

std::string date_text(const CivilTime& local) {
  return year_text(local.year) + "-" + two_digits(local.month) + "-" + two_digits(local.day);
}

// A time-bucket rule: the label of a local time's bucket doubles as the bucket's identity.
struct BucketRule {
  const char* name;
  int count;
  std::string (*bucket)(const CivilTime& local);
  int kept = 0;
  std::string last_bucket;
};

std::string hour_bucket(const CivilTime& local) {
  return date_text(local) + " " + two_digits(local.hour) + "h";
}
std::string day_bucket(const CivilTime& local) {
  return date_text(local);
}
std::string week_bucket(const CivilTime& local) {
  return iso_week_text(local);
}
std::string month_bucket(const CivilTime& local) {
  return year_text(local.year) + "-" + two_digits(local.month);
}
std::string year_bucket(const CivilTime& local) {
  return year_text(local.year);
}

// Whether backup id a sorts after b: "20261122T031500Z-10" came after "...Z-9" and "...Z"
// (backup_id_for's uniqueness suffixes), so a longer id with the same timestamp is later.
bool later_id(const std::string& a, const std::string& b) {
  constexpr size_t kStampLength = 16;  // 20261122T031500Z
  if (a.size() != b.size() && a.compare(0, kStampLength, b, 0, kStampLength) == 0) {
    return a.size() > b.size();
  }
  return a > b;
}

// Usable sets newest first (ties by id, newest first), then the unusable ones by id
// descending, as their finish times are not to be trusted.
bool comes_first(const RetentionCandidate& a, const RetentionCandidate& b) {
  if (a.usable != b.usable) return a.usable;
  if (a.usable && a.finished_unix != b.finished_unix) return a.finished_unix > b.finished_unix;
  return later_id(a.id, b.id);
}

}  // namespace

std::string RetentionDecision::reason_text() const {
  std::string out;
  for (const std::string& reason : reasons) {
    if (!out.empty()) out += "; ";
    out += reason;
  }
  return out;
}

namespace {

// How one group of sets is labelled in the reasons.
struct Group {
  std::string label;   // put before the first reason ("base backup: ")
  std::string newest;  // the reason of the group's newest usable set
};

void check_unique_ids(const std::vector<RetentionCandidate>& candidates) {
  std::set<std::string> ids;
  for (const RetentionCandidate& candidate : candidates) {
    if (!ids.insert(candidate.id).second) {
      throw Error(Errc::kInvalidArgument,
                  "backup set " + candidate.id + " is listed twice for retention");
    }
  }
}

std::vector<RetentionDecision> decide_group(std::vector<RetentionCandidate> candidates,
                                            const RetentionPolicy& policy, const TimeZone& zone,
                                            const std::map<std::string, std::string>& protect,
                                            const Group& group);

}  // namespace

std::vector<RetentionDecision> decide_retention(std::vector<RetentionCandidate> candidates,
                                                const RetentionPolicy& policy, const TimeZone& zone,
                                                const std::map<std::string, std::string>& protect) {
  return decide_group(std::move(candidates), policy, zone, protect, {"", "newest complete set"});
}

namespace {

// An offline snapshot: kept while it is the newest usable set (ordered: every candidate,
// comes_first order), deleted once a newer one supersedes it.
RetentionDecision decide_offline(const RetentionCandidate& candidate,
                                 const std::vector<RetentionCandidate>& ordered,
                                 const RetentionPolicy& policy,
                                 const std::map<std::string, std::string>& protect) {
  RetentionDecision d{candidate.id, true, {}};
  const RetentionCandidate* newer = nullptr;
  for (const RetentionCandidate& c : ordered) {  // the next newer usable set
    if (c.id == candidate.id) break;
    if (c.usable) newer = &c;
  }
  if (!newer) {
    d.reasons.push_back("offline snapshot: newest set");
  } else if (policy.keeps_everything()) {
    d.reasons.push_back("offline snapshot: no retention policy");
  } else {
    d.keep = false;
    d.reasons.push_back("offline snapshot: superseded by " + newer->id);
  }
  auto protected_set = protect.find(candidate.id);
  if (protected_set != protect.end()) {
    d.keep = true;
    d.reasons.push_back(protected_set->second.empty() ? "protected" : protected_set->second);
  }
  return d;
}

}  // namespace

std::vector<RetentionDecision> decide_store_retention(
    const std::vector<RetentionCandidate>& candidates, const StorePolicy& policy,
    const TimeZone& zone, const std::map<std::string, std::string>& protect) {
  check_unique_ids(candidates);
  // The place of each set in the order over all of them, for the merged result.
  std::vector<RetentionCandidate> ordered = candidates;
  std::sort(ordered.begin(), ordered.end(), comes_first);
  std::map<std::string, size_t> position;
  for (size_t i = 0; i < ordered.size(); ++i) position[ordered[i].id] = i;

  std::vector<RetentionCandidate> logical;
  std::vector<RetentionCandidate> physical;
  std::vector<RetentionDecision> decisions;
  for (const RetentionCandidate& candidate : candidates) {
    if (candidate.usable && candidate.offline) {
      decisions.push_back(decide_offline(candidate, ordered, policy.logical, protect));
      continue;
    }
    (candidate.usable && candidate.physical ? physical : logical).push_back(candidate);
  }
  for (RetentionDecision& d :
       decide_group(std::move(logical), policy.logical, zone, protect, {"", "newest complete set"}))
    decisions.push_back(std::move(d));
  for (RetentionDecision& d : decide_group(std::move(physical), policy.physical, zone, protect,
                                           {"base backup: ", "newest base backup"}))
    decisions.push_back(std::move(d));
  std::sort(decisions.begin(), decisions.end(),
            [&position](const RetentionDecision& a, const RetentionDecision& b) {
              return position[a.id] < position[b.id];
            });
  return decisions;
}

namespace {

std::vector<RetentionDecision> decide_group(std::vector<RetentionCandidate> candidates,
                                            const RetentionPolicy& policy, const TimeZone& zone,
                                            const std::map<std::string, std::string>& protect,
                                            const Group& group) {
  std::sort(candidates.begin(), candidates.end(), comes_first);
  check_unique_ids(candidates);

  std::vector<RetentionDecision> decisions;
  decisions.reserve(candidates.size());
  if (policy.keeps_everything()) {
    for (const RetentionCandidate& candidate : candidates) {
      decisions.push_back({candidate.id, true, {group.label + "no retention policy"}});
    }
    return decisions;
  }

  BucketRule rules[] = {
      {"hourly", policy.keep_hourly, hour_bucket, 0, {}},
      {"daily", policy.keep_daily, day_bucket, 0, {}},
      {"weekly", policy.keep_weekly, week_bucket, 0, {}},
      {"monthly", policy.keep_monthly, month_bucket, 0, {}},
      {"yearly", policy.keep_yearly, year_bucket, 0, {}},
  };
  const std::string not_selected = "not selected by " + policy.to_string();
  int usable_seen = 0;
  for (const RetentionCandidate& candidate : candidates) {
    RetentionDecision decision;
    decision.id = candidate.id;
    if (candidate.usable) {
      ++usable_seen;
      if (usable_seen <= policy.keep_last) {
        decision.reasons.push_back("last " + std::to_string(usable_seen) + " of " +
                                   std::to_string(policy.keep_last));
      }
      const LocalTime local = zone.to_local(candidate.finished_unix);
      for (BucketRule& rule : rules) {
        if (rule.kept >= rule.count) continue;
        std::string bucket = rule.bucket(local);
        // Newest first, so the first set seen in a bucket is the bucket's newest.
        if (bucket == rule.last_bucket) continue;
        ++rule.kept;
        decision.reasons.push_back(std::string(rule.name) + " " + bucket + " (" +
                                   std::to_string(rule.kept) + " of " + std::to_string(rule.count) +
                                   ")");
        rule.last_bucket = std::move(bucket);
      }
      if (usable_seen == 1) decision.reasons.push_back(group.newest);
    }
    auto protected_set = protect.find(candidate.id);
    if (protected_set != protect.end()) {
      decision.reasons.push_back(protected_set->second.empty() ? "protected"
                                                               : protected_set->second);
    }
    if (!candidate.usable)
      decision.reasons.push_back(candidate.untrusted.empty()
                                     ? "unusable: left for inspection"
                                     : "UNTRUSTED: " + candidate.untrusted +
                                           "; retention neither counts nor deletes it");
    decision.keep = !decision.reasons.empty();
    if (!decision.keep) decision.reasons.push_back(not_selected);
    decision.reasons.front().insert(0, group.label);
    decisions.push_back(std::move(decision));
  }
  return decisions;
}

}  // namespace

}  // namespace ramsafe
