// Small pipeline stages: counting, SHA-256/MD5 hashing, and the terminal sinks (a file
// descriptor, a string, nothing).
#pragma once

#include <chrono>

#include <openssl/evp.h>

#include <functional>
#include <memory>
#include <string>

#include "core/io/sink.h"
#include "core/io/unique_fd.h"

namespace ramsafe {

// Counts bytes on their way through to next.
class CountingStage : public Sink {
 public:
  explicit CountingStage(Sink& next) : next_(next) {}
  void write(const uint8_t* data, size_t size) override {
    next_.write(data, size);
    bytes_ += size;
  }
  void finish() override { next_.finish(); }
  unsigned long long bytes() const { return bytes_; }

 private:
  Sink& next_;
  unsigned long long bytes_ = 0;
};

// Counts the bytes passing through and throws Error(kCorrupt) as soon as they exceed limit,
// before passing on the block that does: a decompression bomb stops at the limit.
class BoundedStage : public Sink {
 public:
  BoundedStage(Sink& next, unsigned long long limit) : next_(next), limit_(limit) {}
  void write(const uint8_t* data, size_t size) override;
  void finish() override { next_.finish(); }
  unsigned long long bytes() const { return bytes_; }

 private:
  Sink& next_;
  unsigned long long limit_;
  unsigned long long bytes_ = 0;
};

// Calls on_write(size) after each block passed on to next (progress reporting).
class CallbackStage : public Sink {
 public:
  CallbackStage(Sink& next, std::function<void(size_t)> on_write)
      : next_(next), on_write_(std::move(on_write)) {}
  void write(const uint8_t* data, size_t size) override {
    next_.write(data, size);
    on_write_(size);
  }
  void finish() override { next_.finish(); }

 private:
  Sink& next_;
  std::function<void(size_t)> on_write_;
};

// Passes bytes on no faster than a rate, sleeping in short steps that watch cancel: a
// throttled reader also throttles pg_dump and its server backend through the pipe.
class RateLimitStage : public Sink {
 public:
  // bytes_per_second 0: no limit.
  RateLimitStage(Sink& next, uint64_t bytes_per_second, CancelCheck cancel);
  void write(const uint8_t* data, size_t size) override;
  void finish() override { next_.finish(); }

 private:
  Sink& next_;
  uint64_t rate_;
  CancelCheck cancel_;
  std::chrono::steady_clock::time_point start_;
  uint64_t bytes_ = 0;
};

// An incremental message digest (OpenSSL EVP).
class Digest {
 public:
  explicit Digest(const char* algorithm);  // "SHA256", "MD5"
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;
  void update(const uint8_t* data, size_t size);
  std::string hex();  // finalizes; call once

 private:
  EVP_MD_CTX* ctx_;
};

std::string sha256_hex(const std::string& data);

// Hashes (SHA-256) and counts the bytes passing through to next.
class HashingStage : public Sink {
 public:
  explicit HashingStage(Sink& next) : next_(next), digest_("SHA256") {}
  void write(const uint8_t* data, size_t size) override;
  void finish() override;
  unsigned long long bytes() const { return bytes_; }
  const std::string& sha256() const { return sha256_; }  // valid after finish()

 private:
  Sink& next_;
  Digest digest_;
  unsigned long long bytes_ = 0;
  std::string sha256_;
};

// Writes to a file descriptor it does not own. finish() does nothing to the fd: the owner
// decides about fsync and close.
class FdSink : public Sink {
 public:
  FdSink(int fd, std::string what) : fd_(fd), what_(std::move(what)) {}
  void write(const uint8_t* data, size_t size) override { write_all(fd_, data, size, what_); }
  void finish() override {}

 private:
  int fd_;
  std::string what_;
};

class StringSink : public Sink {
 public:
  void write(const uint8_t* data, size_t size) override {
    data_.append(reinterpret_cast<const char*>(data), size);
  }
  void finish() override { finished_ = true; }
  const std::string& data() const { return data_; }
  bool finished() const { return finished_; }

 private:
  std::string data_;
  bool finished_ = false;
};

class NullSink : public Sink {
 public:
  void write(const uint8_t*, size_t) override {}
  void finish() override {}
};

}  // namespace ramsafe
