#include "core/crypto/secure_string.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>

#include "core/error.h"
#include "core/io/unique_fd.h"

namespace ramsafe {

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
  if (st.st_size > (1 << 20)) throw Error(Errc::kConfig, "secret file " + path + " is over 1 MiB");
  SecureString out;
  out.resize(static_cast<size_t>(st.st_size));
  size_t n = read_full(fd.get(), out.data(), out.size(), path);
  out.resize(n);
  return out;
}

}  // namespace ramsafe
