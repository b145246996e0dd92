#include "core/io/process.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/error.h"
#include "core/io/paths.h"

extern char** environ;

namespace ramsafe {
namespace {

// ioprio_set(2) has no glibc wrapper.
constexpr int kIoprioWhoProcess = 1;
constexpr int kIoprioClassIdle = 3;
constexpr int kIoprioClassShift = 13;

std::vector<std::string> build_environment(
    const std::map<std::string, std::optional<std::string>>& changes) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string entry = *e;
    std::string name = entry.substr(0, entry.find('='));
    if (changes.count(name) == 0) env.push_back(entry);
  }
  for (const auto& [name, value] : changes)
    if (value) env.push_back(name + "=" + *value);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

[[noreturn]] void child_fail(int report_fd, int err) {
  // Only async-signal-safe calls between fork and exec.
  ssize_t ignored = ::write(report_fd, &err, sizeof err);
  (void)ignored;
  ::_exit(127);
}

}  // namespace

bool lower_priority(pid_t pid) {
  constexpr int kBackgroundNice = 10;
  errno = 0;
  int current = ::getpriority(PRIO_PROCESS, static_cast<id_t>(pid));
  bool ok = errno == 0;
  if (ok && current < kBackgroundNice)
    ok = ::setpriority(PRIO_PROCESS, static_cast<id_t>(pid), kBackgroundNice) == 0;
  // SCHED_IDLE: run only on CPU time nothing else wants; nice alone still takes ~10%.
  struct sched_param param {};
  ok = ::sched_setscheduler(pid, SCHED_IDLE, &param) == 0 && ok;
  ok = ::syscall(SYS_ioprio_set, kIoprioWhoProcess, pid, kIoprioClassIdle << kIoprioClassShift) ==
           0 &&
       ok;
  return ok;
}

std::string ExitStatus::describe() const {
  if (signal != 0)
    return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exited with code " + std::to_string(code);
}

std::string find_program(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = ::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = join_path(dirs.substr(start, end - start), program);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

ChildProcess::ChildProcess(const ProcessOptions& options) {
  if (options.argv.empty()) throw Error(Errc::kInternal, "ChildProcess: empty argv");
  program_ = base_name(options.argv[0]);
  std::string path = find_program(options.argv[0]);
  if (path.empty() || ::access(path.c_str(), X_OK) != 0)
    throw Error(Errc::kNotFound, "program " + options.argv[0] + " not found or not executable");

  std::vector<std::string> argv_strings = options.argv;
  std::vector<std::string> env_strings = build_environment(options.env);
  std::vector<char*> argv = c_strings(argv_strings);
  std::vector<char*> envp = c_strings(env_strings);

  Pipe in_pipe, out_pipe;
  if (options.pipe_stdin) in_pipe = make_pipe();
  if (options.pipe_stdout) {
    out_pipe = make_pipe();
    // A deeper pipe lets the producer (pg_dump) run ahead while we compress and encrypt,
    // with fewer wake-ups. Best effort: the kernel caps it at fs.pipe-max-size.
    (void)::fcntl(out_pipe.read_end.get(), F_SETPIPE_SZ, 1 << 20);
  }
  if (options.capture_stderr) {
    int fd = static_cast<int>(::syscall(SYS_memfd_create, "ramsafe-child-stderr", MFD_CLOEXEC));
    if (fd < 0) throw_errno("memfd_create");
    stderr_file_.reset(fd);
  }
  UniqueFd dev_null = open_or_throw("/dev/null", O_RDWR);
  Pipe report = make_pipe();  // exec failure reporting; closes on successful exec
  pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork for " + program_);
  if (pid == 0) {
    int rfd = report.write_end.get();
    ::setpgid(0, 0);  // own group, so kill_and_reap reaches grandchildren too
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail(rfd, errno);
    if (::getppid() != parent) ::_exit(127);  // parent died before prctl took effect
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD})
      ::signal(sig, SIG_DFL);
    int in_fd = options.pipe_stdin ? in_pipe.read_end.get() : dev_null.get();
    int out_fd = options.pipe_stdout      ? out_pipe.write_end.get()
                 : options.stdout_fd >= 0 ? options.stdout_fd
                                          : dev_null.get();
    if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0) child_fail(rfd, errno);
    if (stderr_file_.valid() && ::dup2(stderr_file_.get(), 2) < 0) child_fail(rfd, errno);
    if (options.nice_increment > 0) {
      errno = 0;
      (void)::nice(options.nice_increment);
      struct sched_param param {};
      (void)::sched_setscheduler(0, SCHED_IDLE, &param);
    }
    if (options.idle_io)
      (void)::syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, kIoprioClassIdle << kIoprioClassShift);
    if (!options.working_dir.empty() && ::chdir(options.working_dir.c_str()) != 0)
      child_fail(rfd, errno);
    ::execve(path.c_str(), argv.data(), envp.data());
    child_fail(rfd, errno);
  }
  pid_ = pid;
  report.write_end.reset();
  int child_errno = 0;
  size_t n = read_full(report.read_end.get(), &child_errno, sizeof child_errno, "exec report pipe");
  if (n == sizeof child_errno) {
    wait();
    throw_errno("start " + path, child_errno);
  }
  if (options.pipe_stdin) stdin_ = std::move(in_pipe.write_end);
  if (options.pipe_stdout) stdout_ = std::move(out_pipe.read_end);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) kill_and_reap(1000);
}

