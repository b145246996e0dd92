#include <fcntl.h>
#include <unistd.h>

#include <iostream>

#include "companion/commands.h"
#include "core/crypto/age.h"
#include "core/error.h"
#include "core/io/unique_fd.h"

namespace ramsafe::cli {

CommandSpec keygen_spec() {
  return {"keygen",
          "keygen [-o FILE]",
          "Generate an age X25519 identity, in the format of age-keygen.\n"
          "With -o, the identity is written to FILE (mode 0600, never overwritten) and the public\n"
          "key (the recipient for ramsafe.recipients_file) is printed on stdout:\n"
          "  ramsafe keygen -o /etc/ramsafe/identity.txt > /etc/ramsafe/recipients.txt\n"
          "Keep a copy of the identity off the machine: without it no backup can be restored.",
          {{"output", 'o', true, "FILE", "write the identity here instead of stdout"}}};
}

int run_keygen(const ParsedArgs& args) {
  age::X25519Identity identity = age::X25519Identity::generate();
  SecureString text = age::keygen_file(identity);
  if (!args.has("output")) {
    if (::isatty(STDOUT_FILENO))
      std::cerr << "ramsafe keygen: warning: writing a secret key to a terminal\n";
    write_all(STDOUT_FILENO, text.data(), text.size(), "stdout");
    return kExitOk;
  }
  std::string path = args.get("output");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      throw Error(Errc::kInvalidArgument, path + " already exists; not overwriting a key");
    throw_errno("create " + path);
  }
  UniqueFd out(fd);
  write_all(out.get(), text.data(), text.size(), path);
  fsync_or_throw(out.get(), path);
  out.close_checked(path);
  std::cout << identity.recipient().encode() << "\n";
  std::cerr << "ramsafe keygen: wrote the identity to " << path
            << "; public key: " << identity.recipient().encode() << "\n";
  return kExitOk;
}

}  // namespace ramsafe::cli
