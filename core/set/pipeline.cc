#include "core/set/pipeline.h"

#include <poll.h>

#include <cerrno>

#include "core/error.h"

namespace ramsafe {
namespace {

constexpr size_t kPumpBlock = size_t{256} * 1024;

void check_against_manifest(const ManifestFile& expected, const std::string& source, uint64_t bytes,
                            const std::string& sha256) {
  if (bytes != expected.stored_bytes)
    throw Error(Errc::kCorrupt, source + ": size is " + std::to_string(bytes) +
                                    " bytes, manifest says " +
                                    std::to_string(expected.stored_bytes));
  if (sha256 != expected.sha256)
    throw Error(Errc::kCorrupt, source + ": SHA-256 mismatch (stored data is damaged)");
}

}  // namespace

EncryptChain::EncryptChain(int fd, const std::string& what, int level,
                           const std::vector<age::Recipient>& recipients, int zstd_workers)
    : level_(level),
      file_(fd, what),
      stored_(file_),
      encrypt_(recipients, stored_),
      compress_(encrypt_, level, zstd_workers),
      plain_(compress_) {
  for (const auto& r : recipients) recipient_fingerprints_.push_back(age::fingerprint(r));
}

void EncryptChain::describe(ManifestFile& file) const {
  file.plaintext_bytes = plaintext_bytes();
  file.stored_bytes = stored_bytes();
  file.sha256 = sha256();
  file.compression = "zstd";
  file.compression_level = level_;
  file.encryption = "age-v1";
  file.recipients = recipient_fingerprints_;
}

DecryptChain::DecryptChain(const ManifestFile& expected, const std::string& source,
                           const std::vector<age::Identity>& identities, Sink& out)
    : expected_(expected),
      source_(source),
      bounded_(out, expected.plaintext_bytes),
      plain_(bounded_),
      decompress_(plain_),
      decrypt_(identities, decompress_),
      stored_(decrypt_) {}

void DecryptChain::write(const uint8_t* data, size_t size) {
  try {
    stored_.write(data, size);
  } catch (const Error& e) {
    if (e.code() == Errc::kCorrupt || e.code() == Errc::kCrypto)
      throw Error(e.code(), source_ + ": " + e.what());
    throw;
  }
}

void DecryptChain::finish() {
  try {
    stored_.finish();
  } catch (const Error& e) {
    if (e.code() == Errc::kCorrupt || e.code() == Errc::kCrypto)
      throw Error(e.code(), source_ + ": " + e.what());
    throw;
  }
  check_against_manifest(expected_, source_, stored_.bytes(), stored_.sha256());
  if (plain_.bytes() != expected_.plaintext_bytes)
    throw Error(Errc::kCorrupt, source_ + ": decrypted to " + std::to_string(plain_.bytes()) +
                                    " bytes, manifest says " +
                                    std::to_string(expected_.plaintext_bytes));
}

ChecksumVerifier::ChecksumVerifier(const ManifestFile& expected, std::string source)
    : expected_(expected), source_(std::move(source)), stored_(null_) {}

void ChecksumVerifier::write(const uint8_t* data, size_t size) {
  stored_.write(data, size);
}

void ChecksumVerifier::finish() {
  stored_.finish();
  check_against_manifest(expected_, source_, stored_.bytes(), stored_.sha256());
}

void pump_fd(int fd, const std::string& what, Sink& out, const CancelCheck& cancel,
             const ByteProgress& progress, int poll_ms) {
  std::vector<uint8_t> buf(kPumpBlock);
  uint64_t total = 0;
  for (;;) {
    if (cancel && cancel()) throw Error(Errc::kCancelled, "cancelled while reading " + what);
    struct pollfd pfd = {fd, POLLIN, 0};
    int ready = ::poll(&pfd, 1, poll_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll " + what);
    }
    if (ready == 0) continue;
    size_t n = read_some(fd, buf.data(), buf.size(), what);
    if (n == 0) break;
    out.write(buf.data(), n);
    total += n;
    if (progress) progress(total);
  }
  out.finish();
}

void pump_child(ChildProcess& child, Sink& out, const CancelCheck& cancel,
                const ByteProgress& progress) {
  try {
    pump_fd(child.stdout_pipe().get(), child.program() + " output", out, cancel, progress);
  } catch (const Error& e) {
    // The pipeline failed (disk full, cancel) or the child's output was bad because the
    // child itself failed: stop it, and blame the child if it reported a failure first.
    if (e.code() != Errc::kCancelled) {
      if (auto status = child.poll(); status && !status->success()) child.wait_success();
    }
    child.kill_and_reap();
    throw;
  }
  child.wait_success();
}

ExitStatus feed_child_status(ChildProcess& child, const std::function<void(Sink&)>& produce,
                             bool may_stop_early) {
  try {
    FdSink sink(child.stdin_pipe().get(), child.program() + " input");
    produce(sink);
    child.stdin_pipe().close_checked(child.program() + " input");
  } catch (const Error& e) {
    child.stdin_pipe().reset();
    if (e.code() == Errc::kIo) {
      // EPIPE: the child stopped reading, its own error explains why.
      ExitStatus status = child.wait();
      if (!status.success() || may_stop_early) return status;
    }
    child.kill_and_reap();
    throw;
  }
  return child.wait();
}

void feed_child(ChildProcess& child, const std::function<void(Sink&)>& produce) {
  if (!feed_child_status(child, produce).success()) child.wait_success();
}

}  // namespace ramsafe
