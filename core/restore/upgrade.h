// A logical restore into a newer PostgreSQL major than the set's (ramsafe restore
// --pg-version, docs/upgrade.md): the pieces that decide what the new major cannot take.
// Settings the new major no longer has are left out and reported, everything else is kept.
// Pure text functions, so that they are tested without a server; restore/logical.cc applies
// them.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/set/manifest.h"

namespace ramsafe {

// What the target server offers for one extension (pg_available_extension_versions).
struct AvailableExtension {
  std::string default_version;
  std::map<std::string, std::vector<std::string>> needs;  // installable version -> what it requires
};

// An extension to create before pg_restore creates its database's objects, so that its
// CREATE EXTENSION IF NOT EXISTS finds it at the version it had when backed up.
struct ExtensionCreate {
  std::string name;
  std::string version;
  std::string schema;
};

// pg_restore creates every extension at the target's default version (as any dump and
// restore does). When a database recorded one at another version that the target can
// install, all of the database's extensions are created first instead: each at its recorded
// version where the target has it (else the default), those it needs before it. Empty
// when pg_restore alone gives the recorded versions. plpgsql (in every database) is left out.
std::vector<ExtensionCreate> extensions_to_create_first(
    const std::map<std::string, ExtensionVersion>& recorded,
    const std::map<std::string, AvailableExtension>& available);

// A setting the restore left out: the target major does not have it.
struct DroppedSetting {
  std::string name;   // "force_parallel_mode"
  std::string value;  // as written in the source: "'on'", "1min"
  std::string where;  // "postgresql.auto.conf:3", "ALTER ROLE alice", "ALTER DATABASE app"
};

// An extension whose version after the restore differs from the one recorded at backup.
struct ExtensionChange {
  std::string database;
  std::string name;
  std::string backed_up;  // the version in the source database
  std::string restored;   // the version now
  std::string note;       // why
};

// Whether the target server accepts name in a configuration file or in ALTER ... SET:
// one of its own settings (known, lower-case) or a custom name (with a dot), which it
// keeps as a placeholder.
bool setting_exists(const std::set<std::string>& known, const std::string& name);

// The settings assigned in a file of postgresql.conf syntax (include lines excepted): name
// lower-cased, value with single quotes removed, line (1-based).
struct ConfigAssignment {
  std::string name;
  std::string value;
  int line = 0;
};
std::vector<ConfigAssignment> config_assignments(const std::string& text);

// Comments out, in a file of postgresql.conf syntax, every line that assigns a setting the
// target does not have, saying why on the line; what it left out is appended to dropped
// (where: "<file>:<line>").
std::string comment_out_unknown_settings(const std::string& text, const std::string& file,
                                         const std::set<std::string>& known, int target_major,
                                         std::vector<DroppedSetting>* dropped);

// Splits SQL into statements at semicolons outside quotes, double quotes and comments.
// A line that starts with a backslash at a statement's start (a psql meta-command such as
// pg_dumpall's \restrict) is not SQL and is left out. Statements are trimmed, without their
// semicolon.
std::vector<std::string> split_sql_statements(const std::string& sql);

// ALTER DATABASE d SET name TO value, ALTER ROLE r [IN DATABASE d] SET name TO value (or =),
// as pg_dump and pg_dumpall write them.
struct SetStatement {
  std::string name;   // the setting, lower-cased and unquoted
  std::string value;  // the text after TO or =
  std::string where;  // "ALTER DATABASE app", "ALTER ROLE alice IN DATABASE app"
};
std::optional<SetStatement> parse_set_statement(const std::string& statement);

// One failed query pg_restore reported (it goes on without --exit-on-error).
struct PgRestoreError {
  std::string message;  // the server's, e.g. `unrecognized configuration parameter "x"`
  std::string command;  // the SQL of the archive entry that failed
};

// The failed queries in pg_restore's stderr, and the count from its final "errors ignored
// on restore: N" line (-1 when absent), so that a caller can tell that it saw all of them.
struct PgRestoreErrors {
  std::vector<PgRestoreError> errors;
  int ignored = -1;
  std::string first_other;  // the first "pg_restore: error:" line that is not a failed query
};
PgRestoreErrors parse_pg_restore_errors(const std::string& stderr_text);

// The setting named in an `unrecognized configuration parameter "x"` message; "" otherwise.
std::string unrecognized_setting(const std::string& message);

// The extension a failed CREATE EXTENSION or COMMENT ON EXTENSION names when the server
// does not have it (`extension "x" is not available`, `could not open extension control
// file ".../x.control"`, `extension "x" does not exist`); "" otherwise.
std::string missing_extension(const std::string& message);

}  // namespace ramsafe
