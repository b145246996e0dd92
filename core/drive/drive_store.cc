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
#include "core/set/pipeline.h"

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
// How long a lookup of the cluster's folders is trusted without a listing asking again.
constexpr auto kLayoutLifetime = std::chrono::seconds(60);

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

bool same_content(const DriveFile& a, const DriveFile& b) {
  return a.size == b.size && a.md5 == b.md5;
}

// "('a' in parents or 'b' in parents)"
std::string in_any(const std::vector<std::string>& folders) {
  std::string q = "(";
  for (size_t i = 0; i < folders.size(); ++i)
    q += (i == 0 ? "" : " or ") + DriveApi::quote(folders[i]) + " in parents";
  return q + ")";
}

std::string plural(size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

DriveStore::DriveStore(DriveOptions options, DriveCredentials credentials,
                       std::string parent_folder_id, std::string cluster, TrustPolicy trust)
    : Store(std::move(trust)),
      api_(std::move(options), std::move(credentials)),
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

std::vector<DriveFile> DriveStore::tagged_folders(const std::vector<std::string>& parents,
                                                  const char* key, const CancelCheck& cancel) {
  std::vector<DriveFile> found =
      api_.list(in_any(parents) + " and mimeType = " + DriveApi::quote(kDriveFolderMime) +
                    " and trashed = false and appProperties has { key=" + DriveApi::quote(key) +
                    " and value=" + DriveApi::quote(cluster_) + " }",
                layout_.drive_id, cancel);
  std::sort(found.begin(), found.end(), created_before);
  return found;
}

std::vector<std::string> DriveStore::fold_folders(const std::vector<std::string>& folders,
                                                  const CancelCheck& cancel) {
  const std::string& into = folders.front();
  std::vector<std::string> left = {into};
  for (size_t i = 1; i < folders.size(); ++i) {
    const std::string& from = folders[i];
    std::string q = DriveApi::quote(from) + " in parents and trashed = false";
    std::vector<DriveFile> children = api_.list(q, layout_.drive_id, cancel);
    for (const auto& child : children) api_.move(child.id, from, into, cancel);
    // Only an empty folder goes, and to the trash: one that got a file meanwhile stays for
    // the next pass, and a file landing just after the trashing is in the trash, not gone.
    bool empty = api_.list(q, layout_.drive_id, cancel).empty();
    if (empty)
      api_.trash(from, cancel);
    else
      left.push_back(from);
    std::string text = "found a second Drive folder for cluster " + cluster_ + " (" + from + ")";
    text += ": moved " + plural(children.size(), "file", "files");
    text += " from it into the first (" + into + ")";
    text += empty ? " and moved it to the trash" : "; it is not empty yet, the next pass goes on";
    note(text);
  }
  return left;
}

const DriveStore::Layout& DriveStore::layout(bool create, bool fresh, const CancelCheck& cancel) {
  auto now = std::chrono::steady_clock::now();
  // A writer needs exactly one folder: none yet, or several to fold, means look again.
  if (layout_.valid && !fresh && now - layout_.at < kLayoutLifetime &&
      !(create && layout_.cluster.size() != 1))
    return layout_;
  layout_ = Layout{};
  // Which drive to search: the parent's own (a shared drive's listing is asked of that
  // drive, never of every drive at once, which Drive may answer only in part).
  DriveFile parent = api_.get(parent_, cancel);
  if (parent.mime_type != kDriveFolderMime)
    throw Error(Errc::kConfig, "ramsafe.drive_folder_id = '" + parent_ +
                                   "' is not a folder on Drive (it is a " + parent.mime_type + ")");
  layout_.drive_id = parent.drive_id;
  std::vector<DriveFile> found = tagged_folders({parent_}, kClusterKey, cancel);
  if (found.empty() && create) {
    DriveFile made = api_.create_folder(cluster_, parent_, {{kClusterKey, cluster_}}, cancel);
    found = tagged_folders({parent_}, kClusterKey, cancel);
    bool listed = std::any_of(found.begin(), found.end(),
                              [&](const DriveFile& f) { return f.id == made.id; });
    if (!listed) {  // a listing may lag behind a create
      found.push_back(made);
      std::sort(found.begin(), found.end(), created_before);
    }
  }
  for (const auto& f : found) layout_.cluster.push_back(f.id);
  if (create && layout_.cluster.size() > 1) layout_.cluster = fold_folders(layout_.cluster, cancel);
  layout_.valid = true;
  layout_.at = now;
  return layout_;
}

const DriveStore::Layout& DriveStore::wal_layout(bool create, bool fresh,
                                                 const CancelCheck& cancel) {
  bool stale =
      !layout_.valid || fresh || std::chrono::steady_clock::now() - layout_.at >= kLayoutLifetime;
  layout(create, fresh, cancel);
  if (!stale && layout_.wal_valid && !(create && layout_.wal.size() != 1)) return layout_;
  layout_.wal.clear();
  layout_.wal_valid = false;
  if (layout_.cluster.empty()) {
    layout_.wal_valid = true;
    return layout_;
  }
  std::vector<DriveFile> found = tagged_folders(layout_.cluster, kWalFolderKey, cancel);
  if (found.empty() && create) {
    DriveFile made =
        api_.create_folder("wal", layout_.cluster.front(), {{kWalFolderKey, cluster_}}, cancel);
    found = tagged_folders(layout_.cluster, kWalFolderKey, cancel);
    bool listed = std::any_of(found.begin(), found.end(),
                              [&](const DriveFile& f) { return f.id == made.id; });
    if (!listed) {
      found.push_back(made);
      std::sort(found.begin(), found.end(), created_before);
    }
  }
  for (const auto& f : found) layout_.wal.push_back(f.id);
  if (create && layout_.wal.size() > 1) layout_.wal = fold_folders(layout_.wal, cancel);
  layout_.wal_valid = true;
  return layout_;
}

std::vector<DriveFile> DriveStore::files_in(const std::vector<std::string>& folders,
                                            const std::string& extra, const CancelCheck& cancel) {
  if (folders.empty()) return {};
  std::vector<DriveFile> files =
      api_.list(in_any(folders) + " and trashed = false" + extra, layout_.drive_id, cancel);
  // Oldest first: "the first copy" means the same file to every reader.
  std::sort(files.begin(), files.end(), created_before);
  return files;
}

std::vector<DriveFile> DriveStore::files_of_cluster(bool fresh, const CancelCheck& cancel) {
  const Layout& l = layout(false, fresh, cancel);
  last_listing_ = files_in(l.cluster, "", cancel);
  return last_listing_;
}

void DriveStore::note(const std::string& text) const {
  if (log_) log_(text);
}

void DriveStore::remove_file(const std::string& file_id, const CancelCheck& cancel) {
  // A Content manager may trash but not delete in a shared drive (only a Manager may);
  // in My Drive the owner deletes, so that the bytes stop counting against the quota.
  if (!layout(false, false, cancel).drive_id.empty())
    api_.trash(file_id, cancel);
  else
    api_.remove(file_id, cancel);
}

bool DriveStore::copy_checks_out(const DriveFile& copy, const ManifestFile& expected,
                                 const CancelCheck& cancel) {
  auto known = verdicts_.find(copy.id);
  if (known != verdicts_.end()) return known->second;
  bool ok = false;
  if (copy.size == expected.stored_bytes) {
    ChecksumVerifier check(expected, describe() + ": " + copy.name + " (" + copy.id + ")");
    try {
      api_.download(copy.id, check, cancel);
      check.finish();
      ok = true;
    } catch (const Error& e) {
      if (e.code() != Errc::kCorrupt) throw;
    }
  }
  verdicts_[copy.id] = ok;
  return ok;
}

std::vector<SetEntry> DriveStore::list_sets() {
  std::vector<DriveFile> files = files_of_cluster(true, cancel_);
  duplicates_.clear();
  chosen_.clear();
  listed_manifests_.clear();
  // Per set: every copy of each path, oldest first.
  std::map<std::string, std::map<std::string, std::vector<const DriveFile*>>> sets;
  for (const auto& f : files) {
    std::string id = property(f, kSetKey);
    std::string path = property(f, kPathKey);
    if (!is_valid_backup_id(id) || path.empty()) continue;  // not ours
    sets[id][path].push_back(&f);
  }
  auto copies_of = [](const std::vector<const DriveFile*>& files) {
    std::vector<DriveFile> out;
    out.reserve(files.size());
    for (const DriveFile* f : files) out.push_back(*f);
    return out;
  };
  std::vector<SetEntry> out;
  for (const auto& [id, by_path] : sets) {
    SetEntry entry;
    entry.id = id;
    entry.store = describe();
    auto manifest_files = by_path.find(kManifestName);
    // No manifest yet: an upload in progress or interrupted, like a local .partial.
    if (manifest_files == by_path.end()) continue;
    std::string where = describe() + ": " + id + "/" + kManifestName;
    try {
      // The signature copies (none: the set has no signature file).
      std::vector<const DriveFile*> sig_files;
      auto sigs = by_path.find(kManifestSignatureName);
      if (sigs != by_path.end()) sig_files = sigs->second;
      // The manifest: the first copy, with the first signature copy, that a trusted key
      // signed; else what the first copy says, for the report.
      std::optional<ManifestCheck> trusted, first;
      const DriveFile* manifest_file = nullptr;
      const DriveFile* sig_file = nullptr;
      for (const DriveFile* mf : manifest_files->second) {
        try {
          const std::string& bytes = download_cached(*mf, kManifestMaxBytes, cancel_);
          size_t tries = std::max<size_t>(sig_files.size(), 1);
          for (size_t i = 0; i < tries && !trusted; ++i) {
            const DriveFile* sf = sig_files.empty() ? nullptr : sig_files[i];
            std::string signature;
            if (sf != nullptr && sf->size <= kMaxSignatureFileSize)
              signature = download_cached(*sf, kMaxSignatureFileSize, cancel_);
            ManifestCheck check =
                check_manifest(id, bytes, sf != nullptr ? &signature : nullptr, trust(), where);
            if (check.trust == Trust::kTrusted) {
              trusted = std::move(check);
              manifest_file = mf;
              sig_file = sf;
            } else if (!first) {
              first = std::move(check);
            }
          }
        } catch (const Error& e) {
          if (e.code() != Errc::kCorrupt) throw;
          if (!first) first = ManifestCheck{Trust::kUnusable, std::nullopt, e.what(), ""};
        }
        if (trusted) break;
      }
      entry = set_entry_from(id, describe(), trusted ? std::move(*trusted) : std::move(*first));
      if (entry.usable()) {
        const Manifest& manifest = *entry.manifest;
        chosen_[id + "/" + kManifestName] = manifest_file->id;
        if (manifest_files->second.size() > 1)
          duplicates_.push_back(
              {id, kManifestName, copies_of(manifest_files->second), manifest_file->id});
        chosen_[id + "/" + kManifestSignatureName] = sig_file->id;
        if (sig_files.size() > 1)
          duplicates_.push_back({id, kManifestSignatureName, copies_of(sig_files), sig_file->id});
        for (const auto& file : manifest.files) {
          auto remote = by_path.find(file.path);
          if (remote == by_path.end())
            throw Error(Errc::kCorrupt, "file " + printable(file.path) + " is missing on Drive");
          const std::vector<const DriveFile*>& copies = remote->second;
          std::vector<const DriveFile*> sized;
          for (const DriveFile* c : copies)
            if (c->size == file.stored_bytes) sized.push_back(c);
          if (sized.empty())
            throw Error(Errc::kCorrupt,
                        "file " + printable(file.path) + " on Drive has " +
                            std::to_string(copies.front()->size) + " bytes" +
                            (copies.size() > 1 ? " (and its " + std::to_string(copies.size() - 1) +
                                                     " other copies differ too)"
                                               : "") +
                            ", the manifest says " + std::to_string(file.stored_bytes));
          const DriveFile* chosen = sized.front();
          // Copies of the right size but different content: read the one that checks out.
          bool differ = std::any_of(sized.begin(), sized.end(), [&](const DriveFile* c) {
            return c->md5 != sized.front()->md5;
          });
          if (differ)
            for (const DriveFile* c : sized)
              if (copy_checks_out(*c, file, cancel_)) {
                chosen = c;
                break;
              }
          chosen_[id + "/" + file.path] = chosen->id;
          if (copies.size() > 1)
            duplicates_.push_back({id, file.path, copies_of(copies), chosen->id});
        }
        listed_manifests_[id] = manifest;
      }
    } catch (const Error& e) {
      if (e.code() == Errc::kCancelled) throw;
      if (e.code() != Errc::kCorrupt) throw;  // Drive unreachable: not a property of the set
      entry = SetEntry{};
      entry.id = id;
      entry.store = describe();
      entry.problem = e.what();
    }
    out.push_back(std::move(entry));
  }
  sort_newest_first(out);
  return out;
}

const std::string& DriveStore::download_cached(const DriveFile& file, uint64_t limit,
                                               const CancelCheck& cancel) {
  auto cached = small_files_.find(file.id);
  if (cached == small_files_.end())
    cached = small_files_.emplace(file.id, api_.download_small(file.id, limit, cancel)).first;
  return cached->second;
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

int64_t DriveStore::manifest_modified_unix(const std::string& set_id) const {
  for (const auto& f : last_listing_)
    if (property(f, kSetKey) == set_id && property(f, kPathKey) == kManifestName)
      return parse_rfc3339_utc(f.modified_time).value_or(0) / 1000;
  return 0;
}

std::vector<DriveDuplicate> DriveStore::duplicates() const {
  return duplicates_;
}

std::vector<DuplicateFix> DriveStore::fix_duplicates(const std::set<std::string>& backup_ids,
                                                     const CancelCheck& cancel) {
  std::vector<DuplicateFix> out;
  std::set<std::string> removed_ids;
  for (const auto& d : duplicates_) {
    if (!backup_ids.empty() && backup_ids.count(d.backup_id) == 0) continue;
    auto manifest = listed_manifests_.find(d.backup_id);
    if (manifest == listed_manifests_.end()) continue;
    DuplicateFix fix;
    fix.backup_id = d.backup_id;
    fix.path = d.path;
    fix.copies = static_cast<int>(d.copies.size());
    // The chosen copy first, then the others, oldest first.
    std::vector<const DriveFile*> order;
    for (const auto& c : d.copies) {
      if (c.id == d.chosen_id) {
        order.insert(order.begin(), &c);
      } else {
        order.push_back(&c);
      }
    }
    const DriveFile* keep = nullptr;
    std::map<std::string, std::string> why;  // id -> why that copy goes
    if (d.path == kManifestName || d.path == kManifestSignatureName) {
      // list_sets chose a trusted pair of manifest and signature: an identical copy goes, so
      // does one no trusted key signed; two different signed manifests are left alone.
      keep = order.front();
      bool conflict = false;
      for (size_t i = 1; i < order.size(); ++i) {
        const DriveFile& c = *order[i];
        if (same_content(c, *keep)) {
          why[c.id] = "identical to the kept copy";
          continue;
        }
        if (d.path == kManifestSignatureName) {
          why[c.id] = "not the signature that checks out";
          continue;
        }
        try {
          std::string where = describe() + ": " + d.backup_id + "/" + kManifestName;
          std::string bytes = api_.download_small(c.id, kManifestMaxBytes, cancel);
          std::string signature;
          auto sig = chosen_.find(d.backup_id + "/" + kManifestSignatureName);
          if (sig != chosen_.end())
            signature = api_.download_small(sig->second, kMaxSignatureFileSize, cancel);
          ManifestCheck check = check_manifest(d.backup_id, bytes, &signature, trust(), where);
          if (check.trust == Trust::kTrusted)
            conflict = true;
          else
            why[c.id] = check.problem.empty() ? "not signed by a trusted key" : check.problem;
        } catch (const Error& e) {
          if (e.code() != Errc::kCorrupt) throw;
          why[c.id] = e.what();
        }
      }
      if (conflict) {
        fix.problem = "two different signed manifests for this set; all " +
                      std::to_string(d.copies.size()) + " copies left for inspection";
        out.push_back(std::move(fix));
        continue;
      }
    } else {
      const ManifestFile* expected = nullptr;
      for (const auto& f : manifest->second.files)
        if (f.path == d.path) expected = &f;
      if (expected == nullptr) continue;
      for (const DriveFile* c : order)
        if (copy_checks_out(*c, *expected, cancel)) {
          keep = c;
          break;
        }
      if (keep == nullptr) {
        fix.problem = "no copy checks out against the manifest (size and SHA-256); all " +
                      std::to_string(d.copies.size()) + " copies left in place";
        out.push_back(std::move(fix));
        continue;
      }
      for (const DriveFile* c : order) {
        if (c == keep) continue;
        if (same_content(*c, *keep))
          why[c->id] = "identical to the kept copy";
        else if (c->size != expected->stored_bytes)
          why[c->id] = std::to_string(c->size) + " bytes, the manifest says " +
                       std::to_string(expected->stored_bytes);
        else
          why[c->id] = "its SHA-256 is not the manifest's";
      }
    }
    fix.kept_id = keep->id;
    for (const DriveFile* c : order) {
      if (c == keep) continue;
      remove_file(c->id, cancel);
      removed_ids.insert(c->id);
      fix.removed.push_back(c->id + " (" + why[c->id] + ")");
    }
    chosen_[d.backup_id + "/" + d.path] = keep->id;
    out.push_back(std::move(fix));
  }
  if (!removed_ids.empty()) {
    last_listing_.erase(std::remove_if(last_listing_.begin(), last_listing_.end(),
                                       [&](const DriveFile& f) { return removed_ids.count(f.id); }),
                        last_listing_.end());
    duplicates_.erase(std::remove_if(duplicates_.begin(), duplicates_.end(),
                                     [&](const DriveDuplicate& d) {
                                       return std::any_of(
                                           out.begin(), out.end(), [&](const DuplicateFix& f) {
                                             return !f.kept_id.empty() &&
                                                    f.backup_id == d.backup_id && f.path == d.path;
                                           });
                                     }),
                      duplicates_.end());
  }
  return out;
}

std::string DriveStore::file_id(const std::string& set_id, const std::string& path,
                                const CancelCheck& cancel) {
  auto chosen = chosen_.find(set_id + "/" + path);
  if (chosen != chosen_.end()) return chosen->second;
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1 || last_listing_.empty()) files_of_cluster(false, cancel);
    for (const auto& f : last_listing_)
      if (property(f, kSetKey) == set_id && property(f, kPathKey) == path) return f.id;
  }
  throw Error(Errc::kNotFound, describe() + " has no file " + set_id + "/" + path);
}

