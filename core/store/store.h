// Where backup sets live. Every store lists complete sets (a set without a readable
// manifest is listed with its problem, never used), streams a set's files, deletes sets.
// Drivers: LocalStore (core/store/local_store.h); Google Drive later.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/io/sink.h"
#include "core/set/manifest.h"

namespace ramsafe {

struct SetEntry {
  std::string id;
  std::string store;  // the store's describe(), e.g. "local /var/backups/ramsafe/main"
  std::optional<Manifest> manifest;
  std::string problem;  // why the manifest is unusable, when manifest is empty

  bool usable() const { return manifest.has_value(); }
};

class Store {
 public:
  virtual ~Store() = default;
  virtual std::string kind() const = 0;  // "local"
  virtual std::string describe() const = 0;
  // Sets with a manifest, newest first by the manifest's finish time (sets with an
  // unusable manifest last, by id). In-progress or abandoned sets are not listed.
  virtual std::vector<SetEntry> list_sets() = 0;
  // Streams a stored file to out (without calling out.finish()).
  virtual void read_file(const std::string& set_id, const std::string& path, Sink& out,
                         const CancelCheck& cancel) = 0;
  virtual void delete_set(const std::string& set_id) = 0;
};

// Orders sets newest first by manifest finish time; unusable ones after, by id descending.
void sort_newest_first(std::vector<SetEntry>& sets);

}  // namespace ramsafe
