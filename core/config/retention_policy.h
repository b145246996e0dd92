// The syntax of a retention policy setting (ramsafe.local_retention and friends):
// restic-style keep counts. The decisions made with a policy are core/retention.
#pragma once

#include <string>

namespace ramsafe {

struct RetentionPolicy {
  int keep_last = 0;
  int keep_hourly = 0;
  int keep_daily = 0;
  int keep_weekly = 0;
  int keep_monthly = 0;
  int keep_yearly = 0;

  static constexpr int kMaxCount = 100000;

  // All counts zero: no retention at all, nothing is ever deleted.
  bool keeps_everything() const;
  // "last=3 hourly=24 daily=7": canonical order, zeros omitted, "" when all are zero.
  std::string to_string() const;
  // Parses a setting's text: `name=N` items separated by whitespace and/or commas, names
  // last, hourly, daily, weekly, monthly and yearly (case-insensitive, each at most once),
  // N a whole number 0..kMaxCount. "" keeps everything. Throws Error(kConfig) naming the
  // bad item and what is expected.
  static RetentionPolicy parse(const std::string& text);
};

}  // namespace ramsafe
