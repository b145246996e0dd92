#include "core/retention/retention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/schedule/timezone.h"
#include "core/set/manifest.h"
#include "test/unit/test_util.h"

namespace ramsafe {
namespace {

using test::at;
using test::config_error;

// ---------------------------------------------------------------------------------------
// Policy text

struct ParseCase {
  const char* text;
  const char* canonical;  // to_string() of the parsed policy
};

TEST(RetentionPolicyTest, ParsesValidForms) {
  const std::vector<ParseCase> cases = {
      {"", ""},
      {"   ", ""},
      {" , ,", ""},
      {"last=0", ""},
      {"daily=0 weekly=0", ""},
      {"last=3", "last=3"},
      {"daily=7 weekly=4 monthly=12", "daily=7 weekly=4 monthly=12"},
      {"Yearly=3,hourly=24, LAST=1", "last=1 hourly=24 yearly=3"},
      {"\tdaily=7\n", "daily=7"},
      {"monthly=12,,weekly=4", "weekly=4 monthly=12"},
      {"monthly=007", "monthly=7"},
      {"hourly=100000", "hourly=100000"},
      {"yearly=1 monthly=2 weekly=3 daily=4 hourly=5 last=6",
       "last=6 hourly=5 daily=4 weekly=3 monthly=2 yearly=1"},
  };
  for (const ParseCase& c : cases) {
    SCOPED_TRACE(test::printable_param(c.text));
    const RetentionPolicy policy = RetentionPolicy::parse(c.text);
    EXPECT_EQ(policy.to_string(), c.canonical);
    EXPECT_EQ(policy.keeps_everything(), std::string(c.canonical).empty());
    // The canonical text parses back to the same policy.
    EXPECT_EQ(RetentionPolicy::parse(policy.to_string()).to_string(), c.canonical);
  }
}

TEST(RetentionPolicyTest, ParsesIntoFields) {
  const RetentionPolicy policy =
      RetentionPolicy::parse("last=1 hourly=2 daily=3 weekly=4 monthly=5 yearly=6");
  EXPECT_EQ(policy.keep_last, 1);
  EXPECT_EQ(policy.keep_hourly, 2);
  EXPECT_EQ(policy.keep_daily, 3);
  EXPECT_EQ(policy.keep_weekly, 4);
  EXPECT_EQ(policy.keep_monthly, 5);
  EXPECT_EQ(policy.keep_yearly, 6);
  EXPECT_TRUE(RetentionPolicy().keeps_everything());
  EXPECT_EQ(RetentionPolicy().to_string(), "");
}

struct BadPolicyCase {
  const char* text;
  const char* message;
};

TEST(RetentionPolicyTest, RejectsInvalidForms) {
  const std::string names = " (expected last, hourly, daily, weekly, monthly or yearly)";
  const std::vector<BadPolicyCase> cases = {
      {"dayly=7", "unknown rule \"dayly\" in \"dayly=7\""},
      {"daily=7 Weeks=4", "unknown rule \"Weeks\" in \"Weeks=4\""},
      {"keep-daily=7", "unknown rule \"keep-daily\" in \"keep-daily=7\""},
      {"keep_last=3", "unknown rule \"keep_last\" in \"keep_last=3\""},
      {"hourly=x", "\"hourly=x\": expected a whole number"},
      {"hourly=", "\"hourly=\": expected a whole number"},
      {"hourly=-1", "\"hourly=-1\": expected a whole number"},
      {"hourly=+1", "\"hourly=+1\": expected a whole number"},
      {"hourly=1.5", "\"hourly=1.5\": expected a whole number"},
      {"hourly=1e3", "\"hourly=1e3\": expected a whole number"},
      {"daily==7", "\"daily==7\": expected a whole number"},
      {"daily=7;weekly=4", "\"daily=7;weekly=4\": expected a whole number"},
      {"daily=\x01", "\"daily=\\x01\": expected a whole number"},
      {"hourly=100001", "\"hourly=100001\": expected at most 100000"},
      {"hourly=99999999999999999999999",
       "\"hourly=99999999999999999999999\": expected at most 100000"},
      {"daily=7 daily=3", "\"daily\" given twice"},
      {"daily=7,DAILY=7", "\"daily\" given twice"},
      {"last=0 last=0", "\"last\" given twice"},
      {"daily", "\"daily\": expected name=N, e.g. daily=7"},
      {"daily = 7", "\"daily\": expected name=N, e.g. daily=7"},
      {"=7", "\"=7\": expected name=N, e.g. daily=7"},
      {"daily=7 7", "\"7\": expected name=N, e.g. daily=7"},
  };
  for (const BadPolicyCase& c : cases) {
    SCOPED_TRACE(test::printable_param(c.text));
    std::string expected = c.message;
    if (expected.compare(0, 12, "unknown rule") == 0) expected += names;
    EXPECT_EQ(config_error([&] { RetentionPolicy::parse(c.text); }), expected);
  }
}

// ---------------------------------------------------------------------------------------
// A year of hourly backups

// Outages, chosen as whole days in Berlin (UTC+1 in March, UTC+2 in August): no sets on
// 10-12 March 2026, none in ISO week 2026-W33 (Monday 10 to Sunday 16 August).
bool in_outage(int64_t t) {
  return (t >= at("2026-03-09 23:00") && t < at("2026-03-12 23:00")) ||
         (t >= at("2026-08-09 22:00") && t < at("2026-08-16 22:00"));
}

// One set per hour of 2026, finished at hh:15 UTC, up to last_utc, less the outages.
std::vector<RetentionCandidate> hourly_sets_until(const std::string& last_utc) {
  std::vector<RetentionCandidate> sets;
  for (int64_t t = at("2026-01-01 00:15"); t <= at(last_utc); t += 3600) {
    if (!in_outage(t)) sets.push_back({backup_id_for(t), t, true});
  }
  return sets;
}

const char* const kEndOfYear = "2026-12-31 23:15";  // Berlin: 2027-01-01 00:15 CET

// Ids of the sets finished at hh:15 UTC on day ("20261231"), hours from down to to.
std::vector<std::string> utc_hours(const std::string& day, int from, int to) {
  std::vector<std::string> ids;
  for (int hour = from; hour >= to; --hour) {
    ids.push_back(day + "T" + (hour < 10 ? "0" : "") + std::to_string(hour) + "1500Z");
  }
  return ids;
}

std::vector<std::string> concat(const std::vector<std::vector<std::string>>& parts) {
  std::vector<std::string> out;
  for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

std::vector<std::string> kept_ids(const std::vector<RetentionDecision>& decisions) {
  std::vector<std::string> ids;
  for (const RetentionDecision& decision : decisions) {
    if (decision.keep) ids.push_back(decision.id);
  }
  return ids;
}

const RetentionDecision& decision_for(const std::vector<RetentionDecision>& decisions,
                                      const std::string& id) {
  static const RetentionDecision kMissing{"(missing)", false, {"(missing)"}};
  for (const RetentionDecision& decision : decisions) {
    if (decision.id == id) return decision;
  }
  ADD_FAILURE() << "no decision for " << id;
  return kMissing;
}

std::vector<RetentionDecision> decide(const std::string& policy, const char* zone,
                                      const std::string& last_utc) {
  return decide_retention(hourly_sets_until(last_utc), RetentionPolicy::parse(policy),
                          TimeZone::load(zone));
}

// The newest set of each of the last months in Berlin, 2027-01 back to 2026-02.
const std::vector<std::string> kBerlinMonthEnds = {
    "20261231T231500Z",  // 2027-01
    "20261231T221500Z",  // 2026-12-31 23:15 CET
    "20261130T221500Z", "20261031T221500Z",
    "20260930T211500Z",  // CEST
    "20260831T211500Z", "20260731T211500Z", "20260630T211500Z",
    "20260531T211500Z", "20260430T211500Z", "20260331T211500Z",
    "20260228T221500Z",  // CET
};

struct YearCase {
  const char* policy;
  const char* zone;
  const char* last_set;           // UTC: the year's sets up to this one
  std::vector<std::string> kept;  // newest first
};

TEST(RetentionYearTest, KeepsExactlyTheSelectedSets) {
  const std::vector<std::string> berlin_last_7_days = {
      "20261231T231500Z",  // 2027-01-01 00:15 CET
      "20261231T221500Z", "20261230T221500Z", "20261229T221500Z",
      "20261228T221500Z", "20261227T221500Z", "20261226T221500Z",
  };
  const std::vector<YearCase> cases = {
      {"last=3", "Europe/Berlin", kEndOfYear, utc_hours("20261231", 23, 21)},
      {"hourly=24", "Europe/Berlin", kEndOfYear, utc_hours("20261231", 23, 0)},
      {"daily=7", "Europe/Berlin", kEndOfYear, berlin_last_7_days},
      {"daily=3", "UTC", kEndOfYear, {"20261231T231500Z", "20261230T231500Z", "20261229T231500Z"}},
      {"daily=7 weekly=4 monthly=12", "Europe/Berlin", kEndOfYear,
       concat({berlin_last_7_days,
               {"20261220T221500Z", "20261213T221500Z"},  // Sundays ending W51 and W50
               std::vector<std::string>(kBerlinMonthEnds.begin() + 2, kBerlinMonthEnds.end())})},
      {"hourly=24 daily=7 weekly=4 monthly=12 yearly=3", "Europe/Berlin", kEndOfYear,
       concat({utc_hours("20261231", 23, 0),
               std::vector<std::string>(berlin_last_7_days.begin() + 2, berlin_last_7_days.end()),
               {"20261220T221500Z", "20261213T221500Z"},
               std::vector<std::string>(kBerlinMonthEnds.begin() + 2, kBerlinMonthEnds.end())})},
      {"monthly=3 yearly=2",
       "UTC",
       kEndOfYear,
       {"20261231T231500Z", "20261130T231500Z", "20261031T231500Z"}},
      // Fall-back in Berlin: 00:15 UTC (02:15 CEST) and 01:15 UTC (02:15 CET) are one
      // hourly bucket, whose newest set is kept; the rule reaches one hour further back.
      {"hourly=24", "Europe/Berlin", "2026-10-25 12:15",
       concat({utc_hours("20261025", 12, 1), utc_hours("20261024", 23, 12)})},
      // Fall-back in New York: 05:15 UTC (01:15 EDT) and 06:15 UTC (01:15 EST).
      {"hourly=24", "America/New_York", "2026-11-01 12:15",
       concat({utc_hours("20261101", 12, 6), utc_hours("20261101", 4, 0),
               utc_hours("20261031", 23, 12)})},
      // Days end at local midnight: 23:15 EDT on 31 October is 03:15 UTC on 1 November.
      {"daily=2", "America/New_York", "2026-11-01 12:15", {"20261101T121500Z", "20261101T031500Z"}},
      {"daily=2", "Europe/Berlin", "2026-11-01 12:15", {"20261101T121500Z", "20261031T221500Z"}},
      // Spring forward in Berlin: 01:15 CET is followed by 03:15 CEST; no hour is merged.
      {"hourly=7", "Europe/Berlin", "2026-03-29 05:15",
       concat({utc_hours("20260329", 5, 0), {"20260328T231500Z"}})},
      // The March outage: days without sets are not counted.
      {"daily=7",
       "Europe/Berlin",
       "2026-03-15 12:15",
       {"20260315T121500Z", "20260314T221500Z", "20260313T221500Z", "20260309T221500Z",
        "20260308T221500Z", "20260307T221500Z", "20260306T221500Z"}},
      // The missing week W33: weekly=2 keeps W34 and W32 (Sunday 9 August, 23:15 CEST).
      {"weekly=2", "Europe/Berlin", "2026-08-20 12:15", {"20260820T121500Z", "20260809T211500Z"}},
      {"weekly=3",
       "Europe/Berlin",
       "2026-08-20 12:15",
       {"20260820T121500Z", "20260809T211500Z", "20260802T211500Z"}},
      {"last=2 daily=2", "Europe/Berlin", kEndOfYear, utc_hours("20261231", 23, 22)},
      {"last=3 daily=2", "Europe/Berlin", kEndOfYear, utc_hours("20261231", 23, 21)},
  };
  for (const YearCase& c : cases) {
    SCOPED_TRACE(std::string(c.policy) + " in " + c.zone + " up to " + c.last_set);
    const std::vector<RetentionDecision> decisions = decide(c.policy, c.zone, c.last_set);
    EXPECT_EQ(decisions.size(), hourly_sets_until(c.last_set).size());
    EXPECT_EQ(kept_ids(decisions), c.kept);
    for (const RetentionDecision& decision : decisions) {
      if (!decision.keep) {
        EXPECT_EQ(decision.reason_text(),
                  std::string("not selected by ") + RetentionPolicy::parse(c.policy).to_string());
      }
    }
  }
}

TEST(RetentionYearTest, FullPolicyReasonsAndCounts) {
  const std::string policy = "hourly=24 daily=7 weekly=4 monthly=12 yearly=3";
  const std::vector<RetentionDecision> decisions = decide(policy, "Europe/Berlin", kEndOfYear);
  // 365 days of 24 hours, less 3 days in March and 7 in August.
  ASSERT_EQ(decisions.size(), 24u * (365 - 3 - 7));
  EXPECT_EQ(kept_ids(decisions).size(), 41u);  // 24 hourly + 5 daily + 2 weekly + 10 monthly
  EXPECT_EQ(decisions.front().id, "20261231T231500Z");
  EXPECT_EQ(decisions.back().id, "20260101T001500Z");

  const std::map<std::string, std::string> expected_reasons = {
      {"20261231T231500Z",
       "hourly 2027-01-01 00h (1 of 24); daily 2027-01-01 (1 of 7); weekly 2026-W53 (1 of 4); "
       "monthly 2027-01 (1 of 12); yearly 2027 (1 of 3); newest complete set"},
      {"20261231T221500Z",
       "hourly 2026-12-31 23h (2 of 24); daily 2026-12-31 (2 of 7); monthly 2026-12 (2 of 12); "
       "yearly 2026 (2 of 3)"},
      {"20261231T001500Z", "hourly 2026-12-31 01h (24 of 24)"},
      {"20261230T231500Z", "not selected by " + policy},
      {"20261230T221500Z", "daily 2026-12-30 (3 of 7)"},
      {"20261227T221500Z", "daily 2026-12-27 (6 of 7); weekly 2026-W52 (2 of 4)"},
      {"20261213T221500Z", "weekly 2026-W50 (4 of 4)"},
      {"20260930T211500Z", "monthly 2026-09 (5 of 12)"},
      {"20260228T221500Z", "monthly 2026-02 (12 of 12)"},
      {"20260131T221500Z", "not selected by " + policy},
      {"20260101T001500Z", "not selected by " + policy},
  };
  for (const auto& [id, reason] : expected_reasons) {
    SCOPED_TRACE(id);
    const RetentionDecision& decision = decision_for(decisions, id);
    EXPECT_EQ(decision.reason_text(), reason);
    EXPECT_EQ(decision.keep, reason.compare(0, 4, "not ") != 0);
  }
  // The last set of every Berlin month but January 2026 is kept.
  for (const std::string& id : kBerlinMonthEnds) EXPECT_TRUE(decision_for(decisions, id).keep);
}

TEST(RetentionYearTest, FallBackHourIsOneBucket) {
  {
    SCOPED_TRACE("Europe/Berlin");
    const auto decisions = decide("hourly=24", "Europe/Berlin", "2026-10-25 12:15");
    EXPECT_EQ(decision_for(decisions, "20261025T011500Z").reason_text(),
              "hourly 2026-10-25 02h (12 of 24)");
    EXPECT_EQ(decision_for(decisions, "20261025T001500Z").reason_text(),
              "not selected by hourly=24");
    EXPECT_EQ(decision_for(decisions, "20261024T231500Z").reason_text(),
              "hourly 2026-10-25 01h (13 of 24)");
  }
  {
    SCOPED_TRACE("America/New_York");
    const auto decisions = decide("hourly=24", "America/New_York", "2026-11-01 12:15");
    EXPECT_EQ(decision_for(decisions, "20261101T061500Z").reason_text(),
              "hourly 2026-11-01 01h (7 of 24)");
    EXPECT_EQ(decision_for(decisions, "20261101T051500Z").reason_text(),
              "not selected by hourly=24");
    EXPECT_EQ(decision_for(decisions, "20261101T041500Z").reason_text(),
              "hourly 2026-11-01 00h (8 of 24)");
  }
}

TEST(RetentionYearTest, InputOrderDoesNotMatter) {
  const RetentionPolicy policy = RetentionPolicy::parse("last=5 daily=7 weekly=4 monthly=12");
  const TimeZone zone = TimeZone::load("Europe/Berlin");
  std::vector<RetentionCandidate> sets = hourly_sets_until(kEndOfYear);
  const std::vector<RetentionDecision> sorted = decide_retention(sets, policy, zone);
  std::shuffle(sets.begin(), sets.end(), std::mt19937(7));
  const std::vector<RetentionDecision> shuffled = decide_retention(sets, policy, zone);
  ASSERT_EQ(shuffled.size(), sorted.size());
  for (size_t i = 0; i < sorted.size(); ++i) {
    EXPECT_EQ(shuffled[i].id, sorted[i].id);
    EXPECT_EQ(shuffled[i].keep, sorted[i].keep);
    EXPECT_EQ(shuffled[i].reasons, sorted[i].reasons);
  }
}

// ---------------------------------------------------------------------------------------
// Weekly buckets are ISO 8601 weeks

struct WeekCase {
  const char* zone;
  const char* utc;
  const char* week;
};

TEST(RetentionWeekTest, UsesIsoWeeks) {
  const std::vector<WeekCase> cases = {
      {"UTC", "2026-11-22 03:15", "2026-W47"},
      {"UTC", "2026-12-31 12:00", "2026-W53"},  // Thursday: 2026 has 53 weeks
      {"UTC", "2027-01-01 12:00", "2026-W53"},  // Friday
      {"UTC", "2027-01-03 23:59", "2026-W53"},  // Sunday
      {"UTC", "2027-01-04 00:00", "2027-W01"},  // Monday
      {"UTC", "2026-01-01 00:00", "2026-W01"},  // Thursday
      {"UTC", "2025-12-29 00:00", "2026-W01"},  // Monday before
      {"UTC", "2025-12-28 23:59", "2025-W52"},
      {"UTC", "2024-12-30 00:00", "2025-W01"},
      {"UTC", "2021-01-03 12:00", "2020-W53"},
      {"UTC", "2021-01-04 12:00", "2021-W01"},
      {"UTC", "2026-12-27 23:30", "2026-W52"},            // Sunday in UTC...
      {"Europe/Berlin", "2026-12-27 23:30", "2026-W53"},  // ...Monday 00:30 CET in Berlin
  };
  for (const WeekCase& c : cases) {
    SCOPED_TRACE(std::string(c.utc) + " in " + c.zone);
    const auto decisions =
        decide_retention({{"20200101T000000Z", at(c.utc), true}},
                         RetentionPolicy::parse("weekly=1"), TimeZone::load(c.zone));
    ASSERT_EQ(decisions.size(), 1u);
    EXPECT_EQ(decisions[0].reasons,
              (std::vector<std::string>{std::string("weekly ") + c.week + " (1 of 1)",
                                        "newest complete set"}));
  }
}

// ---------------------------------------------------------------------------------------
// Safety rules

TEST(RetentionSafetyTest, NewestCompleteSetIsAlwaysKept) {
  const auto decisions = decide("yearly=1", "Europe/Berlin", kEndOfYear);
  EXPECT_EQ(kept_ids(decisions), std::vector<std::string>{"20261231T231500Z"});
  EXPECT_EQ(decisions.front().reason_text(), "yearly 2027 (1 of 1); newest complete set");

  // With an unusable set finishing later, the newest usable one is still the one kept.
  const auto mixed = decide_retention(
      {
          {"20261122T021500Z", at("2026-11-22 02:15"), true},
          {"20261122T041500Z", at("2026-11-22 04:15"), false},
          {"20261122T031500Z", at("2026-11-22 03:15"), true},
      },
      RetentionPolicy::parse("last=1"), TimeZone::utc());
  ASSERT_EQ(mixed.size(), 3u);
  EXPECT_EQ(mixed[0].id, "20261122T031500Z");
  EXPECT_TRUE(mixed[0].keep);
  EXPECT_EQ(mixed[0].reason_text(), "last 1 of 1; newest complete set");
  EXPECT_EQ(mixed[1].id, "20261122T021500Z");
  EXPECT_FALSE(mixed[1].keep);
  EXPECT_EQ(mixed[1].reason_text(), "not selected by last=1");
  EXPECT_EQ(mixed[2].id, "20261122T041500Z");
  EXPECT_TRUE(mixed[2].keep);
  EXPECT_EQ(mixed[2].reason_text(), "unusable: left for inspection");
}

TEST(RetentionSafetyTest, UnusableSetsAreKeptAndNotCounted) {
  const auto decisions = decide_retention(
      {
          {"20261122T051500Z", at("2026-11-22 05:15"), false},
          {"20261122T041500Z", at("2026-11-22 04:15"), true},
          {"20261122T031500Z", 0, false},
          {"20261122T021500Z", at("2026-11-22 02:15"), true},
          {"20261122T011500Z", at("2026-11-22 01:15"), true},
      },
      RetentionPolicy::parse("last=2 hourly=2"), TimeZone::utc());
  std::vector<std::string> ids, reasons;
  for (const auto& decision : decisions) {
    ids.push_back(decision.id);
    reasons.push_back(decision.reason_text());
  }
  EXPECT_EQ(ids,
            (std::vector<std::string>{"20261122T041500Z", "20261122T021500Z", "20261122T011500Z",
                                      "20261122T051500Z", "20261122T031500Z"}));
  EXPECT_EQ(reasons, (std::vector<std::string>{
                         "last 1 of 2; hourly 2026-11-22 04h (1 of 2); newest complete set",
                         "last 2 of 2; hourly 2026-11-22 02h (2 of 2)",
                         "not selected by last=2 hourly=2",
                         "unusable: left for inspection",
                         "unusable: left for inspection",
                     }));
}

// Attack 3 of issue 14: key-less manifests with future dates (untrusted) are neither the
// newest set nor in any bucket, so the real sets are kept; and they are not deleted.
TEST(RetentionSafetyTest, UntrustedSetsAreNeitherCountedNorDeleted) {
  std::vector<RetentionCandidate> candidates;
  for (int i = 0; i < 24; ++i) {
    RetentionCandidate forged;
    forged.id = "2099010" + std::to_string(1 + i % 9) + "T" + (i < 10 ? "0" : "") +
                std::to_string(i) + "0000Z";
    forged.finished_unix = at("2099-01-01 00:00") + i * 3600;
    forged.usable = false;
    forged.untrusted = "unsigned, and it claims to have finished in the future";
    candidates.push_back(forged);
  }
  candidates.push_back({"20261122T041500Z", at("2026-11-22 04:15"), true, false, false, ""});
  candidates.push_back({"20261122T031500Z", at("2026-11-22 03:15"), true, false, false, ""});
  candidates.push_back({"20261121T031500Z", at("2026-11-21 03:15"), true, false, false, ""});
  const auto decisions =
      decide_retention(candidates, RetentionPolicy::parse("last=2 daily=2"), TimeZone::utc());
  int kept_real = 0, kept_forged = 0;
  for (const auto& d : decisions) {
    EXPECT_TRUE(d.keep) << d.id << ": " << d.reason_text();
    if (d.id.compare(0, 4, "2099") == 0) {
      ++kept_forged;
      EXPECT_EQ(d.reason_text(),
                "UNTRUSTED: unsigned, and it claims to have finished in the future; retention "
                "neither counts nor deletes it");
    } else {
      ++kept_real;
    }
  }
  EXPECT_EQ(kept_forged, 24);
  EXPECT_EQ(kept_real, 3);
  EXPECT_EQ(decisions[0].id, "20261122T041500Z");
  EXPECT_EQ(decisions[0].reason_text(),
            "last 1 of 2; daily 2026-11-22 (1 of 2); newest complete set");
}

TEST(RetentionSafetyTest, ProtectedSetsAreKeptWithTheirReason) {
  const std::map<std::string, std::string> protect = {
      {"20260601T101500Z", "not yet on Drive"},
      {"20261231T231500Z", "not yet on Drive"},
      {"20261231T221500Z", ""},
      {"20990101T000000Z", "not a candidate"},
  };
  const auto decisions =
      decide_retention(hourly_sets_until(kEndOfYear), RetentionPolicy::parse("last=1"),
                       TimeZone::load("Europe/Berlin"), protect);
  EXPECT_EQ(decisions.size(), hourly_sets_until(kEndOfYear).size());
  EXPECT_EQ(kept_ids(decisions),
            (std::vector<std::string>{"20261231T231500Z", "20261231T221500Z", "20260601T101500Z"}));
  EXPECT_EQ(decision_for(decisions, "20261231T231500Z").reason_text(),
            "last 1 of 1; newest complete set; not yet on Drive");
  EXPECT_EQ(decision_for(decisions, "20261231T221500Z").reason_text(), "protected");
  EXPECT_EQ(decision_for(decisions, "20260601T101500Z").reason_text(), "not yet on Drive");

  // A protected unusable set shows both reasons.
  const auto unusable =
      decide_retention({{"20261122T031500Z", 0, false}}, RetentionPolicy::parse("last=1"),
                       TimeZone::utc(), {{"20261122T031500Z", "not yet on Drive"}});
  ASSERT_EQ(unusable.size(), 1u);
  EXPECT_TRUE(unusable[0].keep);
  EXPECT_EQ(unusable[0].reason_text(), "not yet on Drive; unusable: left for inspection");
}

TEST(RetentionSafetyTest, TiesAreOrderedByIdNewestFirst) {
  const int64_t t = at("2026-11-22 03:15");
  const auto decisions = decide_retention(
      {
          {"20261122T031500Z", t, true},
          {"20261122T031500Z-10", t, true},
          {"20261122T031500Z-2", t, true},
          {"20261122T031500Z-9", t, true},
          {"20261122T021500Z", t, true},  // an odd id with the same finish time
      },
      RetentionPolicy::parse("last=1 hourly=3"), TimeZone::utc());
  std::vector<std::string> ids;
  for (const auto& decision : decisions) ids.push_back(decision.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"20261122T031500Z-10", "20261122T031500Z-9",
                                           "20261122T031500Z-2", "20261122T031500Z",
                                           "20261122T021500Z"}));
  // All finished in the same hour: the hourly rule keeps only the first of them.
  EXPECT_EQ(kept_ids(decisions), std::vector<std::string>{"20261122T031500Z-10"});
  EXPECT_EQ(decisions[0].reason_text(),
            "last 1 of 1; hourly 2026-11-22 03h (1 of 3); newest complete set");
}

TEST(RetentionSafetyTest, NoPolicyKeepsEverything) {
  for (const char* text : {"", "daily=0 last=0"}) {
    SCOPED_TRACE(text);
    const auto decisions = decide_retention(
        {
            {"20261122T031500Z", at("2026-11-22 03:15"), true},
            {"20261122T041500Z", 0, false},
            {"20261122T021500Z", at("2026-11-22 02:15"), true},
        },
        RetentionPolicy::parse(text), TimeZone::utc());
    ASSERT_EQ(decisions.size(), 3u);
    EXPECT_EQ(decisions[0].id, "20261122T031500Z");
    EXPECT_EQ(decisions[1].id, "20261122T021500Z");
    EXPECT_EQ(decisions[2].id, "20261122T041500Z");
    for (const auto& decision : decisions) {
      EXPECT_TRUE(decision.keep);
      EXPECT_EQ(decision.reason_text(), "no retention policy");
    }
  }
}

TEST(RetentionSafetyTest, EmptyAndDuplicateCandidates) {
  EXPECT_TRUE(decide_retention({}, RetentionPolicy::parse("last=1"), TimeZone::utc()).empty());
  try {
    decide_retention({{"20261122T031500Z", 1, true}, {"20261122T031500Z", 2, false}},
                     RetentionPolicy::parse("last=1"), TimeZone::utc());
    ADD_FAILURE() << "no error for a duplicate id";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kInvalidArgument);
    EXPECT_STREQ(e.what(), "backup set 20261122T031500Z is listed twice for retention");
  }
}

