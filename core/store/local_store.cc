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
#include "core/set/manifest.h"

namespace ramsafe {
namespace {

constexpr const char* kPartialSuffix = ".partial";
constexpr size_t kReadBlock = size_t{256} * 1024;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::optional<Dir> open_store_root(const std::string& root, DirAccess access, bool create) {
  std::string parent = parent_dir(root), name = base_name(root);
  std::optional<Dir> parent_dir_fd;
  if (create) {
    make_dirs(parent, 0700);
    parent_dir_fd = Dir::open(parent);
  } else {
    parent_dir_fd = Dir::open_if_exists(parent);
    if (!parent_dir_fd) return std::nullopt;
  }
  bool created = false;
  std::optional<Dir> dir = create
                               ? std::optional<Dir>(parent_dir_fd->make_sub(name, 0700, &created))
                               : parent_dir_fd->sub_if_exists(name);
  if (created) parent_dir_fd->fsync();
  if (dir) dir->check_private(access, "the backup store");
  return dir;
}

LocalStore::LocalStore(std::string root, TrustPolicy trust)
    : Store(std::move(trust)), root_(std::move(root)) {}

std::string LocalStore::set_path(const std::string& set_id) const {
  if (!is_valid_backup_id(set_id))
    throw Error(Errc::kInvalidArgument,
                "\"" + printable(set_id) + "\" is not a backup id (e.g. 20261122T031500Z)");
  return join_path(root_, set_id);
}

std::vector<SetEntry> LocalStore::list_sets() {
  std::vector<SetEntry> sets;
  auto root = open_store_root(root_, DirAccess::kRead, false);
  if (!root) return sets;
  for (const auto& name : root->list()) {
    if (!is_valid_backup_id(name)) continue;  // .partial, lock file, anything else
    auto st = root->stat(name);
    if (!st || !(S_ISDIR(st->st_mode) || S_ISLNK(st->st_mode))) continue;
    SetEntry entry;
    try {
      Dir set = root->sub(name);
      std::string text;
      try {
        text = set.read_file(kManifestName, kManifestMaxBytes);
      } catch (const Error& e) {
        if (e.code() == Errc::kNotFound)
          throw Error(Errc::kNotFound, "no manifest.json (incomplete or damaged set)");
        throw;
      }
      std::optional<std::string> signature;
      try {
        signature = set.read_file(kManifestSignatureName, kMaxSignatureFileSize);
      } catch (const Error& e) {
        if (e.code() != Errc::kNotFound) signature = std::string();  // unreadable: no signature
      }
      entry = set_entry_from(name, describe(),
                             check_manifest(name, text, signature ? &*signature : nullptr, trust(),
                                            set.path_of(kManifestName)));
    } catch (const Error& e) {
      entry = SetEntry{};
      entry.problem = e.what();
    }
    entry.id = name;
    entry.store = describe();
    sets.push_back(std::move(entry));
  }
  sort_newest_first(sets);
  return sets;
}

UniqueFd LocalStore::open_set_file(const std::string& set_id, const std::string& path) {
  std::string dir = set_path(set_id);  // validates the id
  auto root = open_store_root(root_, DirAccess::kRead, false);
  if (!root) {
    errno = ENOENT;
    throw_errno("open " + join_path(dir, path));
  }
  return root->sub(set_id).open_read(path);
}

void LocalStore::read_file(const std::string& set_id, const std::string& path, Sink& out,
                           const CancelCheck& cancel) {
  std::string full = join_path(set_path(set_id), path);
  UniqueFd fd = open_set_file(set_id, path);
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
  auto root = open_store_root(root_, DirAccess::kWrite, false);
  if (!root) {
    errno = ENOENT;
    throw_errno("rename " + dir + " for deletion");
  }
  // Rename first so a crash halfway through deleting never leaves a listed, broken set.
  std::string doomed = set_id + ".deleting" + kPartialSuffix;
  root->rename(set_id, *root, doomed);
  root->fsync();
  root->remove_tree(doomed);
}

std::unique_ptr<LocalSetWriter> LocalStore::begin_set(int64_t unix_seconds,
                                                      const SetSigner& signer) {
  Dir root = std::move(*open_store_root(root_, DirAccess::kWrite, true));
  std::string base = backup_id_for(unix_seconds);
  for (int n = 1; n < 1000; ++n) {
    std::string id = n == 1 ? base : base + "-" + std::to_string(n);
    if (root.exists(id)) continue;
    std::string partial = id + kPartialSuffix;
    if (::mkdirat(root.fd(), partial.c_str(), 0700) == 0) {
      Dir partial_dir = root.sub(partial);
      return std::make_unique<LocalSetWriter>(*this, std::move(root), id, std::move(partial_dir),
                                              signer);
    }
    if (errno != EEXIST) throw_errno("create " + root.path_of(partial));
  }
  throw Error(Errc::kIo, "cannot find a free backup id for " + base + " in " + root_);
}

UniqueFd LocalStore::lock(const std::string& purpose) {
  Dir root = std::move(*open_store_root(root_, DirAccess::kWrite, true));
  std::string path = root.path_of(".lock");
  UniqueFd fd = root.open_or_create(".lock", O_RDWR, 0600);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      char text[256];
      ssize_t n = ::pread(fd.get(), text, sizeof text - 1, 0);
      std::string holder(text, n > 0 ? static_cast<size_t>(n) : 0);
      while (!holder.empty() && holder.back() == '\n') holder.pop_back();
      throw Error(Errc::kBusy, "cannot " + purpose + ": " + root_ + " is in use" +
                                   (holder.empty() ? "" : " by " + printable(holder)));
    }
    throw_errno("lock " + path);
  }
  std::string me = "pid " + std::to_string(::getpid()) + " (" + purpose + ")\n";
  if (::ftruncate(fd.get(), 0) == 0) write_all(fd.get(), me.data(), me.size(), path);
  return fd;
}

