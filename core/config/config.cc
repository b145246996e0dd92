#include "core/config/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <set>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/unique_fd.h"

namespace ramsafe::config {

std::string Location::describe() const {
  return file + ":" + std::to_string(line);
}

namespace {

// PostgreSQL's CONF_FILE_MAX_DEPTH: the outer file is depth 0, a file it includes depth 1.
constexpr int kMaxIncludeDepth = 10;
constexpr size_t kMaxConfigFileSize = 16u << 20;

// The lexer mirrors guc-file.l token for token, including flex's rule of taking the
// longest match and, between equally long matches, the rule listed first.
enum class TokenKind {
  kId,
  kQualifiedId,
  kString,
  kUnquotedString,
  kInteger,
  kReal,
  kEquals,
  kError,
  kEndOfLine,
  kEndOfInput,
};

struct Token {
  TokenKind kind = TokenKind::kEndOfInput;
  std::string text;
};

bool is_letter(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || u == '_' || u >= 0x80;
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_letter_or_digit(char c) {
  return is_letter(c) || is_digit(c);
}
bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_unit_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

class Lexer {
 public:
  explicit Lexer(const std::string& text) : text_(text) {}

  int line() const { return line_; }

  Token next() {
    skip_blanks_and_comment();
    if (pos_ >= text_.size()) return Token{TokenKind::kEndOfInput, ""};
    if (text_[pos_] == '\n') {
      ++pos_;
      ++line_;
      return Token{TokenKind::kEndOfLine, "\n"};
    }
    // Candidates in guc-file.l's rule order; the first of the longest wins.
    const std::pair<TokenKind, size_t> candidates[] = {
        {TokenKind::kId, match_id(pos_)},
        {TokenKind::kQualifiedId, match_qualified_id()},
        {TokenKind::kString, match_string()},
        {TokenKind::kUnquotedString, match_unquoted_string()},
        {TokenKind::kInteger, match_integer()},
        {TokenKind::kReal, match_real()},
        {TokenKind::kEquals, text_[pos_] == '=' ? size_t{1} : 0},
        {TokenKind::kError, 1},
    };
    std::pair<TokenKind, size_t> best = candidates[0];
    for (const auto& candidate : candidates) {
      if (candidate.second > best.second) best = candidate;
    }
    Token token{best.first, text_.substr(pos_, best.second)};
    pos_ += best.second;
    return token;
  }

 private:
  char at(size_t pos) const { return pos < text_.size() ? text_[pos] : '\0'; }

  void skip_blanks_and_comment() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\r'))
      ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '#') {
      while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
    }
  }

  // ID: {LETTER}{LETTER_OR_DIGIT}*
  size_t match_id(size_t start) const {
    if (!is_letter(at(start))) return 0;
    size_t end = start + 1;
    while (end < text_.size() && is_letter_or_digit(text_[end])) ++end;
    return end - start;
  }

  // QUALIFIED_ID: {ID}"."{ID}
  size_t match_qualified_id() const {
    size_t first = match_id(pos_);
    if (first == 0 || at(pos_ + first) != '.') return 0;
    size_t second = match_id(pos_ + first + 1);
    return second == 0 ? 0 : first + 1 + second;
  }

  // UNQUOTED_STRING: {LETTER}({LETTER_OR_DIGIT}|[-._:/])*
  size_t match_unquoted_string() const {
    if (!is_letter(at(pos_))) return 0;
    size_t end = pos_ + 1;
    while (end < text_.size()) {
      char c = text_[end];
      if (!is_letter_or_digit(c) && c != '-' && c != '.' && c != '_' && c != ':' && c != '/') break;
      ++end;
    }
    return end - pos_;
  }

  // STRING: \'([^'\\\n]|\\.|\'\')*\'  -- the longest quoted run that closes on this line.
  size_t match_string() const {
    if (at(pos_) != '\'') return 0;
    size_t longest = 0;
    size_t i = pos_ + 1;
    while (i < text_.size()) {
      char c = text_[i];
      if (c == '\n') break;
      if (c == '\\') {
        if (i + 1 >= text_.size() || text_[i + 1] == '\n') break;
        i += 2;
      } else if (c == '\'') {
        longest = i + 1 - pos_;  // a closing quote here ends a match...
        if (at(i + 1) != '\'') break;
        i += 2;  // ...but '' may instead continue a longer one
      } else {
        ++i;
      }
    }
    return longest;
  }

