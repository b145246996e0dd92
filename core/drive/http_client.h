// A small HTTPS client on libcurl for the remote stores: one request at a time, bodies
// streamed from a file range or a string, responses streamed into a Sink. TLS peer and
// host verification are always on; only the CA bundle can be chosen.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/io/sink.h"

namespace ramsafe {

// The most JSON ramsafe parses from one Google answer (bodies are kept up to about 1 MiB;
// listings are pages of at most 1000 files).
constexpr size_t kDriveJsonMaxBytes = size_t{2} << 20;

}  // namespace ramsafe

namespace ramsafe {

struct HttpOptions {
  std::string ca_file;  // empty: the system's CA bundle
  long connect_timeout_seconds = 20;
  // A transfer slower than 1 byte/s for this long is abandoned (a stalled connection).
  long stall_timeout_seconds = 60;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // used unless body_fd >= 0
  int body_fd = -1;                  // send [body_offset, body_offset + body_length) of it
  uint64_t body_offset = 0;
  uint64_t body_length = 0;
  // Receives the body of a 2xx response (206 included); other bodies are kept in
  // HttpResponse::body, as are all bodies when this is null.
  Sink* response_sink = nullptr;
};

struct HttpResponse {
  long status = 0;              // 0: no HTTP response (see transport_error)
  std::string transport_error;  // why there was no complete response
  // The transport failure cannot go away by trying again (TLS verification, a bad URL).
  bool transport_permanent = false;
  std::map<std::string, std::string> headers;  // names lower-cased; last value wins
  std::string body;
  uint64_t body_bytes_sent = 0;      // request body bytes handed to the connection
  uint64_t body_bytes_received = 0;  // response body bytes (sink or string)

  std::string header(const std::string& lower_name) const;
  bool ok() const { return status >= 200 && status < 300; }
};

class HttpClient {
 public:
  explicit HttpClient(HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Performs one request. A transport failure (refused, reset, timeout, TLS) is
  // returned with status 0; what the response sink throws is rethrown; cancellation
  // throws Error(kCancelled). The connection is reused between calls.
  HttpResponse perform(const HttpRequest& request, const CancelCheck& cancel);

  // application/x-www-form-urlencoded escaping of one value.
  static std::string form_escape(const std::string& value);

 private:
  struct Handle;
  HttpOptions options_;
  std::unique_ptr<Handle> handle_;
};

}  // namespace ramsafe
