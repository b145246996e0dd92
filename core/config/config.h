// PostgreSQL configuration-file syntax (name = value, '' quoting, # comments, include,
// include_if_exists, include_dir), the one format both readers of ramsafe's settings use:
// the extension through GUCs, the companion through this parser before the server runs.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace ramsafe::config {

struct Location {
  std::string file;
  int line = 0;
  std::string describe() const;  // "file:line"
};

struct RawSetting {
  std::string name;   // lower-cased, as PostgreSQL does
  std::string value;  // unquoted, escapes resolved
  Location where;
};

struct ParsedConfig {
  std::map<std::string, RawSetting> settings;  // last assignment wins, like PostgreSQL
  // Absolute paths of the files read, each once, in the order first read. parse_text's
  // own text is not a file read, so only what it includes appears here.
  std::vector<std::string> files_read;
};

// Parses a file and everything it includes. Relative include paths are relative to the
// including file's directory. Throws Error(kConfig) naming file and line for a syntax
// error, a missing include (include_if_exists excepted) or an include cycle.
ParsedConfig parse_file(const std::string& path);
// As parse_file for text not read from a file: source_name stands for the file in
// messages and locations, and relative includes resolve against base_dir (the current
// directory when empty).
ParsedConfig parse_text(const std::string& text, const std::string& source_name,
                        const std::string& base_dir);

// Puts text in double quotes for a message, escaping quotes, backslashes and control
// characters so that a stray newline or escape sequence cannot garble the message.
std::string quote_for_message(const std::string& text);

}  // namespace ramsafe::config
