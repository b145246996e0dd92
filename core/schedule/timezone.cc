#include "core/schedule/timezone.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>

#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/unique_fd.h"

namespace ramsafe {

namespace {

constexpr int64_t kUnboundedStart = std::numeric_limits<int64_t>::min();
constexpr int64_t kUnboundedEnd = std::numeric_limits<int64_t>::max();
constexpr int64_t kSecondsPerDay = 86400;

int64_t floor_div(int64_t a, int64_t b) {
  int64_t quotient = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) --quotient;
  return quotient;
}

int64_t floor_mod(int64_t a, int64_t b) {
  return a - floor_div(a, b) * b;
}

int64_t clamp_time(int64_t t) {
  return std::min(std::max(t, TimeZone::kMinTime), TimeZone::kMaxTime);
}

bool is_ascii_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_ascii_alpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

struct TimeType {
  int utc_offset = 0;
  bool is_dst = false;
  std::string abbreviation;
};

// When a POSIX TZ rule switches: a day of the year, and a local time of day.
struct RuleDate {
  enum class Kind {
    kJulianNoLeap,  // Jn: 1-365, 29 February never counted
    kZeroBasedDay,  // n: 0-365, 29 February counted in leap years
    kMonthWeekDay,  // Mm.w.d: day d (0 = Sunday) of week w (5 = last) of month m
  };
  Kind kind = Kind::kMonthWeekDay;
  int day_number = 0;
  int month = 0;
  int week = 0;
  int weekday = 0;
  int time = 2 * 3600;  // local time of day; RFC 8536 allows -167 to 167 hours
};

struct PosixRule {
  TimeType standard;
  TimeType daylight;
  bool has_daylight = false;
  RuleDate start;  // switch to daylight time, at a time given in standard time
  RuleDate end;    // switch back, at a time given in daylight time
};

// Parses POSIX TZ strings such as "CET-1CEST,M3.5.0,M10.5.0/3" or "<+1030>-10:30<+11>-11,
// M10.1.0,M4.1.0". Note POSIX's sign convention: "CET-1" is one hour east of UTC.
class PosixRuleParser {
 public:
  explicit PosixRuleParser(const std::string& text) : text_(text) {}

  std::optional<PosixRule> parse() {
    PosixRule rule;
    int offset = 0;
    if (!abbreviation(&rule.standard.abbreviation) || !hours_minutes_seconds(24, &offset)) {
      return std::nullopt;
    }
    rule.standard.utc_offset = -offset;
    if (at_end()) return rule;

    rule.has_daylight = true;
    rule.daylight.is_dst = true;
    if (!abbreviation(&rule.daylight.abbreviation)) return std::nullopt;
    rule.daylight.utc_offset = rule.standard.utc_offset + 3600;
    if (!at_end() && text_[pos_] != ',') {
      if (!hours_minutes_seconds(24, &offset)) return std::nullopt;
      rule.daylight.utc_offset = -offset;
    }
    if (at_end()) {
      // No switching rule: the C library's historical default, the US rules of 2007.
      rule.start.month = 3;
      rule.start.week = 2;
      rule.end.month = 11;
      rule.end.week = 1;
      return rule;
    }
    if (!consume(',') || !date(&rule.start)) return std::nullopt;
    if (consume('/') && !hours_minutes_seconds(167, &rule.start.time)) return std::nullopt;
    if (!consume(',') || !date(&rule.end)) return std::nullopt;
    if (consume('/') && !hours_minutes_seconds(167, &rule.end.time)) return std::nullopt;
    if (!at_end()) return std::nullopt;
    return rule;
  }

 private:
  bool at_end() const { return pos_ == text_.size(); }

  bool consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  bool abbreviation(std::string* out) {
    const size_t begin = pos_;
    if (consume('<')) {
      while (pos_ < text_.size() && (is_ascii_alpha(text_[pos_]) || is_ascii_digit(text_[pos_]) ||
                                     text_[pos_] == '+' || text_[pos_] == '-')) {
        ++pos_;
      }
      *out = text_.substr(begin + 1, pos_ - begin - 1);
      if (!consume('>')) return false;
    } else {
      while (pos_ < text_.size() && is_ascii_alpha(text_[pos_])) ++pos_;
      *out = text_.substr(begin, pos_ - begin);
    }
    return out->size() >= 3;
  }

