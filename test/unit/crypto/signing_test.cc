// Ed25519 signing (core/crypto/signing.h): RFC 8032's test vectors, good and bad
// signatures, the wrong key, tampered bytes, and strict parsing of keys and signatures.
#include "core/crypto/signing.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/crypto/base64.h"
#include "core/error.h"

namespace ramsafe::signing {
namespace {

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string to_hex(const std::string& bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string b64(const std::string& bytes) {
  return base64::encode_padded(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

SigningKey key_from_seed_hex(const std::string& seed_hex) {
  std::string line = "RAMSAFE-ED25519-SIGNING-KEY " + b64(from_hex(seed_hex)) + "\n";
  return SigningKey::parse(SecureString(line.begin(), line.end()), "test");
}

Errc code_of(const std::function<void()>& fn, std::string* message = nullptr) {
  try {
    fn();
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  ADD_FAILURE() << "no error thrown";
  return Errc::kInternal;
}

// RFC 8032, 7.1, TEST 1 and TEST 2.
TEST(Ed25519, Rfc8032Vectors) {
  SigningKey k1 =
      key_from_seed_hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  const auto& pub1 = k1.verify_key().raw();
  EXPECT_EQ(to_hex(std::string(pub1.begin(), pub1.end())),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  EXPECT_EQ(to_hex(k1.sign("")),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc6"
            "1e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  SigningKey k2 =
      key_from_seed_hex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
  std::string sig2 = k2.sign("\x72");
  EXPECT_EQ(to_hex(sig2),
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e45"
            "8f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
  EXPECT_TRUE(k2.verify_key().verify("\x72", sig2));
}

TEST(Ed25519, GoodSignatureVerifies) {
  SigningKey key = SigningKey::generate();
  std::string message = "{\"backup_id\": \"20261122T031500Z\"}\n";
  std::string sig = key.sign(message);
  EXPECT_EQ(sig.size(), kSignatureSize);
  EXPECT_TRUE(key.verify_key().verify(message, sig));
  EXPECT_EQ(key.sign(message), sig) << "Ed25519 is deterministic";
}

TEST(Ed25519, BadSignatureWrongKeyAndTamperedBytesFail) {
  SigningKey key = SigningKey::generate();
  SigningKey other = SigningKey::generate();
  std::string message = "manifest bytes";
  std::string sig = key.sign(message);
  for (size_t i : {size_t{0}, size_t{31}, size_t{32}, size_t{63}}) {
    std::string bad = sig;
    bad[i] ^= 0x01;
    EXPECT_FALSE(key.verify_key().verify(message, bad)) << "bit flipped in byte " << i;
  }
  EXPECT_FALSE(other.verify_key().verify(message, sig)) << "wrong key";
  EXPECT_FALSE(key.verify_key().verify("manifest byteS", sig)) << "tampered message";
  EXPECT_FALSE(key.verify_key().verify(message + "\n", sig)) << "appended byte";
  EXPECT_FALSE(key.verify_key().verify(message, sig.substr(0, 63))) << "short signature";
  EXPECT_FALSE(key.verify_key().verify(message, std::string(64, '\0'))) << "zero signature";
}

TEST(Ed25519, KeyFilesRoundTripWithoutLeakingTheKey) {
  SigningKey key = SigningKey::generate();
  SecureString file = key.encode("2026-11-22T03:15:00.000Z");
  std::string text(file.begin(), file.end());
  EXPECT_NE(text.find("# ramsafe signing key (Ed25519), created 2026-11-22T03:15:00.000Z"),
            std::string::npos);
  EXPECT_NE(text.find(key.verify_key().encode()), std::string::npos) << "names its verify key";
  SigningKey back = SigningKey::parse(file, "file");
  EXPECT_EQ(back.verify_key().id(), key.verify_key().id());
  EXPECT_TRUE(key.verify_key().verify("x", back.sign("x")));

  std::string message;
  std::string seed_line = text.substr(text.find("RAMSAFE-ED25519-SIGNING-KEY"));
  std::string seed_b64 = seed_line.substr(28, 44);
  for (const std::string& bad : {std::string(""), std::string("# only a comment\n"),
                                 "RAMSAFE-ED25519-SIGNING-KEY " + seed_b64.substr(0, 40) + "\n",
                                 "RAMSAFE-ED25519-SIGNING-KEY " + seed_b64 + "\n" + seed_line,
                                 std::string("AGE-SECRET-KEY-1QQQQ\n")}) {
    EXPECT_EQ(code_of([&] { SigningKey::parse(SecureString(bad.begin(), bad.end()), "key.txt"); },
                      &message),
              Errc::kConfig)
        << bad;
    EXPECT_NE(message.find("key.txt"), std::string::npos) << message;
    EXPECT_EQ(message.find(seed_b64.substr(0, 12)), std::string::npos) << "a message shows the key";
  }
}

TEST(Ed25519, VerifyKeyFilesAreParsedStrictly) {
  SigningKey a = SigningKey::generate(), b = SigningKey::generate();
  std::string text = "# trusted\n\n" + a.verify_key().encode() + " the 2026 key\n" + "   " +
                     b.verify_key().encode() + "\r\n";
  std::vector<VerifyKey> keys = parse_verify_keys(text, "verify.txt");
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].id(), a.verify_key().id());
  EXPECT_EQ(keys[1].id(), b.verify_key().id());
  EXPECT_EQ(a.verify_key().id().size(), 8u + 16u);
  EXPECT_EQ(a.verify_key().id().compare(0, 8, "ed25519:"), 0);

  std::string message;
  EXPECT_EQ(
      code_of([&] { parse_verify_keys(text + a.verify_key().encode() + "\n", "v"); }, &message),
      Errc::kConfig);
  EXPECT_NE(message.find("listed twice"), std::string::npos) << message;
  EXPECT_EQ(code_of([&] { parse_verify_keys("ramsafe-ed25519 AAAA\n", "v"); }, &message),
            Errc::kConfig);
  EXPECT_NE(message.find("v:1"), std::string::npos) << message;
  SecureString secret = a.encode("now");
  EXPECT_EQ(
      code_of([&] { parse_verify_keys(std::string(secret.begin(), secret.end()), "v"); }, &message),
      Errc::kConfig);
  EXPECT_NE(message.find("signing key (a secret)"), std::string::npos) << message;
  EXPECT_EQ(code_of([&] { parse_verify_keys("age1qqqq\n", "v"); }), Errc::kConfig);
  EXPECT_TRUE(parse_verify_keys("", "v").empty());
}

TEST(Ed25519, SignatureLinesAreParsedExactly) {
  SigningKey key = SigningKey::generate();
  Signature sig{key.verify_key().id(), key.sign("m")};
  std::string line = sig.encode();
  EXPECT_EQ(line.back(), '\n');
  std::optional<Signature> back = Signature::parse(line);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->key_id, sig.key_id);
  EXPECT_EQ(back->bytes, sig.bytes);

  // The last base64 character before "==" carries 2 bits; a set unused bit is not canonical.
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string non_canonical = line;
  size_t last = line.size() - 4;
  non_canonical[last] = kAlphabet[kAlphabet.find(line[last]) | 1];
  size_t b64_start = line.rfind(' ') + 1;
  for (const std::string& bad :
       {std::string(""), line.substr(0, line.size() - 1), line + "\n", line + "x", " " + line,
        "ramsafe-signature-v2" + line.substr(20),
        "ramsafe-signature-v1 ed25519:ABCDEF0123456789 " + line.substr(b64_start),
        "ramsafe-signature-v1 x25519:abcdef0123456789 " + line.substr(b64_start), non_canonical,
        line.substr(0, 30) + "g" + line.substr(31)}) {
    EXPECT_FALSE(Signature::parse(bad)) << bad;
  }
}

}  // namespace
}  // namespace ramsafe::signing