  size_t match_sign(size_t start) const { return (at(start) == '-' || at(start) == '+') ? 1 : 0; }

  size_t match_unit_letters(size_t start) const {
    size_t end = start;
    while (end < text_.size() && is_unit_letter(text_[end])) ++end;
    return end - start;
  }

  // INTEGER: {SIGN}?({DIGIT}+|0x{HEXDIGIT}+){UNIT_LETTER}*
  size_t match_integer() const {
    size_t start = pos_ + match_sign(pos_);
    size_t longest = 0;
    size_t end = start;
    while (end < text_.size() && is_digit(text_[end])) ++end;
    if (end > start) longest = end + match_unit_letters(end) - pos_;
    if (at(start) == '0' && at(start + 1) == 'x' && is_hex_digit(at(start + 2))) {
      end = start + 2;
      while (end < text_.size() && is_hex_digit(text_[end])) ++end;
      longest = std::max(longest, end + match_unit_letters(end) - pos_);
    }
    return longest;
  }

  // REAL: {SIGN}?{DIGIT}*"."{DIGIT}*{EXPONENT}?  with EXPONENT: [Ee]{SIGN}?{DIGIT}+
  size_t match_real() const {
    size_t end = pos_ + match_sign(pos_);
    while (end < text_.size() && is_digit(text_[end])) ++end;
    if (at(end) != '.') return 0;
    ++end;
    while (end < text_.size() && is_digit(text_[end])) ++end;
    if (at(end) == 'e' || at(end) == 'E') {
      size_t digits = end + 1 + match_sign(end + 1);
      size_t exponent_end = digits;
      while (exponent_end < text_.size() && is_digit(text_[exponent_end])) ++exponent_end;
      if (exponent_end > digits) end = exponent_end;
    }
    return end - pos_;
  }

  const std::string& text_;
  size_t pos_ = 0;
  int line_ = 1;
};

// Strips the quotes and resolves '' and backslash escapes as PostgreSQL's
// DeescapeQuotedString does. PostgreSQL keeps values as C strings, so an escaped NUL
// (\0) ends the value there; so it does here.
std::string deescape_quoted(const std::string& quoted) {
  std::string out;
  const size_t end = quoted.size() - 1;  // the closing quote
  for (size_t i = 1; i < end; ++i) {
    char c = quoted[i];
    if (c == '\\') {
      char escaped = quoted[++i];
      switch (escaped) {
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7': {
          int value = 0;
          size_t digits = 0;
          while (digits < 3 && i + digits < end && quoted[i + digits] >= '0' &&
                 quoted[i + digits] <= '7') {
            value = (value << 3) + (quoted[i + digits] - '0');
            ++digits;
          }
          i += digits - 1;
          out += static_cast<char>(value & 0xff);
          break;
        }
        default:
          out += escaped;
          break;
      }
    } else if (c == '\'' && quoted[i + 1] == '\'') {
      out += '\'';
      ++i;
    } else {
      out += c;
    }
  }
  auto nul = out.find('\0');
  if (nul != std::string::npos) out.resize(nul);
  return out;
}

std::string to_lower_ascii(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

// Lexically normalizes an absolute path as PostgreSQL's canonicalize_path does:
// no repeated or trailing slashes, no "." components, ".." folded into its parent.
std::string canonical_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    std::string part = path.substr(start, slash - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(std::move(part));
    }
    start = slash + 1;
  }
  std::string out;
  for (const auto& part : parts) out += "/" + part;
  return out.empty() ? "/" : out;
}

std::string current_directory() {
  char buffer[PATH_MAX];
  if (::getcwd(buffer, sizeof buffer) == nullptr) throw_errno("getcwd");
  return buffer;
}

