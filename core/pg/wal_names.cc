#include "core/pg/wal_names.h"

#include <cstdio>
#include <optional>
#include <string>

#include "core/error.h"

namespace ramsafe {
namespace {

bool is_upper_hex(const std::string& s, size_t pos, size_t count) {
  if (pos + count > s.size()) return false;
  for (size_t i = pos; i < pos + count; ++i) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return false;
  }
  return true;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::optional<WalFileName> parse_name(const std::string& name) {
  WalFileName out;
  out.name = name;
  if (name.size() == 24 && is_upper_hex(name, 0, 24)) {
    out.kind = WalFileKind::kSegment;
  } else if (name.size() == 32 && is_upper_hex(name, 0, 24) && ends_with(name, ".partial")) {
    out.kind = WalFileKind::kPartial;
  } else if (name.size() == 16 && is_upper_hex(name, 0, 8) && ends_with(name, ".history")) {
    out.kind = WalFileKind::kHistory;
  } else if (name.size() == 40 && is_upper_hex(name, 0, 24) && name[24] == '.' &&
             is_upper_hex(name, 25, 8) && ends_with(name, ".backup")) {
    out.kind = WalFileKind::kBackup;
  } else {
    return std::nullopt;
  }
  out.timeline = name.substr(0, 8);
  if (out.timeline == "00000000") return std::nullopt;  // timelines start at 1
  return out;
}

std::string quoted(const std::string& name) {
  std::string shown = name.size() > 80 ? name.substr(0, 80) + "..." : name;
  for (char& c : shown)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return "\"" + shown + "\"";
}

}  // namespace

WalFileName parse_wal_file_name(const std::string& name) {
  if (auto parsed = parse_name(name)) return *parsed;
  throw Error(Errc::kInvalidArgument,
              quoted(name) +
                  " is not a WAL file name (expected a 24-hex-digit segment, "
                  "XXXXXXXX.history, <segment>.XXXXXXXX.backup or <segment>.partial)");
}

bool is_wal_file_name(const std::string& name) {
  return parse_name(name).has_value();
}

std::optional<WalFileName> try_parse_wal_file_name(const std::string& name) {
  return parse_name(name);
}

bool is_timeline_id(const std::string& text) {
  return text.size() == 8 && is_upper_hex(text, 0, 8);
}

std::optional<uint64_t> parse_lsn(const std::string& text) {
  size_t slash = text.find('/');
  if (slash == std::string::npos || slash == 0 || slash > 8 || text.size() - slash - 1 == 0 ||
      text.size() - slash - 1 > 8)
    return std::nullopt;
  uint64_t hi = 0, lo = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == slash) continue;
    char c = text[i];
    int v = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                     : -1;
    if (v < 0) return std::nullopt;
    uint64_t& part = i < slash ? hi : lo;
    part = part * 16 + static_cast<uint64_t>(v);
  }
  return (hi << 32) | lo;
}

std::string format_lsn(uint64_t lsn) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32),
                static_cast<unsigned>(lsn & 0xFFFFFFFFu));
  return buf;
}

bool is_valid_wal_segment_size(uint64_t bytes) {
  return bytes >= (uint64_t{1} << 20) && bytes <= (uint64_t{1} << 30) && (bytes & (bytes - 1)) == 0;
}

std::string wal_segment_file_name(uint32_t timeline, uint64_t lsn, uint64_t segment_size) {
  if (!is_valid_wal_segment_size(segment_size))
    throw Error(Errc::kInvalidArgument, "invalid WAL segment size " + std::to_string(segment_size));
  uint64_t per_id = (uint64_t{1} << 32) / segment_size;
  uint64_t segno = lsn / segment_size;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08X%08X%08X", timeline, static_cast<unsigned>(segno / per_id),
                static_cast<unsigned>(segno % per_id));
  return buf;
}

uint64_t wal_segment_number(const std::string& segment_name, uint64_t segment_size) {
  if (segment_name.size() < 24 || !is_upper_hex(segment_name, 0, 24) ||
      !is_valid_wal_segment_size(segment_size))
    throw Error(Errc::kInvalidArgument, "not a WAL segment name: " + quoted(segment_name));
  uint64_t per_id = (uint64_t{1} << 32) / segment_size;
  uint64_t log = std::stoull(segment_name.substr(8, 8), nullptr, 16);
  uint64_t seg = std::stoull(segment_name.substr(16, 8), nullptr, 16);
  return log * per_id + seg;
}

}  // namespace ramsafe
