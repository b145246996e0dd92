#include "core/pg/pg_tools.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <regex>

#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/process.h"

namespace ramsafe {

std::string PgTools::path(const std::string& program) const {
  return join_path(bindir, program);
}

std::string PgTools::version_string(const std::string& program) const {
  ProcessOptions options;
  options.argv = {path(program), "--version"};
  options.pipe_stdout = true;
  ChildProcess child(options);
  std::string out;
  char buf[512];
  for (;;) {
    size_t n = read_some(child.stdout_pipe().get(), buf, sizeof buf, program + " --version");
    if (n == 0 || out.size() > 4096) break;
    out.append(buf, n);
  }
  child.wait_success();
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

int major_from_version_string(const std::string& version) {
  static const std::regex re(R"(\) (\d+)(\.\d+)?)");
  std::smatch m;
  if (std::regex_search(version, m, re)) return std::stoi(m[1].str());
  return 0;
}

namespace {

bool has_tools(const std::string& dir) {
  return ::access(join_path(dir, "pg_dump").c_str(), X_OK) == 0 &&
         ::access(join_path(dir, "initdb").c_str(), X_OK) == 0;
}

// Debian installs each major version under /usr/lib/postgresql/<major>/bin; /usr/bin only
// holds wrappers that lack initdb and postgres.
std::string newest_debian_bindir() {
  int best = 0;
  if (is_directory("/usr/lib/postgresql"))
    for (const auto& name : list_dir("/usr/lib/postgresql"))
      if (std::all_of(name.begin(), name.end(), ::isdigit) &&
          has_tools("/usr/lib/postgresql/" + name + "/bin"))
        best = std::max(best, std::stoi(name));
  return best ? "/usr/lib/postgresql/" + std::to_string(best) + "/bin" : "";
}

std::string pg_config_bindir() {
  std::string pg_config = find_program("pg_config");
  if (pg_config.empty()) return "";
  ProcessOptions options;
  options.argv = {pg_config, "--bindir"};
  options.pipe_stdout = true;
  ChildProcess child(options);
  char buf[1024];
  size_t n = read_full(child.stdout_pipe().get(), buf, sizeof buf - 1, "pg_config --bindir");
  if (!child.wait().success()) return "";
  std::string dir(buf, n);
  while (!dir.empty() && (dir.back() == '\n' || dir.back() == ' ')) dir.pop_back();
  return dir;
}

}  // namespace

PgTools find_pg_tools(const std::string& configured_bindir, int server_major) {
  std::string bindir;
  std::vector<std::string> tried;
  if (!configured_bindir.empty()) {
    if (!has_tools(configured_bindir))
      throw Error(Errc::kNotFound, "ramsafe.bindir = '" + configured_bindir +
                                       "' does not hold PostgreSQL's programs (pg_dump, initdb)");
    bindir = configured_bindir;
  } else {
    std::vector<std::string> candidates;
    if (server_major > 0)
      candidates.push_back("/usr/lib/postgresql/" + std::to_string(server_major) + "/bin");
    else
      candidates.push_back(newest_debian_bindir());
    candidates.push_back(pg_config_bindir());
    std::string in_path = find_program("pg_dump");
    if (!in_path.empty()) candidates.push_back(parent_dir(in_path));
    for (const auto& c : candidates) {
      if (c.empty()) continue;
      tried.push_back(c);
      if (has_tools(c)) {
        bindir = c;
        break;
      }
    }
  }
  std::string version =
      server_major > 0 ? "PostgreSQL " + std::to_string(server_major) : "PostgreSQL";
  if (bindir.empty()) {
    std::string list;
    for (const auto& t : tried) list += (list.empty() ? "" : ", ") + t;
    throw Error(Errc::kNotFound, "cannot find the programs of " + version +
                                     " (pg_dump, initdb; looked in " +
                                     (list.empty() ? "PATH" : list) + "); set ramsafe.bindir");
  }
  PgTools tools{bindir};
  int major = major_from_version_string(tools.version_string("pg_dump"));
  if (major < server_major)
    throw Error(Errc::kConfig, tools.path("pg_dump") + " is version " + std::to_string(major) +
                                   ", older than the server (" + std::to_string(server_major) +
                                   "); set ramsafe.bindir to PostgreSQL " +
                                   std::to_string(server_major) + "'s bin directory");
  return tools;
}

}  // namespace ramsafe
