// Loading the age recipients and identities that settings name.
#pragma once

#include <string>
#include <vector>

#include "core/config/settings.h"
#include "core/crypto/age.h"
#include "core/crypto/signing.h"

namespace ramsafe {

// From ramsafe.recipients_file (public keys; any permissions) or ramsafe.passphrase_file
// (a secret: must be mode 0600 or stricter). Throws Error(kConfig) if neither is set.
std::vector<age::Recipient> load_recipients(const Settings& settings);

// From identity_file (if not empty) else ramsafe.identity_file, plus the passphrase file
// when one is set. Throws Error(kConfig) if no key is configured at all.
std::vector<age::Identity> load_identities(const Settings& settings,
                                           const std::string& identity_file);

// The Ed25519 signing key in ramsafe.signing_key_file (a secret: mode 0600 or stricter).
// Throws Error(kConfig) when it is not set, naming what to do.
signing::SigningKey load_signing_key(const Settings& settings);

// The verify keys in ramsafe.verify_keys_file (public; any permissions); empty when the
// setting is empty. Throws Error(kConfig) for a file that cannot be read or a bad line.
std::vector<signing::VerifyKey> load_verify_keys(const Settings& settings);

}  // namespace ramsafe
