// Interoperability with the real age CLI (Debian's age 1.1.1): files we encrypt decrypt
// with `age -d`, files `age` encrypts (binary, -R, armored, passphrase) decrypt with us,
// and key files go both ways. The age CLI reads passphrases only from a terminal, so those
// runs go through script(1), answering its prompts on script's stdin; passphrases never
// appear in argv. Every child is waited for with a deadline, without sleeping.
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fcntl.h>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/crypto/age.h"
#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/process.h"
#include "core/io/unique_fd.h"
#include "test/unit/crypto/age_test_util.h"
#include "test/unit/test_util.h"

namespace ramsafe::age {
namespace {

using testing::bytes_of;
using testing::decrypt;
using testing::encrypt;
using testing::Outcome;

using Clock = std::chrono::steady_clock;
constexpr std::chrono::seconds kTimeout{60};

void write_bytes(const std::string& path, const std::vector<uint8_t>& data, unsigned mode = 0600) {
  UniqueFd fd = open_or_throw(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  write_all(fd.get(), data.data(), data.size(), path);
  fd.close_checked(path);
}
void write_text(const std::string& path, const std::string& text) {
  write_bytes(path, bytes_of(text));
}
std::vector<uint8_t> read_bytes(const std::string& path) {
  return bytes_of(read_file(path, 1u << 30));
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Waits for the child to exit, at most until deadline (then kills it and returns nullopt).
std::optional<ExitStatus> wait_until(ChildProcess& child, Clock::time_point deadline) {
  if (auto status = child.poll()) return status;
#ifdef SYS_pidfd_open
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, child.pid(), 0)));
  if (pidfd.valid()) {
    for (;;) {
      pollfd pfd{pidfd.get(), POLLIN, 0};
      int r = ::poll(&pfd, 1, remaining_ms(deadline));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      return child.wait();
    }
    child.kill_and_reap(1000);
    return std::nullopt;
  }
#endif
  (void)deadline;
  return child.wait();
}

struct ToolRun {
  bool timed_out = false;
  ExitStatus status;
  std::string output;  // stdout (for script: everything shown on the terminal)
  std::string stderr_text;
  std::string describe() const {
    return (timed_out ? std::string("timed out") : status.describe()) + "; stderr: " + stderr_text +
           "; output: " + output;
  }
};

// While alive, SIGPIPE is ignored, so that writing to a child that has exited fails with
// EPIPE (an Error) instead of killing the test binary.
class IgnoreSigpipe {
 public:
  IgnoreSigpipe() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, &old_);
  }
  ~IgnoreSigpipe() { ::sigaction(SIGPIPE, &old_, nullptr); }
  IgnoreSigpipe(const IgnoreSigpipe&) = delete;
  IgnoreSigpipe& operator=(const IgnoreSigpipe&) = delete;

 private:
  struct sigaction old_ {};
};

void run_until_exit(ChildProcess& child, const std::vector<std::string>& replies,
                    const std::string& prompt, ToolRun& run) {
  const Clock::time_point deadline = Clock::now() + kTimeout;
  size_t answered = 0, search_from = 0;
  for (;;) {
    if (remaining_ms(deadline) == 0) {
      child.kill_and_reap(1000);
      run.timed_out = true;
      return;
    }
    pollfd pfd{child.stdout_pipe().get(), POLLIN, 0};
    int r = ::poll(&pfd, 1, remaining_ms(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw_errno("poll");
    if (r == 0) continue;
    char buf[4096];
    size_t n = read_some(child.stdout_pipe().get(), buf, sizeof buf, child.program() + " stdout");
    if (n == 0) break;
    run.output.append(buf, n);
    while (answered < replies.size()) {
      size_t pos = run.output.find(prompt, search_from);
      if (pos == std::string::npos) break;
      search_from = pos + prompt.size();
      std::string line = replies[answered++] + "\n";
      write_all(child.stdin_pipe().get(), line.data(), line.size(), "script stdin");
    }
  }
  std::optional<ExitStatus> status = wait_until(child, deadline);
  if (!status) {
    run.timed_out = true;
    return;
  }
  run.status = *status;
  if (answered != replies.size())
    run.output += "\n[test: only " + std::to_string(answered) + " prompts were answered]";
}

// Runs argv. Each time `prompt` appears in its output, writes the next reply and a
// newline to its stdin (used with script(1), which forwards stdin to the terminal). The
// terminal may echo a reply that arrives before the program turns echo off, so replies
// are scrubbed from the returned output.
ToolRun run_tool(const std::vector<std::string>& argv, const std::vector<std::string>& replies = {},
                 const std::string& prompt = "passphrase") {
  IgnoreSigpipe ignore_sigpipe;
  ProcessOptions options;
  options.argv = argv;
  options.pipe_stdout = true;
  options.pipe_stdin = !replies.empty();
  options.env["SHELL"] = "/bin/sh";  // script -c runs the command with $SHELL
  options.env["TERM"] = "dumb";
  ToolRun run;
  {
    ChildProcess child(options);
    run_until_exit(child, replies, prompt, run);
    run.stderr_text = child.stderr_tail();
  }
  for (const std::string& reply : replies) {
    for (size_t pos; !reply.empty() && (pos = run.output.find(reply)) != std::string::npos;)
      run.output.replace(pos, reply.size(), "<reply>");
  }
  return run;
}

class AgeCliInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"age", "age-keygen", "script"})
      if (find_program(tool).empty()) GTEST_SKIP() << tool << " is not installed";
  }

  // `script -qec "<command>" /dev/null`: the command gets a pseudo-terminal.
  static std::vector<std::string> in_terminal(const std::string& command) {
    return {"script", "-qec", command, "/dev/null"};
  }

  test::ScratchDir dir_;
};

