#include "core/crypto/age_header.h"

#include <algorithm>
#include <cstring>

#include "core/crypto/base64.h"
#include "core/error.h"

namespace ramsafe::age::detail {
namespace {

[[noreturn]] void malformed(const std::string& what) {
  throw Error(Errc::kCorrupt, "age: invalid header: " + what);
}

std::vector<std::string> split_spaces(const std::string& line) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t space = line.find(' ', start);
    if (space == std::string::npos) {
      parts.push_back(line.substr(start));
      return parts;
    }
    parts.push_back(line.substr(start, space - start));
    start = space + 1;
  }
}

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

}  // namespace

bool is_valid_argument(const std::string& arg) {
  if (arg.empty()) return false;
  for (char c : arg)
    if (c < 33 || c > 126) return false;
  return true;
}

std::string encode_header_without_mac(const std::vector<Stanza>& stanzas) {
  std::string out = std::string(kVersionLine) + "\n";
  for (const Stanza& s : stanzas) {
    out += "-> " + s.type;
    for (const std::string& arg : s.args) out += " " + arg;
    out += "\n";
    std::string body = base64::encode_raw(s.body.data(), s.body.size());
    size_t pos = 0;
    for (; body.size() - pos >= kColumnsPerLine; pos += kColumnsPerLine)
      out += body.substr(pos, kColumnsPerLine) + "\n";
    out += body.substr(pos) + "\n";  // the final short line, possibly empty
  }
  out += "---";
  return out;
}

std::string encode_mac_line(const std::array<uint8_t, 32>& mac) {
  return " " + base64::encode_raw(mac.data(), mac.size()) + "\n";
}

size_t HeaderParser::feed(const uint8_t* data, size_t size) {
  size_t used = 0;
  while (used < size && state_ != State::kDone) {
    const void* nl = std::memchr(data + used, '\n', size - used);
    size_t take =
        nl ? static_cast<size_t>(static_cast<const uint8_t*>(nl) - (data + used)) + 1 : size - used;
    if (total_ + take > kMaxHeaderSize)
      malformed("header is larger than " + std::to_string(kMaxHeaderSize) + " bytes");
    line_.append(reinterpret_cast<const char*>(data + used), take);
    total_ += take;
    used += take;
    if (state_ == State::kVersion) {
      // Fail early on something that is not an age file, rather than buffering it.
      size_t n = std::min(line_.size(), sizeof kVersionLine);
      std::string expected = std::string(kVersionLine) + "\n";
      if (line_.compare(0, n, expected, 0, n) != 0) {
        if (line_.compare(0, 22, std::string(kVersionLine) + "\r") == 0)
          malformed("header lines end with CRLF (was the file converted to Windows line ends?)");
        if (line_.compare(0, 19, expected, 0, 19) == 0)
          malformed("unsupported age format version (expected \"age-encryption.org/v1\")");
        throw Error(Errc::kCorrupt,
                    "age: not an age file (the first line is not \"age-encryption.org/v1\" and "
                    "it is not armored)");
      }
    }
    if (!nl) break;
    line_.pop_back();  // '\n'
    std::string line;
    line.swap(line_);
    parse_line(line);
  }
  return used;
}

void HeaderParser::parse_line(const std::string& line) {
  switch (state_) {
    case State::kVersion:
      if (line != kVersionLine) malformed("bad version line");
      covered_ = line + "\n";
      state_ = State::kStanzaOrMac;
      return;
    case State::kStanzaOrMac: {
      if (line.compare(0, 3, "---") == 0) {
        std::vector<std::string> parts = split_spaces(line);
        if (parts.size() != 2 || parts[0] != "---") malformed("malformed MAC line");
        std::vector<uint8_t> mac;
        if (!base64::decode_raw(parts[1].data(), parts[1].size(), mac) || mac.size() != 32)
          malformed("malformed MAC line (not canonical base64 of 32 bytes)");
        std::copy(mac.begin(), mac.end(), mac_.begin());
        covered_ += "---";
        state_ = State::kDone;
        return;
      }
      std::vector<std::string> parts = split_spaces(line);
      if (parts[0] != "->") malformed("expected a stanza (\"-> \") or the MAC line (\"--- \")");
      if (parts.size() < 2) malformed("stanza without a type");
      for (size_t i = 1; i < parts.size(); ++i)
        if (!is_valid_argument(parts[i]))
          malformed("stanza argument is empty or has characters outside printable ASCII");
      Stanza stanza;
      stanza.type = parts[1];
      stanza.args.assign(parts.begin() + 2, parts.end());
      stanzas_.push_back(std::move(stanza));
      covered_ += line + "\n";
      state_ = State::kBody;
      return;
    }
    case State::kBody: {
      for (char c : line) {
        if (!is_base64_char(c)) {
          if (line.compare(0, 2, "->") == 0 || line.compare(0, 3, "---") == 0)
            malformed("stanza body does not end with a short line");
          malformed("stanza body is not unpadded base64");
        }
      }
      if (line.size() > kColumnsPerLine) malformed("stanza body line longer than 64 columns");
      if (!base64::decode_raw(line.data(), line.size(), stanzas_.back().body))
        malformed("stanza body is not canonical base64");
      covered_ += line + "\n";
      if (line.size() < kColumnsPerLine) state_ = State::kStanzaOrMac;
      return;
    }
    case State::kDone:
      return;
  }
}

void HeaderParser::finish() const {
  if (state_ == State::kDone) return;
  if (total_ == 0) throw Error(Errc::kCorrupt, "age: the file is empty");
  malformed("the file ends inside the header");
}

}  // namespace ramsafe::age::detail
