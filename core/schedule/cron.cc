#include "core/schedule/cron.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <vector>

#include "core/error.h"

namespace ramsafe {

namespace {

constexpr int64_t kSecondsPerDay = 86400;
// The longest stretch between two 29 Februaries is 8 years (2096 to 2104).
constexpr int64_t kSearchHorizon = int64_t{8} * 366 * kSecondsPerDay;

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

struct FieldSpec {
  const char* name;
  int min;
  int max;
  int star_max;  // upper end of `*` and `a/n`: day-of-week 7 is only an alias of Sunday
  const char* const* names;
  int name_count;
  int first_name_value;
};

constexpr FieldSpec kMinuteField{"minute", 0, 59, 59, nullptr, 0, 0};
constexpr FieldSpec kHourField{"hour", 0, 23, 23, nullptr, 0, 0};
constexpr FieldSpec kDayOfMonthField{"day-of-month", 1, 31, 31, nullptr, 0, 0};
constexpr FieldSpec kMonthField{"month", 1, 12, 12, kMonthNames, 12, 1};
constexpr FieldSpec kDayOfWeekField{"day-of-week", 0, 7, 6, kDayNames, 7, 0};

struct Macro {
  const char* name;
  const char* expansion;
};

constexpr Macro kMacros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

std::string to_upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string to_lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::vector<std::string> split_blank(const std::string& s) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_blank(s[i])) ++i;
    const size_t begin = i;
    while (i < s.size() && !is_blank(s[i])) ++i;
    if (i > begin) words.push_back(s.substr(begin, i - begin));
  }
  return words;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t quotient = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) --quotient;
  return quotient;
}

int64_t minute_of_day_seconds(const CivilTime& civil) {
  return int64_t{civil.hour} * 3600 + int64_t{civil.minute} * 60;
}

// Lowest set bit at or above from, or -1.
int next_bit(uint64_t mask, int from) {
  if (from >= 64) return -1;
  const uint64_t rest = mask >> from;
  return rest == 0 ? -1 : from + __builtin_ctzll(rest);
}

class ScheduleParser {
 public:
  explicit ScheduleParser(const std::string& expression) : expression_(expression) {}

  [[noreturn]] void fail(const std::string& problem) const {
    throw Error(Errc::kConfig, "invalid schedule \"" + expression_ + "\": " + problem);
  }

  uint64_t field(const FieldSpec& spec, const std::string& text) const {
    uint64_t bits = 0;
    size_t begin = 0;
    for (;;) {
      const size_t comma = text.find(',', begin);
      const std::string item =
          text.substr(begin, comma == std::string::npos ? comma : comma - begin);
      if (item.empty())
        fail(std::string(spec.name) + " has an empty list item in \"" + text + "\"");
      bits |= list_item(spec, item);
      if (comma == std::string::npos) break;
      begin = comma + 1;
    }
    if (&spec == &kDayOfWeekField && (bits & (uint64_t{1} << 7)) != 0) {
      bits = (bits & ~(uint64_t{1} << 7)) | 1;  // 7 is Sunday too
    }
    return bits;
  }

 private:
  uint64_t list_item(const FieldSpec& spec, const std::string& item) const {
    const std::string field_name = spec.name;
    const size_t slash = item.find('/');
    const std::string base = item.substr(0, slash);
    int step = 1;
    if (slash != std::string::npos) {
      const std::string step_text = item.substr(slash + 1);
      if (step_text.empty()) fail(field_name + " step is empty in \"" + item + "\"");
      if (!all_digits(step_text)) {
        fail(field_name + " step \"" + step_text + "\" in \"" + item + "\" is not a number");
      }
      if (step_text.size() > 6 || std::stoi(step_text) < 1 || std::stoi(step_text) > spec.max) {
        fail(field_name + " step " + step_text + " in \"" + item + "\" is out of range 1-" +
             std::to_string(spec.max));
      }
      step = std::stoi(step_text);
    }

    int low = 0;
    int high = 0;
    const size_t dash = base.find('-');
    if (base == "*") {
      low = spec.min;
      high = spec.star_max;
    } else if (dash != std::string::npos) {
      const std::string low_text = base.substr(0, dash);
      const std::string high_text = base.substr(dash + 1);
      low = value(spec, low_text, item);
      high = value(spec, high_text, item);
      if (high < low) fail(field_name + " range " + base + " is reversed");
    } else {
      low = value(spec, base, item);
      high = slash == std::string::npos ? low : spec.star_max;
    }
    uint64_t bits = 0;
    for (int v = low; v <= high; v += step) bits |= uint64_t{1} << v;
    return bits;
  }

