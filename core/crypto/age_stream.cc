#include "core/crypto/age_stream.h"

#include <algorithm>
#include <string>

#include "core/crypto/age.h"
#include "core/error.h"

namespace ramsafe::age::detail {
namespace {

constexpr size_t kSealedChunkSize = kChunkSize + kTagSize;

std::array<uint8_t, 12> chunk_nonce(uint64_t counter, bool last) {
  std::array<uint8_t, 12> nonce{};
  for (int i = 0; i < 8; ++i) nonce[10 - i] = static_cast<uint8_t>(counter >> (8 * i));
  nonce[11] = last ? 1 : 0;
  return nonce;
}

[[noreturn]] void corrupt(const std::string& what) {
  throw Error(Errc::kCorrupt, "age: " + what);
}

}  // namespace

StreamEncryptor::StreamEncryptor(const uint8_t key[32], Sink& next) : aead_(key), next_(next) {
  plain_.reserve(kChunkSize);
  sealed_.resize(kSealedChunkSize);
}

void StreamEncryptor::seal_chunk(bool last) {
  std::array<uint8_t, 12> nonce = chunk_nonce(counter_, last);
  aead_.seal(nonce.data(), plain_.data(), plain_.size(), sealed_.data());
  next_.write(sealed_.data(), plain_.size() + kTagSize);
  plain_.clear();
  ++counter_;
}

void StreamEncryptor::write(const uint8_t* data, size_t size) {
  if (finished_) throw Error(Errc::kInternal, "age: write after finish");
  while (size > 0) {
    if (plain_.size() == kChunkSize) seal_chunk(false);  // more data follows: not the last
    size_t take = std::min(size, kChunkSize - plain_.size());
    plain_.insert(plain_.end(), data, data + take);
    data += take;
    size -= take;
  }
}

void StreamEncryptor::finish() {
  if (finished_) return;
  seal_chunk(true);
  finished_ = true;
}

StreamDecryptor::StreamDecryptor(const uint8_t key[32], Sink& next) : aead_(key), next_(next) {
  sealed_.reserve(kSealedChunkSize);
  plain_.resize(kChunkSize);
}

void StreamDecryptor::release(size_t size) {
  released_ += size;
  if (size > 0) next_.write(plain_.data(), size);
}

void StreamDecryptor::open_full_chunk() {
  // A full-size chunk is either a middle chunk or a full-size last chunk.
  std::array<uint8_t, 12> nonce = chunk_nonce(counter_, false);
  if (aead_.open(nonce.data(), sealed_.data(), sealed_.size(), plain_.data())) {
    sealed_.clear();
    ++counter_;
    release(kChunkSize);
    return;
  }
  nonce = chunk_nonce(counter_, true);
  if (aead_.open(nonce.data(), sealed_.data(), sealed_.size(), plain_.data())) {
    sealed_.clear();
    done_ = true;
    release(kChunkSize);
    return;
  }
  corrupt("payload chunk " + std::to_string(counter_) + " failed authentication after " +
          std::to_string(released_) + " bytes (the file is corrupted or was modified)");
}

void StreamDecryptor::open_final_chunk() {
  if (sealed_.empty()) {
    if (counter_ == 0) corrupt("payload truncated: no chunks after the header");
    corrupt("payload truncated after " + std::to_string(released_) + " bytes");
  }
  if (sealed_.size() < kTagSize)
    corrupt("payload truncated after " + std::to_string(released_) + " bytes (partial chunk)");
  std::array<uint8_t, 12> nonce = chunk_nonce(counter_, true);
  if (!aead_.open(nonce.data(), sealed_.data(), sealed_.size(), plain_.data())) {
    corrupt("payload chunk " + std::to_string(counter_) + " failed authentication after " +
            std::to_string(released_) + " bytes (the file is truncated, corrupted or modified)");
  }
  size_t size = sealed_.size() - kTagSize;
  if (size == 0 && counter_ > 0)
    corrupt("payload ends with an empty final chunk after " + std::to_string(released_) +
            " bytes (not allowed after data)");
  sealed_.clear();
  done_ = true;
  release(size);
}

void StreamDecryptor::write(const uint8_t* data, size_t size) {
  while (size > 0) {
    if (done_)
      corrupt("trailing data after the final payload chunk (after " + std::to_string(released_) +
              " bytes)");
    size_t take = std::min(size, kSealedChunkSize - sealed_.size());
    sealed_.insert(sealed_.end(), data, data + take);
    data += take;
    size -= take;
    if (sealed_.size() == kSealedChunkSize) open_full_chunk();
  }
}

void StreamDecryptor::finish() {
  if (!done_) open_final_chunk();
}

}  // namespace ramsafe::age::detail
