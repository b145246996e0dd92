#include "core/drive/drive_api.h"

#include <cstdlib>
#include <tuple>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/bounded_json.h"

namespace ramsafe {
namespace {

constexpr const char* kFileFields =
    "id,name,mimeType,size,md5Checksum,createdTime,modifiedTime,driveId,parents,appProperties";

std::string esc(const std::string& value) {
  return HttpClient::form_escape(value);
}

DriveFile file_from_json(const nlohmann::json& j) {
  DriveFile f;
  f.id = j.value("id", "");
  f.name = j.value("name", "");
  f.mime_type = j.value("mimeType", "");
  if (j.contains("size") && j["size"].is_string())
    f.size = std::strtoull(j["size"].get<std::string>().c_str(), nullptr, 10);
  f.md5 = j.value("md5Checksum", "");
  f.created_time = j.value("createdTime", "");
  f.modified_time = j.value("modifiedTime", "");
  f.drive_id = j.value("driveId", "");
  if (j.contains("parents") && j["parents"].is_array())
    for (const auto& p : j["parents"])
      if (p.is_string()) f.parents.push_back(p.get<std::string>());
  if (j.contains("appProperties") && j["appProperties"].is_object())
    for (const auto& [key, value] : j["appProperties"].items())
      if (value.is_string()) f.app_properties[key] = value.get<std::string>();
  return f;
}

nlohmann::json parse_json(const HttpResponse& response, const std::string& what) {
  auto json = try_parse_bounded_json(response.body, {kDriveJsonMaxBytes});
  if (!json || !json->is_object())
    throw Error(Errc::kRemote,
                "Drive sent a response that is not JSON (or too large or deeply "
                "nested) to " +
                    what);
  return std::move(*json);
}

bool is_reason(const HttpResponse& response, const char* reason) {
  return google_error(response.body).reason == reason;
}

nlohmann::json metadata_json(const std::string& name, const std::string& parent,
                             const std::map<std::string, std::string>& app_properties,
                             const std::string& mime_type) {
  nlohmann::json meta = {{"name", name}, {"parents", {parent}}, {"mimeType", mime_type}};
  if (!app_properties.empty()) meta["appProperties"] = app_properties;
  return meta;
}

// "bytes=0-524287" -> 524288; absent -> 0.
uint64_t committed_from_range(const std::string& range) {
  size_t dash = range.find('-');
  if (range.rfind("bytes=", 0) != 0 || dash == std::string::npos) return 0;
  return std::strtoull(range.c_str() + dash + 1, nullptr, 10) + 1;
}

// Passes bytes on while counting them, so a broken download resumes at the right offset.
class OffsetSink : public Sink {
 public:
  explicit OffsetSink(Sink& next) : next_(next) {}
  void write(const uint8_t* data, size_t size) override {
    next_.write(data, size);
    offset_ += size;
  }
  void finish() override {}
  uint64_t offset() const { return offset_; }

 private:
  Sink& next_;
  uint64_t offset_ = 0;
};

class StringCollector : public Sink {
 public:
  explicit StringCollector(uint64_t limit) : limit_(limit) {}
  void write(const uint8_t* data, size_t size) override {
    if (text.size() + size > limit_)
      throw Error(Errc::kCorrupt, "a Drive file is larger than " + std::to_string(limit_) +
                                      " bytes where a small file was expected");
    text.append(reinterpret_cast<const char*>(data), size);
  }
  void finish() override {}
  std::string text;

