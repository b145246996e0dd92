#include <iostream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "companion/commands.h"
#include "companion/stores.h"
#include "core/backup/backup.h"
#include "core/config/keys.h"
#include "core/error.h"
#include "core/io/bounded_json.h"
#include "core/restore/verify.h"
#include "core/wal/wal_archive.h"

namespace ramsafe::cli {

CommandSpec verify_spec() {
  return {"verify",
          "verify [options] [BACKUP_ID]",
          "Check backup sets: every file's size and SHA-256.\n"
          "Each file is compared with the size and SHA-256 its set's manifest records.\n"
          "With --deep, also decrypt and decompress every file (needs the identity), which checks\n"
          "the encryption MACs, the compression checksums and the plaintext sizes.\n"
          "The local store's WAL archive is checked too: every archived file has its .sha256 and\n"
          "no segment is missing after a physical base; with --deep every WAL file is decrypted,\n"
          "decompressed and compared with its .sha256.\n"
          "A set on Drive holding two copies of a file keeps one that checks out against the\n"
          "manifest; the others are removed (moved to the trash in a shared drive).\n"
          "Sets and WAL files that no key in ramsafe.verify_keys_file signed are reported as\n"
          "UNTRUSTED with the reason (exit status 5), and never decrypted.",
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

namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

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

  // Duplicate copies of a file in a Drive set: one that checks out stays, the others go.
  std::map<std::string, std::vector<DuplicateFix>> duplicates;
  if (stores.drive) {
    std::set<std::string> drive_ids;
    for (const auto& s : chosen)
      if (s.store == stores.drive->describe()) drive_ids.insert(s.id);
    if (!drive_ids.empty())
      for (auto& f : stores.drive->fix_duplicates(drive_ids, cancel_check()))
        duplicates[f.backup_id].push_back(std::move(f));
  }

  ProgressLine line(stdout_is_terminal() && !args.has("no-progress") && !args.has("json"));
  bool all_ok = true;
  nlohmann::json out_sets = nlohmann::json::array();
  for (const auto& set : chosen) {
    SetVerification v = verify_set(store_of(stores, set), set, deep, identities, cancel_check(),
                                   [&](uint64_t done, uint64_t total) {
                                     line.update("verify " + set.id + ": " +
                                                 std::to_string(total ? done * 100 / total : 100) +
                                                 "% of " + format_bytes(total));
                                   });
    line.clear();
    all_ok = all_ok && v.ok;
    std::vector<DuplicateFix> fixes;
    if (stores.drive && set.store == stores.drive->describe()) fixes = duplicates[set.id];
    if (args.has("json")) {
      nlohmann::json dups = nlohmann::json::array();
      for (const auto& f : fixes)
        dups.push_back({{"path", f.path},
                        {"copies", f.copies},
                        {"kept", f.kept_id},
                        {"removed", f.removed},
                        {"problem", f.problem}});
      nlohmann::json files = nlohmann::json::array();
      for (const auto& f : v.files)
        files.push_back({{"path", f.path},
                         {"role", f.role},
                         {"database", f.database},
                         {"stored_bytes", f.stored_bytes},
                         {"ok", f.ok},
                         {"problem", f.problem}});
      out_sets.push_back({{"backup_id", v.backup_id},
                          {"store", v.store},
                          {"ok", v.ok},
                          {"trust", trust_name(set.trust)},
                          {"deep", deep},
                          {"problem", v.problem},
                          {"files", files},
                          {"duplicates", dups}});
      continue;
    }
    for (const auto& f : fixes)
      std::cout << v.backup_id << " (" << v.store << "): DUPLICATES: " << f.copies << " copies of "
                << f.path << ": "
                << (f.kept_id.empty() ? f.problem
                                      : "kept " + f.kept_id + ", removed " + joined(f.removed))
                << "\n";
    if (!v.problem.empty()) {
      std::cout << printable(v.backup_id) << " (" << v.store
                << "): " << (v.untrusted ? "UNTRUSTED" : "DAMAGED") << ": " << printable(v.problem)
                << "\n";
      continue;
    }
    for (const auto& f : v.files)
      if (!f.ok)
        std::cout << printable(v.backup_id) << " (" << v.store
                  << "): DAMAGED: " << printable(f.problem) << "\n";
    if (v.ok)
      std::cout << v.backup_id << " (" << v.store << "): ok (" << v.files.size() << " files"
                << (deep ? ", decrypted and decompressed" : ", checksums") << ")\n";
  }

  // The WAL archive lives in the local store only.
  nlohmann::json out_wal = nullptr;
  if (stores.local) {
    std::vector<SetEntry> local_sets;
    for (const auto& s : sets)
      if (s.store == stores.local->describe()) local_sets.push_back(s);
    WalVerification w = verify_wal_archive(
        local_store_root(settings), local_sets, deep, identities, stores.local->trust(),
        cancel_check(), [&](uint64_t done, uint64_t total, const std::string& name) {
          line.update("verify WAL " + name + ": " +
                      std::to_string(total ? done * 100 / total : 100) + "% of " +
                      format_bytes(total));
        });
    line.clear();
    if (w.present) {
      all_ok = all_ok && w.ok;
      std::string where = "WAL archive (" + wal_archive_dir(local_store_root(settings)) + ")";
      nlohmann::json damaged = nlohmann::json::array(), gaps = nlohmann::json::array();
      for (const auto& f : w.damaged) {
        damaged.push_back({{"name", f.name},
                           {"stored_bytes", f.stored_bytes},
                           {"untrusted", f.untrusted},
                           {"problem", f.problem}});
        if (args.has("json")) continue;
        if (f.untrusted)
          std::cout << where << ": " << printable(f.problem) << "\n";
        else
          std::cout << where << ": DAMAGED: WAL file " << f.name << ": " << printable(f.problem)
                    << "\n";
      }
      for (const auto& g : w.gaps) {
        gaps.push_back({{"first_missing", g.first_missing},
                        {"last_missing", g.last_missing},
                        {"after_base", g.after_base},
                        {"dropped_segment", g.dropped_segment}});
        if (args.has("json")) continue;
        if (!g.dropped_segment.empty())
          std::cout << where << ": BROKEN CHAIN: WAL "
                    << (g.first_missing == g.last_missing
                            ? "segment " + g.first_missing + " was"
                            : "segments " + g.first_missing + " through " + g.last_missing +
                                  " were")
                    << " dropped unarchived (ramsafe.wal_backlog_policy = drop; marker "
                    << g.dropped_segment << ".dropped): replay from base " << g.after_base
                    << " stops before it; a base backup taken after it starts a new chain\n";
        else
          std::cout << where << ": GAP: WAL "
                    << (g.first_missing == g.last_missing
                            ? "segment " + g.first_missing + " is"
                            : "segments " + g.first_missing + " through " + g.last_missing + " are")
                    << " missing: replay from base " << g.after_base << " stops before it\n";
      }
      if (!args.has("json") && w.ok)
        std::cout << where << ": ok (" << w.files << " files"
                  << (w.first_segment.empty() ? ""
                                              : ", " + w.first_segment + " .. " + w.last_segment)
                  << (deep ? ", decrypted and decompressed"
                           : ", checksum files only; --deep decrypts")
                  << ")\n";
      out_wal = {{"ok", w.ok},
                 {"deep", deep},
                 {"files", w.files},
                 {"stored_bytes", w.stored_bytes},
                 {"first_segment", w.first_segment},
                 {"last_segment", w.last_segment},
                 {"damaged", damaged},
                 {"gaps", gaps}};
    }
  }
  if (args.has("json"))
    std::cout << dump_printable_json({{"sets", out_sets}, {"wal", out_wal}}, 2) << "\n";
  return all_ok ? kExitOk : kExitDamaged;
}

}  // namespace ramsafe::cli
