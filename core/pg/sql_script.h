// The globals script of a backup (pg_dumpall --globals-only) taken apart into SQL
// statements without psql, so that restoring it runs SQL only: no psql meta-command (\!,
// \copy, \o, \i, \set, ...) can run, whatever the script says. Only PostgreSQL's own
// \restrict / \unrestrict lines, which pg_dumpall writes since 15.14, 16.10 and 17.6 to
// fence off exactly such commands, are accepted (and skipped: there is no psql to
// restrict), and only the statements pg_dumpall writes for globals are allowed (roles,
// memberships, role settings, parameter privileges, tablespaces, their comments and
// security labels, SET).
#pragma once

#include <string>
#include <vector>

namespace ramsafe {

// The statements of script in order, each with its terminating semicolon, without the
// comments and blank lines between them. Splits at semicolons outside string literals
// (standard and E'' strings), quoted identifiers, dollar quotes, comments and parentheses,
// as psql does. Throws Error(kCorrupt) naming source for a psql meta-command other than a
// whole-line \restrict or \unrestrict between statements, for an unterminated literal or
// comment, and for a statement that is not one pg_dumpall writes for globals.
std::vector<std::string> globals_statements(const std::string& script, const std::string& source);

}  // namespace ramsafe
