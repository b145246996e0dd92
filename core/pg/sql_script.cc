#include "core/pg/sql_script.h"

#include <cctype>
#include <cstring>

#include "core/error.h"

namespace ramsafe {
namespace {

bool ident_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '_' || c == '$' || u >= 0x80;
}

bool ident_start(char c) {
  auto u = static_cast<unsigned char>(c);
  return std::isalpha(u) || c == '_' || u >= 0x80;
}

// The statement kinds pg_dumpall --globals-only writes (PostgreSQL 15 to 18), as their
// leading keywords.
const std::vector<std::vector<std::string>>& allowed_statements() {
  static const std::vector<std::vector<std::string>> kAllowed = {
      {"SET"},
      {"CREATE", "ROLE"},
      {"ALTER", "ROLE"},
      {"COMMENT", "ON", "ROLE"},
      {"COMMENT", "ON", "TABLESPACE"},
      {"SECURITY", "LABEL"},
      {"GRANT"},
      {"REVOKE"},
      {"CREATE", "TABLESPACE"},
      {"ALTER", "TABLESPACE"},
  };
  return kAllowed;
}

// The first few words of a statement, upper-cased.
std::vector<std::string> leading_words(const std::string& statement, size_t count) {
  std::vector<std::string> words;
  size_t i = 0;
  while (words.size() < count && i < statement.size()) {
    while (i < statement.size() && std::isspace(static_cast<unsigned char>(statement[i]))) ++i;
    size_t start = i;
    while (i < statement.size() && std::isalpha(static_cast<unsigned char>(statement[i]))) ++i;
    if (i == start) break;
    std::string word = statement.substr(start, i - start);
    for (char& c : word) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    words.push_back(word);
  }
  return words;
}

bool allowed(const std::string& statement) {
  std::vector<std::string> words = leading_words(statement, 3);
  for (const auto& kind : allowed_statements()) {
    if (kind.size() > words.size()) continue;
    bool match = true;
    for (size_t i = 0; i < kind.size() && match; ++i) match = words[i] == kind[i];
    if (match) return true;
  }
  return false;
}

// "\restrict KEY" or "\unrestrict KEY" alone on the line at pos (KEY: letters and digits,
// as pg_dumpall makes it); returns the position after the line, or npos.
size_t restrict_line(const std::string& s, size_t pos) {
  for (const char* command : {"\\restrict ", "\\unrestrict "}) {
    size_t len = std::strlen(command);
    if (s.compare(pos, len, command) != 0) continue;
    size_t i = pos + len;
    size_t key_start = i;
    while (i < s.size() && std::isalnum(static_cast<unsigned char>(s[i]))) ++i;
    if (i == key_start) return std::string::npos;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
    if (i < s.size() && s[i] != '\n') return std::string::npos;
    return i < s.size() ? i + 1 : i;
  }
  return std::string::npos;
}

class Splitter {
 public:
  Splitter(const std::string& script, std::string source)
      : s_(script), source_(std::move(source)) {}

