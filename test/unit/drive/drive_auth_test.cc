// Service account and user token files, and the RS256 JWT checked with OpenSSL against
// the key's public half (the Drive emulator checks the same JWT in the integration tests).
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sys/stat.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/crypto/base64.h"
#include "core/drive/drive_auth.h"
#include "core/error.h"
#include "test/unit/test_util.h"

namespace ramsafe {
namespace {

using test::ScratchDir;

struct KeyPair {
  std::string private_pem;
  EVP_PKEY* key = nullptr;
  ~KeyPair() { EVP_PKEY_free(key); }
};

void make_rsa(KeyPair& pair) {
  pair.key = EVP_RSA_gen(2048);
  ASSERT_NE(pair.key, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio, pair.key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  pair.private_pem.assign(data, static_cast<size_t>(size));
  BIO_free(bio);
}

std::string write_secret(const ScratchDir& dir, const std::string& name, const std::string& text,
                         mode_t mode = 0600) {
  std::string path = dir.write(name, text);
  ::chmod(path.c_str(), mode);
  return path;
}

std::string service_account_json(const std::string& pem) {
  return nlohmann::json{{"type", "service_account"},
                        {"project_id", "p"},
                        {"private_key_id", "k1"},
                        {"private_key", pem},
                        {"client_email", "backup@p.iam.gserviceaccount.com"},
                        {"token_uri", "https://127.0.0.1:1/token"}}
      .dump();
}

std::string base64url_decode(std::string text) {
  for (char& c : text) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  std::vector<uint8_t> out;
  EXPECT_TRUE(base64::decode_raw(text.data(), text.size(), out)) << text;
  return std::string(out.begin(), out.end());
}

template <typename Fn>
std::string error_of(Fn&& fn, Errc* code = nullptr) {
  try {
    fn();
  } catch (const Error& e) {
    if (code) *code = e.code();
    return e.what();
  }
  return "(no error)";
}

TEST(DriveAuthTest, JwtIsSignedRs256WithTheClaimsGoogleWants) {
  KeyPair pair;
  ASSERT_NO_FATAL_FAILURE(make_rsa(pair));
  ScratchDir dir;
  auto creds = DriveCredentials::from_service_account_file(
      write_secret(dir, "sa.json", service_account_json(pair.private_pem)));
  EXPECT_TRUE(creds.is_service_account());
  EXPECT_EQ(creds.principal(), "service account backup@p.iam.gserviceaccount.com");

  SecureString jwt = creds.make_jwt_assertion(1'700'000'000);
  std::string text(jwt.begin(), jwt.end());
  size_t dot1 = text.find('.');
  size_t dot2 = text.find('.', dot1 + 1);
  ASSERT_NE(dot2, std::string::npos);
  auto header = nlohmann::json::parse(base64url_decode(text.substr(0, dot1)));
  auto claims = nlohmann::json::parse(base64url_decode(text.substr(dot1 + 1, dot2 - dot1 - 1)));
  EXPECT_EQ(header["alg"], "RS256");
  EXPECT_EQ(claims["iss"], "backup@p.iam.gserviceaccount.com");
  EXPECT_EQ(claims["aud"], "https://127.0.0.1:1/token");
  EXPECT_EQ(claims["scope"], kDriveScope);
  EXPECT_EQ(claims["iat"], 1'700'000'000);
  EXPECT_EQ(claims["exp"], 1'700'003'600);

  std::string signature = base64url_decode(text.substr(dot2 + 1));
  std::string signed_part = text.substr(0, dot2);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pair.key), 1);
  int verified =
      EVP_DigestVerify(ctx, reinterpret_cast<const uint8_t*>(signature.data()), signature.size(),
                       reinterpret_cast<const uint8_t*>(signed_part.data()), signed_part.size());
  EVP_MD_CTX_free(ctx);
  EXPECT_EQ(verified, 1) << "the signature must verify with the service account's public key";
}

TEST(DriveAuthTest, KeyFilesReadableByOthersAreRefused) {
  KeyPair pair;
  ASSERT_NO_FATAL_FAILURE(make_rsa(pair));
  ScratchDir dir;
  std::string path = write_secret(dir, "sa.json", service_account_json(pair.private_pem), 0644);
  Errc code{};
  std::string message = error_of([&] { DriveCredentials::from_service_account_file(path); }, &code);
  EXPECT_EQ(code, Errc::kPermission);
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_EQ(message.find("PRIVATE KEY"), std::string::npos) << "no key material in messages";
}

TEST(DriveAuthTest, BadServiceAccountFilesNameTheProblem) {
  ScratchDir dir;
  std::string not_json = write_secret(dir, "a.json", "{ not json");
  EXPECT_EQ(error_of([&] { DriveCredentials::from_service_account_file(not_json); }),
            not_json + ": not a JSON object");
  std::string user = write_secret(dir, "b.json", R"({"type":"authorized_user"})");
  EXPECT_NE(error_of([&] {
              DriveCredentials::from_service_account_file(user);
            }).find("\"type\" is \"authorized_user\", expected \"service_account\""),
            std::string::npos);
  std::string bad_key = write_secret(
      dir, "c.json",
      R"({"type":"service_account","client_email":"x@y","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"})");
  EXPECT_EQ(error_of([&] { DriveCredentials::from_service_account_file(bad_key); }),
            bad_key + ": \"private_key\" is not a PEM RSA private key");
  std::string no_email = write_secret(dir, "d.json", R"({"type":"service_account"})");
  EXPECT_EQ(error_of([&] { DriveCredentials::from_service_account_file(no_email); }),
            no_email + ": missing \"client_email\"");
}

TEST(DriveAuthTest, UserTokenFileNeedsItsFields) {
  ScratchDir dir;
  std::string ok = write_secret(
      dir, "t.json",
      R"({"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r"})");
  auto creds = DriveCredentials::from_user_token_file(ok, "https://oauth2.googleapis.com/token");
  EXPECT_FALSE(creds.is_service_account());
  EXPECT_EQ(creds.principal(), "the user token in " + ok);
  std::string missing = write_secret(dir, "u.json", R"({"client_id":"c","client_secret":"s"})");
  EXPECT_EQ(error_of([&] { DriveCredentials::from_user_token_file(missing, "https://x/token"); }),
            missing + ": missing \"refresh_token\"");
}

}  // namespace
}  // namespace ramsafe
