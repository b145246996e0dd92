// Strict base64 (RFC 4648 standard alphabet) as the age format uses it: the header's
// unpadded encoding and the armor's padded one. Decoders accept only the canonical
// encoding (no whitespace, no stray padding, unused trailing bits zero).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ramsafe::base64 {

// Encodes without padding ("raw"), as in age header arguments and stanza bodies.
std::string encode_raw(const uint8_t* data, size_t size);
// Encodes with '=' padding, as in the armor.
std::string encode_padded(const uint8_t* data, size_t size);

// Decodes canonical unpadded base64, appending to out. Returns false (out unchanged in
// size) if the text is not canonical: a character outside the alphabet, '=', a length of
// 1 mod 4, or non-zero unused bits in the last character.
template <typename Bytes>
bool decode_raw(const char* text, size_t size, Bytes& out);
// Decodes canonical padded base64 (length a multiple of 4, padding only at the end).
template <typename Bytes>
bool decode_padded(const char* text, size_t size, Bytes& out);

// Size of the decoded data of a canonical unpadded text of this length.
constexpr size_t raw_decoded_size(size_t encoded) {
  return encoded / 4 * 3 + (encoded % 4) * 3 / 4;
}

}  // namespace ramsafe::base64
