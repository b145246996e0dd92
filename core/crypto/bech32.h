// BIP-173 bech32 (the original checksum constant 1, not bech32m) as age uses it for
// "age1..." recipients and "AGE-SECRET-KEY-1..." identities. Unlike BIP-173 there is no
// 90-character limit. Buffers that may hold key material use cleansing allocators.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/crypto/secure_string.h"

namespace ramsafe::bech32 {

// Encodes data (8-bit bytes) under hrp. The checksum is computed over the lower-case
// hrp; the result is lower-case unless hrp is upper-case, then all upper-case.
// Returns an empty string if hrp is empty, mixed-case or has characters outside 33-126.
SecureString encode(const std::string& hrp, const uint8_t* data, size_t size);

struct Decoded {
  std::string hrp;  // as written (case preserved)
  SecureBytes data;
};

// Decodes text; returns false for mixed case, a bad character, a bad checksum or
// non-zero padding bits. Never copies text into anything but cleansing buffers.
bool decode(const char* text, size_t size, Decoded& out);

}  // namespace ramsafe::bech32