TEST(RetentionDecisionTest, ReasonTextJoinsReasons) {
  RetentionDecision decision;
  EXPECT_EQ(decision.reason_text(), "");
  decision.reasons = {"last 1 of 3"};
  EXPECT_EQ(decision.reason_text(), "last 1 of 3");
  decision.reasons.push_back("newest complete set");
  EXPECT_EQ(decision.reason_text(), "last 1 of 3; newest complete set");
}

// ---------------------------------------------------------------------------------------
// Logical and physical sets of one store, each kind by its own policy

RetentionCandidate base(const char* id, const char* utc) {
  return {id, at(utc), true, true};
}

TEST(RetentionKindsTest, TheIssueSequenceKeepsTheBase) {
  // A base backup, then three logical backups within the hour.
  const std::vector<RetentionCandidate> sets = {
      base("20261122T100000Z", "2026-11-22 10:00"),
      {"20261122T100500Z", at("2026-11-22 10:05"), true},
      {"20261122T101000Z", at("2026-11-22 10:10"), true},
      {"20261122T101500Z", at("2026-11-22 10:15"), true},
  };
  const RetentionPolicy logical = RetentionPolicy::parse("last=3 hourly=24 daily=7");
  // One policy for both kinds (before issue 16): the three logical sets take every slot.
  EXPECT_FALSE(
      decision_for(decide_retention(sets, logical, TimeZone::utc()), "20261122T100000Z").keep);

  const StorePolicy policy{logical, RetentionPolicy::parse("last=2 daily=7")};
  const auto decisions = decide_store_retention(sets, policy, TimeZone::utc());
  ASSERT_EQ(decisions.size(), 4u);
  // The order over all sets, newest first, as decide_retention gives it.
  EXPECT_EQ(decisions[0].id, "20261122T101500Z");
  EXPECT_EQ(decisions[3].id, "20261122T100000Z");
  for (const auto& d : decisions) EXPECT_TRUE(d.keep) << d.id;
  EXPECT_EQ(decisions[3].reason_text(),
            "base backup: last 1 of 2; daily 2026-11-22 (1 of 7); newest base backup");
  EXPECT_EQ(decisions[0].reason_text(),
            "last 1 of 3; hourly 2026-11-22 10h (1 of 24); daily 2026-11-22 (1 of 7); newest "
            "complete set");
}

