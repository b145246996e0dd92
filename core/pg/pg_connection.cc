#include "core/pg/pg_connection.h"

#include <libpq-fe.h>

#include "core/error.h"

namespace ramsafe {
namespace {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

constexpr int kTextResult = 0;
constexpr int kBinaryResult = 1;

// PQexecParams with text parameters; the result may be null or an error result.
ResultPtr exec_params(PGconn* conn, const std::string& sql, const std::vector<std::string>& params,
                      int result_format) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  return ResultPtr(PQexecParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                values.data(), nullptr, nullptr, result_format));
}

std::string trim_message(std::string m) {
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

}  // namespace

std::map<std::string, std::optional<std::string>> ConnectionParams::environment() const {
  std::map<std::string, std::optional<std::string>> env;
  env["PGHOST"] = host.empty() ? std::nullopt : std::optional<std::string>(host);
  env["PGHOSTADDR"] = std::nullopt;
  env["PGPORT"] = std::to_string(port);
  env["PGUSER"] = user.empty() ? std::nullopt : std::optional<std::string>(user);
  env["PGPASSFILE"] = passfile.empty() ? std::nullopt : std::optional<std::string>(passfile);
  env["PGAPPNAME"] = application_name;
  env["PGCONNECT_TIMEOUT"] = std::to_string(connect_timeout_seconds);
  env["PGSERVICE"] = std::nullopt;  // a service file could redirect us elsewhere
  env["PGOPTIONS"] = std::nullopt;
  env["PGDATABASE"] = std::nullopt;
  return env;
}

std::string PgConnection::connected_host() const {
  const char* host = PQhost(conn_);
  return host ? host : "";
}

std::string PgConnection::connected_user() const {
  const char* user = PQuser(conn_);
  return user ? user : "";
}

std::string ConnectionParams::describe() const {
  return (user.empty() ? std::string("(default user)") : user) + "@" +
         (host.empty() ? std::string("(default host)") : host) + ":" + std::to_string(port) + "/" +
         dbname;
}

std::string conninfo_quote(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

PgConnection::PgConnection(const ConnectionParams& params) : describe_(params.describe()) {
  std::string port = std::to_string(params.port);
  std::string timeout = std::to_string(params.connect_timeout_seconds);
  std::vector<const char*> keys, values;
  auto add = [&](const char* k, const std::string& v) {
    if (!v.empty()) {
      keys.push_back(k);
      values.push_back(v.c_str());
    }
  };
  add("host", params.host);
  add("port", port);
  add("user", params.user);
  add("dbname", params.dbname);
  add("passfile", params.passfile);
  add("application_name", params.application_name);
  add("connect_timeout", timeout);
  keys.push_back(nullptr);
  values.push_back(nullptr);
  conn_ = PQconnectdbParams(keys.data(), values.data(), 0);
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    std::string message = conn_ ? trim_message(PQerrorMessage(conn_)) : "out of memory";
    PQfinish(conn_);
    conn_ = nullptr;
    throw Error(Errc::kServer, "cannot connect to " + describe_ + ": " + message);
  }
}

PgConnection::~PgConnection() {
  PQfinish(conn_);
}

std::vector<Row> PgConnection::query(const std::string& sql,
                                     const std::vector<std::string>& params) {
  ResultPtr res = exec_params(conn_, sql, params, kTextResult);
  ExecStatusType status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
    throw Error(Errc::kServer,
                "query on " + describe_ + " failed: " + trim_message(PQerrorMessage(conn_)));
  std::vector<Row> rows;
  int n = PQntuples(res.get()), m = PQnfields(res.get());
  rows.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    Row row;
    for (int j = 0; j < m; ++j) {
      if (PQgetisnull(res.get(), i, j))
        row.emplace_back(std::nullopt);
      else
        row.emplace_back(std::string(PQgetvalue(res.get(), i, j),
                                     static_cast<size_t>(PQgetlength(res.get(), i, j))));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

StatementResult PgConnection::execute(const std::string& sql) {
  ResultPtr res = exec_params(conn_, sql, {}, kTextResult);
  ExecStatusType status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  StatementResult out;
  if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) return out;
  if (PQstatus(conn_) != CONNECTION_OK)
    throw Error(Errc::kServer,
                "lost the connection to " + describe_ + ": " + trim_message(PQerrorMessage(conn_)));
  out.ok = false;
  const char* state = res ? PQresultErrorField(res.get(), PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = res ? PQresultErrorField(res.get(), PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  out.sqlstate = state ? state : "";
  out.message = primary ? primary : trim_message(PQerrorMessage(conn_));
  return out;
}

std::string PgConnection::scalar(const std::string& sql, const std::vector<std::string>& params) {
  auto rows = query(sql, params);
  if (rows.size() != 1 || rows[0].empty() || !rows[0][0])
    throw Error(Errc::kServer, "query on " + describe_ + " returned no value: " + sql);
  return *rows[0][0];
}

std::string PgConnection::scalar_bytea(const std::string& sql,
                                       const std::vector<std::string>& params) {
  // Binary result format: the bytes arrive as they are, no hex decoding.
  ResultPtr res = exec_params(conn_, sql, params, kBinaryResult);
  if (!res || PQresultStatus(res.get()) != PGRES_TUPLES_OK)
    throw Error(Errc::kServer,
                "query on " + describe_ + " failed: " + trim_message(PQerrorMessage(conn_)));
  if (PQntuples(res.get()) != 1 || PQgetisnull(res.get(), 0, 0))
    throw Error(Errc::kServer, "query on " + describe_ + " returned no value: " + sql);
  return std::string(PQgetvalue(res.get(), 0, 0),
                     static_cast<size_t>(PQgetlength(res.get(), 0, 0)));
}

int PgConnection::server_version_num() const {
  return PQserverVersion(conn_);
}

}  // namespace ramsafe