  int value(const FieldSpec& spec, const std::string& token, const std::string& item) const {
    const std::string field_name = spec.name;
    if (token.empty()) fail(field_name + " has an empty value in \"" + item + "\"");
    if (all_digits(token)) {
      const int number = token.size() > 6 ? std::numeric_limits<int>::max() : std::stoi(token);
      if (number < spec.min || number > spec.max) {
        fail(field_name + " " + token + " is out of range " + std::to_string(spec.min) + "-" +
             std::to_string(spec.max));
      }
      return number;
    }
    if (spec.names == nullptr) fail(field_name + " \"" + token + "\" is not a number");
    const std::string upper = to_upper(token);
    for (int i = 0; i < spec.name_count; ++i) {
      if (upper == spec.names[i]) return spec.first_name_value + i;
    }
    fail("unknown " + field_name + " name \"" + token + "\"");
  }

  const std::string& expression_;
};

}  // namespace

CronSchedule CronSchedule::parse(const std::string& expression) {
  ScheduleParser parser(expression);
  std::vector<std::string> fields = split_blank(expression);
  if (fields.empty()) parser.fail("the schedule is empty");
  if (fields[0][0] == '@') {
    const std::string macro = to_lower(fields[0]);
    if (macro == "@reboot") {
      parser.fail("@reboot is not supported: a backup schedule needs times of day");
    }
    const Macro* found = nullptr;
    for (const Macro& candidate : kMacros) {
      if (macro == candidate.name) found = &candidate;
    }
    if (found == nullptr) {
      parser.fail("unknown macro " + fields[0] +
                  " (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or "
                  "@hourly)");
    }
    if (fields.size() != 1) parser.fail(fields[0] + " must stand alone");
    fields = split_blank(found->expansion);
  }
  if (fields.size() != 5) {
    parser.fail("expected 5 fields (minute hour day-of-month month day-of-week) but found " +
                std::to_string(fields.size()));
  }

  CronSchedule schedule;
  schedule.text_ = expression;
  schedule.minutes_ = parser.field(kMinuteField, fields[0]);
  schedule.hours_ = static_cast<uint32_t>(parser.field(kHourField, fields[1]));
  schedule.days_of_month_ = static_cast<uint32_t>(parser.field(kDayOfMonthField, fields[2]));
  schedule.months_ = static_cast<uint32_t>(parser.field(kMonthField, fields[3]));
  schedule.days_of_week_ = static_cast<uint32_t>(parser.field(kDayOfWeekField, fields[4]));
  // Vixie cron calls a field starting with `*` unrestricted, including `*/n`.
  schedule.hour_star_ = fields[1][0] == '*';
  schedule.day_of_month_star_ = fields[2][0] == '*';
  schedule.day_of_week_star_ = fields[4][0] == '*';
  return schedule;
}

bool CronSchedule::day_matches(int64_t year, int month, int day) const {
  const bool day_of_month = ((days_of_month_ >> day) & 1) != 0;
  const int weekday = weekday_from_days(days_from_civil(year, month, day));
  const bool day_of_week = ((days_of_week_ >> weekday) & 1) != 0;
  if (day_of_month_star_ || day_of_week_star_) return day_of_month && day_of_week;
  return day_of_month || day_of_week;
}

