// Helpers shared by the age tests.
#pragma once

#include <openssl/evp.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "core/crypto/age.h"
#include "core/error.h"

namespace ramsafe::age::testing {

class CollectSink : public Sink {
 public:
  void write(const uint8_t* data, size_t size) override {
    if (finished) throw Error(Errc::kInternal, "write after finish");
    out.insert(out.end(), data, data + size);
  }
  void finish() override { finished = true; }
  std::vector<uint8_t> out;
  bool finished = false;
};

inline std::vector<uint8_t> bytes_of(const std::string& s) {
  return {s.begin(), s.end()};
}
inline std::string string_of(const std::vector<uint8_t>& v) {
  return {v.begin(), v.end()};
}

inline std::string sha256_hex(const uint8_t* data, size_t size) {
  unsigned char digest[32];
  unsigned int digest_size = 0;
  EVP_Digest(data, size, digest, &digest_size, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < digest_size; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}
inline std::string sha256_hex(const std::vector<uint8_t>& v) {
  return sha256_hex(v.data(), v.size());
}

// Writes data to sink in pieces of `piece` bytes (0: one write), then finishes it.
inline void feed(Sink& sink, const std::vector<uint8_t>& data, size_t piece = 0) {
  if (piece == 0) piece = std::max<size_t>(data.size(), 1);
  for (size_t pos = 0; pos < data.size(); pos += piece)
    sink.write(data.data() + pos, std::min(piece, data.size() - pos));
  sink.finish();
}

inline std::vector<uint8_t> encrypt(const std::vector<Recipient>& recipients,
                                    const std::vector<uint8_t>& plaintext, size_t piece = 0) {
  CollectSink sink;
  Encryptor encryptor(recipients, sink);
  feed(encryptor, plaintext, piece);
  return sink.out;
}

struct Outcome {
  bool ok = false;
  Errc code = Errc::kInternal;
  std::string message;
  std::vector<uint8_t> plaintext;  // whatever was released, even on failure
  bool finished = false;
};

inline Outcome decrypt(const std::vector<Identity>& identities,
                       const std::vector<uint8_t>& ciphertext, size_t piece = 0) {
  Outcome o;
  CollectSink sink;
  try {
    Decryptor decryptor(identities, sink);
    feed(decryptor, ciphertext, piece);
    o.ok = true;
  } catch (const Error& e) {
    o.code = e.code();
    o.message = e.what();
  }
  o.plaintext = std::move(sink.out);
  o.finished = sink.finished;
  return o;
}

}  // namespace ramsafe::age::testing
