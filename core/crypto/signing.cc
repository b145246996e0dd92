#include "core/crypto/signing.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <set>

#include "core/crypto/base64.h"
#include "core/error.h"

namespace ramsafe::signing {
namespace {

constexpr const char* kSigningKeyTag = "RAMSAFE-ED25519-SIGNING-KEY";
constexpr const char* kVerifyKeyTag = "ramsafe-ed25519";
constexpr const char* kSignatureTag = "ramsafe-signature-v1";
constexpr size_t kSeedSize = 32;
constexpr size_t kKeyIdHexDigits = 16;

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

[[noreturn]] void throw_openssl(const char* what) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  std::string message = std::string("Ed25519: OpenSSL ") + what + " failed";
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    message += std::string(": ") + buf;
  }
  throw Error(Errc::kInternal, message);
}

Pkey private_key(const uint8_t* seed) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed, kSeedSize));
  if (!key) throw_openssl("Ed25519 private key");
  return key;
}

std::array<uint8_t, kPublicKeySize> public_of(const uint8_t* seed) {
  Pkey key = private_key(seed);
  std::array<uint8_t, kPublicKeySize> raw{};
  size_t size = raw.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), raw.data(), &size) != 1 || size != raw.size())
    throw_openssl("Ed25519 public key");
  return raw;
}

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

// The words of a line, split at runs of spaces and tabs.
std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    size_t start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

template <typename Bytes>
bool decode_exact(const std::string& text, size_t size, Bytes& out) {
  out.clear();
  return base64::decode_padded(text.data(), text.size(), out) && out.size() == size;
}

bool is_lower_hex(const std::string& s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

std::string key_id_of(const std::array<uint8_t, kPublicKeySize>& raw) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(raw.data(), raw.size(), digest, &size, EVP_sha256(), nullptr) != 1)
    throw_openssl("SHA-256");
  static const char kHex[] = "0123456789abcdef";
  std::string id = "ed25519:";
  for (size_t i = 0; i < kKeyIdHexDigits / 2; ++i) {
    id += kHex[digest[i] >> 4];
    id += kHex[digest[i] & 15];
  }
  return id;
}

VerifyKey::VerifyKey(const std::array<uint8_t, kPublicKeySize>& raw)
    : raw_(raw),
      id_(key_id_of(raw)),
      pkey_(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size()),
            EVP_PKEY_free) {
  if (!pkey_) ERR_clear_error();  // not a point on the curve: nothing verifies with it
}

std::string VerifyKey::encode() const {
  return std::string(kVerifyKeyTag) + " " + base64::encode_padded(raw_.data(), raw_.size());
}

bool VerifyKey::verify(const std::string& message, const std::string& signature) const {
  if (signature.size() != kSignatureSize || !pkey_) return false;
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx) throw_openssl("EVP_MD_CTX_new");
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey_.get()) != 1)
    throw_openssl("Ed25519 verify init");
  int ok = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                            signature.size(),
                            reinterpret_cast<const unsigned char*>(message.data()), message.size());
  ERR_clear_error();  // a bad signature leaves an error on OpenSSL's queue
  return ok == 1;
}

std::optional<VerifyKey> VerifyKey::parse(const std::string& line) {
  std::vector<std::string> w = words(line);
  if (w.size() < 2 || w[0] != kVerifyKeyTag) return std::nullopt;
  std::vector<uint8_t> raw;
  if (!decode_exact(w[1], kPublicKeySize, raw)) return std::nullopt;
  std::array<uint8_t, kPublicKeySize> key{};
  std::copy(raw.begin(), raw.end(), key.begin());
  return VerifyKey(key);
}

SigningKey::SigningKey(const SecureBytes& seed)
    : seed_(seed), verify_key_(public_of(seed.data())) {}

SigningKey SigningKey::generate() {
  SecureBytes seed(kSeedSize);
  if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) != 1) throw_openssl("RAND_bytes");
  return SigningKey(seed);
}