bool CronSchedule::matches(const CivilTime& local) const {
  return ((minutes_ >> local.minute) & 1) != 0 && ((hours_ >> local.hour) & 1) != 0 &&
         ((months_ >> local.month) & 1) != 0 && day_matches(local.year, local.month, local.day);
}

std::optional<int64_t> CronSchedule::next_matching_wall_time(int64_t from, int64_t limit) const {
  CivilTime at = civil_from_seconds(floor_div(from + 59, 60) * 60);
  auto next_day = [&at] {
    at.hour = 0;
    at.minute = 0;
    if (++at.day <= days_in_month(at.year, at.month)) return;
    at.day = 1;
    if (++at.month <= 12) return;
    at.month = 1;
    ++at.year;
  };
  // Each step moves to the next candidate month, day, hour or minute, so a search over
  // years takes a few thousand steps at most.
  for (;;) {
    const int64_t day_start = days_from_civil(at.year, at.month, at.day) * kSecondsPerDay;
    if (day_start + minute_of_day_seconds(at) >= limit) return std::nullopt;
    if (((months_ >> at.month) & 1) == 0) {
      const int month = next_bit(months_, at.month + 1);
      if (month < 0) {
        ++at.year;
        at.month = next_bit(months_, 1);
      } else {
        at.month = month;
      }
      at.day = 1;
      at.hour = 0;
      at.minute = 0;
      continue;
    }
    if (!day_matches(at.year, at.month, at.day)) {
      next_day();
      continue;
    }
    const int hour = next_bit(hours_, at.hour);
    if (hour < 0) {
      next_day();
      continue;
    }
    if (hour != at.hour) {
      at.hour = hour;
      at.minute = 0;
    }
    const int minute = next_bit(minutes_, at.minute);
    if (minute < 0) {
      if (at.hour == 23) {
        next_day();
      } else {
        ++at.hour;
        at.minute = 0;
      }
      continue;
    }
    at.minute = minute;
    const int64_t match = day_start + minute_of_day_seconds(at);
    if (match >= limit) return std::nullopt;
    return match;
  }
}

std::optional<int64_t> CronSchedule::next_after(int64_t utc_seconds, const TimeZone& tz) const {
  if (utc_seconds >= TimeZone::kMaxTime - kSearchHorizon) return std::nullopt;
  const int64_t after = std::max(utc_seconds, TimeZone::kMinTime);
  const int64_t horizon_end = after + kSearchHorizon;
  // Walk the time line span by span (stretches of constant UTC offset), so the candidates
  // come in time order.
  for (int64_t pos = after + 1; pos < horizon_end;) {
    const OffsetSpan span = tz.span_at(pos);
    const int64_t span_end = std::min(span.end, horizon_end);
    const int offset = span.utc_offset;
    const bool span_starts_here = span.start >= pos;
    if (span_starts_here && offset > span.previous_offset &&
        next_matching_wall_time(span.start + span.previous_offset, span.start + offset)) {
      return span.start;  // a matching wall time was skipped: fire once, right after the gap
    }
    int64_t from_wall = pos + offset;
    const bool repeats_wall_times =
        span.start != std::numeric_limits<int64_t>::min() && span.previous_offset > offset;
    if (repeats_wall_times && !hour_star_) {
      // Fixed-time jobs fired at the first occurrence of the repeated wall times.
      from_wall = std::max(from_wall, span.start + span.previous_offset);
    }
    if (auto wall = next_matching_wall_time(from_wall, span_end + offset)) return *wall - offset;
    pos = span_end;
  }
  return std::nullopt;
}

bool CronSchedule::missed_since(int64_t last_run_utc, int64_t now_utc, const TimeZone& tz) const {
  const std::optional<int64_t> next = next_after(last_run_utc, tz);
  return next && *next <= now_utc;
}

}  // namespace ramsafe
