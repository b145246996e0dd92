// Keys for unit tests that write or read signed sets and WAL (core/set/trust.h).
#pragma once

#include <string>
#include <utility>

#include "core/crypto/signing.h"
#include "core/set/trust.h"

namespace ramsafe::test {

// A new signing key for cluster "main" (or another), trusted by its own policy; state_file
// "" keeps no freshness state.
inline SetSigner make_signer(const std::string& cluster = "main",
                             const std::string& state_file = "") {
  signing::SigningKey key = signing::SigningKey::generate();
  TrustPolicy trust;
  trust.keys = {key.verify_key()};
  trust.cluster = cluster;
  return SetSigner{std::move(key), cluster, state_file, std::move(trust)};
}

}  // namespace ramsafe::test
