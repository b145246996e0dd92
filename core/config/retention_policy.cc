#include "core/config/retention_policy.h"

#include <algorithm>
#include <set>
#include <string>

#include "core/config/config.h"
#include "core/error.h"

namespace ramsafe {
namespace {

constexpr const char* kExpectedNames = "last, hourly, daily, weekly, monthly or yearly";

struct RuleField {
  const char* name;
  int RetentionPolicy::*count;
};

// Canonical order, used by parse, to_string and the reasons.
constexpr RuleField kRuleFields[] = {
    {"last", &RetentionPolicy::keep_last},       {"hourly", &RetentionPolicy::keep_hourly},
    {"daily", &RetentionPolicy::keep_daily},     {"weekly", &RetentionPolicy::keep_weekly},
    {"monthly", &RetentionPolicy::keep_monthly}, {"yearly", &RetentionPolicy::keep_yearly},
};

std::string to_lower_ascii(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

bool is_separator(char c) {
  return c == ',' || c == ' ' || (c >= '\t' && c <= '\r');
}

[[noreturn]] void throw_config(const std::string& message) {
  throw Error(Errc::kConfig, message);
}

int parse_count(const std::string& item, const std::string& digits) {
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    throw_config(config::quote_for_message(item) + ": expected a whole number");
  }
  // Leading zeros are harmless; more digits than that cannot fit the limit.
  const size_t first = std::min(digits.find_first_not_of('0'), digits.size());
  const std::string significant = digits.substr(first);
  if (significant.size() > 6 ||
      (significant.empty() ? 0 : std::stoi(significant)) > RetentionPolicy::kMaxCount) {
    throw_config(config::quote_for_message(item) + ": expected at most " +
                 std::to_string(RetentionPolicy::kMaxCount));
  }
  return significant.empty() ? 0 : std::stoi(significant);
}

}  // namespace

bool RetentionPolicy::keeps_everything() const {
  for (const RuleField& field : kRuleFields) {
    if (this->*field.count != 0) return false;
  }
  return true;
}

std::string RetentionPolicy::to_string() const {
  std::string out;
  for (const RuleField& field : kRuleFields) {
    if (this->*field.count == 0) continue;
    if (!out.empty()) out += ' ';
    out += std::string(field.name) + "=" + std::to_string(this->*field.count);
  }
  return out;
}

RetentionPolicy RetentionPolicy::parse(const std::string& text) {
  RetentionPolicy policy;
  std::set<std::string> seen;
  size_t pos = 0;
  while (pos < text.size()) {
    if (is_separator(text[pos])) {
      ++pos;
      continue;
    }
    size_t end = pos;
    while (end < text.size() && !is_separator(text[end])) ++end;
    const std::string item = text.substr(pos, end - pos);
    pos = end;

    const size_t equals = item.find('=');
    if (equals == std::string::npos || equals == 0) {
      throw_config(config::quote_for_message(item) + ": expected name=N, e.g. daily=7");
    }
    const std::string name = item.substr(0, equals);
    const std::string lower = to_lower_ascii(name);
    const RuleField* field = nullptr;
    for (const RuleField& candidate : kRuleFields) {
      if (lower == candidate.name) field = &candidate;
    }
    if (field == nullptr) {
      throw_config("unknown rule " + config::quote_for_message(name) + " in " +
                   config::quote_for_message(item) + " (expected " + kExpectedNames + ")");
    }
    if (!seen.insert(lower).second) {
      throw_config(config::quote_for_message(lower) + " given twice");
    }
    policy.*field->count = parse_count(item, item.substr(equals + 1));
  }
  return policy;
}

}  // namespace ramsafe
