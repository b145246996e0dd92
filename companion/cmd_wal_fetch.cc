#include <iostream>
#include <memory>
#include <optional>

#include "companion/commands.h"
#include "core/backup/backup.h"
#include "core/config/keys.h"
#include "core/drive/drive_store.h"
#include "core/error.h"
#include "core/wal/wal_archive.h"

namespace ramsafe::cli {

CommandSpec wal_fetch_spec() {
  return {
      "wal-fetch",
      "wal-fetch [options] WAL_NAME DEST_PATH",
      "Fetch one archived WAL file, for PostgreSQL's restore_command.\n"
      "  restore_command = 'ramsafe wal-fetch %f %p'\n"
      "Decrypts and decompresses <ramsafe.local_dir>/<cluster>/wal/<timeline>/WAL_NAME.zst.age\n"
      "into DEST_PATH (atomically, after checking its SHA-256). When the local copy is\n"
      "missing or damaged and Drive is configured, fetches Drive's copy instead.\n"
      "Only a file whose checksum record is signed by a key in ramsafe.verify_keys_file is\n"
      "used (with --allow-unsigned, also one with no signature at all).\n"
      "\n"
      "Exit status: 0 fetched; 1 the archive does not hold WAL_NAME (PostgreSQL takes this\n"
      "as the end of the archive); 2 bad arguments or configuration; 5 the archived file is\n"
      "damaged, untrusted or cannot be decrypted with the identity; 6 any other failure (I/O,\n"
      "permissions).",
      {config_option(),
       {"identity", 'i', true, "FILE", "age identity file (default: ramsafe.identity_file)"},
       {"allow-unsigned", 0, false, "",
        "also use a WAL file without a signature (archived before ramsafe signed WAL)"}},
      2,
      "WAL_NAME   a WAL file name as PostgreSQL's %f gives it (segment, .history, .backup,\n"
      "           .partial)\n"
      "DEST_PATH  where to write it (%p)"};
}

namespace {

// The exit status for a failed fetch; Errors that have the usual status are rethrown.
int exit_code_of(const Error& e) {
  switch (e.code()) {
    case Errc::kNotFound:
      return kExitFailed;
    case Errc::kCorrupt:
    case Errc::kCrypto:
    case Errc::kUntrusted:
      return kExitDamaged;
    case Errc::kConfig:
    case Errc::kInvalidArgument:
    case Errc::kCancelled:
      throw e;  // the usual exit codes: 2, 130
    default:
      return kExitFetchFailed;
  }
}

}  // namespace

int run_wal_fetch(const ParsedArgs& args) {
  if (args.positionals.size() != 2) throw UsageError("expected WAL_NAME and DEST_PATH");
  const std::string& name = args.positionals[0];
  const std::string& dest = args.positionals[1];
  parse_wal_file_name(name);  // a bad name is a usage error (exit 2), checked first
  Settings settings = load_boot_config(args);  // restore_command: the boot path
  if (settings.local_dir.empty() && !drive_configured(settings))
    throw UsageError(
        "ramsafe.local_dir is not set and Drive is not configured: there is no WAL archive");
  std::vector<age::Identity> identities = load_identities(settings, args.get("identity"));
  TrustPolicy trust = trust_policy_for(settings);
  bool allow_unsigned = args.has("allow-unsigned");
  // The local store first; Drive when the local copy is missing or damaged.
  std::optional<Error> local_error;
  if (!settings.local_dir.empty()) {
    try {
      fetch_wal_file(local_store_root(settings), identities, name, dest, trust, allow_unsigned);
      return kExitOk;
    } catch (const Error& e) {
      exit_code_of(e);
      local_error = e;
    }
  }
  std::unique_ptr<DriveStore> drive = make_drive_store(settings);
  if (!drive) {
    std::cerr << "ramsafe wal-fetch: " << local_error->what() << "\n";
    return exit_code_of(*local_error);
  }
  try {
    drive->fetch_wal_file(identities, name, dest, allow_unsigned, cancel_check());
  } catch (const Error& e) {
    int code = exit_code_of(e);
    // Not on Drive either: the local store's answer stands (missing, or damaged).
    if (code == kExitFailed && local_error && local_error->code() != Errc::kNotFound) {
      std::cerr << "ramsafe wal-fetch: " << local_error->what() << "; " << e.what() << "\n";
      return exit_code_of(*local_error);
    }
    std::cerr << "ramsafe wal-fetch: " << e.what() << "\n";
    return code;
  }
  if (local_error && local_error->code() != Errc::kNotFound)
    std::cerr << "ramsafe wal-fetch: " << local_error->what() << "; fetched " << name << " from "
              << drive->describe() << " instead\n";
  return kExitOk;
}

}  // namespace ramsafe::cli
