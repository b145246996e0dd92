// The OpenSSL 3 primitives age v1 is built from, behind small RAII helpers: X25519,
// HKDF-SHA256, HMAC-SHA256, ChaCha20-Poly1305, scrypt, SHA-256 and the CSPRNG.
// Internal to the age module; errors are ramsafe::Error (kInternal for OpenSSL failures).
#pragma once

#include <openssl/crypto.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace ramsafe::age::detail {

// A fixed-size secret wiped when destroyed.
template <size_t N>
struct SecretArray {
  std::array<uint8_t, N> bytes{};
  SecretArray() = default;
  SecretArray(const SecretArray& other) = default;
  SecretArray& operator=(const SecretArray& other) = default;
  SecretArray(SecretArray&& other) noexcept = default;
  SecretArray& operator=(SecretArray&& other) noexcept = default;
  ~SecretArray() { OPENSSL_cleanse(bytes.data(), N); }
  uint8_t* data() { return bytes.data(); }
  const uint8_t* data() const { return bytes.data(); }
  static constexpr size_t size() { return N; }
};

using Key32 = SecretArray<32>;
using FileKey = SecretArray<16>;

constexpr size_t kTagSize = 16;

void random_bytes(uint8_t* out, size_t size);

// X25519(scalar, point) into out. Returns false if the result is the all-zero value
// (a low-order or identity point), which age must reject.
bool x25519(const uint8_t scalar[32], const uint8_t point[32], uint8_t out[32]);
// The public key (X25519 of the base point) of a 32-byte secret.
void x25519_base(const uint8_t scalar[32], uint8_t out[32]);

// HKDF-SHA256 (extract and expand) into out.
void hkdf_sha256(const uint8_t* ikm, size_t ikm_size, const uint8_t* salt, size_t salt_size,
                 const std::string& info, uint8_t* out, size_t out_size);

std::array<uint8_t, 32> hmac_sha256(const uint8_t* key, size_t key_size, const uint8_t* data,
                                    size_t size);
std::array<uint8_t, 32> sha256(const uint8_t* data, size_t size);

// scrypt with r = 8, p = 1 and a memory limit large enough for 2^log_n.
void scrypt(const char* passphrase, size_t passphrase_size, const uint8_t* salt, size_t salt_size,
            int log_n, uint8_t* out, size_t out_size);

// ChaCha20-Poly1305 with a 12-byte nonce and no associated data. A context is reused
// for many messages under one key (the payload) or used once (stanza bodies).
class ChaChaPoly {
 public:
  explicit ChaChaPoly(const uint8_t key[32]);
  ~ChaChaPoly();
  ChaChaPoly(const ChaChaPoly&) = delete;
  ChaChaPoly& operator=(const ChaChaPoly&) = delete;
  // out receives size bytes of ciphertext followed by the 16-byte tag.
  void seal(const uint8_t nonce[12], const uint8_t* in, size_t size, uint8_t* out);
  // in is ciphertext plus tag (size >= 16); out receives size - 16 bytes. Returns false if
  // the tag does not verify; out's content is then unspecified and must not be used.
  bool open(const uint8_t nonce[12], const uint8_t* in, size_t size, uint8_t* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Constant-time comparison.
bool equal_ct(const uint8_t* a, const uint8_t* b, size_t size);

}  // namespace ramsafe::age::detail
