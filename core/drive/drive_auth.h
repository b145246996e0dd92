// Google OAuth 2.0 for the Drive store, from files that settings name (never the
// secrets themselves):
//  - a service account's JSON key: a JWT signed RS256 is exchanged for an access token;
//  - a user's refresh token file ("authorized_user", as gcloud writes it), obtained with
//    `ramsafe drive-login` through the device authorization flow.
// Access tokens stay in memory, are refreshed before they expire, and never appear in a
// message.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/crypto/secure_string.h"
#include "core/drive/backoff.h"
#include "core/drive/http_client.h"

namespace ramsafe {

inline constexpr const char* kDriveScope = "https://www.googleapis.com/auth/drive.file";

class DriveCredentials {
 public:
  // Service account key file (mode 0600 or stricter): type "service_account",
  // client_email, private_key, token_uri. Throws Error(kConfig/kPermission) naming the file.
  static DriveCredentials from_service_account_file(const std::string& path);
  // User token file (mode 0600 or stricter): type "authorized_user", client_id,
  // client_secret, refresh_token, token_uri (Google's when absent).
  static DriveCredentials from_user_token_file(const std::string& path,
                                               const std::string& default_token_uri);

  bool is_service_account() const { return service_account_; }
  // Who we act as, for messages: the service account's e-mail, or "the user token in FILE".
  const std::string& principal() const { return principal_; }

  // A bearer token valid for at least a minute more; with force, a fresh one (after a
  // 401). Transient failures of the token endpoint are retried with backoff; refused
  // credentials throw Error(kPermission) with Google's reason. A copy: a refresh by
  // another caller must not change it under its user. Not thread-safe (DriveApi
  // serialises the calls).
  SecureString access_token(HttpClient& http, Backoff& backoff, const CancelCheck& cancel,
                            bool force = false);

  // The RS256 JWT assertion for a service account, valid from now_unix for an hour.
  SecureString make_jwt_assertion(int64_t now_unix) const;

 private:
  SecureString token_request_body(int64_t now_unix) const;

  bool service_account_ = false;
  std::string principal_;
  std::string source_file_;
  std::string token_uri_;
  std::string client_email_;
  SecureString private_key_pem_;
  std::string client_id_;
  SecureString client_secret_;
  SecureString refresh_token_;
  SecureString access_token_;
  int64_t expires_at_ = 0;  // unix seconds
};

// The OAuth 2.0 device authorization flow (RFC 8628) as Google runs it for "TV and
// limited-input devices": asks for a code, shows the URL and code through show(), polls
// until the user approves, and returns the token file's JSON (type authorized_user).
struct DeviceLoginRequest {
  std::string oauth_url;  // "https://oauth2.googleapis.com"
  std::string client_id;
  SecureString client_secret;
  std::string scope = kDriveScope;
  std::function<void(const std::string& url, const std::string& code)> show;
};
SecureString device_login(HttpClient& http, const DeviceLoginRequest& request,
                          const CancelCheck& cancel);

}  // namespace ramsafe
