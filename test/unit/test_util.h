// Helpers shared by the unit tests.
#pragma once

#include <stdlib.h>

#include <random>
#include <string>
#include <vector>

#include "core/paths.h"

namespace ramsafe::test {

// Text for a test parameter's printed name: CTest test names come from it, so control
// characters, ';' and backslashes are shown as \xNN.
inline std::string printable_param(const std::string& text) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x20 || c >= 0x7f || c == ';' || c == '\\') {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// A scratch directory under /dev/shm (tmpfs), removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = "/dev/shm/ramsafe-unit-XXXXXX";
    path_ = ::mkdtemp(pattern.data()) ? pattern : "";
  }
  ~ScratchDir() { remove_tree(path_); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return join_path(path_, name); }

 private:
  std::string path_;
};

// Text that compresses like real table data: words from a small vocabulary plus noise.
inline std::string compressible_text(size_t size, unsigned seed = 1) {
  static const char* kWords[] = {"the",    "group",    "discussion", "vote",  "comment",
                                 "member", "proposal", "agree",      "time",  "people",
                                 "loomio", "outcome",  "poll",       "thread"};
  std::mt19937 rng(seed);
  std::string out;
  while (out.size() < size) {
    out += kWords[rng() % (sizeof kWords / sizeof *kWords)];
    out += (rng() % 9 == 0) ? std::to_string(rng() % 100000) + "\n" : " ";
  }
  out.resize(size);
  return out;
}

inline std::string random_bytes(size_t size, unsigned seed = 2) {
  std::mt19937 rng(seed);
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

inline const uint8_t* bytes(const std::string& s) {
  return reinterpret_cast<const uint8_t*>(s.data());
}

}  // namespace ramsafe::test
