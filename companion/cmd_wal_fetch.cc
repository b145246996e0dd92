#include <iostream>

#include "companion/commands.h"
#include "core/backup.h"
#include "core/error.h"
#include "core/keys.h"
#include "core/wal_archive.h"

namespace ramsafe::cli {

CommandSpec wal_fetch_spec() {
  return {
      "wal-fetch",
      "wal-fetch [options] WAL_NAME DEST_PATH",
      "Fetch one archived WAL file for PostgreSQL's restore_command:\n"
      "  restore_command = 'ramsafe wal-fetch %f %p'\n"
      "Decrypts and decompresses <ramsafe.local_dir>/<cluster>/wal/<timeline>/WAL_NAME.zst.age\n"
      "into DEST_PATH (atomically, after checking its SHA-256). Local store only.\n"
      "Exit status: 0 fetched; 1 the archive does not hold WAL_NAME (PostgreSQL takes this\n"
      "as the end of the archive); 2 bad arguments or configuration; 5 the archived file is\n"
      "damaged or cannot be decrypted with the identity; 6 any other failure (I/O, permissions).",
      {config_option(),
       {"identity", 'i', true, "FILE", "age identity file (default: ramsafe.identity_file)"}},
      2,
      "WAL_NAME   a WAL file name as PostgreSQL's %f gives it (segment, .history, .backup,\n"
      "           .partial)\n"
      "DEST_PATH  where to write it (%p)"};
}

int run_wal_fetch(const ParsedArgs& args) {
  if (args.positionals.size() != 2) throw UsageError("expected WAL_NAME and DEST_PATH");
  const std::string& name = args.positionals[0];
  const std::string& dest = args.positionals[1];
  parse_wal_file_name(name);  // a bad name is a usage error (exit 2), checked first
  Settings settings = load_config(args);
  std::string root = local_store_root(settings);
  std::vector<age::Identity> identities = load_identities(settings, args.get("identity"));
  try {
    fetch_wal_file(root, identities, name, dest);
  } catch (const Error& e) {
    int code;
    switch (e.code()) {
      case Errc::kNotFound:
        code = kExitFailed;
        break;
      case Errc::kCorrupt:
      case Errc::kCrypto:
        code = kExitDamaged;
        break;
      case Errc::kConfig:
      case Errc::kInvalidArgument:
      case Errc::kCancelled:
        throw;  // the usual exit codes: 2, 130
      default:
        code = kExitFetchFailed;
        break;
    }
    std::cerr << "ramsafe wal-fetch: " << e.what() << "\n";
    return code;
  }
  return kExitOk;
}

}  // namespace ramsafe::cli
