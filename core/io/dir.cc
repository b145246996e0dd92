#include "core/io/dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>

#include "core/error.h"
#include "core/io/paths.h"

namespace ramsafe {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

// The components of a relative path; refuses an unsafe one (absolute, "..", empty parts).
std::vector<std::string> components(const std::string& relative) {
  if (!is_safe_relative_path(relative))
    throw Error(Errc::kInvalidArgument,
                "\"" + printable(relative) + "\" is not a safe relative path");
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= relative.size()) {
    size_t end = relative.find('/', start);
    if (end == std::string::npos) end = relative.size();
    parts.push_back(relative.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

std::string mode_text(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// The user name of uid, or its number.
std::string user_name(uid_t uid) {
  struct passwd pw {};
  struct passwd* found = nullptr;
  std::vector<char> buf(4096);
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr)
    return found->pw_name;
  return std::to_string(uid);
}

std::string user_text(uid_t uid) {
  std::string name = user_name(uid);
  std::string number = std::to_string(uid);
  return name == number ? "uid " + number : "uid " + number + " (" + name + ")";
}

std::string random_suffix() {
  unsigned char bytes[6];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("getrandom");
    got += static_cast<size_t>(n);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

}  // namespace

Dir Dir::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_errno("open directory " + path);
  return Dir(UniqueFd(fd), path);
}

std::optional<Dir> Dir::open_if_exists(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw_errno("open directory " + path);
  }
  return Dir(UniqueFd(fd), path);
}

std::string Dir::path_of(const std::string& relative) const {
  return join_path(path_, relative);
}

UniqueFd Dir::open_dir_at(const std::string& name, bool missing_ok) const {
  int fd = ::openat(fd_.get(), name.c_str(), kDirFlags);
  if (fd >= 0) return UniqueFd(fd);
  int saved = errno;
  if (saved == ENOENT && missing_ok) return UniqueFd();
  if (saved == ENOTDIR || saved == ELOOP) {
    auto st = stat(name);
    if (st && S_ISLNK(st->st_mode))
      throw Error(Errc::kCorrupt, path_of(name) +
                                      " is a symbolic link, not a directory; "
                                      "ramsafe does not follow links here");
  }
  throw_errno("open directory " + path_of(name), saved);
}

Dir Dir::sub(const std::string& relative) const {
  auto dir = sub_if_exists(relative);
  if (!dir) {
    errno = ENOENT;
    throw_errno("open directory " + path_of(relative));
  }
  return std::move(*dir);
}

std::optional<Dir> Dir::sub_if_exists(const std::string& relative) const {
  std::optional<Dir> current;
  for (const auto& part : components(relative)) {
    const Dir& parent = current ? *current : *this;
    UniqueFd fd = parent.open_dir_at(part, true);
    if (!fd.valid()) return std::nullopt;
    current = Dir(std::move(fd), parent.path_of(part));
  }
  return current;
}

Dir Dir::make_sub(const std::string& relative, unsigned mode, bool* created) const {
  if (created) *created = false;
  std::optional<Dir> current;
  for (const auto& part : components(relative)) {
    const Dir& parent = current ? *current : *this;
    bool made = ::mkdirat(parent.fd(), part.c_str(), mode) == 0;
    if (!made && errno != EEXIST) throw_errno("create directory " + parent.path_of(part));
    if (created) *created = made;
    UniqueFd fd = parent.open_dir_at(part, false);
    current = Dir(std::move(fd), parent.path_of(part));
  }
  return std::move(*current);
}

UniqueFd Dir::open_read(const std::string& relative) const {
  std::string dir_part = parent_dir(relative);
  std::string name = base_name(relative);
  std::optional<Dir> holder;
  const Dir* dir = this;
  if (dir_part != ".") {
    holder = sub(dir_part);
    dir = &*holder;
  }
  if (!is_safe_relative_path(name))
    throw Error(Errc::kInvalidArgument,
                "\"" + printable(relative) + "\" is not a safe relative path");
  // O_NONBLOCK: opening a FIFO someone planted must not hang; cleared below.
  int fd = ::openat(dir->fd(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int saved = errno;
    if (saved == ELOOP)
      throw Error(Errc::kCorrupt,
                  dir->path_of(name) + " is a symbolic link; ramsafe does not follow links here");
    throw_errno("open " + dir->path_of(name), saved);
  }
  UniqueFd out(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_errno("stat " + dir->path_of(name));
  if (!S_ISREG(st.st_mode))
    throw Error(Errc::kCorrupt, dir->path_of(name) + " is not a regular file");
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
    throw_errno("fcntl " + dir->path_of(name));
  return out;
}

std::string Dir::read_file(const std::string& relative, size_t max_size) const {
  UniqueFd fd = open_read(relative);
  std::string where = path_of(relative);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno("stat " + where);
  if (static_cast<uint64_t>(st.st_size) > max_size)
    throw Error(Errc::kCorrupt, where + " is larger than " + std::to_string(max_size) + " bytes");
  std::string out;
  out.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    size_t n = read_some(fd.get(), buf, sizeof buf, where);
    if (n == 0) break;
    if (out.size() + n > max_size)
      throw Error(Errc::kCorrupt, where + " is larger than " + std::to_string(max_size) + " bytes");
    out.append(buf, n);
  }
  return out;
}

UniqueFd Dir::create(const std::string& name, unsigned mode) const {
  int fd =
      ::openat(fd_.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) throw_errno("create " + path_of(name));
  return UniqueFd(fd);
}

UniqueFd Dir::open_or_create(const std::string& name, int flags, unsigned mode) const {
  int fd = ::openat(fd_.get(), name.c_str(), flags | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                    mode);
  if (fd < 0) {
    int saved = errno;
    if (saved == ELOOP)
      throw Error(Errc::kCorrupt,
                  path_of(name) + " is a symbolic link; ramsafe does not follow links here");
    throw_errno("open " + path_of(name), saved);
  }
  UniqueFd out(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_errno("stat " + path_of(name));
  if (!S_ISREG(st.st_mode)) throw Error(Errc::kCorrupt, path_of(name) + " is not a regular file");
  int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0 || ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) throw_errno("fcntl " + path_of(name));
  return out;
}

void Dir::check_replaceable(const std::string& name) const {
  auto st = stat(name);
  if (!st || S_ISREG(st->st_mode)) return;
  throw Error(Errc::kInvalidArgument,
              path_of(name) +
                  (S_ISLNK(st->st_mode)
                       ? " is a symbolic link; ramsafe neither writes through a link nor replaces "
                         "one: remove it, or name the file it points to"
                       : " is not a regular file; ramsafe replaces only regular files"));
}

void Dir::write_file_atomic(const std::string& name, const std::string& content,
                            unsigned mode) const {
  check_replaceable(name);
  TempFile tmp(*this, name, mode);
  write_all(tmp.fd(), content.data(), content.size(), tmp.path());
  tmp.commit(name);
  fsync();
}

std::optional<struct stat> Dir::stat(const std::string& name) const {
  struct stat st {};
  if (::fstatat(fd_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return st;
  if (errno == ENOENT) return std::nullopt;
  throw_errno("stat " + path_of(name));
}

std::vector<std::string> Dir::list() const {
  // fdopendir takes the descriptor over, and reads from its offset: a fresh one.
  int fd = ::openat(fd_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_errno("open directory " + path_);
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(fd), ::closedir);
  if (!dir) {
    int saved = errno;
    ::close(fd);
    throw_errno("open directory " + path_, saved);
  }
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* entry = ::readdir(dir.get())) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
    errno = 0;
  }
  if (errno != 0) throw_errno("read directory " + path_);
  std::sort(names.begin(), names.end());
  return names;
}

void Dir::rename(const std::string& from, const Dir& to_dir, const std::string& to) const {
  if (::renameat(fd_.get(), from.c_str(), to_dir.fd(), to.c_str()) != 0)
    throw_errno("rename " + path_of(from) + " to " + to_dir.path_of(to));
}

void Dir::rename_noreplace(const std::string& from, const Dir& to_dir,
                           const std::string& to) const {
  if (::renameat2(fd_.get(), from.c_str(), to_dir.fd(), to.c_str(), RENAME_NOREPLACE) == 0) return;
  if (errno != EINVAL && errno != ENOSYS)
    throw_errno("rename " + path_of(from) + " to " + to_dir.path_of(to));
  // A file system without RENAME_NOREPLACE: an existence check, then a plain rename (the
  // callers hold the only writer of these names).
  if (to_dir.exists(to)) {
    errno = EEXIST;
    throw_errno("rename " + path_of(from) + " to " + to_dir.path_of(to));
  }
  rename(from, to_dir, to);
}

void Dir::unlink(const std::string& name) const {
  if (::unlinkat(fd_.get(), name.c_str(), 0) != 0 && errno != ENOENT)
    throw_errno("remove " + path_of(name));
}

void Dir::rmdir(const std::string& name) const {
  if (::unlinkat(fd_.get(), name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    throw_errno("remove directory " + path_of(name));
}

void Dir::remove_tree(const std::string& name) const {
  struct stat self {};
  if (::fstat(fd_.get(), &self) != 0) throw_errno("stat " + path_);
  remove_tree_at(name, self.st_dev);
}

void Dir::remove_tree_at(const std::string& name, dev_t device) const {
  auto st = stat(name);
  if (!st) return;
  if (!S_ISDIR(st->st_mode)) {
    unlink(name);
    return;
  }
  int fd = ::openat(fd_.get(), name.c_str(), kDirFlags);
  if (fd < 0) {
    // Swapped for a link or a file since the lstat: remove that entry itself.
    if (errno == ENOTDIR || errno == ELOOP) {
      unlink(name);
      return;
    }
    if (errno == ENOENT) return;
    throw_errno("open directory " + path_of(name));
  }
  Dir child(UniqueFd(fd), path_of(name));
  struct stat opened {};
  if (::fstat(fd, &opened) != 0) throw_errno("stat " + child.path());
  // The directory opened is the one to remove, on this file system: not a mount point.
  if (opened.st_dev != device)
    throw Error(Errc::kIo, child.path() + " is a mount point; not removing anything below it");
  for (const auto& entry : child.list()) child.remove_tree_at(entry, device);
  rmdir(name);
}

void Dir::fsync() const {
  fsync_or_throw(fd_.get(), path_);
}

void Dir::check_private(DirAccess access, const std::string& what) const {
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) throw_errno("stat " + path_);
  uid_t me = ::geteuid();
  bool foreign = st.st_uid != me && !(me == 0 && access == DirAccess::kRead);
  if (foreign)
    throw Error(Errc::kPermission, what + " " + path_ + " is owned by " + user_text(st.st_uid) +
                                       ", not by the user running ramsafe (" + user_text(me) +
                                       "); run ramsafe as its owner (e.g. runuser -u " +
                                       user_name(st.st_uid) + " -- ramsafe ...)");
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    throw Error(Errc::kPermission, what + " " + path_ + " has mode " + mode_text(st.st_mode) +
                                       ": it must not be writable by group or others (chmod " +
                                       "0700 " + path_ + ")");
}

TempFile::TempFile(const Dir& dir, const std::string& base, unsigned mode) : dir_(dir) {
  for (int attempt = 0;; ++attempt) {
    name_ = "." + base + "." + random_suffix() + ".tmp";
    int fd = ::openat(dir.fd(), name_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      mode);
    if (fd >= 0) {
      fd_.reset(fd);
      return;
    }
    if (errno != EEXIST || attempt >= 100) throw_errno("create " + dir.path_of(name_));
  }
}

TempFile::~TempFile() {
  if (!committed_ && !name_.empty()) (void)::unlinkat(dir_.fd(), name_.c_str(), 0);
}

void TempFile::commit(const std::string& final_name, bool replace) {
  fsync_or_throw(fd_.get(), path());
  fd_.close_checked(path());
  if (replace)
    dir_.rename(name_, dir_, final_name);
  else
    dir_.rename_noreplace(name_, dir_, final_name);
  committed_ = true;
}

void write_file_atomic(const std::string& path, const std::string& content, unsigned mode) {
  Dir::open(parent_dir(path)).write_file_atomic(base_name(path), content, mode);
}

void remove_tree(const std::string& path) {
  auto parent = Dir::open_if_exists(parent_dir(path));
  if (parent) parent->remove_tree(base_name(path));
}

}  // namespace ramsafe
