// The Google Drive store (design §7). Layout: a folder per cluster (found by its
// appProperties, created if missing) inside ramsafe.drive_folder_id (a folder, or a shared
// drive's id; empty = My Drive). A set's files sit in that folder, named
// "<backup-id>/<path>" for people and tagged with appProperties ramsafe_set, ramsafe_path
// and ramsafe_role for ramsafe, which never relies on names. Data files are uploaded
// first and the manifest last, so a set without its manifest is never listed as complete;
// every file counts only once Drive's size and md5Checksum match what was sent.
//
// One folder per cluster, even when Drive holds several: the folder is created under an
// id from files.generateIds (a retry after a lost answer cannot make a second one), but
// two uploaders racing, or an older ramsafe, may have left two tagged for one cluster.
// Readers then read all of them; writers upload into the oldest (createdTime, then id:
// every process agrees) and move the others' files into it, trashing the emptied folders.
// The folders are looked up again at least every minute and by every listing, never kept
// for the life of the process.
//
// Removing a file: in a shared drive it goes to the trash (files.update trashed=true, which
// the Content manager role may do; Drive deletes it after 30 days), in My Drive it is
// deleted for good (the owner may; trashed files would count against the user's quota).
//
// read_file may be called from several threads at once (the parallel restore); every other
// member is for one thread at a time.
//
// A set's signature (manifest.json.sig) goes just before its manifest; WAL files have a third part,
// the signature of their checksum record (core/set/trust.h).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/config/settings.h"
#include "core/drive/drive_api.h"
#include "core/store/local_store.h"
#include "core/store/store.h"
#include "core/wal/wal_archive.h"

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

// A WAL file's copy on Drive: the data file (<name>.zst.age) and its .sha256 sidecar.
struct RemoteWalFile {
  StoredWalFile wal;  // mtime: when the local copy was archived (an app property)
  DriveFile data;
  std::optional<DriveFile> sum;
  std::optional<DriveFile> sig;
};

struct WalUploadResult {
  // The local file's record is not signed by a trusted key: not sent (problem says why).
  bool untrusted = false;
  std::string problem;
  bool already_there = false;  // every part on Drive, same size and MD5
  uint64_t bytes_uploaded = 0;
  UploadStats stats;
};

using UploadProgress =
    std::function<void(const std::string& backup_id, uint64_t done, uint64_t total)>;

// Two or more Drive files for one path of a complete set (a lost answer, two uploaders
// racing, a file restored from the trash by hand), as list_sets() found them.
struct DriveDuplicate {
  std::string backup_id;
  std::string path;
  std::vector<DriveFile> copies;  // oldest first
  std::string chosen_id;          // the copy read_file() reads
};

// What fix_duplicates() did about one DriveDuplicate.
struct DuplicateFix {
  std::string backup_id;
  std::string path;
  int copies = 0;
  std::string kept_id;               // empty when no copy checks out against the manifest
  std::vector<std::string> removed;  // "<id> (<why>)", each moved to the trash or deleted
  std::string problem;               // why nothing was removed, when kept_id is empty
};

class DriveStore : public Store {
 public:
  DriveStore(DriveOptions options, DriveCredentials credentials, std::string parent_folder_id,
             std::string cluster, TrustPolicy trust);

  std::string kind() const override { return "drive"; }
  std::string describe() const override;
  // What describe() says for these settings, without credentials.
  static std::string describe_for(const std::string& parent_folder_id, const std::string& cluster);

  // Sets in every folder tagged for the cluster. Where a set holds more than one copy of
  // a file, readers use one whose size is the manifest's (when those differ in content,
  // the first whose SHA-256 matches the manifest's, downloading to find out).
  std::vector<SetEntry> list_sets() override;
  void read_file(const std::string& set_id, const std::string& path, Sink& out,
                 const CancelCheck& cancel) override;
  void delete_set(const std::string& set_id) override;
  // The unfinished uploads in the listing of the last list_sets() call.
  std::vector<UnfinishedUpload> unfinished_uploads() const;
  // When a set's manifest, uploaded last, reached Drive (its modifiedTime, unix seconds),
  // from the listing of the last list_sets() call; 0 when unknown.
  int64_t manifest_modified_unix(const std::string& set_id) const;
  // The duplicates in the complete sets of the last list_sets() call.
  std::vector<DriveDuplicate> duplicates() const;
  // Keeps one copy of each duplicated file of these sets (all listed ones when empty):
  // the chosen copy if it checks out against the manifest (size and SHA-256 of the stored
  // bytes, downloaded; a manifest: parses, for this set), else the first other copy that
  // does. The other copies are removed. When none checks out, nothing is removed (the set
  // is damaged; verify says so). Call after list_sets().
  std::vector<DuplicateFix> fix_duplicates(const std::set<std::string>& backup_ids,
                                           const CancelCheck& cancel);

  // Copies a complete (trusted) local set to Drive: files already there with the right size and
  // MD5 are kept, a wrong or duplicate copy is replaced, an interrupted upload from an
  // earlier call of this object resumes its session. Throws Error(kCancelled) when
  // cancelled, other Errors on failure; the set counts as remote only when this returns.
  SetUpload upload_set(LocalStore& local, const SetEntry& set, const CancelCheck& cancel,
                       const UploadProgress& progress = nullptr);

