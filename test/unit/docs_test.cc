// The documentation names what the code has: every ramsafe.* setting is documented in
// docs/configuration.md, and the README's command table lists every companion subcommand.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/config/settings.h"
#include "core/io/paths.h"
#include "core/io/unique_fd.h"

namespace ramsafe {
namespace {

// The companion's subcommands (companion/commands.cc; the companion is not linked here).
const std::vector<std::string> kSubcommands = {
    "backup",  "restore",     "list",      "verify",      "upload", "prune",   "keygen",
    "decrypt", "drive-login", "wal-fetch", "base-backup", "check",  "metrics", "snapshot"};

std::string source_file(const std::string& relative) {
  return read_file(join_path(RAMSAFE_SOURCE_DIR, relative));
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

TEST(DocsTest, ConfigurationNamesEverySetting) {
  std::string doc = source_file("docs/configuration.md");
  for (const SettingDef& def : setting_defs()) {
    EXPECT_NE(doc.find("`" + def.name + "`"), std::string::npos)
        << "docs/configuration.md does not mention `" << def.name << "`";
  }
}

TEST(DocsTest, ConfigurationHasOneHeadingPerSetting) {
  const std::string prefix = "### `";
  std::multiset<std::string> headings;
  for (const std::string& line : lines_of(source_file("docs/configuration.md"))) {
    if (!starts_with(line, prefix + "ramsafe.")) continue;
    size_t end = line.find('`', prefix.size());
    ASSERT_NE(end, std::string::npos) << "unterminated heading: " << line;
    headings.insert(line.substr(prefix.size(), end - prefix.size()));
  }
  std::multiset<std::string> names;
  for (const SettingDef& def : setting_defs()) names.insert(def.name);
  EXPECT_EQ(headings, names) << "docs/configuration.md needs exactly one \"### `ramsafe.<name>`\" "
                                "heading per setting of setting_defs()";
}

TEST(DocsTest, ReadmeCommandTableListsEverySubcommand) {
  const std::string prefix = "| `ramsafe ";
  std::set<std::string> rows;
  for (const std::string& line : lines_of(source_file("README.md"))) {
    if (!starts_with(line, prefix)) continue;
    size_t end = line.find_first_of(" `", prefix.size());
    ASSERT_NE(end, std::string::npos) << "malformed command row: " << line;
    rows.insert(line.substr(prefix.size(), end - prefix.size()));
  }
  for (const std::string& command : kSubcommands)
    EXPECT_EQ(rows.count(command), 1u)
        << "README.md's command table has no row for `ramsafe " << command << "`";
  EXPECT_EQ(rows, std::set<std::string>(kSubcommands.begin(), kSubcommands.end()))
      << "README.md's command table lists a command the companion does not have";
}

}  // namespace
}  // namespace ramsafe
