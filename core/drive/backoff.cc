#include "core/drive/backoff.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/drive/http_client.h"
#include "core/error.h"
#include "core/io/bounded_json.h"

namespace ramsafe {

Backoff::Backoff(BackoffPolicy policy, uint64_t seed) : policy_(policy), random_(seed) {}

int64_t Backoff::delay_ms(int retry) {
  int shift = std::clamp(retry - 1, 0, 30);
  int64_t ceiling = std::min<int64_t>(policy_.max_ms, policy_.initial_ms << shift);
  std::uniform_int_distribution<int64_t> draw(ceiling / 2, ceiling);
  std::lock_guard<std::mutex> lock(mutex_);
  return draw(random_);
}

void sleep_cancellable(int64_t milliseconds, const CancelCheck& cancel) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(milliseconds);
  for (;;) {
    if (cancel && cancel()) throw Error(Errc::kCancelled, "cancelled");
    auto now = std::chrono::steady_clock::now();
    if (now >= until) return;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(until - now, std::chrono::milliseconds(100)));
  }
}

GoogleError google_error(const std::string& body) {
  GoogleError out;
  auto parsed = try_parse_bounded_json(body, {kDriveJsonMaxBytes});
  if (!parsed || !parsed->is_object() || !parsed->contains("error")) return out;
  const nlohmann::json& json = *parsed;
  const auto& error = json["error"];
  if (error.is_string()) {  // OAuth endpoints
    out.reason = error.get<std::string>();
    if (json.contains("error_description") && json["error_description"].is_string())
      out.message = json["error_description"].get<std::string>();
    return out;
  }
  if (!error.is_object()) return out;
  if (error.contains("message") && error["message"].is_string())
    out.message = error["message"].get<std::string>();
  if (error.contains("errors") && error["errors"].is_array() && !error["errors"].empty()) {
    const auto& first = error["errors"][0];
    if (first.contains("reason") && first["reason"].is_string())
      out.reason = first["reason"].get<std::string>();
  }
  return out;
}

bool is_retryable(const HttpResponse& response) {
  long s = response.status;
  if (s == 0) return !response.transport_permanent;
  if (s == 408 || s == 429 || (s >= 500 && s <= 599)) return true;
  if (s == 403) {
    std::string reason = google_error(response.body).reason;
    return reason == "rateLimitExceeded" || reason == "userRateLimitExceeded";
  }
  return false;
}

std::string describe_response(const HttpResponse& response) {
  if (response.status == 0) return "no response: " + response.transport_error;
  GoogleError e = google_error(response.body);
  std::string out = "HTTP " + std::to_string(response.status);
  if (!e.reason.empty()) out += " " + e.reason;
  if (!e.message.empty()) out += ": " + e.message;
  return out;
}

}  // namespace ramsafe