  std::vector<std::string> run() {
    for (;;) {
      skip_space_and_comments();
      if (i_ >= s_.size()) break;
      if (s_[i_] == '\\') {
        bool line_start = i_ == 0 || s_[i_ - 1] == '\n';
        size_t next = line_start ? restrict_line(s_, i_) : std::string::npos;
        if (next == std::string::npos) meta_command();
        i_ = next;
        continue;
      }
      statement();
    }
    return std::move(out_);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { fail_at(i_, what); }

  [[noreturn]] void fail_at(size_t pos, const std::string& what) const {
    size_t line = 1;
    for (size_t k = 0; k < pos && k < s_.size(); ++k) line += s_[k] == '\n';
    throw Error(Errc::kCorrupt, source_ + ", line " + std::to_string(line) + ": " + what);
  }

  [[noreturn]] void meta_command() const {
    size_t end = i_ + 1;
    while (end < s_.size() && end < i_ + 16 && std::isalnum(static_cast<unsigned char>(s_[end])))
      ++end;
    if (end < s_.size() && end == i_ + 1) ++end;  // \! and friends
    fail("holds the psql meta-command \"" + printable(s_.substr(i_, end - i_)) +
         "\"; ramsafe restores globals as SQL only and refuses the set");
  }

  void skip_space_and_comments() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i_;
      } else if (c == '-' && next_is('-')) {
        line_comment();
      } else if (c == '/' && next_is('*')) {
        block_comment();
      } else {
        break;
      }
    }
  }

  bool next_is(char c) const { return i_ + 1 < s_.size() && s_[i_ + 1] == c; }

  void line_comment() {
    while (i_ < s_.size() && s_[i_] != '\n') ++i_;
  }

  void block_comment() {
    int depth = 0;
    while (i_ < s_.size()) {
      if (s_[i_] == '/' && next_is('*')) {
        ++depth;
        i_ += 2;
      } else if (s_[i_] == '*' && next_is('/')) {
        i_ += 2;
        if (--depth == 0) return;
      } else {
        ++i_;
      }
    }
    fail("unterminated /* comment");
  }

  // s_[i_] is the opening quote; backslash escapes apply in E'' strings.
  void quoted(char quote, bool backslash_escapes) {
    ++i_;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (backslash_escapes && c == '\\') {
        i_ += 2;
      } else if (c == quote) {
        if (next_is(quote)) {
          i_ += 2;
        } else {
          ++i_;
          return;
        }
      } else {
        ++i_;
      }
    }
    fail(quote == '"' ? "unterminated quoted identifier" : "unterminated string literal");
  }

  // $tag$ ... $tag$ at i_, if it is one; returns false when the '$' starts no dollar quote.
  bool dollar_quote() {
    size_t j = i_ + 1;
    if (j < s_.size() && ident_start(s_[j]))
      while (j < s_.size() && ident_char(s_[j]) && s_[j] != '$') ++j;
    if (j >= s_.size() || s_[j] != '$') return false;
    std::string tag = s_.substr(i_, j - i_ + 1);
    size_t end = s_.find(tag, j + 1);
    if (end == std::string::npos) fail("unterminated dollar-quoted string");
    i_ = end + tag.size();
    return true;
  }

  void statement() {
    size_t start = i_;
    int parens = 0;
    while (i_ < s_.size()) {
      char c = s_[i_];
      char prev = i_ > start ? s_[i_ - 1] : ' ';
      if (c == '\'') {
        bool e_string =
            (prev == 'E' || prev == 'e') && (i_ - 1 == start || !ident_char(s_[i_ - 2]));
        quoted('\'', e_string);
      } else if (c == '"') {
        quoted('"', false);
      } else if (c == '-' && next_is('-')) {
        line_comment();
      } else if (c == '/' && next_is('*')) {
        block_comment();
      } else if (c == '$' && !ident_char(prev) && dollar_quote()) {
        // skipped
      } else if (c == '\\') {
        meta_command();
      } else if (c == '(') {
        ++parens;
        ++i_;
      } else if (c == ')') {
        if (parens > 0) --parens;
        ++i_;
      } else if (c == ';' && parens == 0) {
        ++i_;
        break;
      } else {
        ++i_;
      }
    }
    std::string text = s_.substr(start, i_ - start);
    if (!allowed(text))
      fail_at(start, "holds a statement pg_dumpall does not write for roles and tablespaces (\"" +
                         printable(text.substr(0, 60)) + "\"); ramsafe refuses the set");
    out_.push_back(std::move(text));
  }

  const std::string& s_;
  std::string source_;
  size_t i_ = 0;
  std::vector<std::string> out_;
};

}  // namespace

std::vector<std::string> globals_statements(const std::string& script, const std::string& source) {
  return Splitter(script, source).run();
}

}  // namespace ramsafe