SigningKey SigningKey::parse(const SecureString& text, const std::string& source) {
  std::optional<SigningKey> found;
  size_t start = 0;
  int line_number = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == SecureString::npos) end = text.size();
    SecureString line(text, start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    std::string where = source + ":" + std::to_string(line_number);
    const std::string tag = std::string(kSigningKeyTag) + " ";
    if (line.compare(0, tag.size(), tag) != 0)
      throw Error(Errc::kConfig, where + ": not a ramsafe signing key (expected a line \"" +
                                     kSigningKeyTag + " ...\", as `ramsafe keygen` writes)");
    if (found)
      throw Error(Errc::kConfig, where + ": a signing key file holds one key; this is a second");
    SecureBytes seed;
    if (!base64::decode_padded(line.data() + tag.size(), line.size() - tag.size(), seed) ||
        seed.size() != kSeedSize)
      throw Error(Errc::kConfig, where + ": the signing key is malformed (expected " +
                                     std::to_string(kSeedSize) + " bytes in base64)");
    found = SigningKey(seed);
  }
  if (!found) throw Error(Errc::kConfig, source + " holds no signing key");
  return std::move(*found);
}

SecureString SigningKey::encode(const std::string& created_at) const {
  std::string b64 = base64::encode_padded(seed_.data(), seed_.size());
  std::string comments =
      "# ramsafe signing key (Ed25519), created " + created_at +
      "\n# its verify key, for ramsafe.verify_keys_file: " + verify_key_.encode() + "\n";
  SecureString out(comments.begin(), comments.end());
  out += kSigningKeyTag;
  out += ' ';
  out.append(b64.data(), b64.size());
  out += '\n';
  OPENSSL_cleanse(b64.data(), b64.size());
  return out;
}

std::string SigningKey::sign(const std::string& message) const {
  Pkey key = private_key(seed_.data());
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx) throw_openssl("EVP_MD_CTX_new");
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1)
    throw_openssl("Ed25519 sign init");
  std::string signature(kSignatureSize, '\0');
  size_t size = signature.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      size != kSignatureSize)
    throw_openssl("Ed25519 sign");
  return signature;
}

std::vector<VerifyKey> parse_verify_keys(const std::string& text, const std::string& source) {
  std::vector<VerifyKey> keys;
  std::set<std::string> ids;
  size_t start = 0;
  int line_number = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::vector<std::string> w = words(line);
    if (w.empty() || w[0][0] == '#') continue;
    std::string where = source + ":" + std::to_string(line_number);
    std::optional<VerifyKey> key = VerifyKey::parse(line);
    if (!key) {
      if (w[0] == kSigningKeyTag)
        throw Error(Errc::kConfig, where +
                                       ": this is a signing key (a secret), not a verify key; "
                                       "never put it in a verify keys file");
      throw Error(Errc::kConfig, where + ": not a verify key (expected \"" + kVerifyKeyTag +
                                     " <base64 of 32 bytes> [comment]\", as `ramsafe keygen` "
                                     "prints)");
    }
    if (!ids.insert(key->id()).second)
      throw Error(Errc::kConfig, where + ": verify key " + key->id() + " is listed twice");
    keys.push_back(*key);
  }
  return keys;
}

std::string Signature::encode() const {
  return std::string(kSignatureTag) + " " + key_id + " " +
         base64::encode_padded(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()) + "\n";
}

std::optional<Signature> Signature::parse(const std::string& text) {
  // "<tag> ed25519:<16 hex> <88 base64 characters>\n", exactly.
  const std::string tag = std::string(kSignatureTag) + " ed25519:";
  const size_t id_end = tag.size() + kKeyIdHexDigits;
  const size_t b64_size = (kSignatureSize + 2) / 3 * 4;
  if (text.size() != id_end + 1 + b64_size + 1 || text.compare(0, tag.size(), tag) != 0 ||
      text[id_end] != ' ' || text.back() != '\n')
    return std::nullopt;
  std::string hex = text.substr(tag.size(), kKeyIdHexDigits);
  if (!is_lower_hex(hex)) return std::nullopt;
  std::vector<uint8_t> bytes;
  if (!decode_exact(text.substr(id_end + 1, b64_size), kSignatureSize, bytes)) return std::nullopt;
  Signature s;
  s.key_id = "ed25519:" + hex;
  s.bytes.assign(bytes.begin(), bytes.end());
  return s;
}

}  // namespace ramsafe::signing
