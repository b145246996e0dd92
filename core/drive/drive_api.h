// The Google Drive v3 REST calls the Drive store needs, with authentication (a fresh
// token and one retry after a 401), truncated exponential backoff for transient
// failures, resumable uploads that resume from the server's Range, and ranged downloads
// that resume where a broken connection left off. Every call may run on several threads
// at once (the parallel restore): each call borrows a curl handle of its own from a pool.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/drive/backoff.h"
#include "core/drive/drive_auth.h"
#include "core/drive/http_client.h"

namespace ramsafe {

inline constexpr const char* kDriveFolderMime = "application/vnd.google-apps.folder";
inline constexpr uint64_t kDriveChunkUnit = uint64_t{256} << 10;  // Google's resumable chunk unit

struct DriveOptions {
  std::string api_url = "https://www.googleapis.com";
  HttpOptions http;
  BackoffPolicy backoff;
  uint64_t chunk_size = uint64_t{8} << 20;  // a multiple of kDriveChunkUnit
};

struct DriveFile {
  std::string id;
  std::string name;
  std::string mime_type;
  uint64_t size = 0;
  std::string md5;
  std::string created_time;   // RFC 3339, as Drive reports it
  std::string modified_time;  // likewise
  std::string drive_id;       // the shared drive holding it; empty in My Drive
  std::vector<std::string> parents;
  std::map<std::string, std::string> app_properties;
};

// Oldest first by createdTime, then by id: an order every reader agrees on.
bool created_before(const DriveFile& a, const DriveFile& b);

// Upload accounting, for progress and for the tests' "re-sent bytes" figures.
struct UploadStats {
  uint64_t bytes_sent = 0;   // request body bytes handed to the network
  int interruptions = 0;     // chunks that did not get a clean answer
  int session_restarts = 0;  // sessions that were gone (404) and started again
};

class DriveApi {
 public:
  DriveApi(DriveOptions options, DriveCredentials credentials);

  const DriveOptions& options() const { return options_; }
  const DriveCredentials& credentials() const { return credentials_; }

  // files.list with q, every page; only the fields DriveFile holds. drive_id: the shared
  // drive to search (corpora=drive), or empty for the caller's own files
  // (corpora=user); never every drive at once, which Drive may answer only in part.
  // A page that says incompleteSearch throws Error(kRemote): a partial listing is
  // never taken for the whole (a set missing from it would look lost).
  std::vector<DriveFile> list(const std::string& q, const std::string& drive_id,
                              const CancelCheck& cancel);
  // files.get of one file's metadata (kNotFound when Drive does not know it).
  DriveFile get(const std::string& file_id, const CancelCheck& cancel);
  // Creates a folder under an id from files.generateIds, so that a retry after a lost
  // answer finds the folder made (409 fileIdInUse) instead of making a second one.
  DriveFile create_folder(const std::string& name, const std::string& parent,
                          const std::map<std::string, std::string>& app_properties,
                          const CancelCheck& cancel);
  // Moves a file from one folder to another (files.update addParents/removeParents).
  void move(const std::string& file_id, const std::string& from, const std::string& to,
            const CancelCheck& cancel);
  // Moves a file to the trash (files.update trashed=true; a Content manager may, in a
  // shared drive), where Drive keeps it 30 days. Already gone is fine.
  void trash(const std::string& file_id, const CancelCheck& cancel);
  // Uploads [0, size) of fd as a new file through a resumable session. session_uri is
  // in/out: a session from an earlier, interrupted call is resumed; it is cleared once
  // the file exists. The returned file's size and md5Checksum are Drive's own.
  DriveFile upload(int fd, uint64_t size, const std::string& name, const std::string& parent,
                   const std::map<std::string, std::string>& app_properties,
                   std::string& session_uri, UploadStats& stats, const CancelCheck& cancel,
                   const std::function<void(uint64_t committed)>& progress = nullptr);
  // Streams a file's content into out, from offset 0 to its end, resuming with Range
  // after a broken connection. Returns the bytes written.
  uint64_t download(const std::string& file_id, Sink& out, const CancelCheck& cancel);
  std::string download_small(const std::string& file_id, uint64_t limit, const CancelCheck& cancel);
  // Deletes a file for good (files.delete; in a shared drive only a Manager may). Already
  // gone is fine.
  void remove(const std::string& file_id, const CancelCheck& cancel);

  // "'a\'b'": a string literal of Drive's query language.
  static std::string quote(const std::string& value);

 private:
  // Sends with a bearer token; retries transient failures with backoff and a 401 once
  // with a fresh token. Returns the last response (the caller judges it).
  HttpResponse call(const HttpRequest& request, const CancelCheck& cancel);
  HttpResponse send_authorized(HttpRequest request, const CancelCheck& cancel);
  [[noreturn]] void fail(const std::string& what, const HttpResponse& response) const;
  std::optional<DriveFile> query_session(const std::string& session_uri, uint64_t size,
                                         uint64_t& committed, const CancelCheck& cancel);
  std::string start_session(uint64_t size, const std::string& name, const std::string& parent,
                            const std::map<std::string, std::string>& app_properties,
                            const CancelCheck& cancel);
  std::string generate_id(const CancelCheck& cancel);

  // A curl handle for one request, back to the pool when done: a handle is never used
  // by two threads at once (libcurl's rule), and a connection is reused.
  class ClientLease {
   public:
    explicit ClientLease(DriveApi& api);
    ~ClientLease();
    ClientLease(const ClientLease&) = delete;
    ClientLease& operator=(const ClientLease&) = delete;
    HttpClient& operator*() { return *client_; }

   private:
    DriveApi& api_;
    std::unique_ptr<HttpClient> client_;
  };

  DriveOptions options_;
  DriveCredentials credentials_;
  std::mutex credentials_mutex_;  // the token refresh
  Backoff backoff_;
  std::mutex clients_mutex_;
  std::vector<std::unique_ptr<HttpClient>> idle_clients_;
};

}  // namespace ramsafe