TEST(RetentionKindsTest, EachKindCountsOnlyItsOwnSets) {
  const std::vector<RetentionCandidate> sets = {
      base("20261122T080000Z", "2026-11-22 08:00"),
      base("20261122T090000Z", "2026-11-22 09:00"),
      {"20261122T093000Z", at("2026-11-22 09:30"), true},
      base("20261122T100000Z", "2026-11-22 10:00"),
      {"20261122T103000Z", at("2026-11-22 10:30"), true},
      {"20261122T104500Z", 0, false},  // unusable: kept, counted by neither policy
  };
  const StorePolicy policy{RetentionPolicy::parse("last=1"), RetentionPolicy::parse("last=2")};
  const auto decisions = decide_store_retention(sets, policy, TimeZone::utc());
  EXPECT_EQ(kept_ids(decisions),
            (std::vector<std::string>{"20261122T103000Z", "20261122T100000Z", "20261122T090000Z",
                                      "20261122T104500Z"}));
  EXPECT_EQ(decision_for(decisions, "20261122T080000Z").reason_text(),
            "base backup: not selected by last=2");
  EXPECT_EQ(decision_for(decisions, "20261122T093000Z").reason_text(), "not selected by last=1");
  EXPECT_EQ(decision_for(decisions, "20261122T090000Z").reason_text(), "base backup: last 2 of 2");
  EXPECT_EQ(decision_for(decisions, "20261122T104500Z").reason_text(),
            "unusable: left for inspection");

  // The newest of each kind survives a policy that selects only older sets; an empty policy
  // keeps every set of its kind.
  const auto other = decide_store_retention(
      sets, {RetentionPolicy::parse("yearly=1"), RetentionPolicy::parse("")}, TimeZone::utc());
  EXPECT_EQ(decision_for(other, "20261122T080000Z").reason_text(),
            "base backup: no retention policy");
  EXPECT_EQ(decision_for(other, "20261122T103000Z").reason_text(),
            "yearly 2026 (1 of 1); newest complete set");
  EXPECT_FALSE(decision_for(other, "20261122T093000Z").keep);
  EXPECT_THROW(decide_store_retention({sets[0], sets[0]}, policy, TimeZone::utc()), Error);
}

