// WAL archiving into the local store (issue 7, slice 1). Each file PostgreSQL's archiver
// hands over is compressed (zstd) and encrypted (age) while streaming, and stored as
//
//   <local_dir>/<cluster>/wal/<timeline>/<name>.zst.age   the file: zstd, then age
//   <local_dir>/<cluster>/wal/<timeline>/<name>.sha256    "<sha256 of plaintext>  <name>\n"
//   <local_dir>/<cluster>/wal/<timeline>/<name>.sig       the signature of that record
//                                                         (core/set/trust.h)
//
// (<timeline> is the name's first 8 hex digits). The .sha256 file is in sha256sum(1)
// format, so `age -d -i key.txt X.zst.age | zstd -d > X && sha256sum -c X.sha256` checks a
// recovered file without ramsafe. Publishing: both files are written to dot-named
// temporary files and fsynced; the .sig and the .sha256 are renamed into place first, then
// the data file (without replacing an existing one), then the directory is fsynced. The
// data file's presence means the file is archived; a .sha256 or .sig alone (a crash between
// the renames) means nothing and is rewritten by the next attempt.
//
// Archiving is idempotent: if <name>.zst.age exists with a trusted signature and the
// source's plaintext SHA-256 equals the recorded one, nothing is written and it counts as
// success. A different SHA-256 is an error and the stored file is never replaced:
// PostgreSQL must keep retrying while someone looks (a timeline mix-up, two clusters in one
// store). A stored file without a trusted signature is not ramsafe's (or predates signing):
// it is archived anew over it.
//
// Readers (fetch, verify) use a WAL file only when its record's signature checks out with
// a verify key of the reading host, or, with allow_unsigned, when it has no signature at
// all (archived before ramsafe signed WAL).
// One archiver per <local_dir>/<cluster> is assumed (PostgreSQL runs one per cluster).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/crypto/age.h"
#include "core/io/dir.h"
#include "core/io/sink.h"
#include "core/pg/wal_names.h"
#include "core/set/trust.h"

