// ramsafe: the companion of the ramsafe extension. Restores the newest good backup into
// an empty data directory before PostgreSQL starts, and is the operator's tool for
// backups: backup, list, verify, upload, keygen, decrypt, drive-login.
#include <iostream>

#include "companion/commands.h"
#include "core/error.h"
#include "core/version.h"

namespace ramsafe::cli {
namespace {

void print_main_help() {
  std::cout << "Usage: ramsafe COMMAND [options]\n\n"
               "Keeps a PostgreSQL cluster that lives in RAM (tmpfs) safe: encrypted, compressed\n"
               "logical backups of the whole cluster, and restore into the empty data directory\n"
               "before the server starts.\n\nCommands:\n";
  for (const auto& c : commands()) {
    std::string name = "  " + c.spec.name;
    name.resize(15, ' ');
    std::cout << name << c.spec.description.substr(0, c.spec.description.find('\n')) << "\n";
  }
  std::cout
      << "\nRun `ramsafe COMMAND --help` for a command's options.\n\n"
         "Exit codes:\n"
         "  0    success (restore: restored, skipped with --if-empty, or initialized)\n"
         "  1    the operation failed; wal-fetch: the file is not in the archive\n"
         "  2    bad arguments or configuration\n"
         "  3    restore: no backup found (--on-missing=fail)\n"
         "  4    restore: the data directory is not empty (use --if-empty or --force)\n"
         "  5    verify: damage found; wal-fetch: the archived file is damaged\n"
         "  6    wal-fetch: the file is archived but could not be fetched\n"
         "  7    restore: restored only up to a damaged WAL file (the last good point)\n"
         "  8    snapshot: refused: the cluster is not cleanly shut down, or a server runs\n"
         "  130  cancelled (SIGINT or SIGTERM)\n"
         "`ramsafe check` exits as a monitoring plugin instead: 0 OK, 1 WARNING, 2 CRITICAL,\n"
         "3 UNKNOWN.\n";
}

// A monitoring plugin's failures to run at all are UNKNOWN, told on stdout in its format.
int run_plugin(const Command& c, const std::vector<std::string>& args) {
  std::string message;
  try {
    return c.run(parse_args(c.spec, args));
  } catch (const UsageError& e) {
    message = std::string(e.what()) + " (run `ramsafe " + c.spec.name + " --help`)";
  } catch (const Error& e) {
    message = e.what();
  } catch (const std::exception& e) {
    message = std::string("internal error: ") + e.what();
  }
  for (char& ch : message)
    if (ch == '\n' || ch == '|') ch = ' ';
  std::cout << "RAMSAFE UNKNOWN - " << message << std::endl;
  return kExitPluginUnknown;
}

int dispatch(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    if (args.size() >= 2 && args[0] == "help") {
      for (const auto& c : commands())
        if (c.spec.name == args[1]) {
          std::cout << command_help(c.spec);
          return kExitOk;
        }
    }
    print_main_help();
    return args.empty() ? kExitUsage : kExitOk;
  }
  if (args[0] == "--version" || args[0] == "-V") {
    std::cout << "ramsafe " << RAMSAFE_VERSION << "\n";
    return kExitOk;
  }
  for (const auto& c : commands()) {
    if (c.spec.name != args[0]) continue;
    std::vector<std::string> rest(args.begin() + 1, args.end());
    for (const auto& a : rest) {
      if (a == "-h" || a == "--help") {
        std::cout << command_help(c.spec);
        return c.spec.monitoring_plugin ? kExitPluginUnknown : kExitOk;
      }
      // The monitoring-plugins guidelines give plugins --version (exiting UNKNOWN too).
      if (c.spec.monitoring_plugin && (a == "-V" || a == "--version")) {
        std::cout << "ramsafe " << RAMSAFE_VERSION << "\n";
        return kExitPluginUnknown;
      }
    }
    if (c.spec.monitoring_plugin) return run_plugin(c, rest);
    try {
      ParsedArgs parsed = parse_args(c.spec, rest);
      return c.run(parsed);
    } catch (const UsageError& e) {
      std::cerr << "ramsafe " << c.spec.name << ": " << e.what() << "\n"
                << "Run `ramsafe " << c.spec.name << " --help` for usage.\n";
      return kExitUsage;
    } catch (const Error& e) {
      std::cerr << "ramsafe " << c.spec.name << ": " << e.what() << "\n";
      if (e.code() == Errc::kCancelled) return kExitCancelled;
      if (e.code() == Errc::kConfig || e.code() == Errc::kInvalidArgument) return kExitUsage;
      return kExitFailed;
    } catch (const std::exception& e) {
      std::cerr << "ramsafe " << c.spec.name << ": internal error: " << e.what() << "\n";
      return kExitFailed;
    }
  }
  std::cerr << "ramsafe: unknown command \"" << args[0] << "\"; run `ramsafe --help`\n";
  return kExitUsage;
}

}  // namespace
}  // namespace ramsafe::cli

int main(int argc, char** argv) {
  ramsafe::cli::install_signal_handlers();
  return ramsafe::cli::dispatch(argc, argv);
}
