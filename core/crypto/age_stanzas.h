// Recipient stanzas of age v1: wrapping a file key to X25519 and scrypt recipients, and
// unwrapping it with identities. Internal to the age module.
#pragma once

#include <vector>

#include "core/crypto/age.h"
#include "core/crypto/age_crypto.h"
#include "core/crypto/age_header.h"

namespace ramsafe::age::detail {

// The stanzas for these recipients. Throws kInvalidArgument for no recipients, a scrypt
// recipient that is not alone, a bad work factor or an empty passphrase.
std::vector<Stanza> wrap_file_key(const FileKey& file_key,
                                  const std::vector<Recipient>& recipients);

// Unwraps the file key. Throws kCorrupt for a malformed X25519 or scrypt stanza (including
// an all-zero shared secret, a scrypt stanza that is not alone, or a work factor above the
// identity's limit) and kCrypto when no identity matches. Unknown stanza types are skipped.
FileKey unwrap_file_key(const std::vector<Stanza>& stanzas,
                        const std::vector<Identity>& identities);

}  // namespace ramsafe::age::detail
