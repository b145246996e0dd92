#include "core/io/unique_fd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.h"

namespace ramsafe {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

void UniqueFd::close_checked(const std::string& what) {
  int fd = std::exchange(fd_, -1);
  if (fd >= 0 && ::close(fd) != 0 && errno != EINTR) throw_errno("close " + what);
}

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

UniqueFd open_or_throw(const std::string& path, int flags, unsigned mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) throw_errno("open " + path);
  return UniqueFd(fd);
}

void write_all(int fd, const void* data, size_t size, const std::string& what) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("write " + what);
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

size_t read_some(int fd, void* data, size_t size, const std::string& what) {
  for (;;) {
    ssize_t n = ::read(fd, data, size);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) throw_errno("read " + what);
  }
}

size_t read_full(int fd, void* data, size_t size, const std::string& what) {
  size_t total = 0;
  auto* p = static_cast<uint8_t*>(data);
  while (total < size) {
    size_t n = read_some(fd, p + total, size - total, what);
    if (n == 0) break;
    total += n;
  }
  return total;
}

void fsync_or_throw(int fd, const std::string& what) {
  if (::fsync(fd) != 0) throw_errno("fsync " + what);
}

void fsync_path(const std::string& path) {
  UniqueFd fd = open_or_throw(path, O_RDONLY);
  fsync_or_throw(fd.get(), path);
}

std::string read_file(const std::string& path, size_t max_size) {
  UniqueFd fd = open_or_throw(path, O_RDONLY);
  std::string out;
  char buf[65536];
  for (;;) {
    size_t n = read_some(fd.get(), buf, sizeof buf, path);
    if (n == 0) break;
    if (out.size() + n > max_size)
      throw Error(Errc::kIo, path + ": file is larger than " + std::to_string(max_size) + " bytes");
    out.append(buf, n);
  }
  return out;
}

}  // namespace ramsafe
