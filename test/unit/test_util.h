// Helpers shared by the unit tests.
#pragma once

#include <stdlib.h>

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/io/paths.h"
#include "core/schedule/timezone.h"

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
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern);
    path_ = pattern;
  }
  ~ScratchDir() {
    try {
      remove_tree(path_);
    } catch (...) {  // a destructor must not throw; a leftover in /dev/shm is harmless
    }
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return join_path(path_, name); }

  // Writes a file below the directory (creating its parents); returns its absolute path.
  std::string write(const std::string& relative, const std::string& content) const {
    std::string full = join_path(path_, relative);
    make_dirs(parent_dir(full));
    std::ofstream out(full, std::ios::binary);
    out << content;
    return full;
  }

  std::string mkdir(const std::string& relative) const {
    std::string full = join_path(path_, relative);
    make_dirs(full);
    return full;
  }

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

// "2026-03-29 01:00[:ss]" read as UTC, in seconds since the epoch.
inline int64_t at(const std::string& text) {
  if (text.size() != 16 && text.size() != 19) throw std::runtime_error("bad time: " + text);
  auto number = [&text](size_t pos) { return std::stoi(text.substr(pos, 2)); };
  CivilTime civil;
  civil.year = std::stoi(text.substr(0, 4));
  civil.month = number(5);
  civil.day = number(8);
  civil.hour = number(11);
  civil.minute = number(14);
  civil.second = text.size() == 19 ? number(17) : 0;
  return seconds_from_civil(civil);
}

// The message of the Error(kConfig) that fn throws (a failed expectation if it throws
// another kind; "(no error)" if it throws nothing).
inline std::string config_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kConfig) << e.what();
    return e.what();
  }
  return "(no error)";
}

inline const uint8_t* bytes(const std::string& s) {
  return reinterpret_cast<const uint8_t*>(s.data());
}

}  // namespace ramsafe::test
