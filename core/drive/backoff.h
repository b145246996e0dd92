// Retries for remote stores: truncated exponential backoff with jitter, as Google
// recommends for Drive (and AWS for S3), and the test of which HTTP outcomes are worth
// retrying at all.
#pragma once

#include <cstdint>
#include <mutex>
#include <random>
#include <string>

#include "core/io/sink.h"

namespace ramsafe {

struct HttpResponse;

struct BackoffPolicy {
  int64_t initial_ms = 1000;
  int64_t max_ms = 32000;
  int max_attempts = 10;  // tries of one request, the first included
};

// Safe to share between threads (the parallel restore's downloads).
class Backoff {
 public:
  explicit Backoff(BackoffPolicy policy, uint64_t seed = std::random_device{}());
  // Delay before retry number `retry` (1 = the first retry): a uniform draw from
  // [ceiling/2, ceiling], ceiling = min(max_ms, initial_ms * 2^(retry-1)) ("equal
  // jitter": never less than half the ceiling, so retries stay spaced out).
  int64_t delay_ms(int retry);
  const BackoffPolicy& policy() const { return policy_; }

 private:
  BackoffPolicy policy_;
  std::mutex mutex_;  // guards random_
  std::mt19937_64 random_;
};

// Sleeps in short steps; throws Error(kCancelled) as soon as cancel says so.
void sleep_cancellable(int64_t milliseconds, const CancelCheck& cancel);

// True for outcomes that may succeed when repeated: no response at all (reset, refused,
// timeout; not a TLS verification failure), 408, 429, 5xx, and 403 with reason
// rateLimitExceeded/userRateLimitExceeded.
bool is_retryable(const HttpResponse& response);

// Google's error reason ("storageQuotaExceeded") and message from a JSON error body,
// for either the Drive shape {"error":{"errors":[{"reason"}],"message"}} or the OAuth
// shape {"error":"invalid_grant","error_description"}; empty when absent.
struct GoogleError {
  std::string reason;
  std::string message;
};
GoogleError google_error(const std::string& body);

// "HTTP 403 storageQuotaExceeded: The user's Drive storage quota has been exceeded."
std::string describe_response(const HttpResponse& response);

}  // namespace ramsafe
