// Retry decisions and backoff delays for remote stores.
#include <gtest/gtest.h>

#include <chrono>

#include "core/drive/backoff.h"
#include "core/drive/http_client.h"
#include "core/error.h"

namespace ramsafe {
namespace {

HttpResponse response(long status, const std::string& body = "") {
  HttpResponse r;
  r.status = status;
  r.body = body;
  if (status == 0) r.transport_error = "Connection reset by peer";
  return r;
}

std::string drive_error(int code, const std::string& reason, const std::string& message) {
  return R"({"error":{"code":)" + std::to_string(code) + R"(,"message":")" + message +
         R"(","errors":[{"domain":"usageLimits","reason":")" + reason + R"(","message":")" +
         message + R"("}]}})";
}

TEST(BackoffTest, DelaysGrowExponentiallyWithJitterAndAreCapped) {
  Backoff backoff(BackoffPolicy{1000, 32000, 10}, 42);
  for (int retry = 1; retry <= 9; ++retry) {
    int64_t ceiling = std::min<int64_t>(32000, 1000LL << (retry - 1));
    for (int draw = 0; draw < 50; ++draw) {
      int64_t d = backoff.delay_ms(retry);
      EXPECT_GE(d, ceiling / 2) << "retry " << retry;
      EXPECT_LE(d, ceiling) << "retry " << retry;
    }
  }
  EXPECT_LE(backoff.delay_ms(60), 32000) << "no overflow for large retry counts";
}

TEST(BackoffTest, JitterSpreadsTheDelays) {
  Backoff backoff(BackoffPolicy{1000, 32000, 10}, 7);
  std::set<int64_t> seen;
  for (int i = 0; i < 20; ++i) seen.insert(backoff.delay_ms(4));
  EXPECT_GT(seen.size(), 10u);
}

TEST(BackoffTest, SleepStopsWhenCancelled) {
  auto start = std::chrono::steady_clock::now();
  int calls = 0;
  EXPECT_THROW(sleep_cancellable(60'000, [&] { return ++calls > 2; }), Error);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(RetryableTest, TransientOutcomesAreRetried) {
  EXPECT_TRUE(is_retryable(response(0)));
  EXPECT_TRUE(is_retryable(response(408)));
  EXPECT_TRUE(is_retryable(response(429)));
  EXPECT_TRUE(is_retryable(response(500)));
  EXPECT_TRUE(is_retryable(response(503)));
  EXPECT_TRUE(is_retryable(response(403, drive_error(403, "rateLimitExceeded", "Rate"))));
  EXPECT_TRUE(is_retryable(response(403, drive_error(403, "userRateLimitExceeded", "Rate"))));
}

TEST(RetryableTest, FatalOutcomesAreNot) {
  EXPECT_FALSE(is_retryable(response(400)));
  EXPECT_FALSE(is_retryable(response(401)));
  EXPECT_FALSE(is_retryable(response(404)));
  EXPECT_FALSE(is_retryable(response(403, drive_error(403, "storageQuotaExceeded", "Full"))));
  EXPECT_FALSE(is_retryable(response(403, "not json")));
  HttpResponse untrusted = response(0);
  untrusted.transport_permanent = true;  // e.g. a certificate that does not verify
  EXPECT_FALSE(is_retryable(untrusted));
}

TEST(GoogleErrorTest, ReadsBothErrorShapes) {
  GoogleError drive = google_error(drive_error(403, "storageQuotaExceeded", "Quota exceeded"));
  EXPECT_EQ(drive.reason, "storageQuotaExceeded");
  EXPECT_EQ(drive.message, "Quota exceeded");
  GoogleError oauth =
      google_error(R"({"error":"invalid_grant","error_description":"Token has been revoked."})");
  EXPECT_EQ(oauth.reason, "invalid_grant");
  EXPECT_EQ(oauth.message, "Token has been revoked.");
  EXPECT_EQ(google_error("<html>").reason, "");
  EXPECT_EQ(describe_response(response(0)), "no response: Connection reset by peer");
  EXPECT_EQ(describe_response(response(403, drive_error(403, "storageQuotaExceeded", "Full"))),
            "HTTP 403 storageQuotaExceeded: Full");
}

// Google's answers are parsed with the same limits as manifests (issue 14, item 5).
TEST(GoogleError, DeepOrHugeBodiesAreNotParsed) {
  std::string deep = "{\"error\": {\"errors\": " + std::string(100000, '[') +
                     std::string(100000, ']') + ", \"message\": \"m\"}}";
  EXPECT_EQ(google_error(deep).reason, "");
  EXPECT_EQ(google_error(deep).message, "");
  std::string huge = R"({"error":"invalid_grant","error_description":")" +
                     std::string(kDriveJsonMaxBytes, 'x') + "\"}";
  EXPECT_EQ(google_error(huge).reason, "");
}

}  // namespace
}  // namespace ramsafe
