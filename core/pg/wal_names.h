// WAL file names and LSNs as PostgreSQL writes them: the segment, history, backup-history
// and .partial names the archiver hands over, LSN text, and segment arithmetic. Pure
// string work, shared by the set format (a physical manifest names its WAL) and the WAL
// archive, so that reading a manifest does not need the archive's pipeline.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace ramsafe {

enum class WalFileKind {
  kSegment,  // 000000010000000000000003
  kPartial,  // 000000010000000000000003.partial (end of a timeline at promotion)
  kHistory,  // 00000002.history
  kBackup,   // 000000010000000000000003.00000028.backup (backup history file)
};

struct WalFileName {
  std::string name;
  WalFileKind kind = WalFileKind::kSegment;
  std::string timeline;  // 8 upper-case hex digits
};

// Parses a name the archiver can hand over (upper-case hex, as PostgreSQL writes them).
// Throws Error(kInvalidArgument) naming the bad name.
WalFileName parse_wal_file_name(const std::string& name);
bool is_wal_file_name(const std::string& name);
std::optional<WalFileName> try_parse_wal_file_name(const std::string& name);
// A timeline as the first 8 hex digits of a segment name: "00000002".
bool is_timeline_id(const std::string& text);

// LSNs as PostgreSQL prints them: "16/B374D848" <-> 0x16B374D848. nullopt if malformed.
std::optional<uint64_t> parse_lsn(const std::string& text);
std::string format_lsn(uint64_t lsn);
// A power of two from 1 MiB to 1 GiB, as initdb --wal-segsize allows.
bool is_valid_wal_segment_size(uint64_t bytes);
// The segment file holding lsn on timeline: "000000010000000000000002".
std::string wal_segment_file_name(uint32_t timeline, uint64_t lsn, uint64_t segment_size);
// The position of a segment name (its last 16 hex digits) as a segment number.
uint64_t wal_segment_number(const std::string& segment_name, uint64_t segment_size);

}  // namespace ramsafe
