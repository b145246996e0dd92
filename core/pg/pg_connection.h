// A libpq client connection (libpq is a client library; the core still never includes
// PostgreSQL server headers). Passwords come only from a passfile, never from conninfo
// strings or argv.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct pg_conn;

namespace ramsafe {

struct ConnectionParams {
  std::string host;  // socket directory or host name; empty = libpq's default
  int port = 5432;
  std::string user;  // empty = libpq's default (the OS user)
  std::string dbname = "postgres";
  std::string passfile;
  std::string application_name = "ramsafe";
  int connect_timeout_seconds = 10;

  // The same target as PG* environment variables for child processes (pg_dump...).
  std::map<std::string, std::optional<std::string>> environment() const;
  std::string describe() const;  // "user@host:port/db", no secrets
};

using Row = std::vector<std::optional<std::string>>;

// The outcome of one statement run by PgConnection::execute.
struct StatementResult {
  bool ok = true;
  std::string sqlstate;  // e.g. "42710" (duplicate_object) when not ok
  std::string message;   // the server's primary message when not ok
};

class PgConnection {
 public:
  explicit PgConnection(const ConnectionParams& params);  // throws Error(kServer)
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  std::vector<Row> query(const std::string& sql, const std::vector<std::string>& params = {});
  std::string scalar(const std::string& sql, const std::vector<std::string>& params = {});
  // Runs one statement through the extended protocol (so text holding two statements is
  // refused by the server) and returns a failure instead of throwing; throws Error(kServer)
  // only when the connection itself fails.
  StatementResult execute(const std::string& sql);
  // A bytea result as raw bytes (query must return one bytea column, one row).
  std::string scalar_bytea(const std::string& sql, const std::vector<std::string>& params = {});
  int server_version_num() const;
  // Where and as whom the connection went, after libpq applied its defaults (PGHOST,
  // PGUSER, the OS user): child programs are pointed at exactly the same server and role.
  std::string connected_host() const;
  std::string connected_user() const;

 private:
  pg_conn* conn_ = nullptr;
  std::string describe_;
};

// Quotes a value for a libpq conninfo string: 'it''s' style with backslash escapes.
std::string conninfo_quote(const std::string& value);

}  // namespace ramsafe
