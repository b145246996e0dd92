// Which sets and WAL files a reader trusts (docs/security.md): only what a verify key
// configured on the reading host signed, never a key found in a store. Every store's
// listing and every WAL reader decides here, so no reader can forget to ask.
//
//   <set>/manifest.json.sig   "ramsafe-signature-v1 <key id> <base64>\n": the Ed25519
//                              signature of "ramsafe-manifest-v1\n" + manifest.json's exact bytes
//   wal/<tl>/<name>.sig       the same over "ramsafe-wal-v1\n" + cluster + "\n" + the exact
//                              bytes of <name>.sha256 (the plaintext's SHA-256 and the name)
//
// A trusted set also names this cluster and its finish time is not in the future (beyond
// kMaxClockSkewSeconds of the reading host's clock, which is taken to be at least the time
// of the newest backup it has seen: set/freshness.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config/settings.h"
#include "core/crypto/signing.h"
#include "core/set/manifest.h"

namespace ramsafe {

inline constexpr const char* kManifestSignatureName = "manifest.json.sig";
inline constexpr const char* kWalSignatureSuffix = ".sig";
// How far a signed manifest's finish time may lie ahead of the reading host's clock.
constexpr int64_t kMaxClockSkewSeconds = 300;
// The largest signature file a reader looks at (one line is 128 bytes).
constexpr size_t kMaxSignatureFileSize = 4096;

// What is signed: a context line, then the exact bytes.
std::string manifest_signed_message(const std::string& manifest_bytes);
std::string wal_signed_message(const std::string& cluster, const std::string& record);

// What a reading host trusts.
struct TrustPolicy {
  std::vector<signing::VerifyKey> keys;  // ramsafe.verify_keys_file
  std::string cluster;                   // sets must name it; WAL signatures cover it
  int64_t clock_floor_ms = 0;            // this host's clock is at least this (its state)
  int64_t now_ms = 0;                    // 0: the system clock (tests set it)

  const signing::VerifyKey* find(const std::string& key_id) const;
  int64_t now() const;  // the clock (or now_ms), at least clock_floor_ms
};

enum class Trust {
  kTrusted,    // signed by a trusted key, this cluster's, not from the future
  kUnsigned,   // a format-1 manifest and no signature: written before ramsafe signed sets
               // (or forged); restored only with --allow-unsigned
  kUntrusted,  // a bad, missing or unknown signature, another cluster, a future time
  kUnusable,   // no readable manifest at all (damaged or incomplete)
};

// "trusted", "unsigned", "untrusted", "unusable"
const char* trust_name(Trust trust);

struct ManifestCheck {
  Trust trust = Trust::kUnusable;
  std::optional<Manifest> manifest;  // kTrusted: the set's; kUnsigned: what it claims to be
  std::string problem;               // why it is not trusted
  std::string key_id;                // the key that signed it (or claims to have)
};

// Decides about one set from its manifest's bytes and its signature file's text (nullptr:
// the set has none). The bytes are parsed only when the signature checks out, or when there
// is no signature at all (to tell an unsigned old set from a stripped new one). source
// names the manifest in messages.
ManifestCheck check_manifest(const std::string& set_id, const std::string& manifest_bytes,
                             const std::string* signature, const TrustPolicy& policy,
                             const std::string& source);

// The text of manifest.json.sig for these manifest bytes.
std::string sign_manifest(const signing::SigningKey& key, const std::string& manifest_bytes);

struct WalRecordCheck {
  Trust trust = Trust::kUntrusted;  // kTrusted, kUnsigned (no .sig at all) or kUntrusted
  std::string problem;
  std::string key_id;
};

// Decides about one archived WAL file from its <name>.sha256 text and <name>.sig text
// (nullptr: none). where names the files in messages.
WalRecordCheck check_wal_record(const std::string& record, const std::string* signature,
                                const TrustPolicy& policy, const std::string& where);
std::string sign_wal_record(const signing::SigningKey& key, const std::string& cluster,
                            const std::string& record);

// The policy the settings give: ramsafe.verify_keys_file's keys, this cluster, and the
// clock floor from the freshness state file (if any and readable). Throws Error(kConfig)
// for a verify keys file that cannot be read.
TrustPolicy trust_policy_for(const Settings& settings);

// What every set and WAL writer signs with: the key, the cluster, where the host keeps its
// freshness state (for sequence numbers), and the policy its own store is read with.
struct SetSigner {
  signing::SigningKey key;
  std::string cluster;
  std::string state_file;  // "" = none
  TrustPolicy trust;
};

// Loads ramsafe.signing_key_file and checks that its verify key is one this host trusts
// (else the sets it signs would be untrusted here: never counted, uploaded or restored).
// Throws Error(kConfig) naming what to set.
SetSigner set_signer_for(const Settings& settings);

}  // namespace ramsafe
