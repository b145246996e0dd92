#include "core/crypto/age_armor.h"

#include "core/crypto/base64.h"
#include "core/error.h"

namespace ramsafe::age::detail {
namespace {

constexpr size_t kMaxWhitespace = 1024;
constexpr size_t kBytesPerLine = 48;
constexpr size_t kFlushSize = 64 * kBytesPerLine;
// No valid line is longer than this (leading whitespace lines are bounded separately).
constexpr size_t kMaxLine = kMaxWhitespace + 2;

[[noreturn]] void invalid(const std::string& what) {
  throw Error(Errc::kCorrupt, "age: invalid armor: " + what);
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool all_space(const std::string& s) {
  for (char c : s)
    if (!is_space(c)) return false;
  return true;
}

}  // namespace

ArmorDecoder::ArmorDecoder(Sink& next) : next_(next) {
  decoded_.reserve(kFlushSize);
}

void ArmorDecoder::flush() {
  if (decoded_.empty()) return;
  next_.write(decoded_.data(), decoded_.size());
  decoded_.clear();
}

void ArmorDecoder::write(const uint8_t* data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    char c = static_cast<char>(data[i]);
    if (state_ == State::kTrailing) {
      if (!is_space(c)) invalid("trailing data after the end line");
      if (++whitespace_ >= kMaxWhitespace) invalid("too much trailing whitespace");
      continue;
    }
    if (c == '\n') {
      process_line(line_);
      line_.clear();
      if (decoded_.size() >= kFlushSize) flush();
      continue;
    }
    line_.push_back(c);
    if (line_.size() > kMaxLine) {
      if (state_ == State::kLeading && all_space(line_)) invalid("too much leading whitespace");
      invalid("line too long");
    }
  }
}

void ArmorDecoder::process_line(std::string& line) {
  // Line ends are LF or CRLF.
  if (!line.empty() && line.back() == '\r') line.pop_back();
  switch (state_) {
    case State::kLeading:
      if (all_space(line)) {
        whitespace_ += line.size() + 1;
        if (whitespace_ > kMaxWhitespace) invalid("too much leading whitespace");
        return;
      }
      if (line != kArmorBegin)
        invalid("the first line is not \"" + std::string(kArmorBegin) + "\"");
      state_ = State::kData;
      return;
    case State::kData: {
      if (line == kArmorEnd) {
        state_ = State::kTrailing;
        whitespace_ = 0;
        return;
      }
      if (line.empty()) invalid("empty line");
      if (line.size() > 64) invalid("line longer than 64 columns");
      size_t before = decoded_.size();
      if (!base64::decode_padded(line.data(), line.size(), decoded_))
        invalid("line is not canonical padded base64");
      if (decoded_.size() - before < kBytesPerLine) state_ = State::kFooter;
      return;
    }
    case State::kFooter:
      if (line != kArmorEnd)
        invalid("a short line must be followed by \"" + std::string(kArmorEnd) + "\"");
      state_ = State::kTrailing;
      whitespace_ = 0;
      return;
    case State::kTrailing:
      return;
  }
}

void ArmorDecoder::finish() {
  if (state_ != State::kTrailing && !line_.empty()) {
    process_line(line_);  // a last line without a line end
    line_.clear();
  }
  if (state_ != State::kTrailing) {
    if (state_ == State::kLeading) invalid("no \"" + std::string(kArmorBegin) + "\" line");
    invalid("missing the \"" + std::string(kArmorEnd) + "\" line");
  }
  flush();
  next_.finish();
}

}  // namespace ramsafe::age::detail
