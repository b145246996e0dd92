#include "core/drive/drive_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <algorithm>
#include <set>
#include <tuple>

#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/stages.h"
#include "core/io/unique_fd.h"

namespace ramsafe {
namespace {

constexpr const char* kClusterKey = "ramsafe_cluster";
constexpr const char* kSetKey = "ramsafe_set";
constexpr const char* kPathKey = "ramsafe_path";
constexpr const char* kRoleKey = "ramsafe_role";
constexpr const char* kWalFolderKey = "ramsafe_wal_folder";
constexpr const char* kWalKey = "ramsafe_wal";
constexpr const char* kWalPartKey = "ramsafe_wal_part";
constexpr const char* kWalArchivedKey = "ramsafe_archived_at";
constexpr const char* kWalDataSuffix = ".zst.age";
constexpr const char* kWalSumSuffix = ".sha256";

std::string property(const DriveFile& f, const char* key) {
  auto it = f.app_properties.find(key);
  return it == f.app_properties.end() ? "" : it->second;
}

struct FileHashes {
  std::string md5;
  std::string sha256;
};

// MD5 (what Drive reports) and SHA-256 (what the manifest records) of a file's first size
// bytes, in one pass.
FileHashes hashes_of_file(int fd, uint64_t size, const std::string& path,
                          const CancelCheck& cancel) {
  Digest md5("MD5");
  Digest sha256("SHA256");
  std::vector<uint8_t> buf(1 << 20);
  uint64_t done = 0;
  while (done < size) {
    if (cancel && cancel()) throw Error(Errc::kCancelled, "cancelled");
    ssize_t n = ::pread(fd, buf.data(), std::min<uint64_t>(buf.size(), size - done),
                        static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("cannot read " + path);
    if (n == 0) throw Error(Errc::kIo, path + " is shorter than its manifest says");
    md5.update(buf.data(), static_cast<size_t>(n));
    sha256.update(buf.data(), static_cast<size_t>(n));
    done += static_cast<uint64_t>(n);
  }
  return {md5.hex(), sha256.hex()};
}

struct LocalFileFacts {
  UniqueFd fd;
  uint64_t size = 0;
  std::string md5;
};

LocalFileFacts local_facts(UniqueFd fd, const std::string& path, const CancelCheck& cancel) {
  LocalFileFacts f;
  f.fd = std::move(fd);
  struct stat st {};
  if (::fstat(f.fd.get(), &st) != 0) throw_errno("cannot stat " + path);
  f.size = static_cast<uint64_t>(st.st_size);
  f.md5 = hashes_of_file(f.fd.get(), f.size, path, cancel).md5;
  return f;
}

// The manifest file about to be sent parses to the manifest the set was listed with.
void check_listed_manifest(int fd, uint64_t size, const std::string& path, const Manifest& listed) {
  if (size > kManifestMaxBytes)
    throw Error(Errc::kCorrupt, path + " is larger than " + std::to_string(kManifestMaxBytes) +
                                    " bytes; not uploading it");
  std::string text(static_cast<size_t>(size), '\0');
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::pread(fd, text.data() + done, text.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("cannot read " + path);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  text.resize(done);
  if (Manifest::parse(text, path).to_json() != listed.to_json())
    throw Error(Errc::kCorrupt, path + " changed since the set was listed; not uploading it");
}

bool same_file(const DriveFile& remote, const LocalFileFacts& local) {
  return remote.size == local.size && remote.md5 == local.md5;
}

}  // namespace

DriveStore::DriveStore(DriveOptions options, DriveCredentials credentials,
                       std::string parent_folder_id, std::string cluster)
    : api_(std::move(options), std::move(credentials)),
      parent_(parent_folder_id.empty() ? "root" : std::move(parent_folder_id)),
      cluster_(std::move(cluster)) {}

std::string DriveStore::describe_for(const std::string& parent_folder_id,
                                     const std::string& cluster) {
  bool my_drive = parent_folder_id.empty() || parent_folder_id == "root";
  return "drive " + (my_drive ? std::string("My Drive") : "folder " + parent_folder_id) + "/" +
         cluster;
}

std::string DriveStore::describe() const {
  return describe_for(parent_, cluster_);
}

std::string DriveStore::cluster_folder(bool create, const CancelCheck& cancel) {
  if (!folder_id_.empty()) return folder_id_;
  std::string q =
      DriveApi::quote(parent_) + " in parents and mimeType = " + DriveApi::quote(kDriveFolderMime) +
      " and trashed = false and appProperties has { key=" + DriveApi::quote(kClusterKey) +
      " and value=" + DriveApi::quote(cluster_) + " }";
  std::vector<DriveFile> found = api_.list(q, cancel);
  if (!found.empty()) {
    // Two folders could exist after a race between two first uploads; the oldest id
    // order is arbitrary but stable, so every reader agrees on one.
    std::sort(found.begin(), found.end(),
              [](const DriveFile& a, const DriveFile& b) { return a.id < b.id; });
    folder_id_ = found.front().id;
  } else if (create) {
    folder_id_ = api_.create_folder(cluster_, parent_, {{kClusterKey, cluster_}}, cancel).id;
  }
  return folder_id_;
}

std::vector<DriveFile> DriveStore::files_of_cluster(const CancelCheck& cancel) {
  std::string folder = cluster_folder(false, cancel);
  last_listing_.clear();
  if (folder.empty()) return last_listing_;
  last_listing_ = api_.list(DriveApi::quote(folder) + " in parents and trashed = false", cancel);
  return last_listing_;
}

std::vector<SetEntry> DriveStore::list_sets() {
  std::vector<DriveFile> files = files_of_cluster(cancel_);
  // Per set: its files by path (the first copy of a path wins; duplicates are reported).
  std::map<std::string, std::map<std::string, const DriveFile*>> sets;
  for (const auto& f : files) {
    std::string id = property(f, kSetKey);
    std::string path = property(f, kPathKey);
    if (!is_valid_backup_id(id) || path.empty()) continue;  // not ours
    sets[id].emplace(path, &f);
  }
  std::vector<SetEntry> out;
  for (const auto& [id, by_path] : sets) {
    SetEntry entry;
    entry.id = id;
    entry.store = describe();
    auto manifest_file = by_path.find(kManifestName);
    // No manifest yet: an upload in progress or interrupted, like a local .partial.
    if (manifest_file == by_path.end()) continue;
    try {
      const DriveFile& mf = *manifest_file->second;
      auto cached = manifests_by_file_id_.find(mf.id);
      if (cached == manifests_by_file_id_.end()) {
        std::string where = describe() + ": " + id + "/" + kManifestName;
        Manifest m = Manifest::parse(api_.download_small(mf.id, kManifestMaxBytes, cancel_), where);
        if (m.backup_id != id)
          throw Error(Errc::kCorrupt, where + ": manifest is for backup " + printable(m.backup_id));
        cached = manifests_by_file_id_.emplace(mf.id, std::move(m)).first;
      }
      for (const auto& file : cached->second.files) {
        auto remote = by_path.find(file.path);
        if (remote == by_path.end())
          throw Error(Errc::kCorrupt, "file " + printable(file.path) + " is missing on Drive");
        if (remote->second->size != file.stored_bytes)
          throw Error(Errc::kCorrupt, "file " + printable(file.path) + " on Drive has " +
                                          std::to_string(remote->second->size) +
                                          " bytes, the manifest says " +
                                          std::to_string(file.stored_bytes));
      }
      entry.manifest = cached->second;
    } catch (const Error& e) {
      if (e.code() == Errc::kCancelled) throw;
      if (e.code() != Errc::kCorrupt) throw;  // Drive unreachable: not a property of the set
      entry.problem = e.what();
    }
    out.push_back(std::move(entry));
  }
  sort_newest_first(out);
  return out;
}

std::vector<UnfinishedUpload> DriveStore::unfinished_uploads() const {
  std::map<std::string, UnfinishedUpload> by_set;
  std::set<std::string> complete;
  for (const auto& f : last_listing_) {
    std::string id = property(f, kSetKey);
    std::string path = property(f, kPathKey);
    if (!is_valid_backup_id(id) || path.empty()) continue;
    if (path == kManifestName) complete.insert(id);
    UnfinishedUpload& u = by_set[id];
    u.backup_id = id;
    u.files++;
    u.bytes += f.size;
    int64_t modified = parse_rfc3339_utc(f.modified_time).value_or(0) / 1000;
    u.last_modified_unix = std::max(u.last_modified_unix, modified);
  }
  std::vector<UnfinishedUpload> out;
  for (auto& [id, u] : by_set)
    if (complete.count(id) == 0) out.push_back(std::move(u));
  return out;
}

std::string DriveStore::file_id(const std::string& set_id, const std::string& path,
                                const CancelCheck& cancel) {
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1 || last_listing_.empty()) files_of_cluster(cancel);
    for (const auto& f : last_listing_)
      if (property(f, kSetKey) == set_id && property(f, kPathKey) == path) return f.id;
  }
  throw Error(Errc::kNotFound, describe() + " has no file " + set_id + "/" + path);
}

void DriveStore::read_file(const std::string& set_id, const std::string& path, Sink& out,
                           const CancelCheck& cancel) {
  api_.download(file_id(set_id, path, cancel), out, cancel);
}

void DriveStore::delete_set(const std::string& set_id) {
  std::vector<DriveFile> listing = files_of_cluster(cancel_);
  std::vector<const DriveFile*> files;
  for (const auto& f : listing)
    if (property(f, kSetKey) == set_id) files.push_back(&f);
  // The manifest goes first: a half-deleted set is then never listed as complete.
  std::stable_partition(files.begin(), files.end(),
                        [](const DriveFile* f) { return property(*f, kPathKey) == kManifestName; });
  for (const DriveFile* f : files) api_.remove(f->id, cancel_);
  last_listing_.clear();
}

SetUpload DriveStore::upload_set(LocalStore& local, const SetEntry& set, const CancelCheck& cancel,
                                 const UploadProgress& progress) {
  if (!set.usable()) throw Error(Errc::kInvalidArgument, "backup " + set.id + " is not usable");

  const Manifest& m = *set.manifest;
  SetUpload result;
  result.backup_id = set.id;
  result.bytes_total = m.stored_bytes();
  std::string folder = cluster_folder(true, cancel);

  // What Drive already holds of this set (an earlier, interrupted pass).
  std::multimap<std::string, DriveFile> remote;
  for (const auto& f : files_of_cluster(cancel))
    if (property(f, kSetKey) == set.id) remote.emplace(property(f, kPathKey), f);

  std::string set_dir = local.set_path(set.id);
  std::vector<std::pair<std::string, std::string>> order;  // path, role; manifest last
  for (const auto& f : m.files) order.emplace_back(f.path, f.role);
  order.emplace_back(kManifestName, "manifest");

  uint64_t done_before = 0;
  for (const auto& [path, role] : order) {
    std::string local_path = join_path(set_dir, path);
    // Never through a link, and only bytes the manifest vouches for: a data file must have
    // its recorded size and SHA-256, the manifest must be the one listed.
    UniqueFd fd = local.open_set_file(set.id, path);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_errno("cannot stat " + local_path);
    uint64_t size = static_cast<uint64_t>(st.st_size);
    FileHashes hashes = hashes_of_file(fd.get(), size, local_path, cancel);
    std::string md5 = hashes.md5;
    if (const ManifestFile* entry = m.find_file(path)) {
      if (size != entry->stored_bytes || hashes.sha256 != entry->sha256)
        throw Error(Errc::kCorrupt, local_path + " does not match its manifest (" +
                                        std::to_string(size) + " bytes, SHA-256 " +
                                        hashes.sha256.substr(0, 16) + "...; the manifest says " +
                                        std::to_string(entry->stored_bytes) + " bytes, " +
                                        entry->sha256.substr(0, 16) + "...); not uploading it");
    } else {
      check_listed_manifest(fd.get(), size, local_path, m);
    }

    // Keep one good copy; anything else under this path is a leftover to remove.
    bool have = false;
    auto [first, last] = remote.equal_range(path);
    for (auto it = first; it != last; ++it) {
      if (!have && it->second.size == size && it->second.md5 == md5) {
        have = true;
      } else {
        api_.remove(it->second.id, cancel);
      }
    }
    std::string key = set.id + "/" + path;
    if (have) {
      ++result.files_already_there;
      sessions_.erase(key);
    } else {
      std::string& session = sessions_[key];
      DriveFile stored = api_.upload(
          fd.get(), size, key, folder, {{kSetKey, set.id}, {kPathKey, path}, {kRoleKey, role}},
          session, result.stats, cancel, [&](uint64_t committed) {
            if (progress) progress(set.id, done_before + committed, result.bytes_total);
          });
      sessions_.erase(key);
      if (stored.size != size || stored.md5 != md5) {
        api_.remove(stored.id, cancel);
        std::string message = "Drive's copy of " + key + " differs from what was sent (";
        message += std::to_string(stored.size) + " bytes, MD5 " + stored.md5;
        message += "; sent " + std::to_string(size) + " bytes, MD5 " + md5;
        message += "); it was removed and will be sent again";
        throw Error(Errc::kCorrupt, message);
      }
      ++result.files_uploaded;
      result.bytes_uploaded += size;
    }
    if (path != kManifestName) done_before += size;
    if (progress) progress(set.id, done_before, result.bytes_total);
  }
  last_listing_.clear();
  return result;
}

std::string DriveStore::wal_folder(bool create, const CancelCheck& cancel) {
  if (!wal_folder_id_.empty()) return wal_folder_id_;
  std::string cluster = cluster_folder(create, cancel);
  if (cluster.empty()) return "";
  std::string q =
      DriveApi::quote(cluster) + " in parents and mimeType = " + DriveApi::quote(kDriveFolderMime) +
      " and trashed = false and appProperties has { key=" + DriveApi::quote(kWalFolderKey) +
      " and value=" + DriveApi::quote(cluster_) + " }";
  std::vector<DriveFile> found = api_.list(q, cancel);
  if (!found.empty()) {
    std::sort(found.begin(), found.end(),
              [](const DriveFile& a, const DriveFile& b) { return a.id < b.id; });
    wal_folder_id_ = found.front().id;
  } else if (create) {
    wal_folder_id_ = api_.create_folder("wal", cluster, {{kWalFolderKey, cluster_}}, cancel).id;
  }
  return wal_folder_id_;
}

std::vector<RemoteWalFile> DriveStore::list_wal() {
  std::vector<RemoteWalFile> out;
  std::string folder = wal_folder(false, cancel_);
  if (folder.empty()) return out;
  std::map<std::string, RemoteWalFile> by_name;
  std::map<std::string, DriveFile> sums;
  for (auto& f : api_.list(DriveApi::quote(folder) + " in parents and trashed = false", cancel_)) {
    std::string name = property(f, kWalKey);
    if (!is_wal_file_name(name)) continue;  // not ours
    std::string part = property(f, kWalPartKey);
    if (part == "sha256") {
      sums.emplace(name, f);  // the first copy wins; upload_wal_file replaces the others
    } else if (part == "data" && by_name.count(name) == 0) {
      RemoteWalFile r;
      r.wal.file = parse_wal_file_name(name);
      r.wal.stored_bytes = f.size;
      std::string archived = property(f, kWalArchivedKey);
      r.wal.mtime = archived.empty() ? parse_rfc3339_utc(f.modified_time).value_or(0) / 1000
                                     : std::strtoll(archived.c_str(), nullptr, 10);
      r.data = std::move(f);
      by_name.emplace(name, std::move(r));
    }
  }
  for (auto& [name, r] : by_name) {
    auto sum = sums.find(name);
    if (sum != sums.end()) r.sum = sum->second;
    out.push_back(std::move(r));
  }
  // list_wal_files' order: timeline, then name.
  std::sort(out.begin(), out.end(), [](const RemoteWalFile& a, const RemoteWalFile& b) {
    return std::tie(a.wal.file.timeline, a.wal.file.name) <
           std::tie(b.wal.file.timeline, b.wal.file.name);
  });
  return out;
}

std::vector<StoredWalFile> DriveStore::stored_of(const std::vector<RemoteWalFile>& remote) {
  std::vector<StoredWalFile> out;
  out.reserve(remote.size());
  for (const auto& r : remote) out.push_back(r.wal);
  return out;
}

WalUploadResult DriveStore::upload_wal_file(const std::string& store_root,
                                            const StoredWalFile& file, const RemoteWalFile* remote,
                                            const CancelCheck& cancel) {
  const std::string& name = file.file.name;
  std::string data_path = wal_stored_path(store_root, name);
  std::string sum_path =
      data_path.substr(0, data_path.size() - std::string(kWalDataSuffix).size()) + kWalSumSuffix;
  LocalFileFacts sum = local_facts(open_stored_wal(store_root, name, true), sum_path, cancel);
  LocalFileFacts data = local_facts(open_stored_wal(store_root, name, false), data_path, cancel);
  WalUploadResult result;
  if (remote && same_file(remote->data, data) && remote->sum && same_file(*remote->sum, sum)) {
    result.already_there = true;
    return result;
  }
  // The checksum file records the plaintext's SHA-256, so a different one on Drive is a
  // different WAL file under this name: never replaced, as the archive never replaces one.
  if (remote && remote->sum && remote->sum->size == sum.size && remote->sum->md5 != sum.md5)
    throw Error(Errc::kCorrupt, describe() + " holds a different WAL file " + name +
                                    " (its .sha256 differs from " + sum_path +
                                    "); not replacing it: check for a timeline mix-up or two "
                                    "clusters sharing one ramsafe.cluster_name");
  std::string folder = wal_folder(true, cancel);
  std::string base = "wal/" + file.file.timeline + "/" + name;
  std::string archived = std::to_string(file.mtime);

  // Whatever Drive holds under this name that is not the local file goes (an interrupted
  // or mismatched copy; duplicates from a race), the checksum file is sent before the data.
  std::vector<DriveFile> existing = api_.list(
      DriveApi::quote(folder) + " in parents and trashed = false and appProperties has { key=" +
          DriveApi::quote(kWalKey) + " and value=" + DriveApi::quote(name) + " }",
      cancel);
  auto send = [&](const char* part, const std::string& suffix, LocalFileFacts& local) {
    bool have = false;
    for (const auto& f : existing) {
      if (property(f, kWalPartKey) != part) continue;
      if (!have && same_file(f, local))
        have = true;
      else
        api_.remove(f.id, cancel);
    }
    if (have) return;
    std::string key = base + suffix;
    std::string& session = sessions_[key];
    DriveFile stored =
        api_.upload(local.fd.get(), local.size, key, folder,
                    {{kWalKey, name}, {kWalPartKey, part}, {kWalArchivedKey, archived}}, session,
                    result.stats, cancel);
    sessions_.erase(key);
    if (!same_file(stored, local)) {
      api_.remove(stored.id, cancel);
      throw Error(Errc::kCorrupt, "Drive's copy of " + key + " differs from what was sent (" +
                                      std::to_string(stored.size) + " bytes, MD5 " + stored.md5 +
                                      "; sent " + std::to_string(local.size) + " bytes, MD5 " +
                                      local.md5 + "); it was removed and will be sent again");
    }
    result.bytes_uploaded += local.size;
  };
  send("sha256", kWalSumSuffix, sum);
  send("data", kWalDataSuffix, data);
  return result;
}

WalFetchResult DriveStore::fetch_wal_file(const std::vector<age::Identity>& identities,
                                          const std::string& name, const std::string& dest_path,
                                          const CancelCheck& cancel) {
  WalFileName wal = parse_wal_file_name(name);
  std::string folder = wal_folder(false, cancel);
  std::string where = describe() + ": wal/" + wal.timeline + "/" + name;
  if (folder.empty()) throw Error(Errc::kNotFound, where + kWalDataSuffix + " does not exist");
  std::optional<DriveFile> data, sum;
  for (auto& f :
       api_.list(DriveApi::quote(folder) +
                     " in parents and trashed = false and appProperties has { key=" +
                     DriveApi::quote(kWalKey) + " and value=" + DriveApi::quote(name) + " }",
                 cancel)) {
    std::string part = property(f, kWalPartKey);
    if (part == "data" && !data) data = f;
    if (part == "sha256" && !sum) sum = f;
  }
  if (!data) throw Error(Errc::kNotFound, "WAL file " + name + " is not on " + describe());
  if (!sum)
    throw Error(Errc::kCorrupt, where + kWalSumSuffix +
                                    " is missing: the checksum of archived WAL file " + name +
                                    " is lost");
  std::string recorded =
      parse_wal_sha256(api_.download_small(sum->id, 4096, cancel), name, where + kWalSumSuffix);
  return write_fetched_wal(
      identities, recorded, where + kWalDataSuffix,
      [&](Sink& out) {
        api_.download(data->id, out, cancel);
        out.finish();
      },
      dest_path);
}

void DriveStore::delete_wal_file(const RemoteWalFile& file, const CancelCheck& cancel) {
  // The data file first: a checksum file alone means nothing (as in the local store).
  api_.remove(file.data.id, cancel);
  if (file.sum) api_.remove(file.sum->id, cancel);
}

bool drive_configured(const Settings& settings) {
  return !settings.drive_credentials_file.empty() || !settings.drive_token_file.empty();
}

std::unique_ptr<DriveStore> make_drive_store(const Settings& settings) {
  if (!drive_configured(settings)) return nullptr;
  if (!settings.drive_credentials_file.empty() && !settings.drive_token_file.empty())
    throw Error(Errc::kConfig,
                "ramsafe.drive_credentials_file and ramsafe.drive_token_file are both set; "
                "set one: a service account key or a user token");
  // A credentials file that cannot be used is a configuration problem of its setting.
  bool service_account = !settings.drive_credentials_file.empty();
  const char* setting =
      service_account ? "ramsafe.drive_credentials_file" : "ramsafe.drive_token_file";
  std::optional<DriveCredentials> credentials;
  try {
    credentials = service_account
                      ? DriveCredentials::from_service_account_file(settings.drive_credentials_file)
                      : DriveCredentials::from_user_token_file(settings.drive_token_file,
                                                               settings.drive_oauth_url + "/token");
  } catch (const Error& e) {
    throw Error(Errc::kConfig, std::string(setting) + ": " + e.what());
  }
  DriveOptions options;
  options.api_url = settings.drive_api_url;
  options.http.ca_file = settings.drive_ca_file;
  options.chunk_size = static_cast<uint64_t>(settings.drive_chunk_kb) * 1024;
  std::string cluster = cluster_name(settings);
  return std::make_unique<DriveStore>(std::move(options), std::move(*credentials),
                                      settings.drive_folder_id, cluster);
}

}  // namespace ramsafe
