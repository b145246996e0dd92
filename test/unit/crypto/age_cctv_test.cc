// Conformance with the CCTV age test vectors (npm package cctv-age, exported to a
// directory by test/age/cctv_export.js). The directory comes from RAMSAFE_CCTV_DIR; the
// test is skipped when it is unset (ctest sets it through test/age/run_cctv.sh).
#include <openssl/evp.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/crypto/age.h"
#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/unique_fd.h"

namespace ramsafe::age {
namespace {

class CollectSink : public Sink {
 public:
  void write(const uint8_t* data, size_t size) override {
    out.insert(out.end(), data, data + size);
  }
  void finish() override { finished = true; }
  std::vector<uint8_t> out;
  bool finished = false;
};

struct Vector {
  std::string name;
  std::string expect;
  std::string payload_sha256;
  std::vector<std::string> identities;
  std::vector<std::string> passphrases;
  bool armored = false;
  std::vector<std::string> unknown_keys;
  std::string body;
};

Vector parse_vector(const std::string& name, const std::string& file) {
  Vector v;
  v.name = name;
  size_t pos = 0;
  for (;;) {
    size_t nl = file.find('\n', pos);
    if (nl == std::string::npos) throw std::runtime_error(name + ": no blank line");
    std::string line = file.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) break;
    size_t colon = line.find(": ");
    if (colon == std::string::npos) throw std::runtime_error(name + ": bad header line");
    std::string key = line.substr(0, colon), value = line.substr(colon + 2);
    if (key == "expect")
      v.expect = value;
    else if (key == "payload")
      v.payload_sha256 = value;
    else if (key == "identity")
      v.identities.push_back(value);
    else if (key == "passphrase")
      v.passphrases.push_back(value);
    else if (key == "armored")
      v.armored = value == "yes";
    else if (key == "file key" || key == "comment")
      continue;
    else
      v.unknown_keys.push_back(key);
  }
  v.body = file.substr(pos);
  return v;
}

std::string sha256_hex(const std::vector<uint8_t>& data) {
  unsigned char digest[32];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < size; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

struct Outcome {
  bool threw = false;
  Errc code = Errc::kInternal;
  std::string message;
  std::vector<uint8_t> plaintext;
  bool finished = false;
};

// Feeds the body in pieces of `piece` bytes (0: all at once).
Outcome decrypt(const Vector& v, const std::vector<Identity>& identities, size_t piece) {
  Outcome outcome;
  CollectSink sink;
  try {
    Decryptor decryptor(identities, sink);
    const auto* data = reinterpret_cast<const uint8_t*>(v.body.data());
    size_t size = v.body.size();
    if (piece == 0) piece = size == 0 ? 1 : size;
    for (size_t pos = 0; pos < size; pos += piece)
      decryptor.write(data + pos, std::min(piece, size - pos));
    decryptor.finish();
  } catch (const Error& e) {
    outcome.threw = true;
    outcome.code = e.code();
    outcome.message = e.what();
  }
  outcome.plaintext = std::move(sink.out);
  outcome.finished = sink.finished;
  return outcome;
}

// Returns an empty string if the outcome matches the vector's expectation.
std::string check(const Vector& v, const Outcome& o) {
  auto describe = [&] {
    return o.threw ? std::string("threw ") + errc_name(o.code) + ": " + o.message
                   : std::string("succeeded");
  };
  if (v.expect == "success") {
    if (o.threw) return "expected success, " + describe();
    if (!o.finished) return "next sink not finished";
    if (sha256_hex(o.plaintext) != v.payload_sha256) return "payload hash mismatch";
    return "";
  }
  if (!o.threw) return "expected " + v.expect + ", but decryption succeeded";
  if (o.finished) return "next sink finished despite the error";
  if (v.expect == "payload failure") {
    if (o.code != Errc::kCorrupt) return "expected kCorrupt, " + describe();
    if (o.message.find("payload") == std::string::npos)
      return "expected a payload error, " + describe();
    if (sha256_hex(o.plaintext) != v.payload_sha256)
      return "plaintext released before the failure does not match the payload hash";
    return "";
  }
  // Every other failure happens before any plaintext may be released.
  if (!o.plaintext.empty()) return "plaintext released despite a header-level failure";
  if (v.expect == "no match") {
    if (o.code != Errc::kCrypto) return "expected kCrypto, " + describe();
    return "";
  }
  if (o.code != Errc::kCorrupt) return "expected kCorrupt, " + describe();
  bool mac = o.message.find("MAC mismatch") != std::string::npos;
  if (v.expect == "HMAC failure") return mac ? "" : "expected a MAC failure, " + describe();
  if (v.expect == "header failure") return mac ? "expected a parse failure, " + describe() : "";
  if (v.expect == "armor failure")
    return o.message.find("armor") != std::string::npos ? ""
                                                        : "expected an armor error, " + describe();
  return "unknown expectation " + v.expect;
}

TEST(AgeCctv, AllVectors) {
  const char* dir = std::getenv("RAMSAFE_CCTV_DIR");
  if (dir == nullptr || *dir == '\0') GTEST_SKIP() << "RAMSAFE_CCTV_DIR is not set";

  std::vector<std::string> names = list_dir(dir);
  ASSERT_GT(names.size(), 100u) << "too few vectors in " << dir;
  const bool verbose = std::getenv("RAMSAFE_CCTV_VERBOSE") != nullptr;
  int ran = 0;
  std::map<std::string, std::vector<std::string>> skipped;  // reason -> vectors
  std::map<std::string, int> by_expectation;
  for (const std::string& name : names) {
    Vector v = parse_vector(name, read_file(join_path(dir, name)));
    if (!v.unknown_keys.empty()) {
      skipped["unknown header key " + v.unknown_keys[0]].push_back(name);
      continue;
    }
    std::vector<Identity> identities;
    bool unsupported = false;
    for (const std::string& text : v.identities) {
      if (text.rfind("AGE-SECRET-KEY-1", 0) == 0)
        identities.emplace_back(X25519Identity::parse(text));
      else
        unsupported = true;
    }
    for (const std::string& pass : v.passphrases)
      identities.emplace_back(ScryptIdentity{SecureString(pass.data(), pass.size())});
    // With an unsupported identity we cannot decrypt, but a failure that must happen
    // before or regardless of it (a malformed header, armor) is still checked when we
    // have a supported identity of our own.
    bool parse_only = v.expect == "header failure" || v.expect == "armor failure";
    if (unsupported && !(parse_only && !identities.empty())) {
      skipped["non-X25519 identity (ML-KEM hybrid)"].push_back(name);
      continue;
    }

    SCOPED_TRACE(name);
    ++ran;
    ++by_expectation[v.expect];
    Outcome first = decrypt(v, identities, 0);
    if (verbose)
      std::cout << "[ CCTV     ] " << name << " (" << v.expect
                << "): " << (first.threw ? first.message : "ok") << "\n";
    std::string problem = check(v, first);
    EXPECT_EQ(problem, "") << name;
    // Again in odd pieces, and byte by byte for the smaller vectors: the outcome must not
    // depend on how the input is split.
    problem = check(v, decrypt(v, identities, 4093));
    EXPECT_EQ(problem, "") << name << " (4093-byte pieces)";
    if (v.body.size() <= size_t{300} * 1024) {
      problem = check(v, decrypt(v, identities, 1));
      EXPECT_EQ(problem, "") << name << " (1-byte pieces)";
    }
  }
  int skipped_count = 0;
  for (const auto& [reason, list] : skipped) skipped_count += static_cast<int>(list.size());
  std::cout << "[ CCTV     ] " << names.size() << " vectors: ran " << ran << ", skipped "
            << skipped_count << "\n";
  for (const auto& [expect, count] : by_expectation)
    std::cout << "[ CCTV     ]   ran " << count << " '" << expect << "'\n";
  for (const auto& [reason, list] : skipped) {
    std::cout << "[ CCTV     ]   skipped " << list.size() << " (" << reason << "):";
    for (const std::string& n : list) std::cout << " " << n;
    std::cout << "\n";
  }
  RecordProperty("cctv_ran", ran);
  RecordProperty("cctv_skipped", skipped_count);
  EXPECT_EQ(ran + skipped_count, static_cast<int>(names.size()));
}

}  // namespace
}  // namespace ramsafe::age
