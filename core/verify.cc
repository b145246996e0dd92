#include "core/verify.h"

#include <memory>

#include "core/error.h"
#include "core/pipeline.h"

namespace ramsafe {

SetVerification verify_set(Store& store, const SetEntry& set, bool deep,
                           const std::vector<age::Identity>& identities, const CancelCheck& cancel,
                           const VerifyProgress& progress) {
  SetVerification result;
  result.backup_id = set.id;
  result.store = set.store;
  if (!set.usable()) {
    result.problem = set.problem;
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

}  // namespace ramsafe
