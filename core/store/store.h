// Where backup sets live. Every store lists complete sets (a set without a readable
// manifest is listed with its problem, never used), streams a set's files, deletes sets.
// Drivers: LocalStore (core/store/local_store.h); Google Drive later.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/io/sink.h"
#include "core/set/freshness.h"
#include "core/set/manifest.h"
#include "core/set/trust.h"

namespace ramsafe {

// A set as a store lists it. Only a trusted set (core/set/trust.h) has a manifest: every
// reader that restores, counts, uploads or reports a set goes through manifest, so an
// unsigned or badly signed set is not a set for any of them.
struct SetEntry {
  std::string id;
  std::string store;  // the store's describe(), e.g. "local /var/backups/ramsafe/main"
  std::optional<Manifest> manifest;  // trusted sets only
  std::string problem;               // why it is not usable, when manifest is empty
  Trust trust = Trust::kUnusable;
  std::string key_id;  // who signed it (trusted), or who it claims signed it
  // An unsigned set's manifest as it claims itself: shown by list, and restored only with
  // --allow-unsigned. Never used for anything else.
  std::optional<Manifest> unsigned_manifest;

  bool usable() const { return manifest.has_value(); }
  bool untrusted() const { return trust == Trust::kUnsigned || trust == Trust::kUntrusted; }
  // "UNTRUSTED: <why>" or "<why>" (a damaged set), for messages.
  std::string problem_text() const;
};

// A listed set from its manifest check (core/set/trust.h).
SetEntry set_entry_from(const std::string& id, const std::string& store, ManifestCheck check);

class Store {
 public:
  virtual ~Store() = default;
  explicit Store(TrustPolicy trust) : trust_(std::move(trust)) {}
  virtual std::string kind() const = 0;  // "local"
  virtual std::string describe() const = 0;
  // Sets with a manifest, newest first by the manifest's finish time (untrusted sets and
  // sets with an unusable manifest last, by id). In-progress or abandoned sets are not
  // listed.
  virtual std::vector<SetEntry> list_sets() = 0;
  // Streams a stored file to out (without calling out.finish()).
  virtual void read_file(const std::string& set_id, const std::string& path, Sink& out,
                         const CancelCheck& cancel) = 0;
  virtual void delete_set(const std::string& set_id) = 0;

  // What this store's listing trusts: the reading host's verify keys, never the store's.
  const TrustPolicy& trust() const { return trust_; }

 private:
  TrustPolicy trust_;
};

// Orders sets newest first by manifest finish time; unusable ones after, by id descending.
void sort_newest_first(std::vector<SetEntry>& sets);
// The trusted set with the highest sequence number, as the freshness state records it.
std::optional<SeenBackup> newest_by_sequence(const std::vector<SetEntry>& sets);

}  // namespace ramsafe