  bool number(size_t max_digits, int max_value, int* out) {
    const size_t begin = pos_;
    int value = 0;
    while (pos_ < text_.size() && is_ascii_digit(text_[pos_]) && pos_ - begin < max_digits) {
      value = value * 10 + (text_[pos_] - '0');
      ++pos_;
    }
    if (pos_ == begin || value > max_value) return false;
    *out = value;
    return true;
  }

  // [+-]h[h[h]][:mm[:ss]] as signed seconds.
  bool hours_minutes_seconds(int max_hours, int* seconds) {
    int sign = 1;
    if (consume('-')) {
      sign = -1;
    } else {
      consume('+');
    }
    int hours = 0;
    int minutes = 0;
    int secs = 0;
    if (!number(3, max_hours, &hours)) return false;
    if (consume(':')) {
      if (!number(2, 59, &minutes)) return false;
      if (consume(':') && !number(2, 59, &secs)) return false;
    }
    *seconds = sign * (hours * 3600 + minutes * 60 + secs);
    return true;
  }

  bool date(RuleDate* out) {
    if (consume('J')) {
      out->kind = RuleDate::Kind::kJulianNoLeap;
      return number(3, 365, &out->day_number) && out->day_number >= 1;
    }
    if (consume('M')) {
      out->kind = RuleDate::Kind::kMonthWeekDay;
      return number(2, 12, &out->month) && out->month >= 1 && consume('.') &&
             number(1, 5, &out->week) && out->week >= 1 && consume('.') &&
             number(1, 6, &out->weekday);
    }
    out->kind = RuleDate::Kind::kZeroBasedDay;
    return number(3, 365, &out->day_number);
  }

  const std::string& text_;
  size_t pos_ = 0;
};

int64_t rule_day(const RuleDate& date, int64_t year) {
  switch (date.kind) {
    case RuleDate::Kind::kJulianNoLeap: {
      const bool after_leap_day = is_leap_year(year) && date.day_number >= 60;
      return days_from_civil(year, 1, 1) + date.day_number - 1 + (after_leap_day ? 1 : 0);
    }
    case RuleDate::Kind::kZeroBasedDay:
      return days_from_civil(year, 1, 1) + date.day_number;
    case RuleDate::Kind::kMonthWeekDay: {
      const int64_t first = days_from_civil(year, date.month, 1);
      const int64_t last = first + days_in_month(year, date.month) - 1;
      int64_t day = first + floor_mod(date.weekday - weekday_from_days(first), 7) +
                    int64_t{7} * (date.week - 1);
      while (day > last) day -= 7;  // week 5 means the last such weekday
      return day;
    }
  }
  return 0;
}

struct RuleEvent {
  int64_t instant;
  bool to_daylight;
};

// The rule's switches in [first_year, last_year], in time order. Where two coincide (DST
// all year: one year's end is the next year's start) the later one in rule order wins,
// so it sorts last.
std::vector<RuleEvent> rule_events(const PosixRule& rule, int64_t first_year, int64_t last_year) {
  std::vector<RuleEvent> events;
  for (int64_t year = first_year; year <= last_year; ++year) {
    events.push_back(
        {rule_day(rule.start, year) * kSecondsPerDay + rule.start.time - rule.standard.utc_offset,
         true});
    events.push_back(
        {rule_day(rule.end, year) * kSecondsPerDay + rule.end.time - rule.daylight.utc_offset,
         false});
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const RuleEvent& a, const RuleEvent& b) { return a.instant < b.instant; });
  return events;
}

int64_t utc_year(int64_t t) {
  return civil_from_days(floor_div(t, kSecondsPerDay)).year;
}

const TimeType& rule_type_at(const PosixRule& rule, int64_t t) {
  if (!rule.has_daylight) return rule.standard;
  const int64_t year = utc_year(t);
  bool daylight = false;
  // Switch times stray from their year by at most 167 hours, so the previous year always
  // holds a switch before t.
  for (const RuleEvent& event : rule_events(rule, year - 1, year + 1)) {
    if (event.instant > t) break;
    daylight = event.to_daylight;
  }
  return daylight ? rule.daylight : rule.standard;
}

