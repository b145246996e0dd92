#include "core/drive/drive_auth.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <ctime>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/crypto/base64.h"
#include "core/drive/http_client.h"
#include "core/error.h"
#include "core/io/bounded_json.h"

namespace ramsafe {
namespace {

constexpr const char* kGoogleTokenUri = "https://oauth2.googleapis.com/token";
constexpr int64_t kRefreshMarginSeconds = 300;

std::string base64url(const uint8_t* data, size_t size) {
  std::string text = base64::encode_raw(data, size);
  for (char& c : text) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return text;
}

std::string base64url(const std::string& text) {
  return base64url(reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

nlohmann::json parse_secret_json(const SecureString& text, const std::string& path) {
  auto json = try_parse_bounded_json(text.data(), text.size(), {kSecretFileMaxBytes});
  if (!json || !json->is_object()) throw Error(Errc::kConfig, path + ": not a JSON object");
  return std::move(*json);
}

std::string string_field(const nlohmann::json& json, const char* name, const std::string& path,
                         bool required = true) {
  if (json.contains(name) && json[name].is_string()) return json[name].get<std::string>();
  if (required) throw Error(Errc::kConfig, path + ": missing \"" + name + "\"");
  return "";
}

SecureString secure(const std::string& text) {
  return SecureString(text.begin(), text.end());
}

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

std::unique_ptr<EVP_PKEY, PkeyDeleter> load_private_key(const SecureString& pem,
                                                        const std::string& path) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw Error(Errc::kInternal, "BIO_new_mem_buf failed");
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA)
    throw Error(Errc::kConfig, path + ": \"private_key\" is not a PEM RSA private key");
  return key;
}

std::string form_body(std::initializer_list<std::pair<const char*, std::string>> fields) {
  std::string body;
  for (const auto& [name, value] : fields) {
    if (!body.empty()) body += '&';
    body += name;
    body += '=';
    body += HttpClient::form_escape(value);
  }
  return body;
}

HttpRequest form_post(const std::string& url, std::string body) {
  HttpRequest request;
  request.method = "POST";
  request.url = url;
  request.headers = {"Content-Type: application/x-www-form-urlencoded"};
  request.body = std::move(body);
  return request;
}

// Posts to a token endpoint, retrying transient failures.
HttpResponse post_with_retries(HttpClient& http, Backoff& backoff, const HttpRequest& request,
                               const CancelCheck& cancel) {
  for (int attempt = 1;; ++attempt) {
    HttpResponse response = http.perform(request, cancel);
    if (!is_retryable(response) || attempt >= backoff.policy().max_attempts) return response;
    sleep_cancellable(backoff.delay_ms(attempt), cancel);
  }
}

}  // namespace

DriveCredentials DriveCredentials::from_service_account_file(const std::string& path) {
  SecureString text = read_secret_file(path);
  nlohmann::json json = parse_secret_json(text, path);
  std::string type = string_field(json, "type", path);
  if (type != "service_account")
    throw Error(Errc::kConfig, path + ": \"type\" is \"" + type +
                                   "\", expected \"service_account\" (a service account key; "
                                   "use ramsafe.drive_token_file for a user token)");
  DriveCredentials c;
  c.service_account_ = true;
  c.source_file_ = path;
  c.client_email_ = string_field(json, "client_email", path);
  c.private_key_pem_ = secure(string_field(json, "private_key", path));
  c.token_uri_ = string_field(json, "token_uri", path, false);
  if (c.token_uri_.empty()) c.token_uri_ = kGoogleTokenUri;
  c.principal_ = "service account " + c.client_email_;
  load_private_key(c.private_key_pem_, path);  // fail now, not at the first upload
  return c;
}

DriveCredentials DriveCredentials::from_user_token_file(const std::string& path,
                                                        const std::string& default_token_uri) {
  SecureString text = read_secret_file(path);
  nlohmann::json json = parse_secret_json(text, path);
  std::string type = string_field(json, "type", path, false);
  if (!type.empty() && type != "authorized_user")
    throw Error(Errc::kConfig, path + ": \"type\" is \"" + type +
                                   "\", expected \"authorized_user\" (a token file written by "
                                   "`ramsafe drive-login`)");
  DriveCredentials c;
  c.source_file_ = path;
  c.client_id_ = string_field(json, "client_id", path);
  c.client_secret_ = secure(string_field(json, "client_secret", path));
  c.refresh_token_ = secure(string_field(json, "refresh_token", path));
  c.token_uri_ = string_field(json, "token_uri", path, false);
  if (c.token_uri_.empty()) c.token_uri_ = default_token_uri;
  c.principal_ = "the user token in " + path;
  return c;
}

SecureString DriveCredentials::make_jwt_assertion(int64_t now_unix) const {
  nlohmann::json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  nlohmann::json claims = {{"iss", client_email_},
                           {"scope", kDriveScope},
                           {"aud", token_uri_},
                           {"iat", now_unix},
                           {"exp", now_unix + 3600}};
  std::string signing_input = base64url(header.dump()) + "." + base64url(claims.dump());

  auto key = load_private_key(private_key_pem_, source_file_);
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  size_t signature_size = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &signature_size,
                     reinterpret_cast<const uint8_t*>(signing_input.data()),
                     signing_input.size()) != 1)
    throw Error(Errc::kCrypto, "cannot sign the service account JWT");
  std::vector<uint8_t> signature(signature_size);
  if (EVP_DigestSign(ctx.get(), signature.data(), &signature_size,
                     reinterpret_cast<const uint8_t*>(signing_input.data()),
                     signing_input.size()) != 1)
    throw Error(Errc::kCrypto, "cannot sign the service account JWT");
  std::string jwt = signing_input + "." + base64url(signature.data(), signature_size);
  return secure(jwt);
}