void DriveStore::read_file(const std::string& set_id, const std::string& path, Sink& out,
                           const CancelCheck& cancel) {
  std::string id;
  {
    // Parallel restore threads share the listing; the downloads themselves run apart.
    std::lock_guard<std::mutex> lock(read_mutex_);
    id = file_id(set_id, path, cancel);
  }
  api_.download(id, out, cancel);
}

void DriveStore::delete_set(const std::string& set_id) {
  std::vector<DriveFile> listing = files_of_cluster(true, cancel_);
  std::vector<const DriveFile*> files;
  for (const auto& f : listing)
    if (property(f, kSetKey) == set_id) files.push_back(&f);
  // The manifest goes first: a half-deleted set is then never listed as complete.
  std::stable_partition(files.begin(), files.end(),
                        [](const DriveFile* f) { return property(*f, kPathKey) == kManifestName; });
  for (const DriveFile* f : files) remove_file(f->id, cancel_);
  last_listing_.clear();
  for (auto it = chosen_.begin(); it != chosen_.end();)
    it = it->first.rfind(set_id + "/", 0) == 0 ? chosen_.erase(it) : std::next(it);
}

SetUpload DriveStore::upload_set(LocalStore& local, const SetEntry& set, const CancelCheck& cancel,
                                 const UploadProgress& progress) {
  if (!set.usable()) throw Error(Errc::kInvalidArgument, "backup " + set.id + " is not usable");

  const Manifest& m = *set.manifest;
  SetUpload result;
  result.backup_id = set.id;
  result.bytes_total = m.stored_bytes();
  try {
    std::string folder = layout(true, true, cancel).cluster.front();

    // What Drive already holds of this set (an earlier, interrupted pass).
    std::multimap<std::string, DriveFile> remote;
    for (const auto& f : files_of_cluster(false, cancel))
      if (property(f, kSetKey) == set.id) remote.emplace(property(f, kPathKey), f);

    std::string set_dir = local.set_path(set.id);
    // path, role; the signature then the manifest last, so that a set listed on Drive
    // always has its signature
    std::vector<std::pair<std::string, std::string>> order;
    for (const auto& f : m.files) order.emplace_back(f.path, f.role);
    order.emplace_back(kManifestSignatureName, "signature");
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
      } else if (path == kManifestName) {
        check_listed_manifest(fd.get(), size, local_path, m);
      }

      // Keep one good copy; anything else under this path is a leftover to remove.
      bool have = false;
      auto [first, last] = remote.equal_range(path);
      for (auto it = first; it != last; ++it) {
        if (!have && it->second.size == size && it->second.md5 == md5) {
          have = true;
        } else {
          remove_file(it->second.id, cancel);
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
          remove_file(stored.id, cancel);
          std::string message = "Drive's copy of " + key + " differs from what was sent (";
          message += std::to_string(stored.size) + " bytes, MD5 " + stored.md5;
          message += "; sent " + std::to_string(size) + " bytes, MD5 " + md5;
          message += "); it was removed and will be sent again";
          throw Error(Errc::kCorrupt, message);
        }
        ++result.files_uploaded;
        result.bytes_uploaded += size;
      }
      if (path != kManifestName && path != kManifestSignatureName) done_before += size;
      if (progress) progress(set.id, done_before, result.bytes_total);
    }
  } catch (const Error& e) {
    // The folder may be gone (removed by hand): look it up again next time.
    if (e.code() == Errc::kNotFound) layout_.valid = false;
    throw;
  }
  last_listing_.clear();
  return result;
}

