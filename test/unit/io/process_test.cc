#include "core/io/process.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/io/stages.h"
#include "core/set/pipeline.h"

namespace ramsafe {
namespace {

bool alive(pid_t pid) {
  return ::kill(pid, 0) == 0;
}

TEST(Process, CapturesStdoutAndExitCode) {
  ProcessOptions o;
  o.argv = {"sh", "-c", "printf hello; exit 3"};
  o.pipe_stdout = true;
  ChildProcess child(o);
  char buf[16];
  size_t n = read_full(child.stdout_pipe().get(), buf, sizeof buf, "out");
  EXPECT_EQ(std::string(buf, n), "hello");
  ExitStatus s = child.wait();
  EXPECT_EQ(s.code, 3);
  EXPECT_EQ(s.describe(), "exited with code 3");
}

TEST(Process, FailureMessageCarriesStderr) {
  ProcessOptions o;
  o.argv = {"sh", "-c", "echo 'pg_dump: error: connection refused' >&2; exit 1"};
  ChildProcess child(o);
  try {
    child.wait_success();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kChildFailed);
    EXPECT_NE(std::string(e.what()).find("connection refused"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("exited with code 1"), std::string::npos) << e.what();
  }
}

TEST(Process, MissingProgramIsNotFound) {
  ProcessOptions o;
  o.argv = {"/nonexistent/pg_dump"};
  try {
    ChildProcess child(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kNotFound);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/pg_dump"), std::string::npos);
  }
}

TEST(Process, EnvironmentChangesApply) {
  ::setenv("RAMSAFE_TEST_UNSET_ME", "x", 1);
  ProcessOptions o;
  o.argv = {"sh", "-c", "printf '%s|%s' \"$PGHOST\" \"${RAMSAFE_TEST_UNSET_ME-unset}\""};
  o.env["PGHOST"] = "/tmp/sock";
  o.env["RAMSAFE_TEST_UNSET_ME"] = std::nullopt;
  o.pipe_stdout = true;
  ChildProcess child(o);
  StringSink out;
  pump_child(child, out, nullptr, nullptr);
  EXPECT_EQ(out.data(), "/tmp/sock|unset");
}

TEST(Process, DestructorKillsAndReapsTheWholeGroup) {
  pid_t child_pid, grandchild_pid;
  {
    ProcessOptions o;
    o.argv = {"sh", "-c", "sleep 300 & echo $!; wait"};
    o.pipe_stdout = true;
    ChildProcess child(o);
    child_pid = child.pid();
    char buf[32];
    size_t n = read_some(child.stdout_pipe().get(), buf, sizeof buf, "out");
    grandchild_pid = std::stoi(std::string(buf, n));
    EXPECT_TRUE(alive(grandchild_pid));
  }
  EXPECT_FALSE(alive(child_pid)) << "reaped, so the pid is gone";
  // The grandchild was SIGKILLed with the group; init reaps it shortly after.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (alive(grandchild_pid) && std::chrono::steady_clock::now() < deadline) {
    ::usleep(10000);
  }
  EXPECT_FALSE(alive(grandchild_pid));
}

TEST(Process, CancelStopsAPumpPromptly) {
  ProcessOptions o;
  o.argv = {"sleep", "300"};
  o.pipe_stdout = true;
  ChildProcess child(o);
  NullSink out;
  auto start = std::chrono::steady_clock::now();
  int calls = 0;
  try {
    pump_child(
        child, out, [&] { return ++calls > 2; }, nullptr);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kCancelled);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_TRUE(child.poll().has_value()) << "child killed and reaped";
}

TEST(Process, ChildFailureWinsOverTheBrokenPipeItCaused) {
  ProcessOptions o;
  o.argv = {"sh", "-c", "head -c 10 >/dev/null; echo 'pg_restore: error: bad input' >&2; exit 1"};
  o.pipe_stdin = true;
  ::signal(SIGPIPE, SIG_IGN);
  ChildProcess child(o);
  std::string big(8 << 20, 'x');
  try {
    feed_child(child, [&](Sink& sink) {
      for (int i = 0; i < 8; ++i)
        sink.write(reinterpret_cast<const uint8_t*>(big.data()), big.size());
    });
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kChildFailed) << e.what();
    EXPECT_NE(std::string(e.what()).find("bad input"), std::string::npos) << e.what();
  }
}

TEST(Process, LowPriorityIsApplied) {
  ProcessOptions o;
  o.argv = {"sh", "-c", "cut -d' ' -f19 /proc/self/stat"};
  o.pipe_stdout = true;
  o.nice_increment = 10;
  o.idle_io = true;
  ChildProcess child(o);
  StringSink out;
  pump_child(child, out, nullptr, nullptr);
  EXPECT_GE(std::stoi(out.data()), 10) << "nice value";
}

}  // namespace
}  // namespace ramsafe
