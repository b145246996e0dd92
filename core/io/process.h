// A child process owned by RAII: spawned with fork/exec (so the child can set its
// parent-death signal, process group and priority before exec), killed and reaped by
// the destructor if the owner did not wait for it. stderr goes to an in-memory file
// whose tail is kept for error messages.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/io/unique_fd.h"

namespace ramsafe {

struct ProcessOptions {
  std::vector<std::string> argv;  // argv[0] is the program; a path or a name looked up in PATH
  // Environment changes on top of the parent's environment. A value of nullopt unsets.
  std::map<std::string, std::optional<std::string>> env;
  bool pipe_stdin = false;     // else /dev/null
  bool pipe_stdout = false;    // else stdout_fd, or /dev/null
  int stdout_fd = -1;          // used when !pipe_stdout and >= 0 (dup'ed into the child)
  bool capture_stderr = true;  // else inherit the parent's stderr
  std::string working_dir;
  // Lowers the child's CPU priority by this much (nice) and, if true, puts it into the
  // idle I/O scheduling class, so backups yield to the database's own work.
  int nice_increment = 0;
  bool idle_io = false;
};

struct ExitStatus {
  int code = -1;   // exit code, or -1 if killed by a signal
  int signal = 0;  // the signal that killed it, or 0
  bool success() const { return code == 0; }
  std::string describe() const;  // "exited with code 3", "killed by signal 9 (Killed)"
};

class ChildProcess {
 public:
  explicit ChildProcess(const ProcessOptions& options);
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ChildProcess(ChildProcess&&) = delete;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ~ChildProcess();  // kills the process group if still running, then reaps

  pid_t pid() const { return pid_; }
  const std::string& program() const { return program_; }
  UniqueFd& stdin_pipe() { return stdin_; }
  UniqueFd& stdout_pipe() { return stdout_; }

  // Blocks until the child exits. Idempotent.
  ExitStatus wait();
  // Non-blocking: the exit status if the child has exited.
  std::optional<ExitStatus> poll();
  // Sends sig to the child only (not its group), e.g. SIGINT for a postmaster's fast
  // shutdown. No effect once the child has been reaped.
  void signal(int sig);
  // SIGTERM to the child's process group, then SIGKILL after grace_ms, then reap.
  void kill_and_reap(int grace_ms = 2000);
  // The last max_bytes of what the child wrote to stderr, trimmed.
  std::string stderr_tail(size_t max_bytes = 2000) const;
  // Throws Error(kChildFailed) naming the program, the status and stderr's tail unless
  // the child exited with code 0.
  void wait_success();

 private:
  pid_t pid_ = -1;
  std::string program_;
  std::optional<ExitStatus> status_;
  UniqueFd stdin_;
  UniqueFd stdout_;
  UniqueFd stderr_file_;
};

// Finds program in PATH (or returns it unchanged if it contains a slash). Empty if absent.
std::string find_program(const std::string& program);

// Lowers a process's CPU priority to nice 10 (if it is higher) and puts it in the idle
// I/O class, so a backup yields to the database's own work. pid 0: the calling thread
// (threads it starts later inherit it). Best effort: returns false if not permitted.
bool lower_priority(pid_t pid);

}  // namespace ramsafe