std::vector<RemoteWalFile> DriveStore::list_wal() {
  std::vector<RemoteWalFile> out;
  const Layout& l = wal_layout(false, true, cancel_);
  std::map<std::string, RemoteWalFile> by_name;
  std::map<std::string, DriveFile> sums, sigs;
  for (auto& f : files_in(l.wal, "", cancel_)) {
    std::string name = property(f, kWalKey);
    if (!is_wal_file_name(name)) continue;  // not ours
    std::string part = property(f, kWalPartKey);
    if (part == "sha256") {
      sums.emplace(name, f);  // the first copy wins; upload_wal_file replaces the others
    } else if (part == "sig") {
      sigs.emplace(name, f);
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
    auto sig = sigs.find(name);
    if (sig != sigs.end()) r.sig = sig->second;
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
  std::string sum_path = wal_checksum_path(store_root, name);
  std::string sig_path = wal_signature_path(store_root, name);
  WalUploadResult result;
  // Only what a trusted key signed leaves this host.
  try {
    wal_recorded_sha256(store_root, name, trust(), false);
  } catch (const Error& e) {
    if (e.code() != Errc::kUntrusted) throw;
    result.untrusted = true;
    result.problem = e.what();
    return result;
  }
  LocalFileFacts sum =
      local_facts(open_stored_wal(store_root, name, StoredWalPart::kChecksum), sum_path, cancel);
  LocalFileFacts sig =
      local_facts(open_stored_wal(store_root, name, StoredWalPart::kSignature), sig_path, cancel);
  LocalFileFacts data =
      local_facts(open_stored_wal(store_root, name, StoredWalPart::kData), data_path, cancel);
  if (remote && same_file(remote->data, data) && remote->sum && same_file(*remote->sum, sum) &&
      remote->sig && same_file(*remote->sig, sig)) {
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
  try {
    const Layout& l = wal_layout(true, false, cancel);
    std::string folder = l.wal.front();
    std::string base = "wal/" + file.file.timeline + "/" + name;
    std::string archived = std::to_string(file.mtime);

    // Whatever Drive holds under this name that is not the local file goes (an interrupted
    // or mismatched copy; duplicates from a race), the checksum file is sent before the
    // data.
    std::vector<DriveFile> existing =
        files_in(l.wal,
                 " and appProperties has { key=" + DriveApi::quote(kWalKey) +
                     " and value=" + DriveApi::quote(name) + " }",
                 cancel);
    auto send = [&](const char* part, const std::string& suffix, LocalFileFacts& local) {
      bool have = false;
      for (const auto& f : existing) {
        if (property(f, kWalPartKey) != part) continue;
        if (!have && same_file(f, local))
          have = true;
        else
          remove_file(f.id, cancel);
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
        remove_file(stored.id, cancel);
        throw Error(Errc::kCorrupt, "Drive's copy of " + key + " differs from what was sent (" +
                                        std::to_string(stored.size) + " bytes, MD5 " + stored.md5 +
                                        "; sent " + std::to_string(local.size) + " bytes, MD5 " +
                                        local.md5 + "); it was removed and will be sent again");
      }
      result.bytes_uploaded += local.size;
    };
    send("sha256", kWalSumSuffix, sum);
    send("sig", kWalSignatureSuffix, sig);
    send("data", kWalDataSuffix, data);
  } catch (const Error& e) {
    if (e.code() == Errc::kNotFound) layout_.valid = false;
    throw;
  }
  return result;
}

WalFetchResult DriveStore::fetch_wal_file(const std::vector<age::Identity>& identities,
                                          const std::string& name, const std::string& dest_path,
                                          bool allow_unsigned, const CancelCheck& cancel) {
  WalFileName wal = parse_wal_file_name(name);
  const Layout& l = wal_layout(false, false, cancel);
  std::string where = describe() + ": wal/" + wal.timeline + "/" + name;
  if (l.wal.empty()) throw Error(Errc::kNotFound, where + kWalDataSuffix + " does not exist");
  std::optional<DriveFile> data, sum, sig;
  for (auto& f : files_in(l.wal,
                          " and appProperties has { key=" + DriveApi::quote(kWalKey) +
                              " and value=" + DriveApi::quote(name) + " }",
                          cancel)) {
    std::string part = property(f, kWalPartKey);
    if (part == "data" && !data) data = f;
    if (part == "sha256" && !sum) sum = f;
    if (part == "sig" && !sig) sig = f;
  }
  if (!data) throw Error(Errc::kNotFound, "WAL file " + name + " is not on " + describe());
  if (!sum)
    throw Error(Errc::kCorrupt, where + kWalSumSuffix +
                                    " is missing: the checksum of archived WAL file " + name +
                                    " is lost");
  std::optional<std::string> signature;
  if (sig)
    signature = sig->size <= kMaxSignatureFileSize
                    ? api_.download_small(sig->id, kMaxSignatureFileSize, cancel)
                    : std::string();
  std::string recorded =
      trusted_wal_sha256(api_.download_small(sum->id, 4096, cancel),
                         signature ? &*signature : nullptr, name, trust(), allow_unsigned, where);
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
  remove_file(file.data.id, cancel);
  if (file.sum) remove_file(file.sum->id, cancel);
  if (file.sig) remove_file(file.sig->id, cancel);
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
                                      settings.drive_folder_id, cluster,
                                      trust_policy_for(settings));
}

}  // namespace ramsafe
