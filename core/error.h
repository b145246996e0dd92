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

class Error : public std::runtime_error {
 public:
  Error(Errc code, const std::string& message) : std::runtime_error(message), code_(code) {}
  Errc code() const { return code_; }

 private:
  Errc code_;
};

// Throws Error(kIo or kNoSpace or kPermission) for the current errno, prefixed by what.
[[noreturn]] void throw_errno(const std::string& what);
[[noreturn]] void throw_errno(const std::string& what, int saved_errno);

}  // namespace ramsafe
