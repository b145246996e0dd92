#include "companion/cli.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "core/error.h"

#include "core/error.h"

namespace ramsafe::cli {
namespace {

std::atomic<bool> g_cancel{false};

void on_signal(int) {
  g_cancel = true;
}

const OptionSpec* find_long(const CommandSpec& spec, const std::string& name) {
  for (const auto& o : spec.options)
    if (o.name == name) return &o;
  return nullptr;
}

const OptionSpec* find_short(const CommandSpec& spec, char c) {
  for (const auto& o : spec.options)
    if (o.short_name == c) return &o;
  return nullptr;
}

}  // namespace

std::string ParsedArgs::get(const std::string& name, const std::string& fallback) const {
  auto it = values.find(name);
  return it == values.end() ? fallback : it->second;
}

int ParsedArgs::get_int(const std::string& name, int fallback, int min, int max) const {
  auto it = values.find(name);
  if (it == values.end()) return fallback;
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != '\0' || errno != 0 || v < min || v > max)
    throw UsageError("invalid value for --" + name + ": \"" + it->second +
                     "\" (expected an integer from " + std::to_string(min) + " to " +
                     std::to_string(max) + ")");
  return static_cast<int>(v);
}

ParsedArgs parse_args(const CommandSpec& spec, const std::vector<std::string>& args) {
  ParsedArgs parsed;
  bool only_positionals = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (only_positionals || a == "-" || a.empty() || a[0] != '-') {
      parsed.positionals.push_back(a);
      continue;
    }
    if (a == "--") {
      only_positionals = true;
      continue;
    }
    const OptionSpec* opt = nullptr;
    std::optional<std::string> inline_value;
    if (a.compare(0, 2, "--") == 0) {
      std::string name = a.substr(2);
      auto eq = name.find('=');
      if (eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      opt = find_long(spec, name);
      if (!opt) throw UsageError("unknown option --" + name + " for `ramsafe " + spec.name + "`");
    } else {
      opt = find_short(spec, a[1]);
      if (!opt || a.size() > 2)
        throw UsageError("unknown option " + a + " for `ramsafe " + spec.name + "`");
    }
    if (opt->takes_value) {
      if (inline_value) {
        parsed.values[opt->name] = *inline_value;
      } else {
        if (i + 1 >= args.size())
          throw UsageError("option --" + opt->name + " needs a value (" + opt->value_name + ")");
        parsed.values[opt->name] = args[++i];
      }
    } else {
      if (inline_value) throw UsageError("option --" + opt->name + " takes no value");
      parsed.values[opt->name] = "";
    }
  }
  if (static_cast<int>(parsed.positionals.size()) > spec.max_positionals)
    throw UsageError("too many arguments for `ramsafe " + spec.name +
                     "`: " + parsed.positionals[static_cast<size_t>(spec.max_positionals)]);
  return parsed;
}

std::string fill(const std::string& text, size_t indent, size_t width) {
  std::istringstream words(text);
  std::string out, line, word;
  while (words >> word) {
    if (!line.empty() && indent + line.size() + 1 + word.size() > width) {
      out += line + "\n" + std::string(indent, ' ');
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  return out + line;
}

std::string fill_paragraphs(const std::string& text, size_t width) {
  std::string out, paragraph;
  bool in_example = false;
  // Paragraphs and examples are set apart by one empty line.
  auto separate = [&] {
    if (!out.empty() && (out.size() < 2 || out.compare(out.size() - 2, 2, "\n\n") != 0))
      out += "\n";
  };
  auto flush = [&] {
    if (paragraph.empty()) return;
    out += fill(paragraph, 0, width) + "\n";
    paragraph.clear();
  };
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) {
      flush();
      separate();
      in_example = false;
    } else if (line.compare(0, 2, "  ") == 0) {  // an example: as written
      flush();
      if (!in_example) separate();
      in_example = true;
      out += line + "\n";
    } else {
      if (in_example) separate();
      in_example = false;
      paragraph += (paragraph.empty() ? "" : " ") + line;
    }
  }
  flush();
  return out;
}

namespace {

// "  NAME  help..." rows: NAME in a column of `column` characters (help on the next line when
// NAME does not leave two spaces), the help filled to the help width beside it.
std::string help_row(const std::string& name, const std::string& help, size_t column) {
  std::string row = "  " + name;
  if (row.size() + 2 <= column)
    row.resize(column, ' ');
  else
    row += "\n" + std::string(column, ' ');
  return row + fill(help, column, kHelpWidth) + "\n";
}

// The positional arguments' help: entries "NAME   text", continued on lines that start
// with a space.
std::string arguments_help(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> entries;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line[0] != ' ') {
      size_t end = line.find(' ');
      std::string name = line.substr(0, end);
      size_t start = end == std::string::npos ? line.size() : line.find_first_not_of(' ', end);
      entries.emplace_back(name, start == std::string::npos ? "" : line.substr(start));
    } else if (!entries.empty()) {
      entries.back().second += " " + line;
    }
  }
  size_t column = 0;
  for (const auto& e : entries) column = std::max(column, e.first.size() + 4);
  std::string out;
  for (const auto& e : entries) out += help_row(e.first, e.second, column);
  return out;
}

}  // namespace

