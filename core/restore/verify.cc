#include "core/restore/verify.h"

#include <fcntl.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/stages.h"
#include "core/io/unique_fd.h"
#include "core/io/zstd_stage.h"
#include "core/set/pipeline.h"
#include "core/wal/wal_window.h"

namespace ramsafe {

SetVerification verify_set(Store& store, const SetEntry& set, bool deep,
                           const std::vector<age::Identity>& identities, const CancelCheck& cancel,
                           const VerifyProgress& progress) {
  SetVerification result;
  result.backup_id = set.id;
  result.store = set.store;
  if (!set.usable()) {
    result.problem = set.problem;
    result.untrusted = set.untrusted();
    return result;
  }
  const Manifest& manifest = *set.manifest;
  uint64_t total = manifest.stored_bytes(), done = 0;
  result.ok = true;
  for (const auto& file : manifest.files) {
    FileVerification fv;
    fv.path = file.path;
    fv.role = file.role;
    fv.database = file.database;
    fv.stored_bytes = file.stored_bytes;
    std::string source = set.id + "/" + file.path;
    uint64_t file_start = done;
    try {
      NullSink null;
      std::unique_ptr<Sink> chain;
      if (deep)
        chain = std::make_unique<DecryptChain>(file, source, identities, null);
      else
        chain = std::make_unique<ChecksumVerifier>(file, source);
      CallbackStage counted(*chain, [&](size_t n) {
        done += n;
        if (progress) progress(done, total);
      });
      store.read_file(set.id, file.path, counted, cancel);
      counted.finish();
      fv.ok = true;
    } catch (const Error& e) {
      if (e.code() == Errc::kCancelled) throw;
      fv.problem = e.code() == Errc::kNotFound ? source + ": file is missing" : e.what();
      result.ok = false;
    }
    done = file_start + file.stored_bytes;
    result.files.push_back(std::move(fv));
  }
  return result;
}

namespace {

constexpr size_t kWalReadBlock = size_t{256} * 1024;

uint32_t timeline_of(const WalFileName& f) {
  return static_cast<uint32_t>(std::stoul(f.timeline, nullptr, 16));
}

std::string segment_name(uint32_t timeline, uint64_t segno, uint64_t segment_size) {
  return wal_segment_file_name(timeline, segno * segment_size, segment_size);
}

}  // namespace

WalFileVerification verify_wal_file(const std::string& store_root, const StoredWalFile& file,
                                    bool deep, const std::vector<age::Identity>& identities,
                                    const TrustPolicy& trust, bool allow_unsigned,
                                    const CancelCheck& cancel) {
  WalFileVerification v;
  v.name = file.file.name;
  v.stored_bytes = file.stored_bytes;
  std::string data_path = wal_stored_path(store_root, file.file.name);
  try {
    std::string recorded = wal_recorded_sha256(store_root, file.file.name, trust, allow_unsigned);
    if (deep) {
      UniqueFd stored = open_stored_wal(store_root, file.file.name, StoredWalPart::kData);
      NullSink null;
      HashingStage plain(null);
      ZstdDecompressor decompress(plain);
      age::Decryptor decrypt(identities, decompress);
      std::vector<uint8_t> buf(kWalReadBlock);
      try {
        for (;;) {
          if (cancel && cancel()) throw Error(Errc::kCancelled, "cancelled");
          size_t n = read_some(stored.get(), buf.data(), buf.size(), data_path);
          if (n == 0) break;
          decrypt.write(buf.data(), n);
        }
        decrypt.finish();
      } catch (const Error& e) {
        if (e.code() == Errc::kCorrupt || e.code() == Errc::kCrypto)
          throw Error(Errc::kCorrupt, data_path + ": " + e.what());
        throw;
      }
      if (plain.sha256() != recorded)
        throw Error(Errc::kCorrupt, data_path + ": decrypts to content whose SHA-256 (" +
                                        plain.sha256().substr(0, 16) +
                                        "...) is not the recorded one (" + recorded.substr(0, 16) +
                                        "...)");
    }
    v.ok = true;
  } catch (const Error& e) {
    if (e.code() != Errc::kCorrupt && e.code() != Errc::kUntrusted) throw;
    v.untrusted = e.code() == Errc::kUntrusted;
    v.problem = e.what();
  }
  return v;
}

WalVerification verify_wal_archive(const std::string& store_root, const std::vector<SetEntry>& sets,
                                   bool deep, const std::vector<age::Identity>& identities,
                                   const TrustPolicy& trust, const CancelCheck& cancel,
                                   const WalVerifyProgress& progress) {
  WalVerification result;
  result.deep = deep;
  result.present = is_directory(wal_archive_dir(store_root));
  if (!result.present) return result;
  std::vector<StoredWalFile> files = list_wal_files(store_root);
  uint64_t total = 0, done = 0;
  for (const auto& f : files) total += f.stored_bytes;
  for (const auto& f : files) {
    if (progress) progress(done, total, f.file.name);
    WalFileVerification v = verify_wal_file(store_root, f, deep, identities, trust, false, cancel);
    done += f.stored_bytes;
    result.files++;
    result.stored_bytes += f.stored_bytes;
    if (!v.ok) result.damaged.push_back(std::move(v));
  }
  if (progress) progress(done, total, "");

  // Gaps: from the oldest base's start segment, every segment position up to the newest
  // archived one must be held by some timeline at or after that base's.
  struct Base {
    std::string id;
    PhysicalInfo p;
    uint64_t start = 0;
  };
  std::vector<Base> usable;
  for (const auto& set : sets) {
    if (!set.usable() || !set.manifest->physical) continue;
    const PhysicalInfo& p = *set.manifest->physical;
    if (!is_valid_wal_segment_size(p.wal_segment_size) || !is_wal_file_name(p.start_wal_file))
      continue;
    usable.push_back({set.id, p, wal_segment_number(p.start_wal_file, p.wal_segment_size)});
  }
  const Base* oldest = nullptr;
  for (const auto& b : usable)
    if (oldest == nullptr || b.start < oldest->start) oldest = &b;
  std::map<uint64_t, uint32_t> held;  // segment position -> the newest timeline holding it
  for (const auto& f : files) {
    if (f.file.kind != WalFileKind::kSegment) continue;
    if (result.first_segment.empty() || f.file.name.substr(8) < result.first_segment.substr(8))
      result.first_segment = f.file.name;
    if (result.last_segment.empty() || f.file.name.substr(8) >= result.last_segment.substr(8))
      result.last_segment = f.file.name;
    if (oldest == nullptr || timeline_of(f.file) < oldest->p.timeline) continue;
    uint32_t& tl = held[wal_segment_number(f.file.name, oldest->p.wal_segment_size)];
    tl = std::max(tl, timeline_of(f.file));
  }
  if (oldest != nullptr) {
    uint64_t size = oldest->p.wal_segment_size;
    uint64_t expected = oldest->start;
    uint32_t tl = oldest->p.timeline;
    std::vector<WalChainBreak> breaks = list_wal_chain_breaks(store_root);
    auto add_gap = [&](uint64_t first, uint64_t last) {
      WalGap gap;
      gap.first_missing = segment_name(tl, first, size);
      gap.last_missing = segment_name(tl, last, size);
      const Base* cut = nullptr;  // the newest base whose replay runs into the gap
      for (const auto& b : usable)
        if (b.start <= first && (cut == nullptr || b.start >= cut->start)) cut = &b;
      if (cut != nullptr) gap.after_base = cut->id;
      for (const auto& b : breaks) {
        uint64_t n = wal_segment_number(b.segment, size);
        if (n >= first && n <= last) gap.dropped_segment = b.segment;
      }
      result.gaps.push_back(std::move(gap));
    };
    auto it = held.lower_bound(expected);
    if (it == held.end()) add_gap(expected, expected);  // not even the base's first segment
    for (; it != held.end(); ++it) {
      if (it->first > expected) add_gap(expected, it->first - 1);
      tl = it->second;
      expected = it->first + 1;
    }
  }
  result.ok = result.damaged.empty() &&
              std::all_of(result.gaps.begin(), result.gaps.end(),
                          [](const WalGap& g) { return !g.dropped_segment.empty(); });
  return result;
}

}  // namespace ramsafe
