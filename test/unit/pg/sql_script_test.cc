#include "core/pg/sql_script.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace ramsafe {
namespace {

// pg_dumpall --globals-only of PostgreSQL 15.20, trimmed: \restrict lines, E'' strings with
// a backslash and a semicolon, a quoted name with a quote, a tablespace.
const char* const kDump = R"(--
-- PostgreSQL database cluster dump
--

\restrict EnbWxwoLScG0iuJmRTwzVE7L8gBVma1p8xWEakcoFtLXtBaDa7oYg8qa2hCDcQg

SET default_transaction_read_only = off;

SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

--
-- Roles
--

CREATE ROLE "Bob's";
ALTER ROLE "Bob's" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
CREATE ROLE alice;
ALTER ROLE alice WITH LOGIN PASSWORD 'SCRAM-SHA-256$4096:pUuQ==$v1uk=:2Xd9=';
COMMENT ON ROLE alice IS E'a ; comment \\ with '' quote $$ x\';\\';
CREATE ROLE postgres;
ALTER ROLE alice SET search_path TO 'a;b';
GRANT alice TO "Bob's" GRANTED BY postgres;
GRANT SET ON PARAMETER work_mem TO alice;
CREATE TABLESPACE t1 OWNER postgres LOCATION '/srv/ts';
ALTER TABLESPACE t1 SET (random_page_cost=2);
/* a block /* nested */ comment; */
COMMENT ON TABLESPACE t1 IS $x$ dollar ; quoted \! $x$;

\unrestrict EnbWxwoLScG0iuJmRTwzVE7L8gBVma1p8xWEakcoFtLXtBaDa7oYg8qa2hCDcQg

--
-- PostgreSQL database cluster dump complete
--
)";

std::string error_of(const std::string& script) {
  try {
    globals_statements(script, "set/globals.sql.zst.age");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kCorrupt);
    return e.what();
  }
  return "";
}

TEST(GlobalsScript, SplitsWhatPgDumpallWrites) {
  auto statements = globals_statements(kDump, "globals");
  ASSERT_EQ(statements.size(), 15u);
  EXPECT_EQ(statements[0], "SET default_transaction_read_only = off;");
  EXPECT_EQ(statements[3], "CREATE ROLE \"Bob's\";");
  EXPECT_EQ(statements[7],
            "COMMENT ON ROLE alice IS E'a ; comment \\\\ with '' quote $$ x\\';\\\\';");
  EXPECT_EQ(statements[9], "ALTER ROLE alice SET search_path TO 'a;b';");
  EXPECT_EQ(statements[13], "ALTER TABLESPACE t1 SET (random_page_cost=2);");
  EXPECT_EQ(statements[14], "COMMENT ON TABLESPACE t1 IS $x$ dollar ; quoted \\! $x$;");
}

TEST(GlobalsScript, ScriptsWithoutRestrictLinesWork) {
  auto statements = globals_statements("SET a = 1;\nCREATE ROLE x;\n", "globals");
  EXPECT_EQ(statements.size(), 2u);
  EXPECT_TRUE(globals_statements("-- nothing\n", "globals").empty());
}

TEST(GlobalsScript, RefusesPsqlMetaCommands) {
  std::string message = error_of("CREATE ROLE x;\n\\! touch /tmp/pwned\n");
  EXPECT_EQ(message,
            "set/globals.sql.zst.age, line 2: holds the psql meta-command \"\\!\"; ramsafe "
            "restores globals as SQL only and refuses the set");
  EXPECT_NE(error_of("CREATE ROLE x; \\copy t to '/tmp/x'\n").find("\\copy"), std::string::npos);
  EXPECT_NE(error_of("CREATE ROLE x \\gexec\n").find("\\gexec"), std::string::npos);
  EXPECT_NE(error_of("\\set ON_ERROR_STOP 0\n").find("\\set"), std::string::npos);
  // \restrict only as a whole line between statements, with a key.
  EXPECT_NE(error_of("\\restrict\n").find("meta-command"), std::string::npos);
  EXPECT_NE(error_of("\\restrict abc \\! id\n").find("meta-command"), std::string::npos);
  EXPECT_NE(error_of("CREATE ROLE x\n\\restrict abc\n;").find("meta-command"), std::string::npos);
  EXPECT_NE(error_of("\\unrestrict abc\n\\o /tmp/x\n").find("\\o"), std::string::npos);
}

TEST(GlobalsScript, RefusesStatementsGlobalsNeverHold) {
  std::string message =
      error_of("CREATE ROLE x;\nCOPY (SELECT 1) TO PROGRAM 'touch /tmp/pwned';\n");
  EXPECT_NE(message.find("line 2: holds a statement pg_dumpall does not write"), std::string::npos)
      << message;
  EXPECT_NE(error_of("DO $$ BEGIN PERFORM 1; END $$;").find("does not write"), std::string::npos);
  EXPECT_NE(error_of("SELECT pg_read_file('/etc/passwd');").find("does not write"),
            std::string::npos);
  EXPECT_NE(error_of("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1';")
                .find("does not write"),
            std::string::npos);
  // A string that hides a semicolon does not split: this is one COMMENT statement.
  EXPECT_EQ(globals_statements("COMMENT ON ROLE x IS '; COPY x TO PROGRAM ''id''';", "g").size(),
            1u);
}

TEST(GlobalsScript, RefusesUnterminatedLiterals) {
  EXPECT_NE(error_of("COMMENT ON ROLE x IS 'open;").find("unterminated string"), std::string::npos);
  EXPECT_NE(error_of("CREATE ROLE \"x;").find("unterminated quoted identifier"), std::string::npos);
  EXPECT_NE(error_of("/* open").find("unterminated /* comment"), std::string::npos);
  EXPECT_NE(error_of("COMMENT ON ROLE x IS $a$ open").find("unterminated dollar"),
            std::string::npos);
}

}  // namespace
}  // namespace ramsafe
