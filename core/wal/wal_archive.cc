#include "core/wal/wal_archive.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/stages.h"
#include "core/io/unique_fd.h"
#include "core/io/zstd_stage.h"
#include "core/set/pipeline.h"
#include "core/set/trust.h"
#include "core/store/local_store.h"

namespace ramsafe {
namespace {

constexpr size_t kReadBlock = size_t{256} * 1024;
constexpr const char* kDataSuffix = ".zst.age";
constexpr const char* kSumSuffix = ".sha256";
constexpr const char* kWalDirName = "wal";
constexpr const char* kTempSuffix = ".tmp";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Pushes a whole file through out (then out.finish()).
void pump_file(int fd, const std::string& what, Sink& out) {
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  std::vector<uint8_t> buf(kReadBlock);
  for (;;) {
    size_t n = read_some(fd, buf.data(), buf.size(), what);
    if (n == 0) break;
    out.write(buf.data(), n);
  }
  out.finish();
}

// <name>.sha256's text in dir ("<64 hex>  <name>\n").
std::string read_record(const Dir& dir, const std::string& name) {
  std::string text;
  try {
    text = dir.read_file(name + kSumSuffix, 4096);
  } catch (const Error& e) {
    if (e.code() != Errc::kNotFound) throw;
    throw Error(Errc::kCorrupt, dir.path_of(name + kSumSuffix) +
                                    " is missing: the checksum of archived WAL file " + name +
                                    " is lost");
  }
  return text;
}

// <name>.sig's text in dir, or nullopt when there is none.
std::optional<std::string> read_signature(const Dir& dir, const std::string& name) {
  try {
    return dir.read_file(name + kWalSignatureSuffix, kMaxSignatureFileSize);
  } catch (const Error& e) {
    if (e.code() == Errc::kNotFound) return std::nullopt;
    if (e.code() == Errc::kCorrupt) return std::string();  // over the limit: not a signature
    throw;
  }
}

// The recorded plaintext SHA-256, once the record is trusted (see wal_recorded_sha256).
std::string read_trusted_sha256(const Dir& dir, const std::string& name, const TrustPolicy& trust,
                                bool allow_unsigned) {
  std::string record = read_record(dir, name);
  std::optional<std::string> sig = read_signature(dir, name);
  return trusted_wal_sha256(record, sig ? &*sig : nullptr, name, trust, allow_unsigned,
                            dir.path_of(name));
}

uint64_t file_size(const Dir& dir, const std::string& name) {
  auto st = dir.stat(name);
  if (!st) {
    errno = ENOENT;
    throw_errno("stat " + dir.path_of(name));
  }
  return static_cast<uint64_t>(st->st_size);
}

// Temporary files a killed archiver left in a timeline directory (".<name>.<random>.tmp"):
// removed the first time this process archives into the directory. One archiver per
// store, so none of them is being written.
void remove_stale_temporary_files(const Dir& dir) {
  static std::mutex mutex;
  static std::set<std::string> cleaned;
  std::lock_guard<std::mutex> guard(mutex);
  if (!cleaned.insert(dir.path()).second) return;
  for (const auto& entry : dir.list()) {
    if (entry.size() < 6 || entry[0] != '.' || !ends_with(entry, kTempSuffix)) continue;
    auto st = dir.stat(entry);
    if (st && !S_ISDIR(st->st_mode)) dir.unlink(entry);
  }
}

// A subdirectory of parent, made (0700) if missing, with parent fsynced so the new entry
// survives a crash.
Dir durable_sub(const Dir& parent, const std::string& name) {
  bool created = false;
  Dir dir = parent.make_sub(name, 0700, &created);
  if (created) parent.fsync();
  return dir;
}

}  // namespace

std::string parse_wal_sha256(const std::string& text, const std::string& name,
                             const std::string& where) {
  std::string expected_tail = "  " + name + "\n";
  bool hex = text.size() == 64 + expected_tail.size() &&
             std::all_of(text.begin(), text.begin() + 64,
                         [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  if (!hex || text.compare(64, std::string::npos, expected_tail) != 0)
    throw Error(Errc::kCorrupt,
                where + " is damaged: expected \"<sha256>  " + name + "\" on one line");
  return text.substr(0, 64);
}

std::string trusted_wal_sha256(const std::string& record, const std::string* signature,
                               const std::string& name, const TrustPolicy& trust,
                               bool allow_unsigned, const std::string& where) {
  std::string sha = parse_wal_sha256(record, name, where + kSumSuffix);
  WalRecordCheck check = check_wal_record(record, signature, trust, where);
  if (check.trust == Trust::kTrusted || (check.trust == Trust::kUnsigned && allow_unsigned))
    return sha;
  throw Error(Errc::kUntrusted, "UNTRUSTED WAL file " + name + ": " + check.problem);
}

std::string wal_signature_path(const std::string& store_root, const std::string& name) {
  WalFileName wal = parse_wal_file_name(name);
  return join_path(join_path(wal_archive_dir(store_root), wal.timeline),
                   name + kWalSignatureSuffix);
}

std::string wal_checksum_path(const std::string& store_root, const std::string& name) {
  WalFileName wal = parse_wal_file_name(name);
  return join_path(join_path(wal_archive_dir(store_root), wal.timeline), name + kSumSuffix);
}

std::string wal_archive_dir(const std::string& store_root) {
  return join_path(store_root, kWalDirName);
}

std::string wal_stored_path(const std::string& store_root, const std::string& name) {
  WalFileName wal = parse_wal_file_name(name);
  return join_path(join_path(wal_archive_dir(store_root), wal.timeline), name + kDataSuffix);
}

std::optional<Dir> open_wal_dir(const std::string& store_root, DirAccess access, bool create) {
  auto root = open_store_root(store_root, access, create);
  if (!root) return std::nullopt;
  std::optional<Dir> wal = create ? std::optional<Dir>(durable_sub(*root, kWalDirName))
                                  : root->sub_if_exists(kWalDirName);
  if (wal) wal->check_private(access, "the WAL archive directory");
  return wal;
}

std::optional<Dir> open_wal_timeline_dir(const std::string& store_root, const std::string& timeline,
                                         DirAccess access, bool create) {
  if (!is_timeline_id(timeline))
    throw Error(Errc::kInvalidArgument, "\"" + printable(timeline) + "\" is not a timeline");
  auto wal = open_wal_dir(store_root, access, create);
  if (!wal) return std::nullopt;
  std::optional<Dir> dir =
      create ? std::optional<Dir>(durable_sub(*wal, timeline)) : wal->sub_if_exists(timeline);
  if (dir) dir->check_private(access, "the WAL archive directory");
  return dir;
}

UniqueFd open_stored_wal(const std::string& store_root, const std::string& name,
                         StoredWalPart part) {
  WalFileName wal = parse_wal_file_name(name);
  std::string file = name + (part == StoredWalPart::kChecksum    ? kSumSuffix
                             : part == StoredWalPart::kSignature ? kWalSignatureSuffix
                                                                 : kDataSuffix);
  auto dir = open_wal_timeline_dir(store_root, wal.timeline, DirAccess::kRead, false);
  if (!dir) {
    errno = ENOENT;
    throw_errno("open " + join_path(join_path(wal_archive_dir(store_root), wal.timeline), file));
  }
  return dir->open_read(file);
}

WalArchiveResult archive_wal_file(const std::string& store_root,
                                  const std::vector<age::Recipient>& recipients,
                                  int compression_level, const std::string& name,
                                  const std::string& source_path, const SetSigner& signer) {
  WalFileName wal = parse_wal_file_name(name);
  UniqueFd source = open_or_throw(source_path, O_RDONLY | O_CLOEXEC);
  Dir dir = std::move(*open_wal_timeline_dir(store_root, wal.timeline, DirAccess::kWrite, true));
  std::string data_name = name + kDataSuffix;

  WalArchiveResult result;
  result.path = dir.path_of(data_name);
  bool replace = false;
  std::optional<std::string> recorded;
  if (dir.exists(data_name)) {
    // Already archived (PostgreSQL retries a file whose success it did not record):
    // identical plaintext is success, anything else is refused. What no trusted key signed
    // is not an archived file of ours: it is archived anew over it.
    try {
      recorded = read_trusted_sha256(dir, name, signer.trust, false);
    } catch (const Error& e) {
      if (e.code() != Errc::kCorrupt && e.code() != Errc::kUntrusted) throw;
      replace = true;
    }
  }
  if (recorded) {
    NullSink null;
    HashingStage hash(null);
    pump_file(source.get(), source_path, hash);
    if (hash.sha256() != *recorded)
      throw Error(Errc::kCorrupt,
                  "WAL file " + name + " is already archived with different content (" +
                      result.path + " has SHA-256 " + recorded->substr(0, 16) + "..., " +
                      source_path + " has " + hash.sha256().substr(0, 16) +
                      "...); not replacing it: check for a timeline mix-up or two clusters "
                      "sharing one ramsafe.local_dir and ramsafe.cluster_name");
    result.already_stored = true;
    result.plaintext_bytes = hash.bytes();
    result.sha256 = hash.sha256();
    result.stored_bytes = file_size(dir, data_name);
    return result;
  }

  // New temporary files (O_EXCL, random names): nothing planted in the directory is
  // written through.
  remove_stale_temporary_files(dir);
  TempFile data_tmp(dir, data_name);
  {
    EncryptChain chain(data_tmp.fd(), data_tmp.path(), compression_level, recipients, 0);
    HashingStage plain(chain);
    pump_file(source.get(), source_path, plain);
    result.plaintext_bytes = plain.bytes();
    result.sha256 = plain.sha256();
    result.stored_bytes = chain.stored_bytes();
  }

  std::string record = result.sha256 + "  " + name + "\n";
  TempFile sum_tmp(dir, name + kSumSuffix);
  write_all(sum_tmp.fd(), record.data(), record.size(), sum_tmp.path());
  TempFile sig_tmp(dir, name + kWalSignatureSuffix);
  std::string signature = sign_wal_record(signer.key, signer.cluster, record);
  write_all(sig_tmp.fd(), signature.data(), signature.size(), sig_tmp.path());
  // The signature and the checksum first: a data file is never visible without them.
  sig_tmp.commit(name + kWalSignatureSuffix);
  sum_tmp.commit(name + kSumSuffix);
  data_tmp.commit(data_name, replace);
  dir.fsync();
  return result;
}

WalFetchResult fetch_wal_file(const std::string& store_root,
                              const std::vector<age::Identity>& identities, const std::string& name,
                              const std::string& dest_path, const TrustPolicy& trust,
                              bool allow_unsigned) {
  WalFileName wal = parse_wal_file_name(name);
  std::string data_path = wal_stored_path(store_root, name);
  auto dir = open_wal_timeline_dir(store_root, wal.timeline, DirAccess::kRead, false);
  UniqueFd stored;
  try {
    if (!dir) {
      errno = ENOENT;
      throw_errno("open " + data_path);
    }
    stored = dir->open_read(name + kDataSuffix);
  } catch (const Error& e) {
    if (e.code() != Errc::kNotFound) throw;
    throw Error(Errc::kNotFound, "WAL file " + name + " is not in the archive (" +
                                     wal_archive_dir(store_root) + ")");
  }
  std::string recorded = read_trusted_sha256(*dir, name, trust, allow_unsigned);
  return write_fetched_wal(
      identities, recorded, data_path, [&](Sink& out) { pump_file(stored.get(), data_path, out); },
      dest_path);
}

WalFetchResult write_fetched_wal(const std::vector<age::Identity>& identities,
                                 const std::string& recorded_sha256, const std::string& where,
                                 const std::function<void(Sink&)>& feed,
                                 const std::string& dest_path) {
  Dir dest_dir = Dir::open(parent_dir(dest_path));
  TempFile tmp(dest_dir, base_name(dest_path) + ".ramsafe");
  WalFetchResult result;
  {
    FdSink file(tmp.fd(), tmp.path());
    HashingStage plain(file);
    ZstdDecompressor decompress(plain);
    age::Decryptor decrypt(identities, decompress);
    try {
      feed(decrypt);
    } catch (const Error& e) {
      if (e.code() == Errc::kCorrupt || e.code() == Errc::kCrypto)
        throw Error(e.code(), where + ": " + e.what());
      throw;
    }
    if (plain.sha256() != recorded_sha256)
      throw Error(Errc::kCorrupt,
                  where + ": decrypts to content whose SHA-256 (" + plain.sha256().substr(0, 16) +
                      "...) is not the recorded one (" + recorded_sha256.substr(0, 16) + "...)");
    result.plaintext_bytes = plain.bytes();
    result.sha256 = plain.sha256();
  }
  tmp.commit(base_name(dest_path));
  dest_dir.fsync();
  return result;
}

std::string wal_recorded_sha256(const std::string& store_root, const std::string& name,
                                const TrustPolicy& trust, bool allow_unsigned) {
  WalFileName wal = parse_wal_file_name(name);
  auto dir = open_wal_timeline_dir(store_root, wal.timeline, DirAccess::kRead, false);
  if (!dir)
    throw Error(Errc::kCorrupt,
                join_path(join_path(wal_archive_dir(store_root), wal.timeline), name + kSumSuffix) +
                    " is missing: the checksum of archived WAL file " + name + " is lost");
  return read_trusted_sha256(*dir, name, trust, allow_unsigned);
}

std::vector<StoredWalFile> list_wal_files(const std::string& store_root) {
  std::vector<StoredWalFile> files;
  auto top = open_wal_dir(store_root, DirAccess::kRead, false);
  if (!top) return files;
  for (const auto& timeline : top->list()) {
    if (!is_timeline_id(timeline)) continue;
    auto st = top->stat(timeline);
    if (!st || !S_ISDIR(st->st_mode)) continue;  // a link or a file is not a timeline
    Dir dir = top->sub(timeline);
    dir.check_private(DirAccess::kRead, "the WAL archive directory");
    for (const auto& entry : dir.list()) {
      if (!ends_with(entry, kDataSuffix)) continue;
      auto parsed =
          try_parse_wal_file_name(entry.substr(0, entry.size() - std::string(kDataSuffix).size()));
      if (!parsed || parsed->timeline != timeline) continue;
      auto file_st = dir.stat(entry);
      if (!file_st || !S_ISREG(file_st->st_mode)) continue;
      StoredWalFile f;
      f.file = *parsed;
      f.stored_bytes = static_cast<uint64_t>(file_st->st_size);
      f.mtime = file_st->st_mtime;
      f.mtime_ms = int64_t{file_st->st_mtim.tv_sec} * 1000 + file_st->st_mtim.tv_nsec / 1000000;
      files.push_back(std::move(f));
    }
  }
  // Dir::list sorts each directory; timelines are visited in order.
  return files;
}

std::vector<StoredWalFile> union_wal_files(const std::vector<StoredWalFile>& first,
                                           const std::vector<StoredWalFile>& second) {
  std::map<std::pair<std::string, std::string>, StoredWalFile> by_key;
  for (const auto* list : {&second, &first})
    for (const auto& f : *list) by_key[{f.file.timeline, f.file.name}] = f;
  std::vector<StoredWalFile> out;
  out.reserve(by_key.size());
  for (auto& [key, f] : by_key) out.push_back(std::move(f));
  return out;
}

WalReach wal_reach(uint32_t timeline, const std::string& start_wal_file,
                   const std::string& stop_wal_file, uint64_t segment_size,
                   const std::vector<StoredWalFile>& files) {
  // segment number -> the file of the newest timeline (>= the base's) that holds it
  std::map<uint64_t, const StoredWalFile*> base_tl, any_tl;
  uint32_t newest_tl = 0;
  for (const auto& f : files) {
    if (f.file.kind != WalFileKind::kSegment) continue;
    auto tl = static_cast<uint32_t>(std::stoul(f.file.timeline, nullptr, 16));
    if (tl < timeline) continue;
    uint64_t n = wal_segment_number(f.file.name, segment_size);
    if (tl == timeline) base_tl[n] = &f;
    auto it = any_tl.find(n);
    if (it == any_tl.end() || it->second->file.timeline < f.file.timeline) any_tl[n] = &f;
    newest_tl = std::max(newest_tl, tl);
  }
  WalReach reach;
  uint64_t start = wal_segment_number(start_wal_file, segment_size);
  uint64_t stop = wal_segment_number(stop_wal_file, segment_size);
  for (uint64_t n = start;; ++n) {
    const auto& index = n <= stop ? base_tl : any_tl;
    auto it = index.find(n);
    if (it == index.end()) {
      if (n <= stop) {
        uint64_t per_id = (uint64_t{1} << 32) / segment_size;
        char buf[32];
        std::snprintf(buf, sizeof buf, "%08X%08X%08X", timeline, static_cast<unsigned>(n / per_id),
                      static_cast<unsigned>(n % per_id));
        reach.missing = buf;
      }
      break;
    }
    reach.last_segment = it->second->file.name;
    reach.last_mtime = it->second->mtime;
    reach.last_mtime_ms = it->second->mtime_ms ? it->second->mtime_ms : it->second->mtime * 1000;
    reach.segments++;
  }
  reach.complete = reach.missing.empty();
  return reach;
}

}  // namespace ramsafe
