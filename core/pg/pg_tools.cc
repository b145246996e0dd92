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

std::string debian_bindir(int major) {
  return "/usr/lib/postgresql/" + std::to_string(major) + "/bin";
}

}  // namespace

// Debian installs each major version under /usr/lib/postgresql/<major>/bin; /usr/bin only
// holds wrappers that lack initdb and postgres.
std::vector<int> installed_majors() {
  std::vector<int> majors;
  if (is_directory("/usr/lib/postgresql"))
    for (const auto& name : list_dir("/usr/lib/postgresql"))
      if (!name.empty() && name.size() < 4 && std::all_of(name.begin(), name.end(), ::isdigit) &&
          has_tools(debian_bindir(std::stoi(name))))
        majors.push_back(std::stoi(name));
  std::sort(majors.rbegin(), majors.rend());
  return majors;
}

namespace {

std::string newest_debian_bindir() {
  std::vector<int> majors = installed_majors();
  return majors.empty() ? "" : debian_bindir(majors.front());
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
      candidates.push_back(debian_bindir(server_major));
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
  tools.major = major_from_version_string(tools.version_string("pg_dump"));
  if (tools.major < server_major)
    throw Error(Errc::kConfig, tools.path("pg_dump") + " is version " +
                                   std::to_string(tools.major) + ", older than the server (" +
                                   std::to_string(server_major) +
                                   "); set ramsafe.bindir to PostgreSQL " +
                                   std::to_string(server_major) + "'s bin directory");
  return tools;
}

PgTools find_pg_tools_of_major(const std::string& configured_bindir, int major) {
  std::vector<std::string> candidates = {configured_bindir, debian_bindir(major),
                                         pg_config_bindir()};
  std::string in_path = find_program("pg_dump");
  if (!in_path.empty()) candidates.push_back(parent_dir(in_path));
  std::vector<std::string> tried;
  for (const auto& c : candidates) {
    if (c.empty() || std::find(tried.begin(), tried.end(), c) != tried.end()) continue;
    tried.push_back(c);
    if (!has_tools(c)) continue;
    PgTools tools{c};
    tools.major = major_from_version_string(tools.version_string("pg_dump"));
    if (tools.major == major) return tools;
  }
  std::string list;
  for (const auto& t : tried) list += (list.empty() ? "" : ", ") + t;
  throw Error(Errc::kNotFound, "cannot find the programs of PostgreSQL " + std::to_string(major) +
                                   " (pg_dump, initdb of that major; looked in " + list +
                                   "): install it (Debian: postgresql-" + std::to_string(major) +
                                   ") or name its bin directory with --bindir");
}

PgTools pg_tools_in(const std::string& dir, const std::string& what) {
  if (!has_tools(dir))
    throw Error(Errc::kNotFound,
                what + " = '" + dir + "' does not hold PostgreSQL's programs (pg_dump, initdb)");
  PgTools tools{dir};
  tools.major = major_from_version_string(tools.version_string("pg_dump"));
  if (tools.major == 0)
    throw Error(Errc::kNotFound, "cannot read the version of " + tools.path("pg_dump"));
  return tools;
}

}  // namespace ramsafe