std::vector<uint8_t> random_data(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(size);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

constexpr size_t kSizes[] = {
    0, 1, kChunkSize - 1, kChunkSize, kChunkSize + 1, 3 * kChunkSize + 777};

TEST_F(AgeCliInterop, WeEncryptAgeDecrypts) {
  X25519Identity id = X25519Identity::generate();
  X25519Identity other = X25519Identity::generate();
  SecureString key_file = keygen_file(id);
  write_text(dir_.file("key.txt"), std::string(key_file.data(), key_file.size()));
  for (size_t size : kSizes) {
    std::vector<uint8_t> plain = random_data(size, static_cast<uint32_t>(size) + 1);
    // Two recipients; age finds the one it has the key for.
    write_bytes(dir_.file("in.age"), encrypt({other.recipient(), id.recipient()}, plain, 5000));
    // Plaintext on stdout (a pipe): age creates no -o file for an empty plaintext.
    ToolRun run = run_tool({"age", "-d", "-i", dir_.file("key.txt"), dir_.file("in.age")});
    ASSERT_TRUE(!run.timed_out && run.status.success())
        << "size " << size << ": " << run.describe();
    EXPECT_TRUE(run.output == testing::string_of(plain)) << "size " << size;
  }
}

TEST_F(AgeCliInterop, AgeKeygenAcceptsOurKeyFile) {
  X25519Identity id = X25519Identity::generate();
  SecureString key_file = keygen_file(id);
  write_text(dir_.file("key.txt"), std::string(key_file.data(), key_file.size()));
  ToolRun run = run_tool({"age-keygen", "-y", dir_.file("key.txt")});
  ASSERT_TRUE(!run.timed_out && run.status.success()) << run.describe();
  EXPECT_EQ(run.output, id.recipient().encode() + "\n");
}

TEST_F(AgeCliInterop, WeParseAgeKeygenKeyFile) {
  ToolRun run = run_tool({"age-keygen", "-o", dir_.file("key.txt")});
  ASSERT_TRUE(!run.timed_out && run.status.success()) << run.describe();
  SecureString text = read_secret_file(dir_.file("key.txt"));
  std::vector<Identity> ids = parse_identities(text, dir_.file("key.txt"));
  ASSERT_EQ(ids.size(), 1u);
  std::string content(text.data(), text.size());
  size_t pos = content.find("# public key: ");
  ASSERT_NE(pos, std::string::npos);
  std::string public_key = content.substr(pos + 14, content.find('\n', pos) - pos - 14);
  EXPECT_EQ(std::get<X25519Identity>(ids[0]).recipient().encode(), public_key);
  // age-keygen's stderr line "Public key: age1..." matches too.
  EXPECT_NE(run.stderr_text.find(public_key), std::string::npos) << run.stderr_text;
}

TEST_F(AgeCliInterop, AgeEncryptsWeDecrypt) {
  ToolRun keygen = run_tool({"age-keygen", "-o", dir_.file("key.txt")});
  ASSERT_TRUE(!keygen.timed_out && keygen.status.success()) << keygen.describe();
  std::vector<Identity> ids = parse_identities(read_secret_file(dir_.file("key.txt")), "key.txt");
  std::string recipient = std::get<X25519Identity>(ids[0]).recipient().encode();
  X25519Identity second = X25519Identity::generate();
  write_text(dir_.file("recipients.txt"),
             "# two recipients\n" + second.recipient().encode() + "\n\n" + recipient + "\n");
  std::vector<Recipient> parsed = parse_recipients(read_file(dir_.file("recipients.txt")), "r");
  ASSERT_EQ(parsed.size(), 2u);

  for (size_t size : kSizes) {
    std::vector<uint8_t> plain = random_data(size, static_cast<uint32_t>(size) + 2);
    write_bytes(dir_.file("plain"), plain);
    struct Variant {
      std::string name;
      std::vector<std::string> args;
      std::vector<Identity> identities;
    };
    std::vector<Variant> variants = {
        {"-r", {"-r", recipient}, ids},
        {"-R", {"-R", dir_.file("recipients.txt")}, {second}},
        {"-a -r", {"-a", "-r", recipient}, ids},
    };
    for (const Variant& v : variants) {
      std::vector<std::string> argv = {"age", "-e"};
      argv.insert(argv.end(), v.args.begin(), v.args.end());
      argv.insert(argv.end(), {"-o", dir_.file("out.age"), dir_.file("plain")});
      ToolRun run = run_tool(argv);
      ASSERT_TRUE(!run.timed_out && run.status.success()) << v.name << ": " << run.describe();
      std::vector<uint8_t> file = read_bytes(dir_.file("out.age"));
      if (v.name == "-a -r") {
        EXPECT_EQ(testing::string_of(file).rfind("-----BEGIN AGE ENCRYPTED FILE-----\n", 0), 0u);
      }
      for (size_t piece : {size_t{0}, size_t{1}, size_t{10000}}) {
        if (piece == 1 && size > kChunkSize + 1) continue;  // byte-wise only for small files
        Outcome o = decrypt(v.identities, file, piece);
        ASSERT_TRUE(o.ok) << v.name << " size " << size << ": " << o.message;
        EXPECT_EQ(o.plaintext, plain) << v.name << " size " << size;
      }
    }
  }
}

TEST_F(AgeCliInterop, PassphraseWeEncryptAgeDecrypts) {
  const std::string pass = "interop passphrase \xc3\xa9 42";
  std::vector<uint8_t> plain = random_data(kChunkSize + 10, 3);
  ScryptRecipient r;
  r.passphrase = SecureString(pass.data(), pass.size());
  r.log_n = 16;
  write_bytes(dir_.file("in.age"), encrypt({r}, plain));
  ToolRun run =
      run_tool(in_terminal("age -d -o " + dir_.file("out") + " " + dir_.file("in.age")), {pass});
  ASSERT_TRUE(!run.timed_out && run.status.success()) << run.describe();
  EXPECT_EQ(read_bytes(dir_.file("out")), plain) << run.describe();

  // And a wrong passphrase makes age fail.
  ::unlink(dir_.file("out").c_str());
  run = run_tool(in_terminal("age -d -o " + dir_.file("out") + " " + dir_.file("in.age")),
                 {"not it"});
  ASSERT_FALSE(run.timed_out) << run.describe();
  EXPECT_FALSE(run.status.success()) << run.describe();
}

TEST_F(AgeCliInterop, PassphraseAgeEncryptsWeDecrypt) {
  const std::string pass = "another passphrase";
  std::vector<uint8_t> plain = random_data(2 * kChunkSize, 4);
  write_bytes(dir_.file("plain"), plain);
  // age -p asks for the passphrase and then to confirm it.
  ToolRun run = run_tool(
      in_terminal("age -p -o " + dir_.file("out.age") + " " + dir_.file("plain")), {pass, pass});
  ASSERT_TRUE(!run.timed_out && run.status.success()) << run.describe();
  std::vector<uint8_t> file = read_bytes(dir_.file("out.age"));
  ASSERT_NE(testing::string_of(file).find("\n-> scrypt "), std::string::npos);

  ScryptIdentity id;
  id.passphrase = SecureString(pass.data(), pass.size());
  Outcome o = decrypt({id}, file);
  ASSERT_TRUE(o.ok) << o.message;
  EXPECT_EQ(o.plaintext, plain);
}

}  // namespace
}  // namespace ramsafe::age
