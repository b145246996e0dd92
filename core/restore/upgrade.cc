#include "core/restore/upgrade.h"

#include <cctype>
#include <cstdlib>
#include <functional>
#include <sstream>

namespace ramsafe {
namespace {

bool is_letter(unsigned char c) {
  return std::isalpha(c) || c == '_' || c >= 0x80;
}

bool is_letter_or_digit(unsigned char c) {
  return is_letter(c) || std::isdigit(c);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// The name a postgresql.conf line assigns (ID or ID.ID..., PostgreSQL's lexer), or "".
// value gets the text after it: the optional '=' dropped, a trailing comment cut.
std::string assignment_on_line(const std::string& line, std::string* value) {
  size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  size_t start = i;
  while (i < line.size() && is_letter(static_cast<unsigned char>(line[i]))) {
    ++i;
    while (i < line.size() && is_letter_or_digit(static_cast<unsigned char>(line[i]))) ++i;
    if (i < line.size() && line[i] == '.') ++i;  // a qualified name: more after the dot
  }
  if (i == start) return "";
  std::string name = lower(line.substr(start, i - start));
  if (name == "include" || name == "include_if_exists" || name == "include_dir") return "";
  if (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i])) && line[i] != '=')
    return "";  // not a name followed by a value
  if (value != nullptr) {
    std::string rest = line.substr(i);
    size_t j = rest.find_first_not_of(" \t");
    if (j != std::string::npos && rest[j] == '=') rest = rest.substr(j + 1);
    bool quoted = false;
    for (size_t k = 0; k < rest.size(); ++k) {
      if (rest[k] == '\'') quoted = !quoted;
      if (rest[k] == '#' && !quoted) {
        rest = rest.substr(0, k);
        break;
      }
    }
    *value = trim(rest);
  }
  return name;
}

// Tokens of one SQL statement: words (upper-cased), identifiers (double quotes removed,
// case kept), string literals (quotes kept), single punctuation characters.
struct Token {
  enum Kind { kWord, kIdent, kString, kPunct } kind;
  std::string text;
  size_t begin = 0;  // offset in the statement
};

std::vector<Token> tokenize(const std::string& s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (std::isspace(c)) {
      ++i;
    } else if (c == '"') {
      size_t b = i++;
      std::string text;
      while (i < s.size()) {
        if (s[i] == '"' && i + 1 < s.size() && s[i + 1] == '"') {
          text += '"';
          i += 2;
        } else if (s[i] == '"') {
          ++i;
          break;
        } else {
          text += s[i++];
        }
      }
      out.push_back({Token::kIdent, text, b});
    } else if (c == '\'') {
      size_t b = i++;
      while (i < s.size()) {
        if (s[i] == '\'' && i + 1 < s.size() && s[i + 1] == '\'')
          i += 2;
        else if (s[i++] == '\'')
          break;
      }
      out.push_back({Token::kString, s.substr(b, i - b), b});
    } else if (is_letter(c) || std::isdigit(c)) {
      size_t b = i;
      while (i < s.size() &&
             (is_letter_or_digit(static_cast<unsigned char>(s[i])) || s[i] == '$' || s[i] == '.'))
        ++i;
      std::string text = s.substr(b, i - b);
      out.push_back({Token::kWord, text, b});
    } else {
      out.push_back({Token::kPunct, std::string(1, s[i]), i});
      ++i;
    }
  }
  return out;
}

bool is_keyword(const Token& t, const char* word) {
  if (t.kind != Token::kWord) return false;
  std::string a = t.text;
  for (char& ch : a) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return a == word;
}

// An identifier as written (quoted or not), for messages: "app", "\"My DB\"".
bool is_name(const Token& t) {
  return t.kind == Token::kWord || t.kind == Token::kIdent;
}

std::string shown_name(const Token& t) {
  if (t.kind == Token::kIdent) {
    std::string out = "\"";
    for (char c : t.text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
  }
  return t.text;
}

}  // namespace

bool setting_exists(const std::set<std::string>& known, const std::string& name) {
  return name.find('.') != std::string::npos || known.count(lower(name)) > 0;
}

