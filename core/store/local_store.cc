#include "core/store/local_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <vector>

#include "core/error.h"
#include "core/io/paths.h"
#include "core/set/freshness.h"

namespace ramsafe {
namespace {

constexpr const char* kPartialSuffix = ".partial";
constexpr size_t kReadBlock = size_t{256} * 1024;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

LocalStore::LocalStore(std::string root, TrustPolicy trust)
    : Store(std::move(trust)), root_(std::move(root)) {}

std::string LocalStore::set_path(const std::string& set_id) const {
  if (!is_valid_backup_id(set_id))
    throw Error(Errc::kInvalidArgument,
                "\"" + set_id + "\" is not a backup id (e.g. 20261122T031500Z)");
  return join_path(root_, set_id);
}

std::vector<SetEntry> LocalStore::list_sets() {
  std::vector<SetEntry> sets;
  if (!is_directory(root_)) return sets;
  for (const auto& name : list_dir(root_)) {
    if (!is_valid_backup_id(name)) continue;  // .partial, lock file, anything else
    std::string dir = join_path(root_, name);
    if (!is_directory(dir)) continue;
    std::string manifest_path = join_path(dir, kManifestName);
    std::string bytes;
    try {
      bytes = ramsafe::read_file(manifest_path, 16u << 20);
    } catch (const Error& e) {
      SetEntry entry;
      entry.id = name;
      entry.store = describe();
      entry.problem =
          e.code() == Errc::kNotFound ? "no manifest.json (incomplete or damaged set)" : e.what();
      sets.push_back(std::move(entry));
      continue;
    }
    std::optional<std::string> signature;
    try {
      signature = ramsafe::read_file(join_path(dir, kManifestSignatureName), kMaxSignatureFileSize);
    } catch (const Error& e) {
      if (e.code() != Errc::kNotFound) signature = std::string();  // unreadable: not a signature
    }
    SetEntry entry = set_entry_from(
        name, describe(),
        check_manifest(name, bytes, signature ? &*signature : nullptr, trust(), manifest_path));
    sets.push_back(std::move(entry));
  }
  sort_newest_first(sets);
  return sets;
}

void LocalStore::read_file(const std::string& set_id, const std::string& path, Sink& out,
                           const CancelCheck& cancel) {
  std::string full = join_path(set_path(set_id), path);
  UniqueFd fd = open_or_throw(full, O_RDONLY);
  (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  std::vector<uint8_t> buf(kReadBlock);
  for (;;) {
    if (cancel && cancel()) throw Error(Errc::kCancelled, "cancelled while reading " + full);
    size_t n = read_some(fd.get(), buf.data(), buf.size(), full);
    if (n == 0) break;
    out.write(buf.data(), n);
  }
}

void LocalStore::delete_set(const std::string& set_id) {
  std::string dir = set_path(set_id);
  // Rename first so a crash halfway through deleting never leaves a listed, broken set.
  std::string doomed = join_path(root_, set_id + ".deleting" + kPartialSuffix);
  if (::rename(dir.c_str(), doomed.c_str()) != 0) throw_errno("rename " + dir + " for deletion");
  fsync_path(root_);
  remove_tree(doomed);
}

std::unique_ptr<LocalSetWriter> LocalStore::begin_set(int64_t unix_seconds,
                                                      const SetSigner& signer) {
  make_dirs(root_, 0700);
  std::string base = backup_id_for(unix_seconds);
  for (int n = 1; n < 1000; ++n) {
    std::string id = n == 1 ? base : base + "-" + std::to_string(n);
    if (path_exists(join_path(root_, id))) continue;
    std::string partial = join_path(root_, id + kPartialSuffix);
    if (::mkdir(partial.c_str(), 0700) == 0)
      return std::make_unique<LocalSetWriter>(*this, id, signer);
    if (errno != EEXIST) throw_errno("create " + partial);
  }
  throw Error(Errc::kIo, "cannot find a free backup id for " + base + " in " + root_);
}

UniqueFd LocalStore::lock(const std::string& purpose) {
  make_dirs(root_, 0700);
  std::string path = join_path(root_, ".lock");
  UniqueFd fd = open_or_throw(path, O_RDWR | O_CREAT, 0600);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      std::string holder = ramsafe::read_file(path, 4096);
      while (!holder.empty() && holder.back() == '\n') holder.pop_back();
      throw Error(Errc::kBusy, "cannot " + purpose + ": " + root_ + " is in use" +
                                   (holder.empty() ? "" : " by " + holder));
    }
    throw_errno("lock " + path);
  }
  std::string me = "pid " + std::to_string(::getpid()) + " (" + purpose + ")\n";
  if (::ftruncate(fd.get(), 0) == 0) write_all(fd.get(), me.data(), me.size(), path);
  return fd;
}

std::vector<std::string> LocalStore::cleanup_partials(int64_t max_age_seconds) {
  std::vector<std::string> removed;
  if (!is_directory(root_)) return removed;
  time_t now = ::time(nullptr);
  for (const auto& name : list_dir(root_)) {
    if (!ends_with(name, kPartialSuffix)) continue;
    std::string path = join_path(root_, name);
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (now - st.st_mtime < max_age_seconds) continue;
    remove_tree(path);
    removed.push_back(name);
  }
  return removed;
}

LocalSetWriter::LocalSetWriter(LocalStore& store, std::string id, const SetSigner& signer)
    : store_(store),
      signer_(signer),
      root_(store.root()),
      id_(std::move(id)),
      partial_(join_path(root_, id_ + kPartialSuffix)) {}

LocalSetWriter::~LocalSetWriter() {
  if (!published_) abandon();
}

void LocalSetWriter::abandon() {
  try {
    remove_tree(partial_);
  } catch (const Error&) {
    // Left for cleanup_partials(); a .partial is never listed or used.
  }
}

UniqueFd LocalSetWriter::create_file(const std::string& relative_path) {
  std::string full = join_path(partial_, relative_path);
  std::string dir = parent_dir(full);
  if (dir != partial_ && !is_directory(dir)) {
    make_dirs(dir, 0700);
    dirs_.push_back(dir);
  }
  return open_or_throw(full, O_WRONLY | O_CREAT | O_EXCL, 0600);
}

void LocalSetWriter::close_file(UniqueFd& fd, const std::string& relative_path) {
  std::string full = join_path(partial_, relative_path);
  fsync_or_throw(fd.get(), full);
  fd.close_checked(full);
}

std::string LocalSetWriter::publish(Manifest& manifest) {
  // The next number: above every trusted set here (the writer holds the store's lock) and
  // every one this host has seen (a set deleted from the store must not make it reuse one).
  FreshnessState state(signer_.state_file);
  state.load();
  uint64_t seen = 0;
  if (auto s = state.seen(signer_.cluster)) seen = s->sequence;
  manifest.format_version = kManifestFormatVersion;
  uint64_t in_store = 0;
  if (auto newest = newest_by_sequence(store_.list_sets())) in_store = newest->sequence;
  manifest.sequence = std::max(seen, in_store) + 1;
  std::string text = manifest.to_json();
  std::string signature = sign_manifest(signer_.key, text);
  auto write_new = [](const std::string& path, const std::string& content) {
    UniqueFd fd = open_or_throw(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    write_all(fd.get(), content.data(), content.size(), path);
    fsync_or_throw(fd.get(), path);
    fd.close_checked(path);
  };
  write_new(join_path(partial_, kManifestSignatureName), signature);
  write_new(join_path(partial_, kManifestName), text);
  for (const auto& dir : dirs_) fsync_path(dir);
  fsync_path(partial_);
  std::string final_path = join_path(root_, id_);
  if (::rename(partial_.c_str(), final_path.c_str()) != 0)
    throw_errno("rename " + partial_ + " to " + final_path);
  published_ = true;
  fsync_path(root_);
  state.note(signer_.cluster, seen_backup_of(manifest), &warning_);
  return final_path;
}

}  // namespace ramsafe