std::vector<std::string> LocalStore::cleanup_partials(int64_t max_age_seconds) {
  std::vector<std::string> removed;
  auto root = open_store_root(root_, DirAccess::kWrite, false);
  if (!root) return removed;
  time_t now = ::time(nullptr);
  for (const auto& name : root->list()) {
    if (!ends_with(name, kPartialSuffix)) continue;
    auto st = root->stat(name);
    if (!st) continue;
    if (now - st->st_mtime < max_age_seconds) continue;
    root->remove_tree(name);
    removed.push_back(name);
  }
  return removed;
}

LocalSetWriter::LocalSetWriter(LocalStore& store, Dir root, std::string id, Dir partial,
                               const SetSigner& signer)
    : store_(store),
      signer_(signer),
      root_(std::move(root)),
      id_(std::move(id)),
      partial_(root_.path_of(id_ + kPartialSuffix)),
      partial_dir_(std::move(partial)) {}

LocalSetWriter::~LocalSetWriter() {
  if (!published_) abandon();
}

void LocalSetWriter::abandon() {
  try {
    partial_dir_ = Dir();
    root_.remove_tree(id_ + kPartialSuffix);
  } catch (const Error&) {
    // Left for cleanup_partials(); a .partial is never listed or used.
  }
}

UniqueFd LocalSetWriter::create_file(const std::string& relative_path) {
  if (!is_safe_relative_path(relative_path))
    throw Error(Errc::kInvalidArgument, "\"" + relative_path + "\" is not a path inside a set");
  std::string dir = parent_dir(relative_path);
  if (dir == ".") return partial_dir_.create(relative_path);
  bool created = false;
  Dir sub = partial_dir_.make_sub(dir, 0700, &created);
  if (created) dirs_.push_back(dir);
  return sub.create(base_name(relative_path));
}

void LocalSetWriter::remove_file(const std::string& relative_path) {
  std::string dir = parent_dir(relative_path);
  if (dir == ".") {
    partial_dir_.unlink(relative_path);
    return;
  }
  if (auto sub = partial_dir_.sub_if_exists(dir)) sub->unlink(base_name(relative_path));
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
  auto write_new = [this](const char* name, const std::string& content) {
    std::string path = join_path(partial_, name);
    UniqueFd fd = partial_dir_.create(name, 0600);
    write_all(fd.get(), content.data(), content.size(), path);
    fsync_or_throw(fd.get(), path);
    fd.close_checked(path);
  };
  write_new(kManifestSignatureName, signature);
  write_new(kManifestName, text);
  for (const auto& dir : dirs_) partial_dir_.sub(dir).fsync();
  partial_dir_.fsync();
  root_.rename(id_ + kPartialSuffix, root_, id_);
  published_ = true;
  root_.fsync();
  state.note(signer_.cluster, seen_backup_of(manifest), &warning_);
  return root_.path_of(id_);
}

}  // namespace ramsafe
