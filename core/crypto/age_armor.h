// Decoding of the age ASCII armor: strict PEM with type "AGE ENCRYPTED FILE", no
// headers, canonical padded base64 in 64-column lines (only the last may be shorter), LF
// or CRLF line ends, and only whitespace (up to 1 KiB) before and after. Internal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/io/sink.h"

namespace ramsafe::age::detail {

constexpr char kArmorBegin[] = "-----BEGIN AGE ENCRYPTED FILE-----";
constexpr char kArmorEnd[] = "-----END AGE ENCRYPTED FILE-----";

// Streams the decoded bytes to next. Throws Error(kCorrupt, "age: invalid armor: ...").
// finish() checks the armor was complete, then finishes next.
class ArmorDecoder : public Sink {
 public:
  explicit ArmorDecoder(Sink& next);
  void write(const uint8_t* data, size_t size) override;
  void finish() override;

 private:
  enum class State { kLeading, kData, kFooter, kTrailing };
  void process_line(std::string& line);
  void flush();

  Sink& next_;
  State state_ = State::kLeading;
  std::string line_;
  size_t whitespace_ = 0;  // leading or trailing whitespace seen so far
  std::vector<uint8_t> decoded_;
};

}  // namespace ramsafe::age::detail
