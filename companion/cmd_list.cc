#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "companion/commands.h"
#include "companion/stores.h"
#include "core/backup/backup.h"
#include "core/error.h"
#include "core/io/bounded_json.h"
#include "core/set/manifest.h"
#include "core/wal/wal_window.h"

namespace ramsafe::cli {

CommandSpec list_spec() {
  return {"list",
          "list [options]",
          "List the backup sets of every configured store, newest first.\n"
          "The local directory and Google Drive are listed together, with each set's finish time,\n"
          "databases, sizes and where it is.\n"
          "Sets whose manifest is unusable are listed with the problem; unfinished (.partial)\n"
          "sets are never listed. Sets that no key in ramsafe.verify_keys_file signed (unsigned,\n"
          "badly signed, another cluster's, dated in the future) are listed as UNTRUSTED with the\n"
          "reason; a newest trusted set older than one this host has already seen is reported\n"
          "as a ROLLBACK on stderr (docs/security.md).\n"
          "For physical sets, how far the local WAL archive reaches from them (and where the\n"
          "WAL chain was broken); then the recoverable window of the local store.",
          {config_option(), store_option(), {"json", 0, false, "", "print JSON"}}};
}

namespace {

std::string ms_or_dash(std::optional<int64_t> ms) {
  return ms ? format_rfc3339_utc(*ms) : "-";
}

// One line on how far the local WAL archive reaches from a physical set.
std::string wal_line(const PhysicalWindow& w) {
  std::string line = "WAL from " + w.start_wal_file;
  if (!w.reach.complete) {
    line += ": UNUSABLE, " + w.reach.missing + " is not archived";
  } else {
    line += " through " + w.reach.last_segment + " (" + std::to_string(w.reach.segments) +
            " segments), reaches " + ms_or_dash(w.reaches_ms) + " (estimate)";
  }
  if (!w.chain_broken_at.empty())
    line += "; WAL chain broken at " + w.chain_broken_at + " (dropped, wal_backlog_policy = drop)";
  return line;
}

}  // namespace

int run_list(const ParsedArgs& args) {
  Settings settings = load_config(args);
  Stores stores = open_stores(settings, args.get("store"));
  std::vector<SetEntry> sets = list_all_sets(stores);
  // Over every store only: one store alone may lag behind (Drive's copies follow the local).
  if (args.get("store").empty()) check_freshness(settings, sets);
  // The recoverable window of the local store (the WAL archive is local).
  std::optional<WalWindow> window;
  if (stores.local) {
    std::string root = local_store_root(settings);
    std::vector<SetEntry> local_sets;
    for (const auto& s : sets)
      if (s.store == stores.local->describe()) local_sets.push_back(s);
    window = compute_wal_window(local_sets, list_wal_files(root), list_wal_chain_breaks(root));
  }
  auto local_window = [&](const SetEntry& s) -> const PhysicalWindow* {
    if (!window || !stores.local || s.store != stores.local->describe()) return nullptr;
    return window->find(s.id);
  };
  if (args.has("json")) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : sets) {
      nlohmann::json j = {{"backup_id", s.id},
                          {"store", s.store},
                          {"usable", s.usable()},
                          {"trust", trust_name(s.trust)}};
      if (!s.key_id.empty()) j["signed_by"] = s.key_id;
      if (s.usable()) {
        j["sequence"] = s.manifest->sequence;
        j["kind"] = s.manifest->kind;
        j["started_at"] = s.manifest->started_at;
        j["finished_at"] = s.manifest->finished_at;
        j["databases"] = s.manifest->databases();
        j["stored_bytes"] = s.manifest->stored_bytes();
        j["plaintext_bytes"] = s.manifest->plaintext_bytes();
        j["server_version"] = s.manifest->server_version;
        if (const PhysicalWindow* w = local_window(s)) {
          nlohmann::json wal = {{"start", w->start_wal_file},
                                {"complete", w->reach.complete},
                                {"segments", w->reach.segments}};
          wal["last_segment"] = w->reach.last_segment.empty()
                                    ? nlohmann::json()
                                    : nlohmann::json(w->reach.last_segment);
          wal["reaches_at"] =
              w->reaches_ms ? nlohmann::json(format_rfc3339_utc(*w->reaches_ms)) : nlohmann::json();
          wal["missing"] =
              w->reach.missing.empty() ? nlohmann::json() : nlohmann::json(w->reach.missing);
          wal["chain_broken_at"] =
              w->chain_broken_at.empty() ? nlohmann::json() : nlohmann::json(w->chain_broken_at);
          j["wal"] = wal;
        }
      } else {
        j["problem"] = s.problem;
        // What an unsigned set claims, to choose one for --allow-unsigned.
        if (s.unsigned_manifest) {
          j["claimed_finished_at"] = s.unsigned_manifest->finished_at;
          j["claimed_kind"] = s.unsigned_manifest->kind;
        }
      }
      out.push_back(j);
    }
    std::cout << dump_printable_json(out, 2) << "\n";
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
      std::printf("%-20s %-8s %-24s %4zu %11s %11s  %s\n", s.id.c_str(), printable(m.kind).c_str(),
                  m.finished_at.c_str(), m.databases().size(),
                  format_bytes(m.stored_bytes()).c_str(), format_bytes(m.plaintext_bytes()).c_str(),
                  s.store.c_str());
      if (const PhysicalWindow* w = local_window(s)) std::printf("    %s\n", wal_line(*w).c_str());
    } else if (s.unsigned_manifest) {
      std::printf("%-20s %-8s UNTRUSTED (claims %s): %s\n", s.id.c_str(),
                  s.unsigned_manifest->kind.c_str(), s.unsigned_manifest->finished_at.c_str(),
                  s.problem.c_str());
    } else if (s.untrusted()) {
      std::printf("%-20s %-8s UNTRUSTED: %s\n", s.id.c_str(), "?", s.problem.c_str());
    } else {
      std::printf("%-20s %-8s UNUSABLE: %s\n", printable(s.id).c_str(), "?",
                  printable(s.problem).c_str());
    }
  }
  if (window) {
    std::printf("recoverable window (local): %s to %s%s\n", ms_or_dash(window->oldest_ms).c_str(),
                ms_or_dash(window->recoverable_to_ms).c_str(),
                window->recoverable_to_backup_id.empty()
                    ? ""
                    : (" (through " + window->recoverable_to_backup_id + ")").c_str());
    if (!window->broken_now.empty())
      std::printf(
          "WAL chain broken at %s: no base backup started after it; WAL archived since is "
          "not restorable until one does\n",
          window->broken_now.c_str());
  }
  return kExitOk;
}

}  // namespace ramsafe::cli
