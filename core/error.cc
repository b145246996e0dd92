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

namespace {

// The length of the valid UTF-8 sequence at p (at most n bytes), or 0 if it is not one
// (overlong forms, surrogates and code points above U+10FFFF are not valid).
size_t utf8_sequence(const unsigned char* p, size_t n) {
  unsigned char c = p[0];
  size_t len = c < 0x80             ? 1
               : (c & 0xE0) == 0xC0 ? 2
               : (c & 0xF0) == 0xE0 ? 3
               : (c & 0xF8) == 0xF0 ? 4
                                    : 0;
  if (len == 0 || len > n) return 0;
  for (size_t i = 1; i < len; ++i)
    if ((p[i] & 0xC0) != 0x80) return 0;
  if (len == 2 && c < 0xC2) return 0;
  if (len == 3) {
    unsigned cp = ((c & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  }
  if (len == 4) {
    unsigned cp =
        ((c & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
    if (cp < 0x10000 || cp > 0x10FFFF) return 0;
  }
  return len;
}

void append_escaped(std::string& out, unsigned char c) {
  static const char kHex[] = "0123456789abcdef";
  out += "\\x";
  out.push_back(kHex[c >> 4]);
  out.push_back(kHex[c & 15]);
}

}  // namespace

std::string printable(const std::string& text, bool keep_newlines) {
  std::string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size();
  for (size_t i = 0; i < n;) {
    unsigned char c = p[i];
    size_t len = utf8_sequence(p + i, n - i);
    bool c1 = len == 2 && c == 0xC2 && p[i + 1] < 0xA0;  // U+0080..U+009F
    if (len == 0 || c1) {
      append_escaped(out, c);
      if (c1) append_escaped(out, p[i + 1]);
      i += c1 ? 2 : 1;
      continue;
    }
    bool control = c < 0x20 || c == 0x7F;
    if (control && !(keep_newlines && (c == '\n' || c == '\t')))
      append_escaped(out, c);
    else
      out.append(text, i, len);
    i += len;
  }
  return out;
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
