// JSON from outside (a store's manifest.json, Google's responses, token and credential
// files) parsed with limits: its size and nesting depth are checked on the raw bytes before
// nlohmann/json sees them, so no input can exhaust the stack (nlohmann's serialiser and
// destructor recurse once per level) or memory beyond a bound the caller chose. And JSON
// written for people, with nothing a terminal would act on.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace ramsafe {

// Deeper than any document ramsafe reads (a manifest is 4 levels deep, Drive's answers 3),
// shallow enough for any stack.
constexpr size_t kJsonMaxDepth = 64;

struct JsonLimits {
  size_t max_bytes;
  size_t max_depth = kJsonMaxDepth;
};

// Parses text, or throws Error(kCorrupt) naming source when it is larger than
// limits.max_bytes, nested deeper than limits.max_depth (arrays and objects) or not JSON.
nlohmann::json parse_bounded_json(const char* data, size_t size, const JsonLimits& limits,
                                  const std::string& source);
inline nlohmann::json parse_bounded_json(const std::string& text, const JsonLimits& limits,
                                         const std::string& source) {
  return parse_bounded_json(text.data(), text.size(), limits, source);
}
// The same without an error: nullopt for anything parse_bounded_json refuses.
std::optional<nlohmann::json> try_parse_bounded_json(const char* data, size_t size,
                                                     const JsonLimits& limits);
inline std::optional<nlohmann::json> try_parse_bounded_json(const std::string& text,
                                                            const JsonLimits& limits) {
  return try_parse_bounded_json(text.data(), text.size(), limits);
}

// The nesting depth of JSON text (arrays and objects), counted on the bytes without
// parsing, stopping as soon as it exceeds limit (then limit + 1).
size_t json_depth(const char* data, size_t size, size_t limit);

// dump() for output people read: invalid UTF-8 replaced (never an exception), and DEL and
// the C1 controls (U+0080..U+009F, e.g. the single-character CSI) written as \u00XX like
// the C0 ones, so no string from a store can drive a terminal.
std::string dump_printable_json(const nlohmann::json& j, int indent = -1);

}  // namespace ramsafe
