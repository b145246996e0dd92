#include "core/wal/wal_archive.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <map>
#include <optional>
#include <vector>

#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/stages.h"
#include "core/io/unique_fd.h"
#include "core/io/zstd_stage.h"
#include "core/set/pipeline.h"

namespace ramsafe {
namespace {

constexpr size_t kReadBlock = size_t{256} * 1024;
constexpr const char* kDataSuffix = ".zst.age";
constexpr const char* kSumSuffix = ".sha256";
constexpr const char* kTempSuffix = ".tmp";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string timeline_dir(const std::string& store_root, const std::string& timeline) {
  return join_path(wal_archive_dir(store_root), timeline);
}

// Creates a missing directory and fsyncs its parent, so the new entry survives a crash.
void make_dir_durable(const std::string& path) {
  if (is_directory(path)) return;
  make_dirs(path, 0700);
  fsync_path(parent_dir(path));
}

// Removes a temporary file unless it was renamed into place.
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  ~TempFile() {
    if (!path_.empty()) (void)::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }
  void renamed() { path_.clear(); }

 private:
  std::string path_;
};

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

// <name>.sha256's text ("<64 hex>  <name>\n").
std::string read_record(const std::string& sum_path, const std::string& name) {
  try {
    return read_file(sum_path, 4096);
  } catch (const Error& e) {
    if (e.code() != Errc::kNotFound) throw;
    throw Error(Errc::kCorrupt,
                sum_path + " is missing: the checksum of archived WAL file " + name + " is lost");
  }
}

// <name>.sig's text, or nullopt when there is none.
std::optional<std::string> read_signature(const std::string& sig_path) {
  try {
    return read_file(sig_path, kMaxSignatureFileSize);
  } catch (const Error& e) {
    if (e.code() == Errc::kNotFound) return std::nullopt;
    if (e.code() == Errc::kIo) return std::string();  // over the limit: not a signature
    throw;
  }
}

// The recorded plaintext SHA-256, once the record is trusted (see wal_recorded_sha256).
std::string read_trusted_sha256(const std::string& dir, const std::string& name,
                                const TrustPolicy& trust, bool allow_unsigned) {
  std::string sum_path = join_path(dir, name + kSumSuffix);
  std::string record = read_record(sum_path, name);
  std::optional<std::string> sig = read_signature(join_path(dir, name + kWalSignatureSuffix));
  return trusted_wal_sha256(record, sig ? &*sig : nullptr, name, trust, allow_unsigned,
                            join_path(dir, name));
}

uint64_t file_size(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) throw_errno("stat " + path);
  return static_cast<uint64_t>(st.st_size);
}

// rename() that never replaces an existing target (renameat2 RENAME_NOREPLACE); on a file
// system without it, an existence check and a plain rename (one archiver per store).
void rename_no_replace(const std::string& from, const std::string& to) {
#ifdef RENAME_NOREPLACE
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return;
  if (errno != EINVAL && errno != ENOSYS) throw_errno("rename " + from + " to " + to);
#endif
  if (path_exists(to)) {
    errno = EEXIST;
    throw_errno("rename " + from + " to " + to);
  }
  if (::rename(from.c_str(), to.c_str()) != 0) throw_errno("rename " + from + " to " + to);
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
  return join_path(timeline_dir(store_root, wal.timeline), name + kWalSignatureSuffix);
}

std::string wal_checksum_path(const std::string& store_root, const std::string& name) {
  WalFileName wal = parse_wal_file_name(name);
  return join_path(timeline_dir(store_root, wal.timeline), name + kSumSuffix);
}

std::string wal_archive_dir(const std::string& store_root) {
  return join_path(store_root, "wal");
}

std::string wal_stored_path(const std::string& store_root, const std::string& name) {
  WalFileName wal = parse_wal_file_name(name);
  return join_path(timeline_dir(store_root, wal.timeline), name + kDataSuffix);
}