std::string command_summary(const CommandSpec& spec) {
  return spec.description.substr(0, spec.description.find('\n'));
}

std::string command_help(const CommandSpec& spec) {
  std::string out = "Usage: " + fill("ramsafe " + spec.synopsis, 7, kHelpWidth) + "\n\n" +
                    fill(command_summary(spec), 0, kHelpWidth) + "\n";
  size_t body = spec.description.find('\n');
  if (body != std::string::npos)
    out += "\n" + fill_paragraphs(spec.description.substr(body + 1), kHelpWidth);
  if (!spec.positional_help.empty()) out += "\nArguments:\n" + arguments_help(spec.positional_help);
  out += "\nOptions:\n";
  for (const auto& o : spec.options) {
    std::string name = o.short_name ? std::string("-") + o.short_name + ", " : "    ";
    name += "--" + o.name + (o.takes_value ? " " + o.value_name : "");
    out += help_row(name, o.help, kOptionColumn);
  }
  out += help_row("-h, --help", "show this help", kOptionColumn);
  return out;
}

OptionSpec config_option() {
  return {"config", 'c', true, "FILE",
          "configuration file in PostgreSQL syntax with the ramsafe.* settings (default: "
          "$RAMSAFE_CONFIG, else /etc/ramsafe/ramsafe.conf)"};
}

std::string config_path(const ParsedArgs& args) {
  if (args.has("config")) return args.get("config");
  const char* env = std::getenv("RAMSAFE_CONFIG");
  if (env && *env) return env;
  return "/etc/ramsafe/ramsafe.conf";
}

Settings load_config(const ParsedArgs& args) {
  return load_settings_file(config_path(args));
}

Settings load_boot_config(const ParsedArgs& args) {
  std::vector<std::string> warnings;
  Settings settings = load_boot_settings(config::parse_file(config_path(args)), &warnings);
  for (const auto& w : warnings) warn(w);
  return settings;
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a child that stops reading shows up as EPIPE, with its own error
}

CancelCheck cancel_check() {
  return [] { return g_cancel.load(); };
}

void warn(const std::string& message) {
  std::cerr << "ramsafe: WARNING: " << printable(message, true) << std::endl;
}
void info(const std::string& message) {
  std::cerr << "ramsafe: " << printable(message, true) << std::endl;
}

[[noreturn]] void end_by_sigpipe() {
  std::signal(SIGPIPE, SIG_DFL);  // ignored since install_signal_handlers()
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigprocmask(SIG_UNBLOCK, &pipe_only, nullptr);
  std::raise(SIGPIPE);
  _exit(128 + SIGPIPE);  // not reached
}

void StdoutSink::write(const uint8_t* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(STDOUT_FILENO, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) end_by_sigpipe();
      throw_errno("write stdout");
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
}

bool stdout_is_terminal() {
  return ::isatty(STDOUT_FILENO) == 1;
}

ProgressLine::ProgressLine(bool enabled) : enabled_(enabled) {}
ProgressLine::~ProgressLine() {
  clear();
}

void ProgressLine::update(const std::string& text, bool force) {
  if (!enabled_) return;
  long long now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
  if (!force && now - last_draw_ms_ < 100) return;
  last_draw_ms_ = now;
  std::string line = "\r" + text;
  if (text.size() < last_width_) line += std::string(last_width_ - text.size(), ' ');
  last_width_ = text.size();
  std::fputs(line.c_str(), stdout);
  std::fflush(stdout);
}

void ProgressLine::clear() {
  if (!enabled_ || last_width_ == 0) return;
  std::fputs(("\r" + std::string(last_width_, ' ') + "\r").c_str(), stdout);
  std::fflush(stdout);
  last_width_ = 0;
}

std::string format_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

std::string format_duration(double seconds) {
  char buf[32];
  if (seconds < 60)
    std::snprintf(buf, sizeof buf, "%.1f s", seconds);
  else if (seconds < 3600)
    std::snprintf(buf, sizeof buf, "%d min %02d s", static_cast<int>(seconds) / 60,
                  static_cast<int>(seconds) % 60);
  else
    std::snprintf(buf, sizeof buf, "%d h %02d min", static_cast<int>(seconds) / 3600,
                  static_cast<int>(seconds) % 3600 / 60);
  return buf;
}

}  // namespace ramsafe::cli
