// The streaming pipelines of a backup file and the loops that drive them.
//
//   write:  plaintext -> count -> zstd -> age -> sha256+count -> file
//   read:   stored bytes -> sha256+count -> age -> zstd -> count -> out
//
// Memory is a few fixed buffers per chain, whatever the file's size.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/crypto/age.h"
#include "core/io/process.h"
#include "core/io/stages.h"
#include "core/io/zstd_stage.h"
#include "core/set/manifest.h"

namespace ramsafe {

// Called with the running count of bytes read from the source.
using ByteProgress = std::function<void(uint64_t bytes)>;

class EncryptChain : public Sink {
 public:
  EncryptChain(int fd, const std::string& what, int level,
               const std::vector<age::Recipient>& recipients, int zstd_workers);
  void write(const uint8_t* data, size_t size) override { plain_.write(data, size); }
  void finish() override { plain_.finish(); }

  uint64_t plaintext_bytes() const { return plain_.bytes(); }
  uint64_t stored_bytes() const { return stored_.bytes(); }
  const std::string& sha256() const { return stored_.sha256(); }  // after finish()
  // Fills in what the manifest says of the file this chain stored (after finish()): sizes,
  // digest, compression, encryption and recipients. Path and role are the caller's.
  void describe(ManifestFile& file) const;

 private:
  int level_;
  std::vector<std::string> recipient_fingerprints_;
  // Declared sink first: each stage is built on the one declared before it.
  FdSink file_;
  HashingStage stored_;
  age::Encryptor encrypt_;
  ZstdCompressor compress_;
  CountingStage plain_;
};

// Checks a stored file against its manifest entry while passing the plaintext on.
// finish() throws Error(kCorrupt) if the size or SHA-256 differ; write() throws it as soon
// as the plaintext grows past the recorded plaintext_bytes (so a zstd bomb never produces
// more than the manifest says, whatever holds the output).
class DecryptChain : public Sink {
 public:
  DecryptChain(const ManifestFile& expected, const std::string& source,
               const std::vector<age::Identity>& identities, Sink& out);
  void write(const uint8_t* data, size_t size) override;
  void finish() override;
  uint64_t plaintext_bytes() const { return plain_.bytes(); }
  uint64_t stored_bytes() const { return stored_.bytes(); }

 private:
  const ManifestFile& expected_;
  std::string source_;
  BoundedStage bounded_;
  CountingStage plain_;
  ZstdDecompressor decompress_;
  age::Decryptor decrypt_;
  HashingStage stored_;
};

// Checks only the stored bytes against the manifest entry (no key needed).
class ChecksumVerifier : public Sink {
 public:
  ChecksumVerifier(const ManifestFile& expected, std::string source);
  void write(const uint8_t* data, size_t size) override;
  void finish() override;

 private:
  const ManifestFile& expected_;
  std::string source_;
  NullSink null_;
  HashingStage stored_;
};

// Reads fd until end of file into out (then out.finish()), checking cancel between
// blocks (at least every poll_ms while the source is idle).
void pump_fd(int fd, const std::string& what, Sink& out, const CancelCheck& cancel,
             const ByteProgress& progress, int poll_ms = 200);

// Runs a child writing to its stdout into out; throws the child's failure (with its
// stderr) in preference to the pipeline error it caused, kills and reaps it on any error.
void pump_child(ChildProcess& child, Sink& out, const CancelCheck& cancel,
                const ByteProgress& progress);

// Streams a stdin-consuming child: calls produce(sink writing to the child's stdin),
// closes stdin, waits. A failure of the child is reported in preference to the EPIPE
// it caused on our side.
void feed_child(ChildProcess& child, const std::function<void(Sink&)>& produce);
// The same, returning the child's exit status instead of throwing when it fails (for a
// child whose failure the caller looks into; its stderr is still there to read).
// may_stop_early: a child that exits successfully before reading everything is not an
// error (the rest of the stream is not produced).
ExitStatus feed_child_status(ChildProcess& child, const std::function<void(Sink&)>& produce,
                             bool may_stop_early = false);

}  // namespace ramsafe
