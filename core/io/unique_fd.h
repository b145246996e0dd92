// RAII ownership of a file descriptor, and the small blocking I/O helpers built on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace ramsafe {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);
  // close() that reports errors (a deferred write error surfaces at close on some
  // filesystems); the destructor closes silently.
  void close_checked(const std::string& what);

 private:
  int fd_ = -1;
};

struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;
};
Pipe make_pipe();  // both ends O_CLOEXEC

UniqueFd open_or_throw(const std::string& path, int flags, unsigned mode = 0600);

// Writes everything, retrying on EINTR and short writes. what names the target in errors.
void write_all(int fd, const void* data, size_t size, const std::string& what);
// Reads up to size bytes, retrying on EINTR; returns 0 at end of file.
size_t read_some(int fd, void* data, size_t size, const std::string& what);
// Reads until size bytes or end of file; returns bytes read.
size_t read_full(int fd, void* data, size_t size, const std::string& what);

void fsync_or_throw(int fd, const std::string& what);
void fsync_path(const std::string& path);  // opens (file or directory) and fsyncs

std::string read_file(const std::string& path, size_t max_size = 64u << 20);
// Writes a whole small file atomically: an O_EXCL temporary file in the same directory,
// fsync, rename over path, fsync of the directory. A link, device or FIFO at path is
// refused (Error kInvalidArgument), never followed. In core/io/dir.cc
// (Dir::write_file_atomic).
void write_file_atomic(const std::string& path, const std::string& content, unsigned mode = 0600);

}  // namespace ramsafe