OffsetSpan rule_span_at(const PosixRule& rule, int64_t t) {
  const int standard = rule.standard.utc_offset;
  const int daylight = rule.daylight.utc_offset;
  if (!rule.has_daylight || standard == daylight) {
    return {kUnboundedStart, kUnboundedEnd, standard, standard};
  }
  const int64_t year = utc_year(t);
  OffsetSpan span{kUnboundedStart, kUnboundedEnd, 0, 0};
  std::optional<int> offset;  // the offset in effect at the latest event seen
  const std::vector<RuleEvent> events = rule_events(rule, year - 3, year + 3);
  for (size_t i = 0; i < events.size(); ++i) {
    // Of coinciding events only the last takes effect.
    if (i + 1 < events.size() && events[i + 1].instant == events[i].instant) continue;
    const int new_offset = events[i].to_daylight ? daylight : standard;
    // The first event only seeds the state: what came before it is outside the window.
    if (offset && *offset != new_offset) {
      if (events[i].instant <= t) {
        span.start = events[i].instant;
        span.previous_offset = *offset;
      } else {
        span.end = events[i].instant;
        break;
      }
    }
    offset = new_offset;
  }
  span.utc_offset = rule_type_at(rule, t).utc_offset;
  if (span.start == kUnboundedStart) span.previous_offset = span.utc_offset;
  return span;
}

class ByteReader {
 public:
  ByteReader(const std::string& data, const std::string& path) : data_(data), path_(path) {}

  [[noreturn]] void fail(const std::string& problem) const {
    throw Error(Errc::kCorrupt, "time zone file " + path_ + " is malformed: " + problem);
  }

  void need(uint64_t size) const {
    if (data_.size() - pos_ < size) fail("it is truncated");
  }
  void skip(uint64_t size) {
    need(size);
    pos_ += size;
  }
  uint8_t u8() {
    need(1);
    return static_cast<uint8_t>(data_[pos_++]);
  }
  uint32_t u32() {
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) value = (value << 8) | u8();
    return value;
  }
  uint64_t u64() {
    uint64_t value = 0;
    for (int i = 0; i < 8; ++i) value = (value << 8) | u8();
    return value;
  }
  std::string take(uint64_t size) {
    need(size);
    std::string out = data_.substr(pos_, size);
    pos_ += size;
    return out;
  }
  bool at_end() const { return pos_ == data_.size(); }
  size_t pos() const { return pos_; }
  const std::string& data() const { return data_; }

 private:
  const std::string& data_;
  const std::string& path_;
  size_t pos_ = 0;
};

struct TzifHeader {
  uint8_t version = 0;
  uint32_t utc_indicator_count = 0;
  uint32_t standard_indicator_count = 0;
  uint32_t leap_count = 0;
  uint32_t transition_count = 0;
  uint32_t type_count = 0;
  uint32_t char_count = 0;
};

TzifHeader read_tzif_header(ByteReader& reader) {
  if (reader.take(4) != "TZif") reader.fail("bad magic number");
  TzifHeader header;
  header.version = reader.u8();
  reader.skip(15);
  header.utc_indicator_count = reader.u32();
  header.standard_indicator_count = reader.u32();
  header.leap_count = reader.u32();
  header.transition_count = reader.u32();
  header.type_count = reader.u32();
  header.char_count = reader.u32();
  return header;
}

uint64_t tzif_data_size(const TzifHeader& header, uint64_t time_size) {
  return header.transition_count * (time_size + 1) + header.type_count * uint64_t{6} +
         header.char_count + header.leap_count * (time_size + 4) + header.standard_indicator_count +
         header.utc_indicator_count;
}

}  // namespace

struct TimeZone::Data {
  std::string name;
  std::vector<int64_t> transitions;  // strictly increasing
  std::vector<uint8_t> transition_types;
  std::vector<TimeType> types;      // types[0] also applies before the first transition
  std::optional<PosixRule> footer;  // governs instants from the last transition on

  const TimeType& type_at(int64_t t) const {
    if (footer && (transitions.empty() || t >= transitions.back())) {
      return rule_type_at(*footer, t);
    }
    auto it = std::upper_bound(transitions.begin(), transitions.end(), t);
    if (it == transitions.begin()) return types[0];
    return types[transition_types[it - transitions.begin() - 1]];
  }
};

