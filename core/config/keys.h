// Loading the age recipients and identities that settings name.
#pragma once

#include <string>
#include <vector>

#include "core/config/settings.h"
#include "core/crypto/age.h"

namespace ramsafe {

// From ramsafe.recipients_file (public keys; any permissions) or ramsafe.passphrase_file
// (a secret: must be mode 0600 or stricter). Throws Error(kConfig) if neither is set.
std::vector<age::Recipient> load_recipients(const Settings& settings);

// From identity_file (if not empty) else ramsafe.identity_file, plus the passphrase file
// when one is set. Throws Error(kConfig) if no key is configured at all.
std::vector<age::Identity> load_identities(const Settings& settings,
                                           const std::string& identity_file);

}  // namespace ramsafe
