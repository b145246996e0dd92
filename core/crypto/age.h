// age v1 (https://c2sp.org/age) on OpenSSL 3: X25519 and scrypt recipients, header MAC,
// 64 KiB ChaCha20-Poly1305 STREAM payload, ASCII armor on decrypt, bech32 keys.
// Encryption needs only public recipients; the identity is needed only to decrypt.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/crypto/secure_string.h"
#include "core/io/sink.h"

namespace ramsafe::age {

constexpr size_t kChunkSize = size_t{64} * 1024;
constexpr int kDefaultScryptLogN = 18;  // what the age CLI and ramsafe write
// The most work a header may ask of a passphrase on decrypt: 2^18 rounds, 256 MiB of
// memory and well under a second, what every file ramsafe or the age CLI writes uses. A
// header asking for more (2^22 would take 4 GiB and tens of seconds per file) is refused
// before scrypt runs.
constexpr int kMaxScryptLogN = 18;

struct X25519Recipient {
  std::array<uint8_t, 32> public_key{};
  static X25519Recipient parse(const std::string& bech32);  // "age1..."; throws kConfig
  std::string encode() const;
};

struct X25519Identity {
  SecureBytes secret_key;                                  // 32 bytes
  static X25519Identity parse(const std::string& bech32);  // "AGE-SECRET-KEY-1..."
  static X25519Identity generate();
  X25519Recipient recipient() const;
  SecureString encode() const;
};

struct ScryptRecipient {
  SecureString passphrase;
  int log_n = kDefaultScryptLogN;
};

struct ScryptIdentity {
  SecureString passphrase;
  int max_log_n = kMaxScryptLogN;
};

using Recipient = std::variant<X25519Recipient, ScryptRecipient>;
using Identity = std::variant<X25519Identity, ScryptIdentity>;

// A short non-secret fingerprint of a recipient for manifests: "x25519:<16 hex>" of the
// SHA-256 of the bech32 string, or "scrypt".
std::string fingerprint(const Recipient& recipient);

// A recipients file as the age CLI's -R reads it: one "age1..." per line, '#' comments
// and blank lines ignored. Errors name the file and line. Throws kConfig.
std::vector<Recipient> parse_recipients(const std::string& text, const std::string& source);
// An identity file as age -i reads it: AGE-SECRET-KEY-1 lines, comments, blank lines.
std::vector<Identity> parse_identities(const SecureString& text, const std::string& source);

// age-keygen's output format: "# created: <RFC 3339>\n# public key: age1...\n<secret>\n".
SecureString keygen_file(const X25519Identity& identity);

// Streaming encryptor: writes the header on the first write (or at finish for an empty
// stream), then 64 KiB chunks. Memory: one chunk. Throws kInvalidArgument if a scrypt
// recipient is mixed with others (the spec requires it to be alone).
class Encryptor : public Sink {
 public:
  Encryptor(const std::vector<Recipient>& recipients, Sink& next);
  ~Encryptor() override;
  Encryptor(const Encryptor&) = delete;
  Encryptor& operator=(const Encryptor&) = delete;
  void write(const uint8_t* data, size_t size) override;
  void finish() override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Streaming decryptor: accepts binary or armored ciphertext in arbitrary pieces; passes
// authenticated plaintext to next, never a byte of an unauthenticated chunk. finish()
// checks the stream ended on a final chunk. Throws kCrypto when no identity matches
// (message says which stanza types were present), kCorrupt for a malformed header,
// a bad MAC, a bad chunk or truncation.
class Decryptor : public Sink {
 public:
  Decryptor(const std::vector<Identity>& identities, Sink& next);
  ~Decryptor() override;
  Decryptor(const Decryptor&) = delete;
  Decryptor& operator=(const Decryptor&) = delete;
  void write(const uint8_t* data, size_t size) override;
  void finish() override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace ramsafe::age