SecureString DriveCredentials::token_request_body(int64_t now_unix) const {
  std::string body;
  if (service_account_) {
    SecureString assertion = make_jwt_assertion(now_unix);
    body = form_body({{"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"},
                      {"assertion", std::string(assertion.begin(), assertion.end())}});
  } else {
    body =
        form_body({{"grant_type", "refresh_token"},
                   {"client_id", client_id_},
                   {"client_secret", std::string(client_secret_.begin(), client_secret_.end())},
                   {"refresh_token", std::string(refresh_token_.begin(), refresh_token_.end())}});
  }
  SecureString out(body.begin(), body.end());
  OPENSSL_cleanse(body.data(), body.size());
  return out;
}

SecureString DriveCredentials::access_token(HttpClient& http, Backoff& backoff,
                                            const CancelCheck& cancel, bool force) {
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  if (!force && !access_token_.empty() && now + kRefreshMarginSeconds < expires_at_)
    return access_token_;
  SecureString body = token_request_body(now);
  HttpRequest request = form_post(token_uri_, std::string(body.begin(), body.end()));
  HttpResponse response = post_with_retries(http, backoff, request, cancel);
  OPENSSL_cleanse(request.body.data(), request.body.size());
  if (response.status == 0 || response.status >= 500 || response.status == 429)
    throw Error(Errc::kRemote, "cannot get a Google access token for " + principal_ + " from " +
                                   token_uri_ + ": " + describe_response(response));
  if (!response.ok()) {
    GoogleError e = google_error(response.body);
    std::string hint = service_account_
                           ? "check the service account key in " + source_file_
                           : "run `ramsafe drive-login` again to replace " + source_file_;
    throw Error(Errc::kPermission, "Google refused the credentials of " + principal_ + " (HTTP " +
                                       std::to_string(response.status) + " " + e.reason +
                                       (e.message.empty() ? "" : ": " + e.message) + "); " + hint);
  }
  auto parsed = try_parse_bounded_json(response.body, {kDriveJsonMaxBytes});
  OPENSSL_cleanse(response.body.data(), response.body.size());
  nlohmann::json json = parsed && parsed->is_object() ? std::move(*parsed) : nlohmann::json();
  if (!json.is_object() || !json.contains("access_token") || !json["access_token"].is_string())
    throw Error(Errc::kRemote, "the token endpoint " + token_uri_ + " sent no access_token");
  access_token_ = secure(json["access_token"].get<std::string>());
  int64_t lifetime = json.contains("expires_in") && json["expires_in"].is_number_integer()
                         ? json["expires_in"].get<int64_t>()
                         : 3600;
  expires_at_ = now + lifetime;
  return access_token_;
}