std::vector<ConfigAssignment> config_assignments(const std::string& text) {
  std::vector<ConfigAssignment> out;
  std::istringstream in(text);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::string value;
    std::string name = assignment_on_line(line, &value);
    if (name.empty()) continue;
    if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'')
      value = value.substr(1, value.size() - 2);
    out.push_back({name, value, number});
  }
  return out;
}

std::string comment_out_unknown_settings(const std::string& text, const std::string& file,
                                         const std::set<std::string>& known, int target_major,
                                         std::vector<DroppedSetting>* dropped) {
  std::string out;
  size_t pos = 0;
  for (int number = 1; pos < text.size(); ++number) {
    size_t end = text.find('\n', pos);
    std::string line = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? text.size() : end + 1;
    std::string value;
    std::string name = assignment_on_line(line, &value);
    if (!name.empty() && !setting_exists(known, name)) {
      std::string where = file;
      where += ':';
      where += std::to_string(number);
      dropped->push_back({name, value, where});
      out += '#';
      out += line;
      out += "    # left out by ramsafe restore: PostgreSQL ";
      out += std::to_string(target_major);
      out += " has no setting ";
      out += name;
    } else {
      out += line;
    }
    if (end != std::string::npos) out += '\n';
  }
  return out;
}

std::vector<std::string> split_sql_statements(const std::string& sql) {
  std::vector<std::string> out;
  std::string current;
  bool at_start = true;  // nothing but whitespace since the last statement ended
  size_t i = 0;
  auto finish = [&] {
    std::string s = trim(current);
    if (!s.empty()) out.push_back(s);
    current.clear();
    at_start = true;
  };
  while (i < sql.size()) {
    char c = sql[i];
    if (at_start && c == '\\') {  // a psql meta-command line
      size_t eol = sql.find('\n', i);
      i = eol == std::string::npos ? sql.size() : eol + 1;
      continue;
    }
    if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {  // comment to end of line
      size_t eol = sql.find('\n', i);
      i = eol == std::string::npos ? sql.size() : eol + 1;
      current += '\n';
      continue;
    }
    if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      size_t close = sql.find("*/", i + 2);
      i = close == std::string::npos ? sql.size() : close + 2;
      current += ' ';
      continue;
    }
    if (c == '\'' || c == '"') {
      size_t b = i++;
      while (i < sql.size()) {
        if (sql[i] == c && i + 1 < sql.size() && sql[i + 1] == c)
          i += 2;
        else if (sql[i++] == c)
          break;
      }
      current += sql.substr(b, i - b);
      at_start = false;
      continue;
    }
    if (c == ';') {
      ++i;
      finish();
      continue;
    }
    if (!std::isspace(static_cast<unsigned char>(c))) at_start = false;
    current += c;
    ++i;
  }
  finish();
  return out;
}

std::optional<SetStatement> parse_set_statement(const std::string& statement) {
  std::vector<Token> t = tokenize(statement);
  size_t i = 0;
  auto next_is = [&](const char* word) { return i < t.size() && is_keyword(t[i], word); };
  if (!next_is("ALTER")) return std::nullopt;
  ++i;
  SetStatement s;
  if (next_is("DATABASE")) {
    ++i;
    if (i >= t.size() || !is_name(t[i])) return std::nullopt;
    s.where = "ALTER DATABASE " + shown_name(t[i++]);
  } else if (next_is("ROLE") || next_is("USER")) {
    ++i;
    if (i >= t.size() || !is_name(t[i])) return std::nullopt;
    s.where = "ALTER ROLE " + shown_name(t[i++]);
    if (next_is("IN")) {
      ++i;
      if (!next_is("DATABASE")) return std::nullopt;
      ++i;
      if (i >= t.size() || !is_name(t[i])) return std::nullopt;
      s.where += " IN DATABASE " + shown_name(t[i++]);
    }
  } else {
    return std::nullopt;
  }
  if (!next_is("SET")) return std::nullopt;
  ++i;
  if (i >= t.size() || !is_name(t[i])) return std::nullopt;
  s.name = lower(t[i].text);  // setting names are case-insensitive, quoted or not
  ++i;
  if (!(next_is("TO") || (i < t.size() && t[i].kind == Token::kPunct && t[i].text == "=")))
    return std::nullopt;
  ++i;
  if (i >= t.size()) return std::nullopt;
  s.value = trim(statement.substr(t[i].begin));
  return s;
}

