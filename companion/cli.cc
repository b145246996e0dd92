#include "companion/cli.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

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

std::string command_help(const CommandSpec& spec) {
  std::string out = "Usage: ramsafe " + spec.synopsis + "\n\n" + spec.description + "\n";
  if (!spec.positional_help.empty()) out += "\n" + spec.positional_help + "\n";
  if (!spec.options.empty()) out += "\nOptions:\n";
  for (const auto& o : spec.options) {
    std::string left = "  ";
    left += o.short_name ? std::string("-") + o.short_name + ", " : "    ";
    left += "--" + o.name + (o.takes_value ? " " + o.value_name : "");
    if (left.size() < 30)
      left.resize(30, ' ');
    else
      left += "\n" + std::string(30, ' ');
    out += left + o.help + "\n";
  }
  out += "  -h, --help                  show this help\n";
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
