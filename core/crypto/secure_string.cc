#include "core/crypto/secure_string.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <new>

#include "core/error.h"
#include "core/io/unique_fd.h"

namespace ramsafe {

namespace {

// bytes rounded up to whole pages (at least one); 0 when that overflows.
size_t page_rounded(size_t bytes) noexcept {
  static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  if (bytes == 0) bytes = 1;
  if (bytes > SIZE_MAX - page) return 0;
  return (bytes + page - 1) / page * page;
}

}  // namespace

void* secure_alloc(size_t bytes) {
  size_t size = page_rounded(bytes);
  if (size == 0) throw std::bad_alloc();
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  // Best effort: a kernel without MADV_DONTDUMP still gets wiped memory.
  (void)::madvise(p, size, MADV_DONTDUMP);
  return p;
}

void secure_free(void* p, size_t bytes) noexcept {
  if (p == nullptr) return;
  size_t size = page_rounded(bytes);
  OPENSSL_cleanse(p, size);
  ::munmap(p, size);
}

void make_undumpable() {
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) throw_errno("prctl(PR_SET_DUMPABLE, 0)");
}

SecureString read_secret_file(const std::string& path) {
  UniqueFd fd = open_or_throw(path, O_RDONLY | O_NOFOLLOW);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throw_errno("stat " + path);
  if (!S_ISREG(st.st_mode)) throw Error(Errc::kPermission, path + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw Error(Errc::kPermission, "secret file " + path + " has mode " + mode +
                                       "; it must not be accessible by group or others "
                                       "(chmod 600 " +
                                       path + ")");
  }
  if (static_cast<uint64_t>(st.st_size) > kSecretFileMaxBytes)
    throw Error(Errc::kConfig, "secret file " + path + " is over 1 MiB");
  SecureString out;
  out.resize(static_cast<size_t>(st.st_size));
  size_t n = read_full(fd.get(), out.data(), out.size(), path);
  out.resize(n);
  return out;
}

}  // namespace ramsafe