std::string absolute_location(const std::string& location, const std::string& base_dir) {
  if (!location.empty() && location[0] == '/') return canonical_path(location);
  std::string base = base_dir;
  if (base.empty() || base[0] != '/') base = join_path(current_directory(), base);
  return canonical_path(join_path(base, location));
}

bool is_blank(const std::string& text) {
  return text.find_first_not_of(" \t\r\n") == std::string::npos;
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

struct FileBeingRead {
  std::string path;  // absolute, or the source name of parse_text's text
  dev_t device = 0;
  ino_t inode = 0;
  bool on_disk = false;
};

class Parser {
 public:
  ParsedConfig take_result() { return std::move(result_); }

  // The outer file: failures to open it carry no including location.
  void parse_outer_file(const std::string& path) {
    std::string absolute = absolute_location(path, "");
    std::string text;
    struct stat st {};
    if (int error = read_config_file(absolute, &text, &st); error != 0) {
      throw Error(Errc::kConfig, "could not open configuration file " +
                                     quote_for_message(absolute) + ": " + std::strerror(error));
    }
    parse_contents(text, FileBeingRead{absolute, st.st_dev, st.st_ino, true}, 0);
  }

  void parse_outer_text(const std::string& text, const std::string& source_name,
                        const std::string& base_dir) {
    std::string directory = absolute_location(base_dir.empty() ? "." : base_dir, "");
    parse_contents(text, FileBeingRead{source_name, 0, 0, false}, 0, directory);
  }

 private:
  // base_dir overrides the directory that relative includes resolve against (for text
  // that is not read from a file).
  void parse_contents(const std::string& text, const FileBeingRead& file, int depth,
                      const std::string& base_dir = "") {
    if (file.on_disk && seen_files_.insert(file.path).second) {
      result_.files_read.push_back(file.path);
    }
    stack_.push_back(file);
    const std::string include_base = base_dir.empty() ? parent_dir(file.path) : base_dir;
    Lexer lexer(text);
    for (;;) {
      Token token = lexer.next();
      if (token.kind == TokenKind::kEndOfInput) break;
      if (token.kind == TokenKind::kEndOfLine) continue;
      Location where{file.path, lexer.line()};
      if (token.kind != TokenKind::kId && token.kind != TokenKind::kQualifiedId) {
        syntax_error(where, token);
      }
      std::string name = to_lower_ascii(token.text);
      token = lexer.next();
      if (token.kind == TokenKind::kEquals) token = lexer.next();
      switch (token.kind) {
        case TokenKind::kId:
        case TokenKind::kQualifiedId:
        case TokenKind::kUnquotedString:
        case TokenKind::kInteger:
        case TokenKind::kReal:
        case TokenKind::kString:
          break;
        default:
          syntax_error(where, token);
      }
      std::string value =
          token.kind == TokenKind::kString ? deescape_quoted(token.text) : token.text;
      token = lexer.next();
      if (token.kind != TokenKind::kEndOfLine && token.kind != TokenKind::kEndOfInput) {
        syntax_error(where, token);
      }

      if (name == "include") {
        include_file(value, include_base, where, depth + 1, /*must_exist=*/true);
      } else if (name == "include_if_exists") {
        include_file(value, include_base, where, depth + 1, /*must_exist=*/false);
      } else if (name == "include_dir") {
        include_directory(value, include_base, where, depth + 1);
      } else {
        result_.settings[name] = RawSetting{name, std::move(value), std::move(where)};
      }
      if (token.kind == TokenKind::kEndOfInput) break;
    }
    stack_.pop_back();
  }

  [[noreturn]] static void syntax_error(const Location& where, const Token& token) {
    std::string near = token.kind == TokenKind::kEndOfLine || token.kind == TokenKind::kEndOfInput
                           ? std::string("end of line")
                           : quote_for_message(token.text);
    throw Error(Errc::kConfig, where.describe() + ": syntax error near " + near);
  }

  [[noreturn]] static void include_error(const Location& where, const std::string& message) {
    throw Error(Errc::kConfig, where.describe() + ": " + message);
  }

  void include_file(const std::string& location, const std::string& base_dir, const Location& where,
                    int depth, bool must_exist) {
    if (is_blank(location)) {
      include_error(where, "empty configuration file name: " + quote_for_message(location));
    }
    std::string path = absolute_location(location, base_dir);
    if (depth > kMaxIncludeDepth) {
      include_error(where, "could not open configuration file " + quote_for_message(path) +
                               ": maximum nesting depth (" + std::to_string(kMaxIncludeDepth) +
                               ") exceeded");
    }
    std::string text;
    struct stat st {};
    if (int error = read_config_file(path, &text, &st); error != 0) {
      if (!must_exist && (error == ENOENT || error == ENOTDIR)) return;
      include_error(where, "could not open configuration file " + quote_for_message(path) + ": " +
                               std::strerror(error));
    }
    check_no_cycle(path, st, where);
    parse_contents(text, FileBeingRead{path, st.st_dev, st.st_ino, true}, depth);
  }

  void include_directory(const std::string& location, const std::string& base_dir,
                         const Location& where, int depth) {
    if (is_blank(location)) {
      include_error(where, "empty configuration directory name: " + quote_for_message(location));
    }
    std::string directory = absolute_location(location, base_dir);
    struct stat directory_stat {};
    int error = ::stat(directory.c_str(), &directory_stat) != 0 ? errno : 0;
    if (error == 0 && !S_ISDIR(directory_stat.st_mode)) error = ENOTDIR;
    if (error != 0) {
      include_error(where, "could not open configuration directory " +
                               quote_for_message(directory) + ": " + std::strerror(error));
    }
    std::vector<std::string> names;
    try {
      names = list_dir(directory);  // sorted by name, as PostgreSQL sorts them
    } catch (const Error& e) {
      include_error(where, std::string("could not read configuration directory: ") + e.what());
    }
    for (const auto& name : names) {
      // Only names ending in ".conf" with something before it, and no hidden files.
      if (name.size() < 6 || name[0] == '.' || !ends_with(name, ".conf")) continue;
      std::string path = canonical_path(join_path(directory, name));
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0) {
        include_error(
            where, "could not stat file " + quote_for_message(path) + ": " + std::strerror(errno));
      }
      if (S_ISDIR(st.st_mode)) continue;
      include_file(path, directory, where, depth, /*must_exist=*/true);
    }
  }

  void check_no_cycle(const std::string& path, const struct stat& st, const Location& where) {
    for (size_t i = 0; i < stack_.size(); ++i) {
      const FileBeingRead& open_file = stack_[i];
      if (!open_file.on_disk || open_file.device != st.st_dev || open_file.inode != st.st_ino) {
        continue;
      }
      std::string message = "configuration file include cycle: ";
      for (size_t j = i; j < stack_.size(); ++j) message += stack_[j].path + " -> ";
      message += path;
      include_error(where, message);
    }
  }

  // Returns 0 and the contents, or the errno that prevented reading them.
  static int read_config_file(const std::string& path, std::string* text, struct stat* st) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return errno;
    if (::fstat(fd.get(), st) != 0) return errno;
    if (S_ISDIR(st->st_mode)) return EISDIR;
    char buffer[65536];
    for (;;) {
      ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      if (n == 0) break;
      if (text->size() + static_cast<size_t>(n) > kMaxConfigFileSize) return EFBIG;
      text->append(buffer, static_cast<size_t>(n));
    }
    return 0;
  }

  ParsedConfig result_;
  std::vector<FileBeingRead> stack_;
  std::set<std::string> seen_files_;
};

}  // namespace

std::string quote_for_message(const std::string& text) {
  static const char kHexDigits[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out += kHexDigits[byte >> 4];
      out += kHexDigits[byte & 0xf];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

ParsedConfig parse_file(const std::string& path) {
  Parser parser;
  parser.parse_outer_file(path);
  return parser.take_result();
}

ParsedConfig parse_text(const std::string& text, const std::string& source_name,
                        const std::string& base_dir) {
  Parser parser;
  parser.parse_outer_text(text, source_name, base_dir);
  return parser.take_result();
}

}  // namespace ramsafe::config
