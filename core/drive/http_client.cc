#include "core/drive/http_client.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <exception>
#include <mutex>

#include "core/error.h"

namespace ramsafe {
namespace {

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      throw Error(Errc::kInternal, "curl_global_init failed");
  });
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

struct EasyDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

// State of one transfer, reached from curl's callbacks.
struct Transfer {
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  const CancelCheck* cancel = nullptr;
  uint64_t sent = 0;
  std::exception_ptr sink_error;
  bool cancelled = false;
  bool read_failed = false;
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response (after 100 Continue): its status decides where the body goes.
    t->response->headers.clear();
    size_t space = line.find(' ');
    if (space != std::string::npos)
      t->response->status = std::strtol(line.c_str() + space + 1, nullptr, 10);
  } else {
    size_t colon = line.find(':');
    if (colon != std::string::npos)
      t->response->headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  }
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  long status = t->response->status;  // known: headers come before the body
  try {
    if (t->request->response_sink != nullptr && status >= 200 && status < 300) {
      t->request->response_sink->write(reinterpret_cast<const uint8_t*>(data), n);
    } else if (t->response->body.size() < (size_t{1} << 20)) {  // error bodies are small
      t->response->body.append(data, n);
    }
  } catch (...) {
    t->sink_error = std::current_exception();
    return 0;  // aborts the transfer
  }
  t->response->body_bytes_received += n;
  return n;
}

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const HttpRequest& r = *t->request;
  size_t room = size * count;
  if (r.body_fd >= 0) {
    uint64_t left = r.body_length - t->sent;
    size_t want = static_cast<size_t>(std::min<uint64_t>(left, room));
    if (want == 0) return 0;
    ssize_t got;
    do {
      got = pread(r.body_fd, buffer, want, static_cast<off_t>(r.body_offset + t->sent));
    } while (got < 0 && errno == EINTR);
    if (got <= 0) {  // the file shrank or failed: not a network fault
      t->read_failed = true;
      return CURL_READFUNC_ABORT;
    }
    t->sent += static_cast<uint64_t>(got);
    return static_cast<size_t>(got);
  }
  size_t want = std::min<size_t>(r.body.size() - t->sent, room);
  std::copy_n(r.body.data() + t->sent, want, buffer);
  t->sent += want;
  return want;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (*t->cancel && (*t->cancel)()) {
    t->cancelled = true;
    return 1;
  }
  return 0;
}

}  // namespace

struct HttpClient::Handle {
  std::unique_ptr<CURL, EasyDeleter> curl;
};

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

HttpClient::HttpClient(HttpOptions options) : options_(std::move(options)) {
  global_init_once();
  handle_ = std::make_unique<Handle>();
  handle_->curl.reset(curl_easy_init());
  if (!handle_->curl) throw Error(Errc::kInternal, "curl_easy_init failed");
}

HttpClient::~HttpClient() = default;

std::string HttpClient::form_escape(const std::string& value) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

HttpResponse HttpClient::perform(const HttpRequest& request, const CancelCheck& cancel) {
  CURL* curl = handle_->curl.get();
  curl_easy_reset(curl);
  HttpResponse response;
  Transfer transfer;
  transfer.request = &request;
  transfer.response = &response;
  transfer.cancel = &cancel;

  Slist headers;
  for (const auto& h : request.headers) {
    curl_slist* appended = curl_slist_append(headers.get(), h.c_str());
    if (appended == nullptr) throw Error(Errc::kInternal, "out of memory for HTTP headers");
    (void)headers.release();
    headers.reset(appended);
  }
  // curl adds "Expect: 100-continue" to large uploads; Google does not need the round trip.
  curl_slist* appended = curl_slist_append(headers.get(), "Expect:");
  (void)headers.release();
  headers.reset(appended);

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, options_.connect_timeout_seconds);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, options_.stall_timeout_seconds);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);

  uint64_t body_size = request.body_fd >= 0 ? request.body_length : request.body.size();
  bool has_body = request.method != "GET" && request.method != "DELETE";
  if (has_body) {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(curl, CURLOPT_READDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_size));
  }
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method == "GET") curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);

  CURLcode rc = curl_easy_perform(curl);
  response.body_bytes_sent = transfer.sent;
  if (transfer.sink_error) std::rethrow_exception(transfer.sink_error);
  if (transfer.cancelled) throw Error(Errc::kCancelled, "cancelled");
  if (rc != CURLE_OK) {
    if (transfer.read_failed) throw Error(Errc::kIo, "cannot read the file being uploaded");
    response.status = 0;
    response.transport_error = curl_easy_strerror(rc);
    // A certificate that does not verify is not a flaky network: retrying only delays
    // the message. DNS and connection failures are retried (a network still coming up).
    response.transport_permanent = rc == CURLE_PEER_FAILED_VERIFICATION ||
                                   rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM ||
                                   rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL ||
                                   rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
    if (rc == CURLE_PEER_FAILED_VERIFICATION)
      response.transport_error +=
          " (the server's TLS certificate does not verify against the "
          "trusted CA bundle)";
    return response;
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = status;
  return response;
}

}  // namespace ramsafe