// ---------------------------------------------------------------------------------------
// Offline snapshots (issue 15): the newest is kept until a newer set supersedes it

RetentionCandidate offline(const char* id, const char* utc) {
  RetentionCandidate c{id, at(utc), true};
  c.offline = true;
  return c;
}

TEST(RetentionKindsTest, AnOfflineSnapshotIsKeptUntilANewerSetSupersedesIt) {
  const StorePolicy policy{RetentionPolicy::parse("last=3 daily=7"),
                           RetentionPolicy::parse("last=2")};
  // Newest of all: kept, whatever the policies, and not counted in the logical slots.
  std::vector<RetentionCandidate> sets = {
      offline("20261122T080000Z", "2026-11-22 08:00"),
      {"20261122T090000Z", at("2026-11-22 09:00"), true},
      offline("20261122T100000Z", "2026-11-22 10:00"),
  };
  auto decisions = decide_store_retention(sets, policy, TimeZone::utc());
  EXPECT_EQ(decision_for(decisions, "20261122T100000Z").reason_text(),
            "offline snapshot: newest set");
  EXPECT_TRUE(decision_for(decisions, "20261122T100000Z").keep);
  // The older one goes first: a newer set (of any kind) supersedes it.
  EXPECT_FALSE(decision_for(decisions, "20261122T080000Z").keep);
  EXPECT_EQ(decision_for(decisions, "20261122T080000Z").reason_text(),
            "offline snapshot: superseded by 20261122T090000Z");
  EXPECT_EQ(decision_for(decisions, "20261122T090000Z").reason_text(),
            "last 1 of 3; daily 2026-11-22 (1 of 7); newest complete set");

  // A logical backup after it (the server ran again): the snapshot is superseded.
  sets.push_back({"20261122T110000Z", at("2026-11-22 11:00"), true});
  decisions = decide_store_retention(sets, policy, TimeZone::utc());
  EXPECT_FALSE(decision_for(decisions, "20261122T100000Z").keep);
  EXPECT_EQ(decision_for(decisions, "20261122T100000Z").reason_text(),
            "offline snapshot: superseded by 20261122T110000Z");
  // Not yet on Drive: kept while protected.
  decisions = decide_store_retention(sets, policy, TimeZone::utc(),
                                     {{"20261122T100000Z", "not yet on Drive"}});
  EXPECT_TRUE(decision_for(decisions, "20261122T100000Z").keep);
  // A policy that keeps everything keeps them too.
  decisions = decide_store_retention(sets, {RetentionPolicy::parse(""), RetentionPolicy::parse("")},
                                     TimeZone::utc());
  for (const auto& d : decisions) EXPECT_TRUE(d.keep) << d.id;
}

}  // namespace
}  // namespace ramsafe
