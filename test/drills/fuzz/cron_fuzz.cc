// Fuzzes CronSchedule::parse (core/schedule/cron.h) and, for a schedule that parses, evaluates it
// in fixed zones with DST (Europe/Berlin, America/New_York, Australia/Lord_Howe with its
// half-hour shift) and UTC: successive next fire times must move forward, stay within
// the documented 8-year horizon and fall on whole local minutes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/schedule/cron.h"
#include "core/schedule/timezone.h"
#include "test/drills/fuzz/fuzz_util.h"

namespace {

const std::vector<ramsafe::TimeZone>& zones() {
  static const std::vector<ramsafe::TimeZone> all = {
      ramsafe::TimeZone::utc(), ramsafe::TimeZone::load("Europe/Berlin"),
      ramsafe::TimeZone::load("America/New_York"), ramsafe::TimeZone::load("Australia/Lord_Howe")};
  return all;
}

// Starting points: 2026-03-29 00:59:30 UTC (Berlin springs forward at 01:00 UTC),
// 2026-10-25 00:30:00 UTC (Berlin falls back at 01:00 UTC), 2028-02-29 23:59:59 UTC.
constexpr int64_t kStarts[] = {1774745970, 1792888200, 1835481599};

constexpr int64_t kNineYears = int64_t{9} * 366 * 24 * 3600;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::optional<ramsafe::CronSchedule> schedule;
  if (!ramsafe::fuzz::expect_error_or_success(
          [&] { schedule.emplace(ramsafe::CronSchedule::parse(text)); }))
    return 0;

  const ramsafe::TimeZone& tz = zones()[size % zones().size()];
  int64_t start = kStarts[(size / zones().size()) % 3];
  int64_t t = start;
  for (int i = 0; i < 4; ++i) {
    std::optional<int64_t> next;
    ramsafe::fuzz::expect_error_or_success([&] { next = schedule->next_after(t, tz); });
    if (!next) break;
    if (*next <= t) ramsafe::fuzz::fail("next_after did not move forward: " + text);
    if (*next - t > kNineYears) ramsafe::fuzz::fail("next_after beyond its 8-year horizon");
    if ((*next + tz.offset_at(*next)) % 60 != 0)
      ramsafe::fuzz::fail("next_after is not at a whole local minute: " + text);
    t = *next;
  }
  ramsafe::CivilTime civil = ramsafe::civil_from_seconds(start);
  (void)schedule->matches(civil);
  return 0;
}
