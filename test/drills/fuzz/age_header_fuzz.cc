// Fuzzes the strict incremental age header parser (core/crypto/age_header.h). The parser claims
// that exactly one byte sequence parses to a given header, so whatever it accepts must
// re-encode to exactly the bytes it consumed; feeding in pieces must not change anything.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/crypto/age_header.h"
#include "test/drills/fuzz/fuzz_util.h"

namespace {

using ramsafe::age::detail::HeaderParser;

// Feeds data in pieces of `piece` bytes; returns the bytes consumed, or -1 on Error.
long parse(const uint8_t* data, size_t size, size_t piece, HeaderParser& parser) {
  size_t consumed = 0;
  bool ok = ramsafe::fuzz::expect_error_or_success([&] {
    while (consumed < size && !parser.done()) {
      size_t n = std::min(piece, size - consumed);
      size_t used = parser.feed(data + consumed, n);
      if (used > n) ramsafe::fuzz::fail("feed consumed more than it was given");
      consumed += used;
      if (!parser.done() && used != n) ramsafe::fuzz::fail("feed stopped early before done()");
    }
    parser.finish();
  });
  return ok ? static_cast<long>(consumed) : -1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  HeaderParser whole;
  long consumed = parse(data, size, size == 0 ? 1 : size, whole);
  HeaderParser pieces;
  long consumed_in_pieces = parse(data, size, 1 + size % 13, pieces);
  if (consumed != consumed_in_pieces)
    ramsafe::fuzz::fail("one feed and pieces disagree about the header");
  if (consumed < 0) return 0;

  std::string accepted(reinterpret_cast<const char*>(data), static_cast<size_t>(consumed));
  std::string encoded = ramsafe::age::detail::encode_header_without_mac(whole.stanzas());
  if (encoded != whole.mac_input()) ramsafe::fuzz::fail("stanzas do not re-encode to mac_input");
  if (accepted != encoded + ramsafe::age::detail::encode_mac_line(whole.mac()))
    ramsafe::fuzz::fail("the accepted header is not the canonical encoding of what it parsed to");
  if (pieces.mac_input() != whole.mac_input() || pieces.mac() != whole.mac())
    ramsafe::fuzz::fail("one feed and pieces parse to different headers");
  return 0;
}
