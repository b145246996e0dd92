#include <iostream>

#include <nlohmann/json.hpp>

#include "companion/commands.h"
#include "companion/stores.h"
#include "core/backup.h"
#include "core/keys.h"
#include "core/verify.h"

namespace ramsafe::cli {

CommandSpec verify_spec() {
  return {"verify",
          "verify [options] [BACKUP_ID]",
          "Check backup sets against their manifests: every file's size and SHA-256.\n"
          "With --deep, also decrypt and decompress every file (needs the identity), which checks\n"
          "the encryption MACs, the compression checksums and the plaintext sizes.",
          {config_option(),
           store_option(),
           {"all", 0, false, "", "verify every set (default: the newest, or BACKUP_ID)"},
           {"deep", 0, false, "", "decrypt and decompress every file too"},
           {"identity", 'i', true, "FILE",
            "age identity file for --deep (default: ramsafe.identity_file)"},
           {"json", 0, false, "", "print JSON"},
           {"no-progress", 0, false, "", "no progress line even on a terminal"}},
          1,
          "BACKUP_ID   the set to verify (default: the newest)"};
}

int run_verify(const ParsedArgs& args) {
  Settings settings = load_config(args);
  bool deep = args.has("deep");
  std::vector<age::Identity> identities;
  if (deep) identities = load_identities(settings, args.get("identity"));
  Stores stores = open_stores(settings, args.get("store"));
  std::vector<SetEntry> sets = list_all_sets(stores);
  std::vector<SetEntry> chosen;
  if (!args.positionals.empty()) {
    for (const auto& s : sets)
      if (s.id == args.positionals[0]) chosen.push_back(s);
    if (chosen.empty()) {
      std::cerr << "ramsafe verify: no backup " << args.positionals[0] << " in "
                << stores.describe() << "\n";
      return kExitFailed;
    }
  } else if (args.has("all")) {
    chosen = sets;
  } else if (!sets.empty()) {
    // The newest set, in every store that holds it.
    for (const auto& s : sets)
      if (s.id == sets.front().id) chosen.push_back(s);
  }
  if (chosen.empty()) {
    std::cerr << "ramsafe verify: no backups in " << stores.describe() << "\n";
    return kExitNoBackup;
  }

  ProgressLine line(stdout_is_terminal() && !args.has("no-progress") && !args.has("json"));
  bool all_ok = true;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& set : chosen) {
    SetVerification v = verify_set(store_of(stores, set), set, deep, identities, cancel_check(),
                                   [&](uint64_t done, uint64_t total) {
                                     line.update("verify " + set.id + ": " +
                                                 std::to_string(total ? done * 100 / total : 100) +
                                                 "% of " + format_bytes(total));
                                   });
    line.clear();
    all_ok = all_ok && v.ok;
    if (args.has("json")) {
      nlohmann::json files = nlohmann::json::array();
      for (const auto& f : v.files)
        files.push_back({{"path", f.path},
                         {"role", f.role},
                         {"database", f.database},
                         {"stored_bytes", f.stored_bytes},
                         {"ok", f.ok},
                         {"problem", f.problem}});
      out.push_back({{"backup_id", v.backup_id},
                     {"store", v.store},
                     {"ok", v.ok},
                     {"deep", deep},
                     {"problem", v.problem},
                     {"files", files}});
      continue;
    }
    if (!v.problem.empty()) {
      std::cout << v.backup_id << " (" << v.store << "): DAMAGED: " << v.problem << "\n";
      continue;
    }
    for (const auto& f : v.files)
      if (!f.ok) std::cout << v.backup_id << " (" << v.store << "): DAMAGED: " << f.problem << "\n";
    if (v.ok)
      std::cout << v.backup_id << " (" << v.store << "): ok (" << v.files.size() << " files"
                << (deep ? ", decrypted and decompressed" : ", checksums") << ")\n";
  }
  if (args.has("json")) std::cout << out.dump(2) << "\n";
  return all_ok ? kExitOk : kExitDamaged;
}

}  // namespace ramsafe::cli