  // The WAL archive's copy (docs/wal.md): a subfolder "wal" of the cluster folder holds
  // every WAL file flat, named "wal/<timeline>/<name>.zst.age" and ".sha256" for people,
  // tagged ramsafe_wal=<name>, ramsafe_wal_part=data|sha256 and ramsafe_archived_at (the
  // local file's mtime). The checksum file goes first, so a data file on Drive always has
  // it. Listing: the WAL files whose data file is there, as list_wal_files() orders them.
  std::vector<RemoteWalFile> list_wal();
  static std::vector<StoredWalFile> stored_of(const std::vector<RemoteWalFile>& remote);
  // Copies one archived local WAL file; a copy already there with the same size and MD5
  // counts as done, a different or duplicate one is replaced. remote: list_wal()'s entry
  // for this name, if any. A local file whose record no trusted key signed is not sent
  // (result.untrusted).
  WalUploadResult upload_wal_file(const std::string& store_root, const StoredWalFile& file,
                                  const RemoteWalFile* remote, const CancelCheck& cancel);
  // Fetches a WAL file from Drive into dest_path as fetch_wal_file does from the local
  // store (Error kNotFound when Drive does not hold it, kCorrupt, kCrypto, kUntrusted).
  WalFetchResult fetch_wal_file(const std::vector<age::Identity>& identities,
                                const std::string& name, const std::string& dest_path,
                                bool allow_unsigned, const CancelCheck& cancel);
  // Removes both files of a listed WAL file (the data file first).
  void delete_wal_file(const RemoteWalFile& file, const CancelCheck& cancel);

  // The cancel check list_sets/delete_set use (they have no parameter for one).
  void set_cancel(CancelCheck cancel) { cancel_ = std::move(cancel); }
  // Where notes go that are worth a log line (a second cluster folder folded into the
  // first); by default nowhere.
  void set_log(std::function<void(const std::string&)> log) { log_ = std::move(log); }
  DriveApi& api() { return api_; }

 private:
  // The cluster's folders on Drive, as last looked up.
  struct Layout {
    bool valid = false;
    std::chrono::steady_clock::time_point at;
    std::string drive_id;              // the shared drive of ramsafe.drive_folder_id, or ""
    std::vector<std::string> cluster;  // folders tagged for the cluster, the canonical first
    bool wal_valid = false;
    std::vector<std::string> wal;  // their "wal" folders, the canonical first
  };
  // Looks the folders up again when fresh, when older than a minute, or when create and
  // there is none; with create, makes the missing folder and folds the others into the
  // canonical one.
  const Layout& layout(bool create, bool fresh, const CancelCheck& cancel);
  const Layout& wal_layout(bool create, bool fresh, const CancelCheck& cancel);
  std::vector<DriveFile> tagged_folders(const std::vector<std::string>& parents, const char* key,
                                        const CancelCheck& cancel);
  // Moves the other folders' files into the first and trashes the emptied ones; returns
  // the folders still holding files (the first, and any that got a file meanwhile).
  std::vector<std::string> fold_folders(const std::vector<std::string>& folders,
                                        const CancelCheck& cancel);
  std::vector<DriveFile> files_of_cluster(bool fresh, const CancelCheck& cancel);
  std::vector<DriveFile> files_in(const std::vector<std::string>& folders, const std::string& extra,
                                  const CancelCheck& cancel);
  std::string file_id(const std::string& set_id, const std::string& path,
                      const CancelCheck& cancel);
  // A copy checks out against its manifest entry (cached by file id: Drive files never
  // change). Downloads it unless known.
  bool copy_checks_out(const DriveFile& copy, const ManifestFile& expected,
                       const CancelCheck& cancel);
  void remove_file(const std::string& file_id, const CancelCheck& cancel);
  void note(const std::string& text) const;
  const std::string& download_cached(const DriveFile& file, uint64_t limit,
                                     const CancelCheck& cancel);

  DriveApi api_;
  std::string parent_;
  std::string cluster_;
  Layout layout_;
  std::map<std::string, bool> verdicts_;  // file id -> checks out
  // Small files' contents (manifests, signatures) by file id: Drive files never change.
  std::map<std::string, std::string> small_files_;
  std::map<std::string, std::string> sessions_;  // "<set>/<path>" or "wal/..." -> session URI
  std::vector<DriveFile> last_listing_;          // oldest first
  std::vector<DriveDuplicate> duplicates_;
  std::map<std::string, std::string> chosen_;         // "<set>/<path>" -> the copy to read
  std::map<std::string, Manifest> listed_manifests_;  // set id -> its manifest, last listing
  std::mutex read_mutex_;  // read_file's lookups (listing state) from parallel threads
  CancelCheck cancel_;
  std::function<void(const std::string&)> log_;
};

// Whether the settings turn the Drive store on (a credentials or token file is set).
bool drive_configured(const Settings& settings);
// The Drive store the settings describe, or nullptr when Drive is not configured.
// Throws Error(kConfig) naming the setting for a credentials file it cannot use.
std::unique_ptr<DriveStore> make_drive_store(const Settings& settings);

}  // namespace ramsafe
