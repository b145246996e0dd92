// Checking backup sets: the stored bytes against the manifest's sizes and SHA-256
// (no key needed), or deeply: decrypt and decompress every file, which also checks the
// age MACs, the zstd frame checksums and the plaintext sizes. And checking the WAL
// archive (core/wal/wal_archive.h): every stored file has its .sha256; deeply, every file
// decrypts, decompresses and matches it; no segment is missing after a physical base.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/crypto/age.h"
#include "core/store/store.h"
#include "core/wal/wal_archive.h"

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
  std::string problem;     // the manifest's, if it is unusable
  bool untrusted = false;  // not signed by a trusted key (problem says why): never checked
  std::vector<FileVerification> files;
};

// Progress: stored bytes checked so far, and the set's total.
using VerifyProgress = std::function<void(uint64_t done, uint64_t total)>;

// identities are used only when deep is true. Never throws for damage (it is reported);
// throws Error(kCancelled) if cancelled.
SetVerification verify_set(Store& store, const SetEntry& set, bool deep,
                           const std::vector<age::Identity>& identities, const CancelCheck& cancel,
                           const VerifyProgress& progress = nullptr);

struct WalFileVerification {
  std::string name;
  uint64_t stored_bytes = 0;
  bool ok = false;
  bool untrusted = false;  // its record is not signed by a trusted key (problem says why)
  std::string problem;     // names the stored file and what is wrong with it
};

// One archived WAL file (its data file exists): its .sha256 must be there, well formed and
// signed by a key trust holds (with allow_unsigned, or not signed at all); with deep, the
// file must decrypt with identities, decompress (zstd frame checksums) and hash to the
// recorded SHA-256. Streams the file through fixed buffers, writes nothing. Never throws
// for damage; throws Error(kCancelled) if cancelled, and for I/O errors other than damage
// (e.g. kPermission) as fetch_wal_file does.
WalFileVerification verify_wal_file(const std::string& store_root, const StoredWalFile& file,
                                    bool deep, const std::vector<age::Identity>& identities,
                                    const TrustPolicy& trust, bool allow_unsigned,
                                    const CancelCheck& cancel = nullptr);

struct WalGap {
  std::string first_missing;  // segment names on the timeline of the segment before the gap
  std::string last_missing;
  std::string after_base;  // the id of the newest physical base whose replay it cuts short
  // Set when a dropped-segment marker (core/wal/wal_window.h) lies in the gap: the backlog
  // policy gave those segments up on purpose; the gap is reported, not counted as damage.
  std::string dropped_segment;
};

struct WalVerification {
  bool present = false;  // the store has a WAL archive directory
  bool deep = false;
  bool ok = true;  // no damaged file, no gap other than one a dropped-segment marker explains
  size_t files = 0;
  uint64_t stored_bytes = 0;
  std::string first_segment, last_segment;   // of all timelines, by position
  std::vector<WalFileVerification> damaged;  // only the bad files (untrusted ones too)
  std::vector<WalGap> gaps;
};

// Checks every archived WAL file of <store_root>/wal (verify_wal_file), and that the
// segments from the oldest physical base's start segment through the newest archived
// segment are all there (on any timeline at or after the base's; a timeline switch does
// not count as a gap). sets: the store's sets (only usable physical ones count). Memory:
// the file list, plus one entry per bad file or gap.
using WalVerifyProgress = std::function<void(uint64_t done, uint64_t total, const std::string&)>;
WalVerification verify_wal_archive(const std::string& store_root, const std::vector<SetEntry>& sets,
                                   bool deep, const std::vector<age::Identity>& identities,
                                   const TrustPolicy& trust, const CancelCheck& cancel,
                                   const WalVerifyProgress& progress = nullptr);

}  // namespace ramsafe
