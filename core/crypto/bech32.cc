#include "core/crypto/bech32.h"

#include <array>

namespace ramsafe::bech32 {
namespace {

constexpr char kCharset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

int charset_index(char c) {
  for (int i = 0; i < 32; ++i)
    if (kCharset[i] == c) return i;
  return -1;
}

char to_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
char to_upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

uint32_t polymod(const SecureBytes& values) {
  constexpr std::array<uint32_t, 5> kGenerator = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd,
                                                  0x2a1462b3};
  uint32_t chk = 1;
  for (uint8_t v : values) {
    uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (int i = 0; i < 5; ++i)
      if ((top >> i) & 1) chk ^= kGenerator[i];
  }
  return chk;
}

// The hrp expansion of BIP-173 followed by the data values; hrp must be lower-case.
SecureBytes checksum_input(const std::string& hrp, const SecureBytes& values) {
  SecureBytes out;
  out.reserve(hrp.size() * 2 + 1 + values.size() + 6);
  for (char c : hrp) out.push_back(static_cast<uint8_t>(static_cast<unsigned char>(c) >> 5));
  out.push_back(0);
  for (char c : hrp) out.push_back(static_cast<uint8_t>(static_cast<unsigned char>(c) & 31));
  out.insert(out.end(), values.begin(), values.end());
  return out;
}

bool valid_hrp_char(char c) {
  return c >= 33 && c <= 126;
}

}  // namespace

SecureString encode(const std::string& hrp, const uint8_t* data, size_t size) {
  if (hrp.empty()) return {};
  bool has_lower = false, has_upper = false;
  for (char c : hrp) {
    if (!valid_hrp_char(c)) return {};
    has_lower |= (c >= 'a' && c <= 'z');
    has_upper |= (c >= 'A' && c <= 'Z');
  }
  if (has_lower && has_upper) return {};
  std::string lower_hrp;
  for (char c : hrp) lower_hrp.push_back(to_lower(c));

  // 8-bit to 5-bit groups, padding the last group with zero bits.
  SecureBytes values;
  values.reserve((size * 8 + 4) / 5 + 6);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < size; ++i) {
    acc = ((acc << 8) | data[i]) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      values.push_back(static_cast<uint8_t>((acc >> bits) & 31));
    }
  }
  if (bits > 0) values.push_back(static_cast<uint8_t>((acc << (5 - bits)) & 31));

  SecureBytes input = checksum_input(lower_hrp, values);
  input.insert(input.end(), 6, 0);
  uint32_t mod = polymod(input) ^ 1;

  SecureString out;
  out.reserve(lower_hrp.size() + 1 + values.size() + 6);
  out.append(lower_hrp.data(), lower_hrp.size());
  out.push_back('1');
  for (uint8_t v : values) out.push_back(kCharset[v]);
  for (int i = 0; i < 6; ++i) out.push_back(kCharset[(mod >> (5 * (5 - i))) & 31]);
  if (has_upper)
    for (char& c : out) c = to_upper(c);
  return out;
}

bool decode(const char* text, size_t size, Decoded& out) {
  out.hrp.clear();
  out.data.clear();
  bool has_lower = false, has_upper = false;
  size_t separator = size;
  for (size_t i = 0; i < size; ++i) {
    char c = text[i];
    if (!valid_hrp_char(c)) return false;
    has_lower |= (c >= 'a' && c <= 'z');
    has_upper |= (c >= 'A' && c <= 'Z');
    if (c == '1') separator = i;
  }
  if (has_lower && has_upper) return false;
  // At least one hrp character and six checksum characters.
  if (separator == size || separator < 1 || separator + 7 > size) return false;

  std::string hrp(text, separator);
  std::string lower_hrp;
  for (char c : hrp) lower_hrp.push_back(to_lower(c));

  SecureBytes values;
  values.reserve(size - separator - 1);
  for (size_t i = separator + 1; i < size; ++i) {
    int v = charset_index(to_lower(text[i]));
    if (v < 0) return false;
    values.push_back(static_cast<uint8_t>(v));
  }
  if (polymod(checksum_input(lower_hrp, values)) != 1) return false;
  values.resize(values.size() - 6);

  // 5-bit to 8-bit groups; the leftover must be fewer than 5 bits, all zero.
  SecureBytes data;
  data.reserve(values.size() * 5 / 8);
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t v : values) {
    acc = ((acc << 5) | v) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      data.push_back(static_cast<uint8_t>((acc >> bits) & 0xff));
    }
  }
  bool padding_ok = bits < 5 && (acc & ((1u << bits) - 1)) == 0;
  if (!padding_ok) return false;
  out.hrp = std::move(hrp);
  out.data = std::move(data);
  return true;
}

}  // namespace ramsafe::bech32
