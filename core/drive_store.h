// The Google Drive store (design §7). Layout: a folder per cluster (found by its
// appProperties, created if missing) inside ramsafe.drive_folder_id (a folder, or a shared
// drive's id; empty = My Drive). A set's files sit in that folder, named
// "<backup-id>/<path>" for people and tagged with appProperties ramsafe_set, ramsafe_path
// and ramsafe_role for ramsafe, which never relies on names. Data files are uploaded
// first and the manifest last, so a set without its manifest is never listed as complete;
// every file counts only once Drive's size and md5Checksum match what was sent.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/drive_api.h"
#include "core/local_store.h"
#include "core/settings.h"
#include "core/store.h"

namespace ramsafe {

struct SetUpload {
  std::string backup_id;
  uint64_t bytes_total = 0;     // stored bytes of the set
  uint64_t bytes_uploaded = 0;  // of those, sent in this call (files already there skipped)
  UploadStats stats;
  int files_uploaded = 0;
  int files_already_there = 0;
};

// A set with files on Drive but no manifest: an upload in progress, or one interrupted
// and never finished (its local set may since have been pruned).
struct UnfinishedUpload {
  std::string backup_id;
  int files = 0;
  uint64_t bytes = 0;
  int64_t last_modified_unix = 0;  // the newest file's modifiedTime; 0 when unknown
};

using UploadProgress =
    std::function<void(const std::string& backup_id, uint64_t done, uint64_t total)>;

class DriveStore : public Store {
 public:
  DriveStore(DriveOptions options, DriveCredentials credentials, std::string parent_folder_id,
             std::string cluster);

  std::string kind() const override { return "drive"; }
  std::string describe() const override;
  // What describe() says for these settings, without credentials.
  static std::string describe_for(const std::string& parent_folder_id, const std::string& cluster);

  std::vector<SetEntry> list_sets() override;
  void read_file(const std::string& set_id, const std::string& path, Sink& out,
                 const CancelCheck& cancel) override;
  void delete_set(const std::string& set_id) override;
  // The unfinished uploads in the listing of the last list_sets() call.
  std::vector<UnfinishedUpload> unfinished_uploads() const;

  // Copies a complete local set to Drive: files already there with the right size and
  // MD5 are kept, a wrong or duplicate copy is replaced, an interrupted upload from an
  // earlier call of this object resumes its session. Throws Error(kCancelled) when
  // cancelled, other Errors on failure; the set counts as remote only when this returns.
  SetUpload upload_set(LocalStore& local, const SetEntry& set, const CancelCheck& cancel,
                       const UploadProgress& progress = nullptr);

  // The cancel check list_sets/delete_set use (they have no parameter for one).
  void set_cancel(CancelCheck cancel) { cancel_ = std::move(cancel); }
  DriveApi& api() { return api_; }

 private:
  std::string cluster_folder(bool create, const CancelCheck& cancel);
  std::vector<DriveFile> files_of_cluster(const CancelCheck& cancel);
  std::string file_id(const std::string& set_id, const std::string& path,
                      const CancelCheck& cancel);

  DriveApi api_;
  std::string parent_;
  std::string cluster_;
  std::string folder_id_;                                 // found or created once
  std::map<std::string, Manifest> manifests_by_file_id_;  // Drive files never change
  std::map<std::string, std::string> sessions_;           // "<set>/<path>" -> session URI
  std::vector<DriveFile> last_listing_;
  CancelCheck cancel_;
};

// Whether the settings turn the Drive store on (a credentials or token file is set).
bool drive_configured(const Settings& settings);
// The Drive store the settings describe, or nullptr when Drive is not configured.
// Throws Error(kConfig) naming the setting for a credentials file it cannot use.
std::unique_ptr<DriveStore> make_drive_store(const Settings& settings);

}  // namespace ramsafe
