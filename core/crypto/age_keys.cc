// age keys: bech32 X25519 recipients and identities, recipient and identity files,
// age-keygen's file format, and recipient fingerprints.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string>

#include "core/crypto/age.h"
#include "core/crypto/age_crypto.h"
#include "core/crypto/bech32.h"
#include "core/error.h"

namespace ramsafe::age {
namespace {

constexpr char kRecipientHrp[] = "age";
constexpr char kIdentityHrp[] = "AGE-SECRET-KEY-";

bool starts_with(const char* text, size_t size, const char* prefix) {
  size_t n = std::char_traits<char>::length(prefix);
  return size >= n && std::char_traits<char>::compare(text, prefix, n) == 0;
}

// Why text is not an X25519 identity, without quoting it (it may be a secret).
std::string identity_problem(const char* text, size_t size) {
  if (starts_with(text, size, "AGE-SECRET-KEY-PQ-"))
    return "post-quantum (ML-KEM) identities are not supported";
  if (starts_with(text, size, "AGE-PLUGIN-")) return "age plugin identities are not supported";
  if (starts_with(text, size, "age1"))
    return "this is a public key (recipient), not an identity (AGE-SECRET-KEY-1...)";
  if (starts_with(text, size, "-----BEGIN"))
    return "SSH or PEM keys are not supported; expected AGE-SECRET-KEY-1...";
  return "not a valid X25519 identity (expected AGE-SECRET-KEY-1... in upper case, as "
         "age-keygen writes it)";
}

std::string recipient_problem(const char* text, size_t size) {
  if (starts_with(text, size, "AGE-SECRET-KEY-"))
    return "this is a secret key (identity), not a recipient; use its public key "
           "(age-keygen -y)";
  if (starts_with(text, size, "ssh-")) return "SSH recipients are not supported";
  if (starts_with(text, size, "age1pq1") || starts_with(text, size, "age1tag1"))
    return "this recipient type is not supported (only X25519 age1... keys)";
  return "not a valid X25519 recipient (expected age1... in lower case)";
}

bool parse_recipient_text(const char* text, size_t size, X25519Recipient& out) {
  bech32::Decoded decoded;
  if (!bech32::decode(text, size, decoded)) return false;
  if (decoded.hrp != kRecipientHrp || decoded.data.size() != 32) return false;
  std::copy(decoded.data.begin(), decoded.data.end(), out.public_key.begin());
  return true;
}

bool parse_identity_text(const char* text, size_t size, X25519Identity& out) {
  bech32::Decoded decoded;
  if (!bech32::decode(text, size, decoded)) return false;
  if (decoded.hrp != kIdentityHrp || decoded.data.size() != 32) return false;
  out.secret_key = std::move(decoded.data);
  return true;
}

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

// Calls fn(line_number, begin, size) for each line that is not blank or a '#' comment,
// with surrounding blanks and a CR before the LF removed.
template <typename Fn>
void for_each_key_line(const char* text, size_t size, Fn fn) {
  size_t pos = 0;
  int line_number = 0;
  while (pos < size) {
    ++line_number;
    size_t end = pos;
    while (end < size && text[end] != '\n') ++end;
    size_t begin = pos, stop = end;
    while (begin < stop && is_blank(text[begin])) ++begin;
    while (stop > begin && is_blank(text[stop - 1])) --stop;
    if (stop > begin && text[begin] != '#') fn(line_number, text + begin, stop - begin);
    pos = end + 1;
  }
}

}  // namespace

X25519Recipient X25519Recipient::parse(const std::string& bech32) {
  X25519Recipient out;
  if (!parse_recipient_text(bech32.data(), bech32.size(), out))
    throw Error(Errc::kConfig, "age: " + recipient_problem(bech32.data(), bech32.size()));
  return out;
}

std::string X25519Recipient::encode() const {
  SecureString s = bech32::encode(kRecipientHrp, public_key.data(), public_key.size());
  return std::string(s.data(), s.size());
}

X25519Identity X25519Identity::parse(const std::string& bech32) {
  X25519Identity out;
  if (!parse_identity_text(bech32.data(), bech32.size(), out))
    throw Error(Errc::kConfig, "age: " + identity_problem(bech32.data(), bech32.size()));
  return out;
}

X25519Identity X25519Identity::generate() {
  X25519Identity out;
  out.secret_key.resize(32);
  detail::random_bytes(out.secret_key.data(), out.secret_key.size());
  return out;
}

X25519Recipient X25519Identity::recipient() const {
  if (secret_key.size() != 32)
    throw Error(Errc::kInvalidArgument, "age: an X25519 identity has 32 bytes");
  X25519Recipient out;
  detail::x25519_base(secret_key.data(), out.public_key.data());
  return out;
}

SecureString X25519Identity::encode() const {
  if (secret_key.size() != 32)
    throw Error(Errc::kInvalidArgument, "age: an X25519 identity has 32 bytes");
  return bech32::encode(kIdentityHrp, secret_key.data(), secret_key.size());
}

std::string fingerprint(const Recipient& recipient) {
  if (std::holds_alternative<ScryptRecipient>(recipient)) return "scrypt";
  std::string text = std::get<X25519Recipient>(recipient).encode();
  std::array<uint8_t, 32> digest =
      detail::sha256(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  static const char kHex[] = "0123456789abcdef";
  std::string out = "x25519:";
  for (int i = 0; i < 8; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

std::vector<Recipient> parse_recipients(const std::string& text, const std::string& source) {
  std::vector<Recipient> out;
  for_each_key_line(text.data(), text.size(), [&](int line, const char* begin, size_t size) {
    X25519Recipient recipient;
    if (!parse_recipient_text(begin, size, recipient))
      throw Error(Errc::kConfig,
                  source + ":" + std::to_string(line) + ": " + recipient_problem(begin, size));
    out.emplace_back(recipient);
  });
  if (out.empty()) throw Error(Errc::kConfig, source + ": no recipients found");
  return out;
}

std::vector<Identity> parse_identities(const SecureString& text, const std::string& source) {
  std::vector<Identity> out;
  for_each_key_line(text.data(), text.size(), [&](int line, const char* begin, size_t size) {
    X25519Identity identity;
    if (!parse_identity_text(begin, size, identity))
      throw Error(Errc::kConfig,
                  source + ":" + std::to_string(line) + ": " + identity_problem(begin, size));
    out.emplace_back(std::move(identity));
  });
  if (out.empty()) throw Error(Errc::kConfig, source + ": no secret keys found");
  return out;
}

SecureString keygen_file(const X25519Identity& identity) {
  // RFC 3339 in local time, as Go's time.Now().Format(time.RFC3339) prints it.
  std::time_t now = std::time(nullptr);
  std::tm local{};
  if (localtime_r(&now, &local) == nullptr)
    throw Error(Errc::kInternal, "age: cannot convert the current time");
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &local);
  std::string created = stamp;
  long offset = local.tm_gmtoff;
  if (offset == 0) {
    created += "Z";
  } else {
    char zone[32];
    char sign = offset < 0 ? '-' : '+';
    int minutes = static_cast<int>((offset < 0 ? -offset : offset) / 60) % (24 * 60);
    std::snprintf(zone, sizeof zone, "%c%02d:%02d", sign, minutes / 60, minutes % 60);
    created += zone;
  }
  SecureString out = "# created: ";
  out.append(created.data(), created.size());
  out += "\n# public key: ";
  std::string recipient = identity.recipient().encode();
  out.append(recipient.data(), recipient.size());
  out += "\n";
  out += identity.encode();
  out += "\n";
  return out;
}

}  // namespace ramsafe::age