namespace ramsafe {

// <store_root>/wal, where store_root is <local_dir>/<cluster>.
std::string wal_archive_dir(const std::string& store_root);
// The archive's directories, opened like the store's root (open_store_root in
// core/store/local_store.h): never through a symbolic link, and refused unless owned by the
// running user and not writable by group or others. nullopt when missing; with create,
// made (0700) and their parent fsynced.
std::optional<Dir> open_wal_dir(const std::string& store_root, DirAccess access, bool create);
std::optional<Dir> open_wal_timeline_dir(const std::string& store_root, const std::string& timeline,
                                         DirAccess access, bool create);
// A stored WAL file's part (the data file, its .sha256 or its .sig) for reading, never
// through a link. Error(kNotFound) when it is not there.
enum class StoredWalPart { kData, kChecksum, kSignature };
UniqueFd open_stored_wal(const std::string& store_root, const std::string& name,
                         StoredWalPart part);
// The stored data file of a WAL file name (validated).
std::string wal_stored_path(const std::string& store_root, const std::string& name);

struct WalArchiveResult {
  bool already_stored = false;  // identical content was there: nothing written
  uint64_t plaintext_bytes = 0;
  uint64_t stored_bytes = 0;  // of the stored file (also when already_stored)
  std::string sha256;         // of the plaintext
  std::string path;           // the stored data file
};

// Compresses, encrypts and stores source_path as `name`. Reads the source once,
// streaming. Throws Error: kInvalidArgument (bad name), kCorrupt (a different file of
// that name is stored, or its .sha256 is unreadable), kNotFound (no source), kIo,
// kNoSpace, kPermission; on error no file of that name is published and temporary files
// are removed.
WalArchiveResult archive_wal_file(const std::string& store_root,
                                  const std::vector<age::Recipient>& recipients,
                                  int compression_level, const std::string& name,
                                  const std::string& source_path, const SetSigner& signer);

struct WalFetchResult {
  uint64_t plaintext_bytes = 0;
  std::string sha256;
};

// Decrypts and decompresses a stored WAL file to dest_path atomically (temporary file in
// dest's directory, fsync, rename, directory fsync), checking the plaintext against the
// recorded SHA-256. Throws Error(kNotFound) when the archive does not hold the file,
// kCorrupt when it is damaged (MAC, zstd frame, checksum, missing .sha256), kCrypto when
// no identity matches; dest_path is then left untouched.
// The record's signature must check out with trust (or, with allow_unsigned, be absent):
// else Error(kCorrupt) saying why it is untrusted.
WalFetchResult fetch_wal_file(const std::string& store_root,
                              const std::vector<age::Identity>& identities, const std::string& name,
                              const std::string& dest_path, const TrustPolicy& trust,
                              bool allow_unsigned);

// The plaintext SHA-256 recorded in <name>.sha256 beside the stored file (64 lower-case
// hex digits), once the record's signature checks out with trust (with allow_unsigned, a
// record without any signature is taken too). Throws Error(kCorrupt) if it is missing,
// malformed or untrusted.
std::string wal_recorded_sha256(const std::string& store_root, const std::string& name,
                                const TrustPolicy& trust, bool allow_unsigned);
// The pieces of fetch_wal_file, for copies of the archive elsewhere (Drive): the SHA-256 a
// .sha256 file's text records (Error(kCorrupt) naming `where` if malformed), the same once
// its signature's text (nullptr: none) is checked, and the
// decrypt-decompress-check-publish chain fed by `feed` (which pushes the stored bytes and
// calls finish()); errors as fetch_wal_file's, messages prefixed with `where`.
std::string parse_wal_sha256(const std::string& text, const std::string& name,
                             const std::string& where);
std::string trusted_wal_sha256(const std::string& record, const std::string* signature,
                               const std::string& name, const TrustPolicy& trust,
                               bool allow_unsigned, const std::string& where);
// The signature file beside a stored WAL file's data file, and the checksum file.
std::string wal_signature_path(const std::string& store_root, const std::string& name);
std::string wal_checksum_path(const std::string& store_root, const std::string& name);
WalFetchResult write_fetched_wal(const std::vector<age::Identity>& identities,
                                 const std::string& recorded_sha256, const std::string& where,
                                 const std::function<void(Sink&)>& feed,
                                 const std::string& dest_path);

struct StoredWalFile {
  WalFileName file;
  uint64_t stored_bytes = 0;
  int64_t mtime = 0;  // unix seconds the stored file was written (about when it was archived)
  // The same in milliseconds where the store knows them (the local one); 0: mtime only.
  // Comparing a WAL file's time with a logical set's finish needs them: both fall in the
  // same second when a commit follows a backup closely.
  int64_t mtime_ms = 0;
};

// Every archived file (data file present), sorted by timeline, then name (for segments:
// WAL position). Temporary files, lone .sha256 files and anything else are skipped.
std::vector<StoredWalFile> list_wal_files(const std::string& store_root);

// The union of two stores' listings (local and Drive), in list_wal_files() order; for a
// name both hold, the entry of `first` wins.
std::vector<StoredWalFile> union_wal_files(const std::vector<StoredWalFile>& first,
                                           const std::vector<StoredWalFile>& second);

// How far the archived WAL reaches from a physical base backup whose WAL starts in
// start_wal_file and must reach stop_wal_file to be consistent.
struct WalReach {
  bool complete = false;      // every segment from start through stop is archived
  std::string missing;        // if not: the first segment that is not
  std::string last_segment;   // the last of the contiguous run from start_wal_file
  int64_t last_mtime = 0;     // its stored file's mtime
  int64_t last_mtime_ms = 0;  // the same in milliseconds (from mtime_ms, else mtime)
  size_t segments = 0;        // in the run
};
// Segments from start through stop must be on the base's timeline; after stop, a segment
// of any later timeline counts too (replay follows the newest timeline, as
// recovery_target_timeline = 'latest' does); this is an estimate of where replay ends.
WalReach wal_reach(uint32_t timeline, const std::string& start_wal_file,
                   const std::string& stop_wal_file, uint64_t segment_size,
                   const std::vector<StoredWalFile>& files);

}  // namespace ramsafe
