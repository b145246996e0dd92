// Finding the PostgreSQL client and server programs of the right major version.
#pragma once

#include <string>
#include <vector>

namespace ramsafe {

struct PgTools {
  std::string bindir;
  int major = 0;  // of its pg_dump, as the find functions below read it
  std::string path(const std::string& program) const;  // bindir/program
  // "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
  std::string version_string(const std::string& program) const;
};

// configured_bindir if set (it must hold the programs), else the Debian layout
// /usr/lib/postgresql/<major>/bin, else the directory of pg_dump found in PATH.
// Throws Error(kNotFound) naming what was tried, or Error(kConfig) if the programs
// found are older than server_major (pg_dump must be at least the server's version).
PgTools find_pg_tools(const std::string& configured_bindir, int server_major);

// The programs of exactly PostgreSQL major, for a restore into another major than the set's
// (ramsafe restore --pg-version): configured_bindir if its programs are that major, else
// /usr/lib/postgresql/<major>/bin, else pg_config --bindir, else the directory of pg_dump in
// PATH, each only if its pg_dump is that major. Throws Error(kNotFound) naming what was
// tried.
PgTools find_pg_tools_of_major(const std::string& configured_bindir, int major);

// The programs in dir (ramsafe restore --bindir); what names the option in messages.
// Throws Error(kNotFound) if pg_dump or initdb is missing there.
PgTools pg_tools_in(const std::string& dir, const std::string& what);

// The majors installed in Debian's layout (/usr/lib/postgresql/<major>/bin with pg_dump and
// initdb), newest first.
std::vector<int> installed_majors();

// The major version from a --version line ("... 15.18 ..." -> 15); 0 if none.
int major_from_version_string(const std::string& version);

}  // namespace ramsafe
