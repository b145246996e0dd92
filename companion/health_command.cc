#include "companion/health_command.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>

#include "core/set/manifest.h"

namespace ramsafe::cli {
namespace {

// Read by the SIGALRM handler: only pointers to text that lives until exit.
std::atomic<const char*> g_stage{"starting"};
char g_head[160];
int g_fd = 1;
int g_exit = kExitPluginUnknown;

void write_all(int fd, const char* text) {
  size_t left = std::strlen(text);
  while (left > 0) {
    ssize_t n = ::write(fd, text, left);
    if (n <= 0) return;
    text += n;
    left -= static_cast<size_t>(n);
  }
}

void on_alarm(int) {
  write_all(g_fd, g_head);
  write_all(g_fd, g_stage.load());
  write_all(g_fd, "\n");
  _exit(g_exit);
}

}  // namespace

std::vector<OptionSpec> gathering_options() {
  return {config_option(),
          {"no-server", 0, false, "", "do not ask the server; judge the stores alone"},
          {"dbname", 0, true, "DB",
           "the database where CREATE EXTENSION ramsafe was run (default: postgres)"},
          {"timeout", 't', true, "SECONDS",
           "give up after this long (default: 30); the server and Drive get what is left"}};
}

HealthFacts gather_within_timeout(const ParsedArgs& args, const TimeoutReport& report) {
  int timeout = args.get_int("timeout", 30, 1, 3600);
  HealthRequest request;
  request.config_path = config_path(args);
  request.ask_server = !args.has("no-server");
  request.dbname = args.get("dbname", "postgres");
  if (request.dbname.empty()) throw UsageError("--dbname needs a database name");
  request.deadline_ms = now_unix_millis() + int64_t{timeout} * 1000;
  request.cancel = cancel_check();
  request.stage = [](const char* stage) { g_stage = stage; };

  std::string head =
      std::string(report.prefix) + "timed out after " + std::to_string(timeout) + " s while ";
  std::strncpy(g_head, head.c_str(), sizeof g_head - 1);
  g_fd = report.fd;
  g_exit = report.exit_code;
  struct sigaction sa {};
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, nullptr);
  ::alarm(static_cast<unsigned>(timeout));
  HealthFacts facts = gather_health(request);
  ::alarm(0);
  return facts;
}

}  // namespace ramsafe::cli
