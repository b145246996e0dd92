// Finding the PostgreSQL client and server programs of the right major version.
#pragma once

#include <string>

namespace ramsafe {

struct PgTools {
  std::string bindir;
  std::string path(const std::string& program) const;  // bindir/program
  // "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
  std::string version_string(const std::string& program) const;
};

// configured_bindir if set (it must hold the programs), else the Debian layout
// /usr/lib/postgresql/<major>/bin, else the directory of pg_dump found in PATH.
// Throws Error(kNotFound) naming what was tried, or Error(kConfig) if the programs
// found are older than server_major (pg_dump must be at least the server's version).
PgTools find_pg_tools(const std::string& configured_bindir, int server_major);

// The major version from a --version line ("... 15.18 ..." -> 15); 0 if none.
int major_from_version_string(const std::string& version);

}  // namespace ramsafe
