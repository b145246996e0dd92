// Errors in ramsafe's core are exceptions of one type, ramsafe::Error, carrying a
// category. They are caught at the boundaries: the companion's main (exit codes) and
// the extension's SQL functions and worker (ereport after the C++ frames are gone).
#pragma once

#include <stdexcept>
#include <string>

namespace ramsafe {

enum class Errc {
  kInvalidArgument,  // bad command-line argument or API use
  kConfig,           // bad setting value or configuration file
  kIo,               // file or pipe I/O failed
  kNoSpace,          // ENOSPC / EDQUOT while writing
  kPermission,       // file permissions or ownership refused
  kNotFound,         // a file, backup set or database that should exist does not
  kCorrupt,          // stored data failed a checksum, MAC or format check
  kCrypto,           // a key is wrong, or decryption is impossible with the given keys
  kUntrusted,        // stored data no verify key of this host signed (core/set/trust.h)
  kChildFailed,      // pg_dump, pg_restore, initdb, ... exited badly
  kServer,           // the PostgreSQL server refused or failed a query
  kCancelled,        // the caller asked to stop
  kBusy,             // another backup or restore holds the lock
  kRemote,           // a remote store failed or stayed unreachable after retries
  kInternal,         // a bug
};

const char* errc_name(Errc code);

// Text that is safe to print on a terminal, in a log line or as a SQL text value, whatever
// bytes it came from (a store is hostile): every control character (C0, DEL, and C1 such
// as the single-byte CSI U+009B) and every byte of invalid UTF-8 is written as \xNN. With
// keep_newlines, newline and tab stay (multi-line messages); otherwise the result is one
// line. Valid UTF-8 text passes unchanged, so applying it twice changes nothing.
std::string printable(const std::string& text, bool keep_newlines = false);

class Error : public std::runtime_error {
 public:
  // The message is made printable (keeping newlines): an error can carry names and text
  // from a store to the terminal, the server log or a client.
  Error(Errc code, const std::string& message)
      : std::runtime_error(printable(message, true)), code_(code) {}
  Errc code() const { return code_; }

 private:
  Errc code_;
};

// Throws Error(kIo or kNoSpace or kPermission) for the current errno, prefixed by what.
[[noreturn]] void throw_errno(const std::string& what);
[[noreturn]] void throw_errno(const std::string& what, int saved_errno);

}  // namespace ramsafe