SecureString device_login(HttpClient& http, const DeviceLoginRequest& request,
                          const CancelCheck& cancel) {
  Backoff backoff(BackoffPolicy{});
  std::string secret(request.client_secret.begin(), request.client_secret.end());
  HttpResponse code_response = post_with_retries(
      http, backoff,
      form_post(request.oauth_url + "/device/code",
                form_body({{"client_id", request.client_id}, {"scope", request.scope}})),
      cancel);
  if (!code_response.ok())
    throw Error(Errc::kPermission, "Google refused the device login request for client " +
                                       request.client_id + ": " + describe_response(code_response));
  auto parsed_code = try_parse_bounded_json(code_response.body, {kDriveJsonMaxBytes});
  nlohmann::json code =
      parsed_code && parsed_code->is_object() ? std::move(*parsed_code) : nlohmann::json();
  if (!code.is_object() || !code.contains("device_code") || !code["device_code"].is_string() ||
      !code.contains("user_code") || !code["user_code"].is_string())
    throw Error(Errc::kRemote, "the device code endpoint sent no device_code");
  std::string device_code = code["device_code"].get<std::string>();
  std::string url = code.value("verification_url", code.value("verification_uri", ""));
  int64_t interval = code.value("interval", 5);
  int64_t deadline = static_cast<int64_t>(std::time(nullptr)) + code.value("expires_in", 1800);
  request.show(url, code["user_code"].get<std::string>());

  std::string token_uri = request.oauth_url + "/token";
  for (;;) {
    sleep_cancellable(interval * 1000, cancel);
    if (static_cast<int64_t>(std::time(nullptr)) > deadline)
      throw Error(Errc::kPermission, "the device code expired before it was approved");
    HttpResponse r = post_with_retries(
        http, backoff,
        form_post(token_uri,
                  form_body({{"grant_type", "urn:ietf:params:oauth:grant-type:device_code"},
                             {"device_code", device_code},
                             {"client_id", request.client_id},
                             {"client_secret", secret}})),
        cancel);
    if (r.ok()) {
      auto parsed = try_parse_bounded_json(r.body, {kDriveJsonMaxBytes});
      OPENSSL_cleanse(r.body.data(), r.body.size());
      nlohmann::json tokens = parsed && parsed->is_object() ? std::move(*parsed) : nlohmann::json();
      if (!tokens.is_object() || !tokens.contains("refresh_token") ||
          !tokens["refresh_token"].is_string())
        throw Error(Errc::kRemote, "the token endpoint sent no refresh_token");
      nlohmann::json file = {{"type", "authorized_user"},
                             {"client_id", request.client_id},
                             {"client_secret", secret},
                             {"refresh_token", tokens["refresh_token"]},
                             {"token_uri", token_uri}};
      std::string text = file.dump(2) + "\n";
      SecureString out(text.begin(), text.end());
      OPENSSL_cleanse(text.data(), text.size());
      OPENSSL_cleanse(secret.data(), secret.size());
      return out;
    }
    std::string reason = google_error(r.body).reason;
    if (reason == "authorization_pending") continue;
    if (reason == "slow_down") {
      interval += 5;  // RFC 8628 §3.5
      continue;
    }
    if (reason == "access_denied")
      throw Error(Errc::kPermission, "the login was denied in the browser");
    if (reason == "expired_token")
      throw Error(Errc::kPermission, "the device code expired before it was approved");
    throw Error(Errc::kPermission, "Google refused the device login: " + describe_response(r));
  }
}

}  // namespace ramsafe