namespace {

std::shared_ptr<TimeZone::Data> parse_tzif(const std::string& content, const std::string& path,
                                           const std::string& name) {
  ByteReader reader(content, path);
  TzifHeader header = read_tzif_header(reader);
  uint64_t time_size = 4;
  if (header.version >= '2') {
    // Version 2+ files repeat the data with 64-bit times; the 32-bit block is for old readers.
    reader.skip(tzif_data_size(header, 4));
    header = read_tzif_header(reader);
    time_size = 8;
  }
  if (header.leap_count != 0) {
    throw Error(Errc::kConfig,
                "time zone \"" + name + "\" counts leap seconds, which is not supported");
  }
  if (header.type_count == 0 || header.type_count > 256) reader.fail("bad local time type count");
  if ((header.utc_indicator_count != 0 && header.utc_indicator_count != header.type_count) ||
      (header.standard_indicator_count != 0 &&
       header.standard_indicator_count != header.type_count)) {
    reader.fail("bad indicator count");
  }
  reader.need(tzif_data_size(header, time_size));

  auto data = std::make_shared<TimeZone::Data>();
  data->name = name;
  data->transitions.reserve(header.transition_count);
  for (uint32_t i = 0; i < header.transition_count; ++i) {
    const int64_t t = time_size == 8 ? static_cast<int64_t>(reader.u64())
                                     : static_cast<int64_t>(static_cast<int32_t>(reader.u32()));
    if (!data->transitions.empty() && t <= data->transitions.back()) {
      reader.fail("transition times are not increasing");
    }
    data->transitions.push_back(t);
  }
  data->transition_types.reserve(header.transition_count);
  for (uint32_t i = 0; i < header.transition_count; ++i) {
    const uint8_t type = reader.u8();
    if (type >= header.type_count) reader.fail("transition to a nonexistent local time type");
    data->transition_types.push_back(type);
  }
  struct RawType {
    int32_t utc_offset;
    uint8_t is_dst;
    uint8_t abbreviation_index;
  };
  std::vector<RawType> raw_types;
  for (uint32_t i = 0; i < header.type_count; ++i) {
    RawType raw{static_cast<int32_t>(reader.u32()), reader.u8(), reader.u8()};
    // RFC 8536 says offsets should lie strictly between -25 and +26 hours; the local-to-UTC
    // searches rely on that.
    if (raw.utc_offset <= -25 * 3600 || raw.utc_offset >= 26 * 3600) {
      reader.fail("UTC offset out of range");
    }
    if (raw.is_dst > 1) reader.fail("bad DST indicator");
    if (raw.abbreviation_index >= header.char_count) reader.fail("bad abbreviation index");
    raw_types.push_back(raw);
  }
  const std::string chars = reader.take(header.char_count);
  for (const RawType& raw : raw_types) {
    const size_t end = chars.find('\0', raw.abbreviation_index);
    data->types.push_back({raw.utc_offset, raw.is_dst != 0,
                           chars.substr(raw.abbreviation_index, end - raw.abbreviation_index)});
  }
  reader.skip(uint64_t{header.standard_indicator_count} + header.utc_indicator_count);

  if (time_size == 8) {
    if (reader.u8() != '\n') reader.fail("no footer");
    const size_t footer_end = content.find('\n', reader.pos());
    if (footer_end == std::string::npos) reader.fail("unterminated footer");
    const std::string footer = reader.take(footer_end - reader.pos());
    if (!footer.empty()) {
      data->footer = PosixRuleParser(footer).parse();
      if (!data->footer) reader.fail("bad TZ string \"" + footer + "\" in the footer");
    }
  }
  return data;
}

bool is_valid_zone_name(const std::string& name) {
  if (name.empty() || name.front() == '/' || name.back() == '/') return false;
  for (char c : name) {
    if (!is_ascii_alpha(c) && !is_ascii_digit(c) && c != '_' && c != '+' && c != '-' && c != '/') {
      return false;  // this also keeps out "." and "..", so the name stays below the zone dir
    }
  }
  return true;
}

std::string trim(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t\r\n") - begin + 1);
}

// "/usr/share/zoneinfo/Europe/Berlin" -> "Europe/Berlin"
std::string zone_name_from_path(const std::string& path) {
  static constexpr char kMarker[] = "zoneinfo/";
  const size_t pos = path.rfind(kMarker);
  return pos == std::string::npos ? path : path.substr(pos + sizeof kMarker - 1);
}

}  // namespace

bool is_leap_year(int64_t year) {
  return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

int days_in_month(int64_t year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && is_leap_year(year)) return 29;
  return kDays[month - 1];
}