 private:
  uint64_t limit_;
};

}  // namespace

bool created_before(const DriveFile& a, const DriveFile& b) {
  // RFC 3339 times as Drive writes them (UTC, fixed width) sort as text.
  return std::tie(a.created_time, a.id) < std::tie(b.created_time, b.id);
}

DriveApi::DriveApi(DriveOptions options, DriveCredentials credentials)
    : options_(std::move(options)),
      credentials_(std::move(credentials)),
      backoff_(options_.backoff) {
  if (options_.chunk_size == 0 || options_.chunk_size % kDriveChunkUnit != 0)
    throw Error(Errc::kConfig, "the Drive upload chunk size must be a multiple of 256 KiB");
  idle_clients_.push_back(std::make_unique<HttpClient>(options_.http));  // fail early
}

DriveApi::ClientLease::ClientLease(DriveApi& api) : api_(api) {
  {
    std::lock_guard<std::mutex> lock(api_.clients_mutex_);
    if (!api_.idle_clients_.empty()) {
      client_ = std::move(api_.idle_clients_.back());
      api_.idle_clients_.pop_back();
    }
  }
  if (!client_) client_ = std::make_unique<HttpClient>(api_.options_.http);
}

DriveApi::ClientLease::~ClientLease() {
  std::lock_guard<std::mutex> lock(api_.clients_mutex_);
  api_.idle_clients_.push_back(std::move(client_));
}

std::string DriveApi::quote(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

HttpResponse DriveApi::send_authorized(HttpRequest request, const CancelCheck& cancel) {
  request.headers.push_back("");
  ClientLease http(*this);
  for (int round = 0;; ++round) {
    SecureString token;
    {
      std::lock_guard<std::mutex> lock(credentials_mutex_);
      token = credentials_.access_token(*http, backoff_, cancel, round > 0);
    }
    std::string header = "Authorization: Bearer ";
    header.append(token.begin(), token.end());
    request.headers.back() = std::move(header);
    HttpResponse response = (*http).perform(request, cancel);
    OPENSSL_cleanse(request.headers.back().data(), request.headers.back().size());
    // A 401 means the token was revoked or expired early: one retry with a new one.
    if (response.status != 401 || round > 0) return response;
  }
}

HttpResponse DriveApi::call(const HttpRequest& request, const CancelCheck& cancel) {
  for (int attempt = 1;; ++attempt) {
    HttpResponse response = send_authorized(request, cancel);
    if (!is_retryable(response) || attempt >= backoff_.policy().max_attempts) return response;
    sleep_cancellable(backoff_.delay_ms(attempt), cancel);
  }
}

void DriveApi::fail(const std::string& what, const HttpResponse& response) const {
  GoogleError e = google_error(response.body);
  std::string detail = describe_response(response);
  if (response.status == 401)
    throw Error(Errc::kPermission, "Drive refused the access token of " + credentials_.principal() +
                                       " to " + what + ": " + detail);
  if (response.status == 403 && e.reason == "storageQuotaExceeded") {
    std::string hint =
        credentials_.is_service_account()
            ? "service accounts have no Drive storage of their own: set ramsafe.drive_folder_id "
              "to a folder in a shared drive that " +
                  credentials_.principal() +
                  " is a member of, or use a user token (ramsafe drive-login)"
            : "free space in that Google account, or keep fewer backups on Drive";
    throw Error(Errc::kNoSpace, "Drive has no space to " + what + " (" + detail + "); " + hint);
  }
  if (response.status == 403 && e.reason == "insufficientFilePermissions")
    throw Error(Errc::kPermission, "Drive refused to " + what + " for " + credentials_.principal() +
                                       ": " + detail + "; in a shared drive, give " +
                                       credentials_.principal() +
                                       " the Content manager role (docs/drive.md)");
  if (response.status == 403)
    throw Error(Errc::kPermission,
                "Drive refused to " + what + " for " + credentials_.principal() + ": " + detail);
  if (response.status == 404)
    throw Error(Errc::kNotFound, "Drive cannot find what is needed to " + what + " (" + detail +
                                     "); check ramsafe.drive_folder_id and that " +
                                     credentials_.principal() + " can see it");
  throw Error(Errc::kRemote, "cannot " + what + " on Drive: " + detail);
}

std::vector<DriveFile> DriveApi::list(const std::string& q, const std::string& drive_id,
                                      const CancelCheck& cancel) {
  std::vector<DriveFile> files;
  std::string page_token;
  std::string corpus =
      drive_id.empty() ? "&corpora=user" : "&corpora=drive&driveId=" + esc(drive_id);
  do {
    HttpRequest request;
    request.url = options_.api_url + "/drive/v3/files?q=" + esc(q) + "&fields=" +
                  esc(std::string("nextPageToken,incompleteSearch,files(") + kFileFields + ")") +
                  "&pageSize=1000&supportsAllDrives=true&includeItemsFromAllDrives=true" + corpus;
    if (!page_token.empty()) request.url += "&pageToken=" + esc(page_token);
    HttpResponse response = call(request, cancel);
    if (!response.ok()) fail("list files", response);
    nlohmann::json json = parse_json(response, "a file listing");
    if (json.contains("incompleteSearch") && json["incompleteSearch"].is_boolean() &&
        json["incompleteSearch"].get<bool>())
      throw Error(Errc::kRemote,
                  "Drive says its listing of " +
                      (drive_id.empty() ? std::string("My Drive") : "shared drive " + drive_id) +
                      " may be incomplete (incompleteSearch); a partial listing is not used");
    if (json.contains("files") && json["files"].is_array())
      for (const auto& f : json["files"]) files.push_back(file_from_json(f));
    page_token = json.value("nextPageToken", "");
  } while (!page_token.empty());
  return files;
}

DriveFile DriveApi::get(const std::string& file_id, const CancelCheck& cancel) {
  HttpRequest request;
  request.url = options_.api_url + "/drive/v3/files/" + esc(file_id) +
                "?supportsAllDrives=true&fields=" + esc(kFileFields);
  HttpResponse response = call(request, cancel);
  if (!response.ok()) fail("read the metadata of " + file_id, response);
  return file_from_json(parse_json(response, "a file's metadata"));
}

std::string DriveApi::generate_id(const CancelCheck& cancel) {
  HttpRequest request;
  request.url = options_.api_url + "/drive/v3/files/generateIds?count=1&space=drive&type=files";
  HttpResponse response = call(request, cancel);
  if (!response.ok()) fail("reserve a file id", response);
  nlohmann::json json = parse_json(response, "files.generateIds");
  if (!json.contains("ids") || !json["ids"].is_array() || json["ids"].empty() ||
      !json["ids"][0].is_string() || json["ids"][0].get<std::string>().empty())
    throw Error(Errc::kRemote, "Drive sent no id to files.generateIds");
  return json["ids"][0].get<std::string>();
}

DriveFile DriveApi::create_folder(const std::string& name, const std::string& parent,
                                  const std::map<std::string, std::string>& app_properties,
                                  const CancelCheck& cancel) {
  std::string id = generate_id(cancel);
  HttpRequest request;
  request.method = "POST";
  request.url =
      options_.api_url + "/drive/v3/files?supportsAllDrives=true&fields=" + esc(kFileFields);
  request.headers = {"Content-Type: application/json; charset=UTF-8"};
  nlohmann::json meta = metadata_json(name, parent, app_properties, kDriveFolderMime);
  meta["id"] = id;
  request.body = meta.dump();
  HttpResponse response = call(request, cancel);
  if (response.ok()) return file_from_json(parse_json(response, "a folder creation"));
  if (response.status != 409 || !is_reason(response, "fileIdInUse"))
    fail("create folder \"" + name + "\"", response);
  // An earlier try of this very request made it and its answer was lost: that folder
  // is ours, if it is what was asked for.
  DriveFile made = get(id, cancel);
  // ("root" is an alias: Drive answers with the root's real id.)
  bool same = made.mime_type == kDriveFolderMime && made.name == name && made.parents.size() == 1 &&
              (parent == "root" || made.parents[0] == parent);
  for (const auto& [key, value] : app_properties) {
    auto it = made.app_properties.find(key);
    same = same && it != made.app_properties.end() && it->second == value;
  }
  if (!same)
    throw Error(Errc::kRemote, "Drive says the id it reserved for folder \"" + name +
                                   "\" is in use by another file (" + id + ")");
  return made;
}

void DriveApi::move(const std::string& file_id, const std::string& from, const std::string& to,
                    const CancelCheck& cancel) {
  HttpRequest request;
  request.method = "PATCH";
  request.url = options_.api_url + "/drive/v3/files/" + esc(file_id) +
                "?supportsAllDrives=true&addParents=" + esc(to) + "&removeParents=" + esc(from) +
                "&fields=id";
  request.headers = {"Content-Type: application/json; charset=UTF-8"};
  request.body = "{}";
  HttpResponse response = call(request, cancel);
  if (!response.ok()) fail("move file " + file_id + " into folder " + to, response);
}

void DriveApi::trash(const std::string& file_id, const CancelCheck& cancel) {
  HttpRequest request;
  request.method = "PATCH";
  request.url =
      options_.api_url + "/drive/v3/files/" + esc(file_id) + "?supportsAllDrives=true&fields=id";
  request.headers = {"Content-Type: application/json; charset=UTF-8"};
  request.body = R"({"trashed":true})";
  HttpResponse response = call(request, cancel);
  if (response.ok() || response.status == 404) return;  // already gone is fine
  fail("move file " + file_id + " to the trash", response);
}

std::string DriveApi::start_session(uint64_t size, const std::string& name,
                                    const std::string& parent,
                                    const std::map<std::string, std::string>& app_properties,
                                    const CancelCheck& cancel) {
  HttpRequest request;
  request.method = "POST";
  request.url = options_.api_url +
                "/upload/drive/v3/files?uploadType=resumable&supportsAllDrives=true&fields=" +
                esc(kFileFields);
  request.headers = {"Content-Type: application/json; charset=UTF-8",
                     "X-Upload-Content-Type: application/octet-stream",
                     "X-Upload-Content-Length: " + std::to_string(size)};
  request.body = metadata_json(name, parent, app_properties, "application/octet-stream").dump();
  HttpResponse response = call(request, cancel);
  if (!response.ok()) fail("start uploading " + name, response);
  std::string location = response.header("location");
  if (location.empty()) throw Error(Errc::kRemote, "Drive sent no upload session for " + name);
  return location;
}

std::optional<DriveFile> DriveApi::query_session(const std::string& session_uri, uint64_t size,
                                                 uint64_t& committed, const CancelCheck& cancel) {
  HttpRequest request;
  request.method = "PUT";
  request.url = session_uri;
  request.headers = {"Content-Range: bytes */" + std::to_string(size)};
  HttpResponse response = call(request, cancel);
  if (response.ok()) return file_from_json(parse_json(response, "an upload"));
  if (response.status == 308) {
    committed = committed_from_range(response.header("range"));
    return std::nullopt;
  }
  if (response.status == 404 || response.status == 410)
    throw Error(Errc::kNotFound, "upload session gone");
  fail("query an upload session", response);
}

DriveFile DriveApi::upload(int fd, uint64_t size, const std::string& name,
                           const std::string& parent,
                           const std::map<std::string, std::string>& app_properties,
                           std::string& session_uri, UploadStats& stats, const CancelCheck& cancel,
                           const std::function<void(uint64_t)>& progress) {
  uint64_t committed = 0;
  int failures = 0;  // consecutive, without progress
  bool need_query = !session_uri.empty();
  for (;;) {
    if (session_uri.empty()) {
      session_uri = start_session(size, name, parent, app_properties, cancel);
      committed = 0;
      need_query = false;
    }
    if (need_query) {
      try {
        std::optional<DriveFile> done = query_session(session_uri, size, committed, cancel);
        if (done) {
          session_uri.clear();
          return *done;
        }
      } catch (const Error& e) {
        if (e.code() != Errc::kNotFound) throw;
        // The session expired (a week) or was lost: start again from byte 0.
        ++stats.session_restarts;
        if (stats.session_restarts > 3)
          throw Error(Errc::kRemote, "upload sessions for " + name + " keep disappearing");
        session_uri.clear();
        continue;
      }
      need_query = false;
    }
    if (progress) progress(committed);

    uint64_t length = std::min(options_.chunk_size, size - committed);
    HttpRequest request;
    request.method = "PUT";
    request.url = session_uri;
    request.body_fd = fd;
    request.body_offset = committed;
    request.body_length = length;
    request.headers = {"Content-Type: application/octet-stream",
                       length == 0 ? "Content-Range: bytes */" + std::to_string(size)
                                   : "Content-Range: bytes " + std::to_string(committed) + "-" +
                                         std::to_string(committed + length - 1) + "/" +
                                         std::to_string(size)};
    HttpResponse response = send_authorized(request, cancel);
    stats.bytes_sent += response.body_bytes_sent;
    if (response.ok()) {
      session_uri.clear();
      return file_from_json(parse_json(response, "an upload"));
    }
    if (response.status == 308) {
      uint64_t before = committed;
      committed = committed_from_range(response.header("range"));
      if (committed > before) failures = 0;
      // Fewer bytes kept than sent (a chunk only partly received): send the rest again.
      if (committed < before + length) ++stats.interruptions;
      if (committed <= before && ++failures >= backoff_.policy().max_attempts)
        throw Error(Errc::kRemote, "Drive keeps refusing the upload of " + name + " at byte " +
                                       std::to_string(committed));
      continue;
    }
    if (response.status == 404 || response.status == 410) {
      need_query = true;  // query_session turns this into a restart
      continue;
    }
    if (!is_retryable(response)) fail("upload " + name, response);
    ++stats.interruptions;
    if (++failures >= backoff_.policy().max_attempts)
      throw Error(Errc::kRemote, "cannot upload " + name + " to Drive after " +
                                     std::to_string(failures) +
                                     " tries: " + describe_response(response));
    sleep_cancellable(backoff_.delay_ms(failures), cancel);
    need_query = true;  // how much did the server keep?
  }
}

uint64_t DriveApi::download(const std::string& file_id, Sink& out, const CancelCheck& cancel) {
  OffsetSink counted(out);
  int failures = 0;
  for (;;) {
    HttpRequest request;
    request.url =
        options_.api_url + "/drive/v3/files/" + esc(file_id) + "?alt=media&supportsAllDrives=true";
    uint64_t start = counted.offset();
    if (start > 0) request.headers.push_back("Range: bytes=" + std::to_string(start) + "-");
    request.response_sink = &counted;
    HttpResponse response = send_authorized(request, cancel);
    if (response.status == 416 && start > 0) return start;  // nothing more after a break
    if (response.ok() && response.status != 200 && response.status != 206)
      throw Error(Errc::kRemote,
                  "Drive answered a download with HTTP " + std::to_string(response.status));
    if (response.status == 200 && start > 0)
      throw Error(Errc::kRemote, "Drive ignored the Range of a resumed download");
    if (response.ok()) return counted.offset();
    bool progressed = counted.offset() > start;
    if (progressed) failures = 0;
    // A 2xx cut short arrives as status 0 with some bytes delivered: resume from there.
    if (!is_retryable(response)) fail("download file " + file_id, response);
    if (++failures >= backoff_.policy().max_attempts)
      throw Error(Errc::kRemote, "cannot download file " + file_id + " from Drive after " +
                                     std::to_string(failures) +
                                     " tries: " + describe_response(response));
    sleep_cancellable(backoff_.delay_ms(failures), cancel);
  }
}

std::string DriveApi::download_small(const std::string& file_id, uint64_t limit,
                                     const CancelCheck& cancel) {
  StringCollector collector(limit);
  download(file_id, collector, cancel);
  return std::move(collector.text);
}

void DriveApi::remove(const std::string& file_id, const CancelCheck& cancel) {
  HttpRequest request;
  request.method = "DELETE";
  request.url = options_.api_url + "/drive/v3/files/" + esc(file_id) + "?supportsAllDrives=true";
  HttpResponse response = call(request, cancel);
  if (response.ok() || response.status == 404) return;  // already gone is fine
  fail("delete file " + file_id, response);
}

}  // namespace ramsafe
