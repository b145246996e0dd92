// Checking backup sets: the stored bytes against the manifest's sizes and SHA-256
// (no key needed), or deeply: decrypt and decompress every file, which also checks the
// age MACs, the zstd frame checksums and the plaintext sizes.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/age.h"
#include "core/store.h"

namespace ramsafe {

struct FileVerification {
  std::string path;
  std::string role;
  std::string database;
  uint64_t stored_bytes = 0;
  bool ok = false;
  std::string problem;
};

struct SetVerification {
  std::string backup_id;
  std::string store;
  bool ok = false;
  std::string problem;  // the manifest's, if it is unusable
  std::vector<FileVerification> files;
};

// Progress: stored bytes checked so far, and the set's total.
using VerifyProgress = std::function<void(uint64_t done, uint64_t total)>;

// identities are used only when deep is true. Never throws for damage (it is reported);
// throws Error(kCancelled) if cancelled.
SetVerification verify_set(Store& store, const SetEntry& set, bool deep,
                           const std::vector<age::Identity>& identities, const CancelCheck& cancel,
                           const VerifyProgress& progress = nullptr);

}  // namespace ramsafe
