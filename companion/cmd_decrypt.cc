#include <fcntl.h>
#include <unistd.h>

#include <sys/stat.h>

#include <memory>
#include <optional>

#include "companion/commands.h"
#include "core/config/keys.h"
#include "core/config/settings.h"
#include "core/crypto/age.h"
#include "core/error.h"
#include "core/io/dir.h"
#include "core/io/paths.h"
#include "core/set/pipeline.h"

namespace ramsafe::cli {

CommandSpec decrypt_spec() {
  return {"decrypt",
          "decrypt [options] FILE",
          "Decrypt one file of a backup set to stdout (or -o FILE).\n"
          "Files ending in .zst.age are also decompressed, so a database file comes out as a\n"
          "pg_dump custom archive:\n"
          "  ramsafe decrypt db/app.dump.zst.age | pg_restore -d app\n"
          "The same works without ramsafe:\n"
          "  age -d -i key.txt FILE | zstd -d | pg_restore -d app",
          {config_option(),
           {"identity", 'i', true, "FILE", "age identity file (default: ramsafe.identity_file)"},
           {"passphrase-file", 0, true, "FILE", "read a passphrase from FILE (mode 0600)"},
           {"output", 'o', true, "FILE",
            "write here instead of stdout: a new file (mode 0600) beside FILE, renamed over\n"
            "it when complete; a link, device or FIFO at FILE is refused"},
           {"no-decompress", 0, false, "", "only decrypt, even for .zst.age files"}},
          1,
          "FILE   the encrypted file; - for stdin"};
}

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

int run_decrypt(const ParsedArgs& args) {
  if (args.positionals.empty()) throw UsageError("missing FILE to decrypt");
  std::string input = args.positionals[0];
  // An operator may have only the key: the config file is read when named, or when no
  // key is given on the command line.
  Settings settings;
  if (args.has("config") || (!args.has("identity") && !args.has("passphrase-file")))
    settings = load_config(args);
  if (args.has("passphrase-file")) settings.passphrase_file = args.get("passphrase-file");
  std::vector<age::Identity> identities = load_identities(settings, args.get("identity"));

  UniqueFd in_owned;
  int in_fd = STDIN_FILENO;
  if (input != "-") {
    in_owned = open_or_throw(input, O_RDONLY);
    in_fd = in_owned.get();
  }
  // -o: an O_EXCL temporary file in FILE's directory, renamed over FILE at the end, so
  // nothing planted at FILE (a link to another file) is written through or replaced, and
  // FILE is never left half-written.
  std::optional<Dir> out_dir;
  std::unique_ptr<TempFile> out_tmp;
  int out_fd = STDOUT_FILENO;
  if (args.has("output")) {
    std::string output = args.get("output");
    if (output.empty() || output.back() == '/')
      throw UsageError("-o needs a file name, not \"" + output + "\"");
    out_dir = Dir::open(parent_dir(output));
    if (auto st = out_dir->stat(base_name(output)); st && S_ISDIR(st->st_mode))
      throw UsageError("-o " + output + " is a directory");
    out_dir->check_replaceable(base_name(output));
    out_tmp = std::make_unique<TempFile>(*out_dir, base_name(output));
    out_fd = out_tmp->fd();
  } else if (::isatty(STDOUT_FILENO)) {
    throw UsageError(
        "refusing to write decrypted binary data to a terminal; redirect stdout or use -o FILE");
  }
  std::string out_name = args.has("output") ? args.get("output") : "stdout";
  FdSink file_out(out_fd, out_name);
  StdoutSink stdout_out;
  Sink& out = out_tmp ? static_cast<Sink&>(file_out) : stdout_out;
  std::unique_ptr<Sink> decompress;
  Sink* after_decrypt = &out;
  if (ends_with(input, ".zst.age") && !args.has("no-decompress")) {
    decompress = std::make_unique<ZstdDecompressor>(out);
    after_decrypt = decompress.get();
  }
  age::Decryptor decrypt(identities, *after_decrypt);
  pump_fd(in_fd, input, decrypt, cancel_check(), nullptr);
  if (out_tmp) {
    out_tmp->commit(base_name(out_name));
    out_dir->fsync();
  }
  return kExitOk;
}

}  // namespace ramsafe::cli
