#include "core/io/disk_usage.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "core/io/unique_fd.h"

namespace ramsafe {
namespace {

uint64_t allocated_bytes(const struct stat& st) {
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

uint64_t tree_bytes(int dir_fd, dev_t device) {
  // fdopendir takes the fd over; dup so the caller's stays valid.
  int fd = ::dup(dir_fd);
  if (fd < 0) return 0;
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(fd), ::closedir);
  if (!dir) {
    ::close(fd);
    return 0;
  }
  uint64_t total = 0;
  while (struct dirent* entry = ::readdir(dir.get())) {
    if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
    struct stat st;
    if (::fstatat(dir_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // vanished
    if (st.st_dev != device) continue;
    total += allocated_bytes(st);
    if (S_ISDIR(st.st_mode)) {
      UniqueFd child(
          ::openat(dir_fd, entry->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (child.valid()) total += tree_bytes(child.get(), device);
    }
  }
  return total;
}

UniqueFd open_directory(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) throw_errno("open " + dir);
  return fd;
}

DiskUsage filesystem_figures(int fd, const std::string& dir) {
  struct statvfs vfs;
  if (::fstatvfs(fd, &vfs) != 0) throw_errno("statvfs " + dir);
  DiskUsage usage;
  usage.filesystem_bytes = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize;
  usage.used_bytes = static_cast<uint64_t>(vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize;
  usage.free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  return usage;
}

}  // namespace

DiskUsage filesystem_usage(const std::string& dir) {
  UniqueFd fd = open_directory(dir);
  return filesystem_figures(fd.get(), dir);
}

DiskUsage disk_usage(const std::string& dir) {
  UniqueFd fd = open_directory(dir);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throw_errno("stat " + dir);
  DiskUsage usage = filesystem_figures(fd.get(), dir);
  usage.directory_bytes = allocated_bytes(st) + tree_bytes(fd.get(), st.st_dev);
  return usage;
}

}  // namespace ramsafe
