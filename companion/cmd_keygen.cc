#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <iostream>

#include "companion/commands.h"
#include "core/crypto/age.h"
#include "core/crypto/signing.h"
#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/unique_fd.h"
#include "core/set/manifest.h"

namespace ramsafe::cli {

CommandSpec keygen_spec() {
  return {"keygen",
          "keygen [--dir DIR | -o FILE | --signing-key FILE]",
          "Generate keys.\n"
          "With --dir, everything a new install needs, in DIR (created 0700; nothing is ever\n"
          "overwritten): identity.txt (age identity, secret), recipients.txt (its public key),\n"
          "signing.key (Ed25519 signing key, secret) and verify_keys.txt (its verify key). The\n"
          "settings naming them are printed on stdout, what goes where on stderr:\n"
          "  runuser -u postgres -- ramsafe keygen --dir /var/lib/postgresql/ramsafe \\\n"
          "    >> /etc/ramsafe/ramsafe.conf\n"
          "With -o, only an age X25519 identity (in the format of age-keygen) is written to FILE\n"
          "(mode 0600) and its public key (the recipient) printed on stdout:\n"
          "  ramsafe keygen -o /etc/ramsafe/identity.txt > /etc/ramsafe/recipients.txt\n"
          "With --signing-key, only an Ed25519 signing key is written to FILE (mode 0600) and its\n"
          "verify key line printed on stdout, to add to ramsafe.verify_keys_file when rotating\n"
          "keys (docs/security.md):\n"
          "  ramsafe keygen --signing-key signing-2027.key >> verify_keys.txt\n"
          "Without an option, an age identity is printed on stdout.\n"
          "Keep a copy of the identity off the machine: without it no backup can be restored.",
          {{"dir", 0, true, "DIR", "write every key a new install needs into DIR"},
           {"output", 'o', true, "FILE", "write an age identity here instead of stdout"},
           {"signing-key", 0, true, "FILE", "write an Ed25519 signing key here"}}};
}

namespace {

// Creates path (never replacing anything) with content and mode, durably.
template <typename Text>
void write_new_file(const std::string& path, const Text& content, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST)
      throw Error(Errc::kInvalidArgument, path + " already exists; not overwriting a key");
    throw_errno("create " + path);
  }
  UniqueFd out(fd);
  if (::fchmod(out.get(), mode) != 0) throw_errno("chmod " + path);  // whatever the umask
  write_all(out.get(), content.data(), content.size(), path);
  fsync_or_throw(out.get(), path);
  out.close_checked(path);
}

std::string absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (!::getcwd(cwd, sizeof cwd)) throw_errno("getcwd");
  return join_path(cwd, path);
}

std::string now_text() {
  return format_rfc3339_utc(now_unix_millis());
}

int keygen_dir(const std::string& given) {
  std::string dir = absolute(given);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) throw_errno("create " + dir);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Error(Errc::kInvalidArgument, dir + " is not a directory");
  const std::string identity = join_path(dir, "identity.txt");
  const std::string recipients = join_path(dir, "recipients.txt");
  const std::string signing_key = join_path(dir, "signing.key");
  const std::string verify_keys = join_path(dir, "verify_keys.txt");
  for (const auto& path : {identity, recipients, signing_key, verify_keys})
    if (path_exists(path))
      throw Error(Errc::kInvalidArgument, path + " already exists; not overwriting a key");

  age::X25519Identity age_identity = age::X25519Identity::generate();
  signing::SigningKey key = signing::SigningKey::generate();
  std::string created = now_text();
  write_new_file(identity, age::keygen_file(age_identity), 0600);
  write_new_file(recipients,
                 "# age recipient of " + identity + ", created " + created + "\n" +
                     age_identity.recipient().encode() + "\n",
                 0644);
  write_new_file(signing_key, key.encode(created), 0600);
  write_new_file(verify_keys,
                 "# Ed25519 verify keys whose signatures this host trusts, one per line; keep a\n"
                 "# retired key here as long as the sets it signed should stay restorable.\n" +
                     key.verify_key().encode() + " " + key.verify_key().id() + " created " +
                     created + "\n",
                 0644);

  std::cout << "ramsafe.identity_file = '" << identity << "'\n"
            << "ramsafe.recipients_file = '" << recipients << "'\n"
            << "ramsafe.signing_key_file = '" << signing_key << "'\n"
            << "ramsafe.verify_keys_file = '" << verify_keys << "'\n";
  std::cerr
      << "ramsafe keygen: wrote four files to " << dir << ":\n"
      << "  identity.txt     SECRET (0600). The age identity that decrypts backups: `ramsafe\n"
      << "                   restore` needs it (ramsafe.identity_file). Keep a copy OFF this\n"
      << "                   machine: without it no backup can be read.\n"
      << "  recipients.txt   public. What backups are encrypted to (ramsafe.recipients_file);\n"
      << "                   the server needs only this to encrypt.\n"
      << "  signing.key      SECRET (0600). Signs every backup set and WAL file\n"
      << "                   (ramsafe.signing_key_file): the server and `ramsafe backup` need\n"
      << "                   it; a restoring machine does not. It never leaves the machine\n"
      << "                   that backs up.\n"
      << "  verify_keys.txt  public. The keys readers trust (ramsafe.verify_keys_file): copy it\n"
      << "                   to every machine that restores, lists or prunes these backups.\n"
      << "The freshness state (ramsafe-state.json) will be kept beside signing.key.\n"
      << "The settings above go into the file both the server and the companion read (e.g.\n"
      << "/etc/ramsafe/ramsafe.conf); signing key " << key.verify_key().id() << ".\n";
  if (::geteuid() == 0)
    std::cerr << "ramsafe keygen: warning: run as root, the secret files belong to root; the "
                 "database's OS user must own them (chown, or run keygen as that user)\n";
  return kExitOk;
}

int keygen_signing_key(const std::string& path) {
  signing::SigningKey key = signing::SigningKey::generate();
  std::string created = now_text();
  write_new_file(path, key.encode(created), 0600);
  std::cout << key.verify_key().encode() << " " << key.verify_key().id() << " created " << created
            << "\n";
  std::cerr << "ramsafe keygen: wrote the signing key " << key.verify_key().id() << " to " << path
            << "; its verify key is on stdout: add it to ramsafe.verify_keys_file on every "
               "machine before ramsafe.signing_key_file names the new key\n";
  return kExitOk;
}

}  // namespace

int run_keygen(const ParsedArgs& args) {
  int modes =
      (args.has("dir") ? 1 : 0) + (args.has("output") ? 1 : 0) + (args.has("signing-key") ? 1 : 0);
  if (modes > 1) throw UsageError("--dir, -o and --signing-key exclude each other");
  if (args.has("dir")) return keygen_dir(args.get("dir"));
  if (args.has("signing-key")) return keygen_signing_key(args.get("signing-key"));
  age::X25519Identity identity = age::X25519Identity::generate();
  SecureString text = age::keygen_file(identity);
  if (!args.has("output")) {
    if (::isatty(STDOUT_FILENO))
      std::cerr << "ramsafe keygen: warning: writing a secret key to a terminal\n";
    write_all(STDOUT_FILENO, text.data(), text.size(), "stdout");
    return kExitOk;
  }
  std::string path = args.get("output");
  write_new_file(path, text, 0600);
  std::cout << identity.recipient().encode() << "\n";
  std::cerr << "ramsafe keygen: wrote the identity to " << path
            << "; public key: " << identity.recipient().encode() << "\n";
  return kExitOk;
}

}  // namespace ramsafe::cli
