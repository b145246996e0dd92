#include "core/io/zstd_stage.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/io/stages.h"
#include "test/unit/test_util.h"

namespace ramsafe {
namespace {

using test::bytes;

std::string compress(const std::string& in, int level, int workers, size_t piece = 1 << 20) {
  StringSink out;
  ZstdCompressor z(out, level, workers);
  for (size_t pos = 0; pos < in.size(); pos += piece)
    z.write(bytes(in) + pos, std::min(piece, in.size() - pos));
  z.finish();
  EXPECT_TRUE(out.finished());
  return out.data();
}

std::string decompress(const std::string& in, size_t piece = 1 << 20) {
  StringSink out;
  ZstdDecompressor z(out);
  for (size_t pos = 0; pos < in.size(); pos += piece)
    z.write(bytes(in) + pos, std::min(piece, in.size() - pos));
  z.finish();
  return out.data();
}

TEST(Zstd, RoundTripsAtManySizes) {
  for (size_t size : {0ul, 1ul, 1000ul, 131072ul, 131073ul, 3000000ul}) {
    std::string text = test::compressible_text(size);
    EXPECT_EQ(decompress(compress(text, 3, 0)), text) << size;
    EXPECT_EQ(decompress(compress(text, 3, 1)), text) << size << " with a worker thread";
  }
}

TEST(Zstd, ByteAtATimeBothWays) {
  std::string text = test::compressible_text(20000);
  std::string packed = compress(text, 5, 0, 1);
  EXPECT_EQ(decompress(packed, 1), text);
}

TEST(Zstd, CompressesTextAndLevelsMatter) {
  std::string text = test::compressible_text(2000000);
  size_t fast = compress(text, 1, 0).size();
  size_t strong = compress(text, 19, 0).size();
  EXPECT_LT(fast, text.size() / 2);
  EXPECT_LT(strong, fast);
}

TEST(Zstd, OutputIsReadableByTheZstdFormat) {
  // Frame magic 28 B5 2F FD: what `zstd -d` expects.
  std::string packed = compress("hello", 3, 0);
  ASSERT_GE(packed.size(), 4u);
  EXPECT_EQ(static_cast<uint8_t>(packed[0]), 0x28);
  EXPECT_EQ(static_cast<uint8_t>(packed[3]), 0xFD);
}

TEST(Zstd, RejectsBadLevels) {
  StringSink out;
  EXPECT_THROW(ZstdCompressor(out, 0, 0), Error);
  EXPECT_THROW(ZstdCompressor(out, 23, 0), Error);
}

TEST(Zstd, DetectsTruncation) {
  std::string packed = compress(test::compressible_text(500000), 3, 0);
  for (size_t cut : {packed.size() - 1, packed.size() / 2, size_t{5}}) {
    try {
      decompress(packed.substr(0, cut));
      FAIL() << "truncation at " << cut << " not detected";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kCorrupt);
    }
  }
}

TEST(Zstd, DetectsCorruptionThroughTheContentChecksum) {
  std::string text = test::compressible_text(300000);
  std::string packed = compress(text, 3, 0);
  int detected = 0;
  for (size_t pos = 20; pos < packed.size(); pos += packed.size() / 17) {
    std::string bad = packed;
    bad[pos] ^= 0x10;
    try {
      if (decompress(bad) != text)
        ADD_FAILURE() << "corruption at " << pos << " changed the output silently";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kCorrupt);
      ++detected;
    }
  }
  EXPECT_GT(detected, 0);
}

TEST(Zstd, EmptyInputIsNotAFrame) {
  StringSink out;
  ZstdDecompressor z(out);
  EXPECT_THROW(z.finish(), Error);
}

}  // namespace
}  // namespace ramsafe
