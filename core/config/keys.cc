#include "core/config/keys.h"

#include "core/crypto/secure_string.h"
#include "core/error.h"
#include "core/io/unique_fd.h"

namespace ramsafe {
namespace {

SecureString passphrase_from_file(const std::string& path) {
  SecureString text = read_secret_file(path);
  // One line; a trailing newline is not part of the passphrase.
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty()) throw Error(Errc::kConfig, "passphrase file " + path + " is empty");
  if (text.find('\n') != SecureString::npos)
    throw Error(Errc::kConfig, "passphrase file " + path + " must hold one line");
  return text;
}

// A key file that cannot be read is a configuration problem: say which setting named it.
template <typename Fn>
auto with_setting_context(const std::string& setting, const std::string& path, Fn&& fn) {
  try {
    return fn();
  } catch (const Error& e) {
    if (e.code() == Errc::kConfig) throw;
    throw Error(Errc::kConfig, setting + " = '" + path + "': " + e.what());
  }
}

}  // namespace

std::vector<age::Recipient> load_recipients(const Settings& settings) {
  if (!settings.passphrase_file.empty() && !settings.recipients_file.empty())
    throw Error(Errc::kConfig,
                "ramsafe.recipients_file and ramsafe.passphrase_file are both set: set only one, "
                "as a passphrase must be a backup's only age recipient");
  if (!settings.passphrase_file.empty()) {
    return {age::ScryptRecipient{
        with_setting_context("ramsafe.passphrase_file", settings.passphrase_file,
                             [&] { return passphrase_from_file(settings.passphrase_file); })}};
  }
  if (settings.recipients_file.empty())
    throw Error(Errc::kConfig,
                "no encryption key configured: set ramsafe.recipients_file (age public keys, "
                "see `ramsafe keygen`) or ramsafe.passphrase_file");
  auto recipients = with_setting_context("ramsafe.recipients_file", settings.recipients_file, [&] {
    return age::parse_recipients(read_file(settings.recipients_file, 1 << 20),
                                 settings.recipients_file);
  });
  if (recipients.empty())
    throw Error(Errc::kConfig,
                "ramsafe.recipients_file " + settings.recipients_file + " holds no recipient");
  return recipients;
}

std::vector<age::Identity> load_identities(const Settings& settings,
                                           const std::string& identity_file) {
  std::vector<age::Identity> identities;
  std::string file = identity_file.empty() ? settings.identity_file : identity_file;
  if (!file.empty()) {
    identities =
        with_setting_context(identity_file.empty() ? "ramsafe.identity_file" : "--identity", file,
                             [&] { return age::parse_identities(read_secret_file(file), file); });
    if (identities.empty())
      throw Error(Errc::kConfig, "identity file " + file + " holds no identity");
  }
  if (!settings.passphrase_file.empty())
    identities.push_back(age::ScryptIdentity{
        with_setting_context("ramsafe.passphrase_file", settings.passphrase_file,
                             [&] { return passphrase_from_file(settings.passphrase_file); })});
  if (identities.empty())
    throw Error(Errc::kConfig,
                "no decryption key configured: set ramsafe.identity_file (or pass --identity FILE) "
                "or ramsafe.passphrase_file");
  return identities;
}

signing::SigningKey load_signing_key(const Settings& settings) {
  if (settings.signing_key_file.empty())
    throw Error(Errc::kConfig,
                "no signing key configured: set ramsafe.signing_key_file (make one with "
                "`ramsafe keygen --dir DIR`, or `ramsafe keygen --signing-key FILE`); ramsafe "
                "writes no unsigned backups (docs/security.md)");
  return with_setting_context("ramsafe.signing_key_file", settings.signing_key_file, [&] {
    return signing::SigningKey::parse(read_secret_file(settings.signing_key_file),
                                      settings.signing_key_file);
  });
}

std::vector<signing::VerifyKey> load_verify_keys(const Settings& settings) {
  if (settings.verify_keys_file.empty()) return {};
  return with_setting_context("ramsafe.verify_keys_file", settings.verify_keys_file, [&] {
    return signing::parse_verify_keys(read_file(settings.verify_keys_file, 1 << 20),
                                      settings.verify_keys_file);
  });
}

}  // namespace ramsafe
