// Fuzzes Manifest::parse (core/set/manifest.h). Random edits almost never keep the manifest's
// own checksum right, so each input is parsed twice: as it is, and, when it is a JSON
// object, again with "manifest_sha256" recomputed, which takes the field checks past the
// checksum. A manifest that parses must survive to_json -> parse -> to_json unchanged.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/io/stages.h"
#include "core/set/manifest.h"
#include "test/drills/fuzz/fuzz_util.h"

namespace {

void parse_and_round_trip(const std::string& text) {
  ramsafe::Manifest manifest;
  if (!ramsafe::fuzz::expect_error_or_success(
          [&] { manifest = ramsafe::Manifest::parse(text, "fuzz"); }))
    return;
  std::string json = manifest.to_json();
  ramsafe::Manifest back;
  if (!ramsafe::fuzz::expect_error_or_success(
          [&] { back = ramsafe::Manifest::parse(json, "round trip"); }))
    ramsafe::fuzz::fail("a parsed manifest does not parse again after to_json");
  if (back.to_json() != json) ramsafe::fuzz::fail("a manifest changed in to_json -> parse");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  parse_and_round_trip(text);

  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return 0;
  j.erase("manifest_sha256");
  j["manifest_sha256"] = ramsafe::sha256_hex(j.dump());
  parse_and_round_trip(j.dump(2));
  return 0;
}