ExitStatus ChildProcess::wait() {
  if (status_) return *status_;
  int raw = 0;
  for (;;) {
    pid_t r = ::waitpid(pid_, &raw, 0);
    if (r == pid_) break;
    if (r < 0 && errno == EINTR) continue;
    // ECHILD: someone else reaped it (SIGCHLD set to SIG_IGN). Report it as unknown.
    status_ = ExitStatus{-1, 0};
    return *status_;
  }
  ExitStatus status;
  if (WIFEXITED(raw)) status.code = WEXITSTATUS(raw);
  if (WIFSIGNALED(raw)) status.signal = WTERMSIG(raw);
  status_ = status;
  return status;
}

std::optional<ExitStatus> ChildProcess::poll() {
  if (status_) return status_;
  int raw = 0;
  pid_t r = ::waitpid(pid_, &raw, WNOHANG);
  if (r == 0) return std::nullopt;
  if (r < 0) {
    if (errno == EINTR) return std::nullopt;
    status_ = ExitStatus{-1, 0};
    return status_;
  }
  ExitStatus status;
  if (WIFEXITED(raw)) status.code = WEXITSTATUS(raw);
  if (WIFSIGNALED(raw)) status.signal = WTERMSIG(raw);
  status_ = status;
  return status_;
}

void ChildProcess::signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

void ChildProcess::kill_and_reap(int grace_ms) {
  if (pid_ <= 0 || status_) return;
  stdin_.reset();
  stdout_.reset();
  ::kill(-pid_, SIGTERM);
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  while (!poll()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      wait();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(-pid_, SIGKILL);  // grandchildren left in the group
}

std::string ChildProcess::stderr_tail(size_t max_bytes) const {
  if (!stderr_file_.valid()) return "";
  off_t size = ::lseek(stderr_file_.get(), 0, SEEK_END);
  if (size <= 0) return "";
  off_t start = size > static_cast<off_t>(max_bytes) ? size - static_cast<off_t>(max_bytes) : 0;
  std::string out(static_cast<size_t>(size - start), '\0');
  ssize_t n = ::pread(stderr_file_.get(), out.data(), out.size(), start);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  if (start > 0) out = "..." + out;
  return out;
}

void ChildProcess::wait_success() {
  ExitStatus status = wait();
  if (status.success()) return;
  std::string tail = stderr_tail();
  throw Error(Errc::kChildFailed,
              program_ + " " + status.describe() + (tail.empty() ? "" : ": " + tail));
}

}  // namespace ramsafe
