#include "core/io/bounded_json.h"

#include <cstdio>

#include "core/error.h"

namespace ramsafe {

size_t json_depth(const char* data, size_t size, size_t limit) {
  size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < size; ++i) {
    char c = data[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) deepest = depth;
      if (deepest > limit) return limit + 1;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

nlohmann::json parse_bounded_json(const char* data, size_t size, const JsonLimits& limits,
                                  const std::string& source) {
  if (size > limits.max_bytes)
    throw Error(Errc::kCorrupt, source + " is larger than " + std::to_string(limits.max_bytes) +
                                    " bytes; refusing to parse it");
  if (json_depth(data, size, limits.max_depth) > limits.max_depth)
    throw Error(Errc::kCorrupt, source + " is nested deeper than " +
                                    std::to_string(limits.max_depth) +
                                    " levels; refusing to parse it");
  try {
    return nlohmann::json::parse(data, data + size);
  } catch (const nlohmann::json::exception& e) {
    throw Error(Errc::kCorrupt, source + " is not valid JSON (" + e.what() + ")");
  }
}

std::optional<nlohmann::json> try_parse_bounded_json(const char* data, size_t size,
                                                     const JsonLimits& limits) {
  if (size > limits.max_bytes || json_depth(data, size, limits.max_depth) > limits.max_depth)
    return std::nullopt;
  auto j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::string dump_printable_json(const nlohmann::json& j, int indent) {
  std::string text = j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
  // Outside strings JSON text is ASCII without DEL, so these bytes are inside strings, where
  // \u00XX means the same character.
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    unsigned code = 0;
    if (c == 0x7F) {
      code = 0x7F;
    } else if (c == 0xC2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) < 0xA0) {
      code = static_cast<unsigned char>(text[++i]);
    } else {
      out.push_back(text[i]);
      continue;
    }
    char escaped[8];
    std::snprintf(escaped, sizeof escaped, "\\u%04x", code);
    out += escaped;
  }
  return out;
}

}  // namespace ramsafe
