#include "core/crypto/age_stanzas.h"

#include <algorithm>
#include <string>

#include "core/crypto/base64.h"
#include "core/error.h"

namespace ramsafe::age::detail {
namespace {

constexpr char kX25519Type[] = "X25519";
constexpr char kScryptType[] = "scrypt";
constexpr char kX25519Label[] = "age-encryption.org/v1/X25519";
constexpr char kScryptLabel[] = "age-encryption.org/v1/scrypt";
constexpr size_t kScryptSaltSize = 16;
constexpr int kMaxEncryptLogN = 30;
constexpr uint8_t kZeroNonce[12] = {};

[[noreturn]] void malformed(const std::string& what) {
  throw Error(Errc::kCorrupt, "age: invalid header: " + what);
}

std::vector<uint8_t> seal_file_key(const Key32& wrap_key, const FileKey& file_key) {
  std::vector<uint8_t> body(file_key.size() + kTagSize);
  ChaChaPoly(wrap_key.data()).seal(kZeroNonce, file_key.data(), file_key.size(), body.data());
  return body;
}

bool open_file_key(const Key32& wrap_key, const std::vector<uint8_t>& body, FileKey& file_key) {
  return ChaChaPoly(wrap_key.data()).open(kZeroNonce, body.data(), body.size(), file_key.data());
}

void derive_x25519_wrap_key(const uint8_t shared[32], const uint8_t share[32],
                            const uint8_t recipient[32], Key32& out) {
  uint8_t salt[64];
  std::copy(share, share + 32, salt);
  std::copy(recipient, recipient + 32, salt + 32);
  hkdf_sha256(shared, 32, salt, sizeof salt, kX25519Label, out.data(), out.size());
}

void derive_scrypt_wrap_key(const SecureString& passphrase, const uint8_t* salt, int log_n,
                            Key32& out) {
  std::vector<uint8_t> full_salt(kScryptLabel, kScryptLabel + sizeof kScryptLabel - 1);
  full_salt.insert(full_salt.end(), salt, salt + kScryptSaltSize);
  scrypt(passphrase.data(), passphrase.size(), full_salt.data(), full_salt.size(), log_n,
         out.data(), out.size());
}

Stanza wrap_x25519(const FileKey& file_key, const X25519Recipient& recipient) {
  Key32 ephemeral, shared, wrap_key;
  random_bytes(ephemeral.data(), ephemeral.size());
  std::array<uint8_t, 32> share{};
  x25519_base(ephemeral.data(), share.data());
  if (!x25519(ephemeral.data(), recipient.public_key.data(), shared.data()))
    throw Error(Errc::kInvalidArgument,
                "age: recipient " + recipient.encode() + " is not a usable X25519 public key");
  derive_x25519_wrap_key(shared.data(), share.data(), recipient.public_key.data(), wrap_key);
  Stanza stanza;
  stanza.type = kX25519Type;
  stanza.args.push_back(base64::encode_raw(share.data(), share.size()));
  stanza.body = seal_file_key(wrap_key, file_key);
  return stanza;
}

Stanza wrap_scrypt(const FileKey& file_key, const ScryptRecipient& recipient) {
  if (recipient.passphrase.empty())
    throw Error(Errc::kInvalidArgument, "age: the passphrase is empty");
  if (recipient.log_n < 1 || recipient.log_n > kMaxEncryptLogN)
    throw Error(Errc::kInvalidArgument,
                "age: scrypt work factor " + std::to_string(recipient.log_n) +
                    " is out of range 1-" + std::to_string(kMaxEncryptLogN));
  uint8_t salt[kScryptSaltSize];
  random_bytes(salt, sizeof salt);
  Key32 wrap_key;
  derive_scrypt_wrap_key(recipient.passphrase, salt, recipient.log_n, wrap_key);
  Stanza stanza;
  stanza.type = kScryptType;
  stanza.args.push_back(base64::encode_raw(salt, sizeof salt));
  stanza.args.push_back(std::to_string(recipient.log_n));
  stanza.body = seal_file_key(wrap_key, file_key);
  return stanza;
}

// A syntactically checked X25519 or scrypt stanza.
struct KnownStanza {
  const Stanza* stanza = nullptr;
  bool is_scrypt = false;
  std::array<uint8_t, 32> share{};     // X25519
  uint8_t salt[kScryptSaltSize] = {};  // scrypt
  int log_n = 0;                       // scrypt; INT_MAX-ish when absurdly large
};

KnownStanza check_x25519(const Stanza& s) {
  KnownStanza out;
  out.stanza = &s;
  if (s.args.size() != 1) malformed("an X25519 stanza must have exactly one argument");
  std::vector<uint8_t> share;
  if (!base64::decode_raw(s.args[0].data(), s.args[0].size(), share))
    malformed("X25519 share is not canonical base64");
  if (share.size() != 32) malformed("X25519 share is not 32 bytes");
  std::copy(share.begin(), share.end(), out.share.begin());
  if (s.body.size() != FileKey::size() + kTagSize)
    malformed("X25519 stanza body is not a 16-byte wrapped file key");
  return out;
}

KnownStanza check_scrypt(const Stanza& s) {
  KnownStanza out;
  out.stanza = &s;
  out.is_scrypt = true;
  if (s.args.size() != 2) malformed("a scrypt stanza must have exactly two arguments");
  std::vector<uint8_t> salt;
  if (!base64::decode_raw(s.args[0].data(), s.args[0].size(), salt))
    malformed("scrypt salt is not canonical base64");
  if (salt.size() != kScryptSaltSize) malformed("scrypt salt is not 16 bytes");
  std::copy(salt.begin(), salt.end(), out.salt);
  const std::string& w = s.args[1];
  bool decimal = !w.empty() && w[0] >= '1' && w[0] <= '9' &&
                 std::all_of(w.begin(), w.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!decimal)
    malformed("scrypt work factor is not a positive decimal number without leading zeros");
  out.log_n = w.size() > 4 ? 100000 : std::stoi(w);
  if (s.body.size() != FileKey::size() + kTagSize)
    malformed("scrypt stanza body is not a 16-byte wrapped file key");
  return out;
}

std::string plural(size_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

std::vector<Stanza> wrap_file_key(const FileKey& file_key,
                                  const std::vector<Recipient>& recipients) {
  if (recipients.empty()) throw Error(Errc::kInvalidArgument, "age: no recipients");
  std::vector<Stanza> stanzas;
  for (const Recipient& r : recipients) {
    if (const auto* scrypt_recipient = std::get_if<ScryptRecipient>(&r)) {
      if (recipients.size() != 1)
        throw Error(Errc::kInvalidArgument,
                    "age: a passphrase (scrypt) recipient must be the only recipient");
      stanzas.push_back(wrap_scrypt(file_key, *scrypt_recipient));
    } else {
      stanzas.push_back(wrap_x25519(file_key, std::get<X25519Recipient>(r)));
    }
  }
  return stanzas;
}

FileKey unwrap_file_key(const std::vector<Stanza>& stanzas,
                        const std::vector<Identity>& identities) {
  std::vector<KnownStanza> known;
  size_t x25519_count = 0, scrypt_count = 0;
  const Stanza* other = nullptr;
  for (const Stanza& s : stanzas) {
    if (s.type == kX25519Type) {
      known.push_back(check_x25519(s));
      ++x25519_count;
    } else if (s.type == kScryptType) {
      known.push_back(check_scrypt(s));
      ++scrypt_count;
    } else if (!other) {
      other = &s;  // unknown types are skipped (grease, plugins)
    }
  }
  if (scrypt_count > 0 && stanzas.size() != 1)
    malformed("a scrypt stanza must be the only stanza in the header");

  bool tried_passphrase = false;
  FileKey file_key;
  for (const Identity& identity : identities) {
    for (const KnownStanza& k : known) {
      Key32 wrap_key;
      if (const auto* x = std::get_if<X25519Identity>(&identity); x && !k.is_scrypt) {
        if (x->secret_key.size() != 32)
          throw Error(Errc::kInvalidArgument, "age: an X25519 identity has 32 bytes");
        X25519Recipient ours = x->recipient();
        Key32 shared;
        if (!x25519(x->secret_key.data(), k.share.data(), shared.data()))
          malformed("X25519 share is a low-order point (all-zero shared secret)");
        derive_x25519_wrap_key(shared.data(), k.share.data(), ours.public_key.data(), wrap_key);
      } else if (const auto* p = std::get_if<ScryptIdentity>(&identity); p && k.is_scrypt) {
        if (k.log_n > p->max_log_n)
          malformed("scrypt work factor " +
                    (k.log_n > 64 ? std::string("(huge)") : std::to_string(k.log_n)) +
                    " is above the limit of " + std::to_string(p->max_log_n) +
                    "; refusing to spend that much time and memory");
        tried_passphrase = true;
        derive_scrypt_wrap_key(p->passphrase, k.salt, k.log_n, wrap_key);
      } else {
        continue;
      }
      if (open_file_key(wrap_key, k.stanza->body, file_key)) return file_key;
    }
  }

  if (scrypt_count > 0) {
    if (tried_passphrase) throw Error(Errc::kCrypto, "age: wrong passphrase");
    throw Error(Errc::kCrypto,
                "age: no identity matches: the file is encrypted with a passphrase (scrypt) and "
                "no passphrase was given");
  }
  std::string message = "age: no identity matches: ";
  size_t others = stanzas.size() - x25519_count;
  if (stanzas.empty()) {
    message += "the file has no recipient stanzas";
  } else {
    message += "file is encrypted to ";
    if (x25519_count > 0) message += plural(x25519_count, "X25519 recipient", "X25519 recipients");
    if (x25519_count > 0 && others > 0) message += " and ";
    if (others > 0 && other != nullptr)
      message += plural(others, "recipient", "recipients") + " of unsupported types (e.g. \"" +
                 other->type.substr(0, 32) + "\")";
  }
  size_t x25519_identities = 0;
  for (const Identity& identity : identities)
    if (std::holds_alternative<X25519Identity>(identity)) ++x25519_identities;
  bool passphrase = x25519_identities < identities.size();
  if (identities.empty()) {
    message += "; no identities were given";
  } else {
    message += "; tried ";
    if (x25519_identities > 0)
      message += plural(x25519_identities, "X25519 identity", "X25519 identities");
    if (x25519_identities > 0 && passphrase) message += " and ";
    if (passphrase) message += "a passphrase";
  }
  throw Error(Errc::kCrypto, message);
}

}  // namespace ramsafe::age::detail
