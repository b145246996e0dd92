#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "companion/commands.h"
#include "companion/stores.h"
#include "core/backup.h"

namespace ramsafe::cli {

CommandSpec list_spec() {
  return {"list",
          "list [options]",
          "List the backup sets of every configured store, newest first.\n"
          "The local directory and Google Drive are listed together, with each set's finish time,\n"
          "databases, sizes and where it is.\n"
          "Sets whose manifest is unusable are listed with the problem; unfinished (.partial)\n"
          "sets are never listed.",
          {config_option(), store_option(), {"json", 0, false, "", "print JSON"}}};
}

int run_list(const ParsedArgs& args) {
  Settings settings = load_config(args);
  Stores stores = open_stores(settings, args.get("store"));
  std::vector<SetEntry> sets = list_all_sets(stores);
  if (args.has("json")) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : sets) {
      nlohmann::json j = {{"backup_id", s.id}, {"store", s.store}, {"usable", s.usable()}};
      if (s.usable()) {
        j["kind"] = s.manifest->kind;
        j["started_at"] = s.manifest->started_at;
        j["finished_at"] = s.manifest->finished_at;
        j["databases"] = s.manifest->databases();
        j["stored_bytes"] = s.manifest->stored_bytes();
        j["plaintext_bytes"] = s.manifest->plaintext_bytes();
        j["server_version"] = s.manifest->server_version;
      } else {
        j["problem"] = s.problem;
      }
      out.push_back(j);
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  if (sets.empty()) {
    std::cout << "no backups in " << stores.describe() << "\n";
    return kExitOk;
  }
  std::printf("%-20s %-8s %-24s %4s %11s %11s  %s\n", "BACKUP", "KIND", "FINISHED (UTC)", "DBS",
              "STORED", "DUMPED", "WHERE");
  for (const auto& s : sets) {
    if (s.usable()) {
      const Manifest& m = *s.manifest;
      std::printf("%-20s %-8s %-24s %4zu %11s %11s  %s\n", s.id.c_str(), m.kind.c_str(),
                  m.finished_at.c_str(), m.databases().size(),
                  format_bytes(m.stored_bytes()).c_str(), format_bytes(m.plaintext_bytes()).c_str(),
                  s.store.c_str());
    } else {
      std::printf("%-20s %-8s UNUSABLE: %s\n", s.id.c_str(), "?", s.problem.c_str());
    }
  }
  return kExitOk;
}

}  // namespace ramsafe::cli