int64_t days_from_civil(int64_t year, int month, int day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = floor_div(year, 400);
  const int64_t year_of_era = year - era * 400;                            // [0, 399]
  const int64_t month_from_march = (month + 9) % 12;                       // March = 0
  const int64_t day_of_year = (153 * month_from_march + 2) / 5 + day - 1;  // [0, 365]
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

CivilTime civil_from_days(int64_t days) {
  days += 719468;
  const int64_t era = floor_div(days, 146097);
  const int64_t day_of_era = days - era * 146097;  // [0, 146096]
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t month_from_march = (5 * day_of_year + 2) / 153;
  CivilTime civil;
  civil.day = static_cast<int>(day_of_year - (153 * month_from_march + 2) / 5 + 1);
  civil.month =
      static_cast<int>(month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
  civil.year = year_of_era + era * 400 + (civil.month <= 2 ? 1 : 0);
  return civil;
}

int weekday_from_days(int64_t days) {
  return static_cast<int>(floor_mod(days + 4, 7));
}

int64_t seconds_from_civil(const CivilTime& civil) {
  return days_from_civil(civil.year, civil.month, civil.day) * kSecondsPerDay +
         int64_t{civil.hour} * 3600 + int64_t{civil.minute} * 60 + civil.second;
}

CivilTime civil_from_seconds(int64_t seconds) {
  const int64_t days = floor_div(seconds, kSecondsPerDay);
  const int64_t second_of_day = seconds - days * kSecondsPerDay;
  CivilTime civil = civil_from_days(days);
  civil.hour = static_cast<int>(second_of_day / 3600);
  civil.minute = static_cast<int>(second_of_day / 60 % 60);
  civil.second = static_cast<int>(second_of_day % 60);
  return civil;
}

std::string format_civil(const CivilTime& civil) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04lld-%02d-%02d %02d:%02d:%02d",
                static_cast<long long>(civil.year), civil.month, civil.day, civil.hour,
                civil.minute, civil.second);
  return buffer;
}

TimeZone TimeZone::load(const std::string& name, const std::string& zoneinfo_dir) {
  if (!is_valid_zone_name(name)) {
    throw Error(Errc::kConfig, "invalid time zone name \"" + name +
                                   "\": expected a relative name of letters, digits and _+-/ "
                                   "such as \"Europe/Berlin\"");
  }
  const std::string path = join_path(zoneinfo_dir, name);
  // UTC needs no data, so it works even where the zone files are not installed.
  if ((name == "UTC" || name == "Etc/UTC") && !path_exists(path)) {
    auto data = std::make_shared<Data>(*utc().data_);
    data->name = name;
    return TimeZone(std::move(data));
  }
  return load_file(path, name);
}

TimeZone TimeZone::load_file(const std::string& path, const std::string& name) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw Error(Errc::kConfig, "unknown time zone \"" + name + "\"");
  }
  const std::string content = read_file(path, 1u << 20);
  // Zone directories also hold tables and lists, which are no zones.
  if (content.compare(0, 4, "TZif") != 0) {
    throw Error(Errc::kConfig, "unknown time zone \"" + name + "\"");
  }
  return TimeZone(parse_tzif(content, path, name));
}

TimeZone TimeZone::utc() {
  static const std::shared_ptr<const Data> kUtc = [] {
    auto data = std::make_shared<Data>();
    data->name = "UTC";
    data->types.push_back({0, false, "UTC"});
    return data;
  }();
  return TimeZone(kUtc);
}

TimeZone TimeZone::from_posix_rule(const std::string& rule) {
  std::optional<PosixRule> parsed = PosixRuleParser(rule).parse();
  if (!parsed) throw Error(Errc::kConfig, "invalid POSIX time zone rule \"" + rule + "\"");
  auto data = std::make_shared<Data>();
  data->name = rule;
  data->types.push_back(parsed->standard);
  data->footer = std::move(parsed);
  return TimeZone(std::move(data));
}

TimeZone TimeZone::system_default() {
  auto attempt = [](auto&& make) -> std::optional<TimeZone> {
    try {
      return make();
    } catch (const Error&) {
      return std::nullopt;
    }
  };

  if (const char* tz_variable = std::getenv("TZ")) {
    std::string value = tz_variable;
    if (!value.empty() && value.front() == ':') value.erase(0, 1);
    if (value.empty()) return utc();
    std::optional<TimeZone> zone;
    if (value.front() == '/') {
      zone = attempt([&] { return load_file(value, zone_name_from_path(value)); });
    } else {
      zone = attempt([&] { return load(value); });
      if (!zone) zone = attempt([&] { return from_posix_rule(value); });
    }
    return zone ? *zone : utc();
  }

  char target[4096];
  const ssize_t target_size = ::readlink("/etc/localtime", target, sizeof target - 1);
  if (target_size > 0) {
    const std::string name = zone_name_from_path(std::string(target, target_size));
    if (auto zone = attempt([&] { return load(name); })) return *zone;
  }
  auto from_etc_timezone = [&] { return load(trim(read_file("/etc/timezone", 4096))); };
  if (auto zone = attempt(from_etc_timezone)) return *zone;
  if (auto zone = attempt([&] { return load_file("/etc/localtime", "localtime"); })) return *zone;
  return utc();
}

