// The Drive v3 emulator (test/drive_emulator/server.js) for unit tests of the Drive store:
// started on a free loopback port with its own test CA, stopped with the object. Tests
// that use it skip themselves when node or openssl is missing.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "core/drive/drive_api.h"
#include "core/drive/http_client.h"
#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/process.h"
#include "test/unit/test_util.h"

namespace ramsafe::test {

class DriveEmulator {
 public:
  static bool available() {
    return !find_program("node").empty() && !find_program("openssl").empty() &&
           !find_program("bash").empty();
  }

  DriveEmulator() {
    std::string here = std::string(RAMSAFE_SOURCE_DIR) + "/test/drive_emulator";
    ProcessOptions certs;
    certs.argv = {"bash", here + "/make_certs.sh", dir_.file("certs")};
    ChildProcess(certs).wait_success();
    ProcessOptions server;
    server.argv = {"node",        here + "/server.js",
                   "--cert",      dir_.file("certs/server.pem"),
                   "--key",       dir_.file("certs/server.key"),
                   "--state-dir", dir_.file("state"),
                   "--port",      "0"};
    process_ = std::make_unique<ChildProcess>(server);
    std::string port_file = dir_.file("state/port");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!path_exists(port_file)) {
      if (process_->poll())
        throw Error(Errc::kInternal, "the Drive emulator exited: " + process_->stderr_tail());
      if (std::chrono::steady_clock::now() > deadline)
        throw Error(Errc::kInternal, "the Drive emulator did not listen within 30 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::string port = read_file(port_file, 64);
    while (!port.empty() && (port.back() == '\n' || port.back() == '\r')) port.pop_back();
    url_ = "https://127.0.0.1:" + port;
    http_ = std::make_unique<HttpClient>(http_options());
  }

  const std::string& url() const { return url_; }
  const ScratchDir& dir() const { return dir_; }

  HttpOptions http_options() const {
    HttpOptions options;
    options.ca_file = dir_.file("certs/ca.pem");
    return options;
  }

  // Options for a DriveApi against the emulator: 256 KiB chunks, quick retries.
  DriveOptions options() const {
    DriveOptions options;
    options.api_url = url_;
    options.http = http_options();
    options.chunk_size = kDriveChunkUnit;
    options.backoff = BackoffPolicy{10, 100, 8};
    return options;
  }

  // A call of the admin API (/__admin/...): the JSON answer; a failed call fails the test.
  nlohmann::json admin(const std::string& method, const std::string& path,
                       const nlohmann::json& body = nullptr) {
    HttpRequest request;
    request.method = method;
    request.url = url_ + "/__admin" + path;
    if (!body.is_null()) {
      request.headers = {"Content-Type: application/json"};
      request.body = body.dump();
    }
    HttpResponse response = http_->perform(request, nullptr);
    if (response.status != 200)
      throw Error(Errc::kInternal, "admin " + method + " " + path + ": HTTP " +
                                       std::to_string(response.status) + " " + response.body +
                                       response.transport_error);
    return nlohmann::json::parse(response.body);
  }

  // A service account registered with the emulator; its key file is written (0600).
  DriveCredentials service_account(const std::string& email) {
    EVP_PKEY* key = EVP_RSA_gen(2048);
    if (key == nullptr) throw Error(Errc::kInternal, "EVP_RSA_gen failed");
    auto pem = [&](bool is_private) {
      BIO* bio = BIO_new(BIO_s_mem());
      if (is_private)
        PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
      else
        PEM_write_bio_PUBKEY(bio, key);
      char* data = nullptr;
      long size = BIO_get_mem_data(bio, &data);
      std::string text(data, static_cast<size_t>(size));
      BIO_free(bio);
      return text;
    };
    std::string private_pem = pem(true), public_pem = pem(false);
    EVP_PKEY_free(key);
    admin("POST", "/service-accounts", {{"client_email", email}, {"public_key_pem", public_pem}});
    std::string path = dir_.write(email + ".json", nlohmann::json{{"type", "service_account"},
                                                                  {"private_key", private_pem},
                                                                  {"client_email", email},
                                                                  {"token_uri", url_ + "/token"}}
                                                       .dump());
    ::chmod(path.c_str(), 0600);
    return DriveCredentials::from_service_account_file(path);
  }

  // A user's refresh token (My Drive), written as `ramsafe drive-login` writes it.
  DriveCredentials user_token(const std::string& user) {
    admin("POST", "/oauth-clients", {{"client_id", "client-" + user}, {"client_secret", "s"}});
    std::string token = admin("POST", "/refresh-tokens",
                              {{"client_id", "client-" + user}, {"user", user}})["refresh_token"];
    std::string path = dir_.write(user + ".json", nlohmann::json{{"type", "authorized_user"},
                                                                 {"client_id", "client-" + user},
                                                                 {"client_secret", "s"},
                                                                 {"refresh_token", token}}
                                                      .dump());
    ::chmod(path.c_str(), 0600);
    return DriveCredentials::from_user_token_file(path, url_ + "/token");
  }

  // Every file the emulator holds (trashed ones too), as GET /__admin/files lists them.
  nlohmann::json files() { return admin("GET", "/files")["files"]; }

 private:
  ScratchDir dir_;
  std::unique_ptr<ChildProcess> process_;
  std::string url_;
  std::unique_ptr<HttpClient> http_;
};

}  // namespace ramsafe::test
