#include "core/crypto/base64.h"

#include "core/crypto/secure_string.h"

namespace ramsafe::base64 {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int value_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::string encode(const uint8_t* data, size_t size, bool pad) {
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  size_t rest = size - i;
  if (rest == 1) {
    uint32_t v = uint32_t{data[i]} << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    if (pad) out.append("==");
  } else if (rest == 2) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    if (pad) out.push_back('=');
  }
  return out;
}

// Decodes size characters of the alphabet (no padding), checking canonical form.
template <typename Bytes>
bool decode_unpadded(const char* text, size_t size, Bytes& out) {
  if (size % 4 == 1) return false;
  size_t old_size = out.size();
  out.reserve(old_size + raw_decoded_size(size));
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < size; ++i) {
    int v = value_of(text[i]);
    if (v < 0) {
      out.resize(old_size);
      return false;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xff));
    }
  }
  // Canonical: the bits left over in the last character must be zero.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
    out.resize(old_size);
    return false;
  }
  return true;
}

}  // namespace

std::string encode_raw(const uint8_t* data, size_t size) {
  return encode(data, size, false);
}
std::string encode_padded(const uint8_t* data, size_t size) {
  return encode(data, size, true);
}

template <typename Bytes>
bool decode_raw(const char* text, size_t size, Bytes& out) {
  return decode_unpadded(text, size, out);
}

template <typename Bytes>
bool decode_padded(const char* text, size_t size, Bytes& out) {
  if (size % 4 != 0) return false;
  size_t pad = 0;
  while (pad < 2 && pad < size && text[size - 1 - pad] == '=') ++pad;
  // decode_unpadded rejects any '=' left in the body, and a 1-mod-4 remainder ("x===").
  return decode_unpadded(text, size - pad, out);
}

template bool decode_raw(const char*, size_t, std::vector<uint8_t>&);
template bool decode_raw(const char*, size_t, SecureBytes&);
template bool decode_padded(const char*, size_t, std::vector<uint8_t>&);
template bool decode_padded(const char*, size_t, SecureBytes&);

}  // namespace ramsafe::base64