WalArchiveResult archive_wal_file(const std::string& store_root,
                                  const std::vector<age::Recipient>& recipients,
                                  int compression_level, const std::string& name,
                                  const std::string& source_path, const SetSigner& signer) {
  WalFileName wal = parse_wal_file_name(name);
  std::string dir = timeline_dir(store_root, wal.timeline);
  std::string data_path = join_path(dir, name + kDataSuffix);
  std::string sum_path = join_path(dir, name + kSumSuffix);
  std::string sig_path = join_path(dir, name + kWalSignatureSuffix);
  UniqueFd source = open_or_throw(source_path, O_RDONLY | O_CLOEXEC);

  WalArchiveResult result;
  result.path = data_path;
  bool replace = false;
  std::optional<std::string> recorded;
  if (path_exists(data_path)) {
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
                  "WAL file " + name + " is already archived with different content (" + data_path +
                      " has SHA-256 " + recorded->substr(0, 16) + "..., " + source_path + " has " +
                      hash.sha256().substr(0, 16) +
                      "...); not replacing it: check for a timeline mix-up or two clusters "
                      "sharing one ramsafe.local_dir and ramsafe.cluster_name");
    result.already_stored = true;
    result.plaintext_bytes = hash.bytes();
    result.sha256 = hash.sha256();
    result.stored_bytes = file_size(data_path);
    return result;
  }

  if (!is_directory(store_root)) {
    make_dirs(store_root, 0700);
    fsync_path(parent_dir(store_root));
  }
  make_dir_durable(wal_archive_dir(store_root));
  make_dir_durable(dir);

  TempFile data_tmp(join_path(dir, "." + name + kDataSuffix + kTempSuffix));
  {
    UniqueFd out = open_or_throw(data_tmp.path(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    EncryptChain chain(out.get(), data_tmp.path(), compression_level, recipients, 0);
    HashingStage plain(chain);
    pump_file(source.get(), source_path, plain);
    fsync_or_throw(out.get(), data_tmp.path());
    out.close_checked(data_tmp.path());
    result.plaintext_bytes = plain.bytes();
    result.sha256 = plain.sha256();
    result.stored_bytes = chain.stored_bytes();
  }

  auto write_small = [](const TempFile& tmp, const std::string& content) {
    UniqueFd out = open_or_throw(tmp.path(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    write_all(out.get(), content.data(), content.size(), tmp.path());
    fsync_or_throw(out.get(), tmp.path());
    out.close_checked(tmp.path());
  };
  std::string record = result.sha256 + "  " + name + "\n";
  TempFile sum_tmp(join_path(dir, "." + name + kSumSuffix + kTempSuffix));
  write_small(sum_tmp, record);
  TempFile sig_tmp(join_path(dir, "." + name + kWalSignatureSuffix + kTempSuffix));
  write_small(sig_tmp, sign_wal_record(signer.key, signer.cluster, record));
  // The signature and the checksum first: a data file is never visible without them.
  auto publish = [](TempFile& tmp, const std::string& final_path) {
    if (::rename(tmp.path().c_str(), final_path.c_str()) != 0)
      throw_errno("rename " + tmp.path() + " to " + final_path);
    tmp.renamed();
  };
  publish(sig_tmp, sig_path);
  publish(sum_tmp, sum_path);
  if (replace) {
    if (::rename(data_tmp.path().c_str(), data_path.c_str()) != 0)
      throw_errno("rename " + data_tmp.path() + " to " + data_path);
  } else {
    rename_no_replace(data_tmp.path(), data_path);
  }
  data_tmp.renamed();
  fsync_path(dir);
  return result;
}

WalFetchResult fetch_wal_file(const std::string& store_root,
                              const std::vector<age::Identity>& identities, const std::string& name,
                              const std::string& dest_path, const TrustPolicy& trust,
                              bool allow_unsigned) {
  WalFileName wal = parse_wal_file_name(name);
  std::string dir = timeline_dir(store_root, wal.timeline);
  std::string data_path = join_path(dir, name + kDataSuffix);
  UniqueFd stored;
  try {
    stored = open_or_throw(data_path, O_RDONLY | O_CLOEXEC);
  } catch (const Error& e) {
    if (e.code() != Errc::kNotFound) throw;
    throw Error(Errc::kNotFound, "WAL file " + name + " is not in the archive (" +
                                     wal_archive_dir(store_root) + ")");
  }
  std::string recorded = read_trusted_sha256(dir, name, trust, allow_unsigned);
  return write_fetched_wal(
      identities, recorded, data_path, [&](Sink& out) { pump_file(stored.get(), data_path, out); },
      dest_path);
}

WalFetchResult write_fetched_wal(const std::vector<age::Identity>& identities,
                                 const std::string& recorded_sha256, const std::string& where,
                                 const std::function<void(Sink&)>& feed,
                                 const std::string& dest_path) {
  std::string dest_dir = parent_dir(dest_path);
  TempFile tmp(join_path(dest_dir, "." + base_name(dest_path) + ".ramsafe" + kTempSuffix));
  WalFetchResult result;
  {
    UniqueFd out = open_or_throw(tmp.path(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FdSink file(out.get(), tmp.path());
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
    fsync_or_throw(out.get(), tmp.path());
    out.close_checked(tmp.path());
    result.plaintext_bytes = plain.bytes();
    result.sha256 = plain.sha256();
  }
  if (::rename(tmp.path().c_str(), dest_path.c_str()) != 0)
    throw_errno("rename " + tmp.path() + " to " + dest_path);
  tmp.renamed();
  fsync_path(dest_dir);
  return result;
}

std::string wal_recorded_sha256(const std::string& store_root, const std::string& name,
                                const TrustPolicy& trust, bool allow_unsigned) {
  WalFileName wal = parse_wal_file_name(name);
  return read_trusted_sha256(timeline_dir(store_root, wal.timeline), name, trust, allow_unsigned);
}

std::vector<StoredWalFile> list_wal_files(const std::string& store_root) {
  std::vector<StoredWalFile> files;
  std::string top = wal_archive_dir(store_root);
  if (!is_directory(top)) return files;
  for (const auto& timeline : list_dir(top)) {
    if (!is_timeline_id(timeline)) continue;
    std::string dir = join_path(top, timeline);
    if (!is_directory(dir)) continue;
    for (const auto& entry : list_dir(dir)) {
      if (!ends_with(entry, kDataSuffix)) continue;
      auto parsed =
          try_parse_wal_file_name(entry.substr(0, entry.size() - std::string(kDataSuffix).size()));
      if (!parsed || parsed->timeline != timeline) continue;
      StoredWalFile f;
      f.file = *parsed;
      f.stored_bytes = file_size(join_path(dir, entry));
      struct stat st;
      if (::stat(join_path(dir, entry).c_str(), &st) == 0) {
        f.mtime = st.st_mtime;
        f.mtime_ms = int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1000000;
      }
      files.push_back(std::move(f));
    }
  }
  // list_dir sorts each directory; timelines are visited in order.
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
