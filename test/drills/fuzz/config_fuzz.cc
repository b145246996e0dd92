// Fuzzes the configuration file parser (config::parse_text in core/config/config.h) and the
// settings built from it (load_settings in core/config/settings.h). Relative includes resolve
// against $RAMSAFE_FUZZ_CONFIG_DIR, which test/drills/fuzz.sh fills with a few include
// files (one includes itself); the fuzzer runs with stdin from /dev/null.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/config/config.h"
#include "core/config/settings.h"
#include "test/drills/fuzz/fuzz_util.h"

namespace {

std::string base_dir;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("RAMSAFE_FUZZ_CONFIG_DIR");
  base_dir = dir && *dir ? dir : "/nonexistent-ramsafe-fuzz-config-dir";
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  ramsafe::config::ParsedConfig parsed;
  if (!ramsafe::fuzz::expect_error_or_success(
          [&] { parsed = ramsafe::config::parse_text(text, "fuzz.conf", base_dir); }))
    return 0;
  for (const auto& [name, setting] : parsed.settings) {
    if (name != setting.name) ramsafe::fuzz::fail("a setting is filed under another name");
    (void)ramsafe::config::quote_for_message(setting.value);
  }
  ramsafe::fuzz::expect_error_or_success([&] { (void)ramsafe::load_settings(parsed); });
  return 0;
}
