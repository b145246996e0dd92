#include "core/error.h"

#include <cerrno>
#include <cstring>

namespace ramsafe {

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument:
      return "invalid argument";
    case Errc::kConfig:
      return "configuration error";
    case Errc::kIo:
      return "I/O error";
    case Errc::kNoSpace:
      return "no space left";
    case Errc::kPermission:
      return "permission denied";
    case Errc::kNotFound:
      return "not found";
    case Errc::kCorrupt:
      return "corrupt data";
    case Errc::kCrypto:
      return "decryption error";
    case Errc::kUntrusted:
      return "untrusted data";
    case Errc::kChildFailed:
      return "child process failed";
    case Errc::kServer:
      return "server error";
    case Errc::kCancelled:
      return "cancelled";
    case Errc::kBusy:
      return "busy";
    case Errc::kRemote:
      return "remote store error";
    case Errc::kInternal:
      return "internal error";
  }
  return "error";
}

void throw_errno(const std::string& what, int saved_errno) {
  Errc code = Errc::kIo;
  if (saved_errno == ENOSPC || saved_errno == EDQUOT) code = Errc::kNoSpace;
  if (saved_errno == EACCES || saved_errno == EPERM) code = Errc::kPermission;
  if (saved_errno == ENOENT) code = Errc::kNotFound;
  throw Error(code, what + ": " + std::strerror(saved_errno));
}

void throw_errno(const std::string& what) {
  throw_errno(what, errno);
}

}  // namespace ramsafe
