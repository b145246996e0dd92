// The age v1 header: "age-encryption.org/v1", recipient stanzas, and the "---" MAC line.
// HeaderParser reads it incrementally and strictly (canonical base64, 64-column stanza
// bodies ending in a short line, arguments of printable ASCII), so that exactly one byte
// sequence parses to a given header. Internal to the age module.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ramsafe::age::detail {

constexpr char kVersionLine[] = "age-encryption.org/v1";
// A header larger than this is refused: the parser keeps the whole header in memory.
constexpr size_t kMaxHeaderSize = 1 << 20;
constexpr size_t kColumnsPerLine = 64;

struct Stanza {
  std::string type;
  std::vector<std::string> args;
  std::vector<uint8_t> body;
};

// A valid stanza argument or type: non-empty, printable ASCII without space (33-126).
bool is_valid_argument(const std::string& arg);

// The header text the MAC covers: the version line, the stanzas, and "---".
std::string encode_header_without_mac(const std::vector<Stanza>& stanzas);
// The MAC line that completes it: " " + base64(mac) + "\n".
std::string encode_mac_line(const std::array<uint8_t, 32>& mac);

// Incremental strict header parser. Throws Error(kCorrupt) for a malformed header.
class HeaderParser {
 public:
  // Consumes bytes up to the end of the header; returns how many it consumed. Once done(),
  // the remaining input belongs to the payload.
  size_t feed(const uint8_t* data, size_t size);
  bool done() const { return state_ == State::kDone; }
  // At end of input: throws if the header is incomplete.
  void finish() const;

  const std::vector<Stanza>& stanzas() const { return stanzas_; }
  const std::array<uint8_t, 32>& mac() const { return mac_; }
  // The bytes the MAC covers: the header up to and including "---".
  const std::string& mac_input() const { return covered_; }

 private:
  enum class State { kVersion, kStanzaOrMac, kBody, kDone };
  void parse_line(const std::string& line);

  State state_ = State::kVersion;
  std::string line_;     // the current, incomplete line
  std::string covered_;  // complete header lines so far
  size_t total_ = 0;
  std::vector<Stanza> stanzas_;
  std::array<uint8_t, 32> mac_{};
};

}  // namespace ramsafe::age::detail
