// The age v1 payload: STREAM over ChaCha20-Poly1305 with 64 KiB chunks, nonce =
// 11-byte big-endian chunk counter || last-chunk flag. Internal to the age module.
// The payload key is derived by the caller (HKDF of the file key and the payload nonce).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/crypto/age_crypto.h"
#include "core/crypto/secure_string.h"
#include "core/io/sink.h"

namespace ramsafe::age::detail {

// Encrypts plaintext written in any piece sizes. Holds back a full chunk until more data
// arrives, so that the final chunk is sealed with the last flag (and is full-size when the
// plaintext is a non-zero multiple of 64 KiB). finish() does not finish next.
class StreamEncryptor {
 public:
  StreamEncryptor(const uint8_t key[32], Sink& next);
  void write(const uint8_t* data, size_t size);
  void finish();

 private:
  void seal_chunk(bool last);

  ChaChaPoly aead_;
  Sink& next_;
  uint64_t counter_ = 0;
  bool finished_ = false;
  SecureBytes plain_;
  std::vector<uint8_t> sealed_;
};

// Decrypts ciphertext written in any piece sizes; passes a chunk's plaintext to next only
// after its tag verified. Detects truncation, trailing data, reordering, a missing or
// misplaced last chunk, and an empty last chunk after data. Throws Error(kCorrupt).
// finish() does not finish next.
class StreamDecryptor {
 public:
  StreamDecryptor(const uint8_t key[32], Sink& next);
  void write(const uint8_t* data, size_t size);
  void finish();
  uint64_t released() const { return released_; }

 private:
  void open_full_chunk();
  void open_final_chunk();
  void release(size_t size);

  ChaChaPoly aead_;
  Sink& next_;
  uint64_t counter_ = 0;
  uint64_t released_ = 0;
  bool done_ = false;  // the last chunk was authenticated
  std::vector<uint8_t> sealed_;
  SecureBytes plain_;
};

}  // namespace ramsafe::age::detail
