#include "core/crypto/secure_string.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

namespace ramsafe {
namespace {

// The VmFlags line of the mapping in /proc/self/smaps that holds address p.
std::string vm_flags_of(const void* p) {
  auto address = reinterpret_cast<uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    unsigned long long start = 0, end = 0;
    char dash = 0;
    std::istringstream range(line);
    if (range >> std::hex >> start >> dash >> end && dash == '-' &&
        line.find(':') > line.find(' ')) {
      inside = address >= start && address < end;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line;
    }
  }
  return "";
}

// Issue 14, item 7: key material stays out of core dumps (the worker holds the passphrase
// and Drive credentials in these containers).
TEST(SecureString, SecretsLiveInPagesCoreDumpsLeaveOut) {
  SecureString passphrase(100, 'p');
  SecureBytes key(32, 7);
  for (const void* p :
       {static_cast<const void*>(passphrase.data()), static_cast<const void*>(key.data())}) {
    std::string flags = vm_flags_of(p);
    ASSERT_FALSE(flags.empty()) << "no mapping found for the secret";
    EXPECT_NE(flags.find(" dd"), std::string::npos) << flags;
  }
  passphrase.append(10000, 'q');  // grows into new pages, also left out
  EXPECT_NE(vm_flags_of(passphrase.data()).find(" dd"), std::string::npos);
  EXPECT_EQ(passphrase[5], 'p');
  EXPECT_EQ(passphrase.size(), 10100u);
}

}  // namespace
}  // namespace ramsafe