PgRestoreErrors parse_pg_restore_errors(const std::string& stderr_text) {
  PgRestoreErrors out;
  const std::string kQuery = "pg_restore: error: could not execute query: ";
  const std::string kCommand = "Command was: ";
  const std::string kIgnored = "pg_restore: warning: errors ignored on restore: ";
  std::vector<std::string> lines;
  std::istringstream in(stderr_text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.compare(0, kQuery.size(), kQuery) == 0) {
      PgRestoreError e;
      e.message = line.substr(kQuery.size());
      if (e.message.compare(0, 6, "ERROR:") == 0) e.message = trim(e.message.substr(6));
      // The server's message may run over lines (DETAIL, HINT) until "Command was:".
      size_t j = i + 1;
      while (j < lines.size() && lines[j].compare(0, kCommand.size(), kCommand) != 0 &&
             lines[j].compare(0, 11, "pg_restore:") != 0)
        ++j;
      if (j < lines.size() && lines[j].compare(0, kCommand.size(), kCommand) == 0) {
        std::string command = lines[j].substr(kCommand.size());
        for (++j; j < lines.size() && lines[j].compare(0, 11, "pg_restore:") != 0; ++j)
          command += "\n" + lines[j];
        e.command = trim(command);
      }
      out.errors.push_back(std::move(e));
      i = j - 1;
    } else if (line.compare(0, kIgnored.size(), kIgnored) == 0) {
      char* end = nullptr;
      long n = std::strtol(line.c_str() + kIgnored.size(), &end, 10);
      out.ignored = n >= 0 && n < 1000000 ? static_cast<int>(n) : -1;
    } else if (line.compare(0, 18, "pg_restore: error:") == 0 && out.first_other.empty()) {
      out.first_other = line;
    }
  }
  return out;
}

std::vector<ExtensionCreate> extensions_to_create_first(
    const std::map<std::string, ExtensionVersion>& recorded,
    const std::map<std::string, AvailableExtension>& available) {
  bool needed = false;
  std::map<std::string, ExtensionCreate> chosen;
  for (const auto& [name, ext] : recorded) {
    auto it = available.find(name);
    if (name == "plpgsql" || it == available.end()) continue;
    bool installable = it->second.needs.count(ext.version) > 0;
    if (installable && ext.version != it->second.default_version) needed = true;
    chosen[name] = {name, installable ? ext.version : it->second.default_version, ext.schema};
  }
  if (!needed) return {};
  // Requirements first (depth first over what each chosen version requires).
  std::vector<ExtensionCreate> out;
  std::set<std::string> placed, visiting;
  std::function<void(const std::string&)> place = [&](const std::string& name) {
    if (placed.count(name) || visiting.count(name) || !chosen.count(name)) return;
    visiting.insert(name);
    const ExtensionCreate& e = chosen.at(name);
    const auto& req = available.at(name).needs;
    if (auto r = req.find(e.version); r != req.end())
      for (const auto& dep : r->second) place(dep);
    visiting.erase(name);
    placed.insert(name);
    out.push_back(e);
  };
  for (const auto& [name, e] : chosen) place(name);
  return out;
}

std::string unrecognized_setting(const std::string& message) {
  const std::string kPrefix = "unrecognized configuration parameter \"";
  size_t at = message.find(kPrefix);
  if (at == std::string::npos) return "";
  size_t b = at + kPrefix.size();
  size_t e = message.find('"', b);
  return e == std::string::npos ? "" : message.substr(b, e - b);
}

std::string missing_extension(const std::string& message) {
  for (const char* suffix : {"\" is not available", "\" does not exist"}) {
    const std::string prefix = "extension \"";
    size_t end = message.find(suffix);
    size_t begin = message.rfind(prefix, end);
    if (end != std::string::npos && begin != std::string::npos && message.find(prefix) == 0)
      return message.substr(begin + prefix.size(), end - begin - prefix.size());
  }
  const std::string control = "could not open extension control file \"";
  if (size_t at = message.find(control); at != std::string::npos) {
    size_t end = message.find(".control\"", at);
    size_t slash = message.rfind('/', end);
    if (end != std::string::npos && slash != std::string::npos && slash > at)
      return message.substr(slash + 1, end - slash - 1);
  }
  return "";
}

}  // namespace ramsafe