const std::string& TimeZone::name() const {
  return data_->name;
}

int TimeZone::offset_at(int64_t utc_seconds) const {
  return data_->type_at(clamp_time(utc_seconds)).utc_offset;
}

LocalTime TimeZone::to_local(int64_t utc_seconds) const {
  utc_seconds = clamp_time(utc_seconds);
  const TimeType& type = data_->type_at(utc_seconds);
  const int64_t local_seconds = utc_seconds + type.utc_offset;
  LocalTime local;
  static_cast<CivilTime&>(local) = civil_from_seconds(local_seconds);
  local.weekday = weekday_from_days(floor_div(local_seconds, kSecondsPerDay));
  local.utc_offset = type.utc_offset;
  local.is_dst = type.is_dst;
  local.abbreviation = type.abbreviation;
  return local;
}

OffsetSpan TimeZone::span_at(int64_t utc_seconds) const {
  const int64_t t = clamp_time(utc_seconds);
  const Data& data = *data_;
  const std::vector<int64_t>& transitions = data.transitions;
  auto offset_of_transition = [&](size_t i) {
    return data.types[data.transition_types[i]].utc_offset;
  };
  if (data.footer && (transitions.empty() || t >= transitions.back())) {
    OffsetSpan span = rule_span_at(*data.footer, t);
    if (!transitions.empty() && span.start < transitions.back()) {
      span.start = transitions.back();
      span.previous_offset = transitions.size() >= 2 ? offset_of_transition(transitions.size() - 2)
                                                     : data.types[0].utc_offset;
    }
    return span;
  }
  const int initial_offset = data.types[0].utc_offset;
  auto it = std::upper_bound(transitions.begin(), transitions.end(), t);
  if (it == transitions.begin()) {
    const int64_t end = transitions.empty() ? kUnboundedEnd : transitions.front();
    return {kUnboundedStart, end, initial_offset, initial_offset};
  }
  const size_t i = it - transitions.begin() - 1;
  OffsetSpan span;
  span.start = transitions[i];
  span.end = i + 1 < transitions.size() ? transitions[i + 1] : kUnboundedEnd;
  span.utc_offset = offset_of_transition(i);
  span.previous_offset = i > 0 ? offset_of_transition(i - 1) : initial_offset;
  return span;
}

LocalTimeMapping TimeZone::from_local(const CivilTime& local) const {
  if (local.month < 1 || local.month > 12 || local.day < 1 ||
      local.day > days_in_month(local.year, local.month) || local.hour < 0 || local.hour > 23 ||
      local.minute < 0 || local.minute > 59 || local.second < 0 || local.second > 59) {
    throw Error(Errc::kInvalidArgument, "invalid local time " + format_civil(local));
  }
  // Walk the spans around the local time read as UTC; offsets are under 26 hours, so any
  // instant showing this local time lies within this window.
  static constexpr int64_t kWindow = 2 * kSecondsPerDay;
  const int64_t wall = clamp_time(seconds_from_civil(local));
  LocalTimeMapping mapping;
  bool in_gap = false;
  for (int64_t pos = wall - kWindow; pos < wall + kWindow;) {
    const OffsetSpan span = span_at(pos);
    const bool starts_here = span.start >= pos;
    if (starts_here && span.utc_offset > span.previous_offset && !in_gap &&
        wall >= span.start + span.previous_offset && wall < span.start + span.utc_offset) {
      in_gap = true;
      mapping.gap_end = span.start;
    }
    const int64_t candidate = wall - span.utc_offset;
    if (candidate >= std::max(span.start, pos) && candidate < span.end) {
      mapping.instants.push_back(candidate);
    }
    if (span.end == kUnboundedEnd) break;
    pos = span.end;
  }
  if (!mapping.instants.empty()) mapping.gap_end = 0;
  return mapping;
}

}  // namespace ramsafe
