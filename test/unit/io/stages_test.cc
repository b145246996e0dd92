#include "core/io/stages.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/error.h"

namespace ramsafe {
namespace {

using Clock = std::chrono::steady_clock;

TEST(RateLimitStage, PassesEverythingOnAndTakesAtLeastBytesOverRate) {
  StringSink out;
  RateLimitStage limited(out, 10'000'000, nullptr);  // 10 MB/s
  std::vector<uint8_t> block(100'000, 'x');
  auto start = Clock::now();
  for (int i = 0; i < 10; ++i) limited.write(block.data(), block.size());  // 1 MB
  limited.finish();
  auto elapsed = Clock::now() - start;
  EXPECT_EQ(out.data().size(), 1'000'000u);
  // A lower bound only: the stage may never be faster than its rate.
  EXPECT_GE(elapsed, std::chrono::milliseconds(90));
}

TEST(RateLimitStage, ZeroMeansNoLimit) {
  StringSink out;
  RateLimitStage limited(out, 0, nullptr);
  std::vector<uint8_t> block(1'000'000, 'x');
  limited.write(block.data(), block.size());
  EXPECT_EQ(out.data().size(), 1'000'000u);
}

TEST(RateLimitStage, CancelStopsTheWait) {
  StringSink out;
  bool cancel = false;
  RateLimitStage limited(out, 1000, [&] { return cancel; });  // 1 kB/s
  std::vector<uint8_t> block(100'000, 'x');                   // 100 s worth
  cancel = true;
  try {
    limited.write(block.data(), block.size());
    FAIL() << "not cancelled";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kCancelled);
  }
}

}  // namespace
}  // namespace ramsafe
