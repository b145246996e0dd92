// Ed25519 signatures (RFC 8032, pure Ed25519) on OpenSSL 3's EVP: the keys that sign backup
// sets and WAL files and the keys that readers trust (docs/security.md). As text:
//
//   signing key file  "RAMSAFE-ED25519-SIGNING-KEY <base64 of the 32-byte seed>"  (a secret;
//                     '#' comment lines may precede it)
//   verify key        "ramsafe-ed25519 <base64 of the 32-byte public key> [comment]"
//   key id            "ed25519:" + the first 16 hex digits of SHA-256 of the public key
//   signature         "ramsafe-signature-v1 <key id> <base64 of the 64-byte signature>\n"
//
// base64 is the padded standard alphabet, decoded strictly (only the canonical encoding).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <openssl/types.h>

#include "core/crypto/secure_string.h"

namespace ramsafe::signing {

constexpr size_t kPublicKeySize = 32;
constexpr size_t kSignatureSize = 64;

class VerifyKey {
 public:
  explicit VerifyKey(const std::array<uint8_t, kPublicKeySize>& raw);

  const std::array<uint8_t, kPublicKeySize>& raw() const { return raw_; }
  const std::string& id() const { return id_; }
  // "ramsafe-ed25519 <base64>"
  std::string encode() const;
  // Whether signature (64 bytes) is this key's signature of message.
  bool verify(const std::string& message, const std::string& signature) const;

  // One verify key line ("ramsafe-ed25519 <base64> [comment]"); nullopt if malformed.
  static std::optional<VerifyKey> parse(const std::string& line);

 private:
  std::array<uint8_t, kPublicKeySize> raw_;
  std::string id_;
  // OpenSSL's key, made once: making it for every verification doubles its cost (a store
  // of 1,000 sets verifies 1,000 signatures per listing). Null for a point not on the curve.
  std::shared_ptr<EVP_PKEY> pkey_;
};

class SigningKey {
 public:
  static SigningKey generate();
  // A signing key file's text; throws Error(kConfig) naming source if it holds no key or a
  // malformed one (never the key's bytes).
  static SigningKey parse(const SecureString& text, const std::string& source);

  // The file: comment lines (when it was made, its verify key), then the key line.
  SecureString encode(const std::string& created_at) const;
  const VerifyKey& verify_key() const { return verify_key_; }
  // The 64-byte signature of message.
  std::string sign(const std::string& message) const;

 private:
  explicit SigningKey(const SecureBytes& seed);
  SecureBytes seed_;
  VerifyKey verify_key_;
};

// A verify keys file: one key per line; blank lines and lines starting with '#' are
// ignored. Throws Error(kConfig) naming source:line for a malformed line, and for a key
// listed twice.
std::vector<VerifyKey> parse_verify_keys(const std::string& text, const std::string& source);

struct Signature {
  std::string key_id;  // "ed25519:<16 hex>"
  std::string bytes;   // 64

  std::string encode() const;  // one line, with its newline
  // Exactly what encode() writes (hostile input: anything else is nullopt).
  static std::optional<Signature> parse(const std::string& text);
};

// "ed25519:" + the first 16 hex digits of SHA-256 of a public key.
std::string key_id_of(const std::array<uint8_t, kPublicKeySize>& raw);

}  // namespace ramsafe::signing
