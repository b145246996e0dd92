#include "core/io/stages.h"

#include <algorithm>
#include <thread>

#include <string>

#include "core/error.h"

namespace ramsafe {

void BoundedStage::write(const uint8_t* data, size_t size) {
  if (size > limit_ - std::min<unsigned long long>(bytes_, limit_))
    throw Error(Errc::kCorrupt, "decompresses to more than the " + std::to_string(limit_) +
                                    " bytes its manifest records");
  next_.write(data, size);
  bytes_ += size;
}

Digest::Digest(const char* algorithm) : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_, EVP_get_digestbyname(algorithm), nullptr) != 1) {
    EVP_MD_CTX_free(ctx_);
    throw Error(Errc::kInternal, std::string("cannot initialise digest ") + algorithm);
  }
}

Digest::~Digest() {
  EVP_MD_CTX_free(ctx_);
}

void Digest::update(const uint8_t* data, size_t size) {
  if (EVP_DigestUpdate(ctx_, data, size) != 1) throw Error(Errc::kInternal, "digest update failed");
}

std::string Digest::hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_, md, &len) != 1) throw Error(Errc::kInternal, "digest final failed");
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

std::string sha256_hex(const std::string& data) {
  Digest digest("SHA256");
  digest.update(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  return digest.hex();
}

void HashingStage::write(const uint8_t* data, size_t size) {
  digest_.update(data, size);
  bytes_ += size;
  next_.write(data, size);
}

void HashingStage::finish() {
  sha256_ = digest_.hex();
  next_.finish();
}

RateLimitStage::RateLimitStage(Sink& next, uint64_t bytes_per_second, CancelCheck cancel)
    : next_(next),
      rate_(bytes_per_second),
      cancel_(std::move(cancel)),
      start_(std::chrono::steady_clock::now()) {}

void RateLimitStage::write(const uint8_t* data, size_t size) {
  next_.write(data, size);
  if (rate_ == 0) return;
  bytes_ += size;
  auto due = start_ + std::chrono::microseconds(bytes_ * 1000000 / rate_);
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    if (now >= due) return;
    if (cancel_ && cancel_()) throw Error(Errc::kCancelled, "cancelled");
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(due - now, std::chrono::milliseconds(100)));
  }
}

}  // namespace ramsafe
