#include "core/set/trust.h"

#include <algorithm>

#include "core/config/keys.h"
#include "core/error.h"
#include "core/set/freshness.h"

namespace ramsafe {
namespace {

constexpr const char* kManifestContext = "ramsafe-manifest-v1\n";
constexpr const char* kWalContext = "ramsafe-wal-v1\n";

// Why a signature names a key this host does not trust.
std::string unknown_key_problem(const TrustPolicy& policy, const std::string& key_id) {
  if (policy.keys.empty())
    return "signed by " + key_id +
           ", but this host trusts no verify key (set ramsafe.verify_keys_file)";
  return "signed by " + key_id + ", which is not in ramsafe.verify_keys_file";
}

std::string minutes_text(int64_t ms) {
  constexpr int64_t kHour = 60, kDay = 24 * kHour;
  int64_t minutes = ms / 60000;
  if (minutes >= 2 * kDay) return std::to_string(minutes / kDay) + " days";
  if (minutes >= 2 * kHour) return std::to_string(minutes / kHour) + " hours";
  return std::to_string(std::max<int64_t>(minutes, 1)) + " minutes";
}

// The checks after the signature (or the lack of one): the set's own id, this cluster,
// not from the future. An empty string when they pass.
std::string claims_problem(const Manifest& m, const std::string& set_id,
                           const TrustPolicy& policy) {
  if (m.backup_id != set_id) return "its manifest is for backup " + printable(m.backup_id);
  if (!policy.cluster.empty() && m.cluster != policy.cluster)
    return "it is a backup of cluster \"" + printable(m.cluster) + "\", not of \"" +
           policy.cluster + "\" (ramsafe.cluster_name)";
  int64_t now = policy.now();
  int64_t latest = std::max(parse_rfc3339_utc(m.finished_at).value_or(0),
                            parse_rfc3339_utc(m.started_at).value_or(0));
  if (latest > now + kMaxClockSkewSeconds * 1000)
    return "it claims to have finished at " + printable(m.finished_at) + ", " +
           minutes_text(latest - now) + " in the future of this host's clock (" +
           format_rfc3339_utc(now) + "; at most " + std::to_string(kMaxClockSkewSeconds / 60) +
           " minutes are allowed): if this host's clock is wrong, set it right";
  return "";
}

}  // namespace

std::string manifest_signed_message(const std::string& manifest_bytes) {
  return kManifestContext + manifest_bytes;
}

std::string wal_signed_message(const std::string& cluster, const std::string& record) {
  return kWalContext + cluster + "\n" + record;
}

const signing::VerifyKey* TrustPolicy::find(const std::string& key_id) const {
  for (const auto& k : keys)
    if (k.id() == key_id) return &k;
  return nullptr;
}

int64_t TrustPolicy::now() const {
  return std::max(now_ms != 0 ? now_ms : now_unix_millis(), clock_floor_ms);
}

const char* trust_name(Trust trust) {
  switch (trust) {
    case Trust::kTrusted:
      return "trusted";
    case Trust::kUnsigned:
      return "unsigned";
    case Trust::kUntrusted:
      return "untrusted";
    case Trust::kUnusable:
      break;
  }
  return "unusable";
}

ManifestCheck check_manifest(const std::string& set_id, const std::string& manifest_bytes,
                             const std::string* signature, const TrustPolicy& policy,
                             const std::string& source) {
  ManifestCheck out;
  out.trust = Trust::kUntrusted;
  if (signature == nullptr) {
    // Either a set written before ramsafe signed them (format 1), or a signed-format set
    // whose signature was removed: only the manifest itself can tell, so it is parsed.
    try {
      Manifest m = Manifest::parse(manifest_bytes, source);
      if (m.format_version >= 2) {
        out.problem = "its signature " + std::string(kManifestSignatureName) +
                      " is missing (a signed-format set without it has been tampered with)";
        return out;
      }
      if (std::string problem = claims_problem(m, set_id, policy); !problem.empty()) {
        out.problem = "unsigned, and " + problem;
        return out;
      }
      out.trust = Trust::kUnsigned;
      out.problem =
          "unsigned: written before ramsafe signed its backups, or forged by anyone who can "
          "write to the store; restore it only with --allow-unsigned, after checking it";
      out.manifest = std::move(m);
    } catch (const Error& e) {
      out.trust = Trust::kUnusable;
      out.problem = e.what();
    }
    return out;
  }
  std::optional<signing::Signature> sig = signing::Signature::parse(*signature);
  if (!sig) {
    out.problem = "its signature " + std::string(kManifestSignatureName) + " is malformed";
    return out;
  }
  out.key_id = sig->key_id;
  const signing::VerifyKey* key = policy.find(sig->key_id);
  if (key == nullptr) {
    out.problem = unknown_key_problem(policy, sig->key_id);
    return out;
  }
  if (!key->verify(manifest_signed_message(manifest_bytes), sig->bytes)) {
    out.problem = "BAD SIGNATURE: manifest.json does not match its signature by " + sig->key_id +
                  " (changed after it was signed)";
    return out;
  }
  // Genuine bytes from a trusted writer; still parsed with the manifest's own checks.
  Manifest m;
  try {
    m = Manifest::parse(manifest_bytes, source);
  } catch (const Error& e) {
    out.problem = e.what();
    return out;
  }
  if (m.format_version < 2) {
    out.problem = "a signed manifest of format " + std::to_string(m.format_version) +
                  " (ramsafe signs only format 2)";
    return out;
  }
  if (std::string problem = claims_problem(m, set_id, policy); !problem.empty()) {
    out.problem = problem;
    return out;
  }
  out.trust = Trust::kTrusted;
  out.manifest = std::move(m);
  return out;
}

std::string sign_manifest(const signing::SigningKey& key, const std::string& manifest_bytes) {
  signing::Signature sig;
  sig.key_id = key.verify_key().id();
  sig.bytes = key.sign(manifest_signed_message(manifest_bytes));
  return sig.encode();
}

WalRecordCheck check_wal_record(const std::string& record, const std::string* signature,
                                const TrustPolicy& policy, const std::string& where) {
  WalRecordCheck out;
  if (signature == nullptr) {
    out.trust = Trust::kUnsigned;
    out.problem = where + kWalSignatureSuffix +
                  " is missing: the WAL file is unsigned (archived before ramsafe signed WAL, "
                  "or forged); it is used only with --allow-unsigned";
    return out;
  }
  std::optional<signing::Signature> sig = signing::Signature::parse(*signature);
  if (!sig) {
    out.problem = where + kWalSignatureSuffix + " is malformed";
    return out;
  }
  out.key_id = sig->key_id;
  const signing::VerifyKey* key = policy.find(sig->key_id);
  if (key == nullptr) {
    out.problem = where + ": " + unknown_key_problem(policy, sig->key_id);
    return out;
  }
  if (!key->verify(wal_signed_message(policy.cluster, record), sig->bytes)) {
    out.problem = where + ": BAD SIGNATURE: the checksum record does not match its signature by " +
                  sig->key_id + " for cluster \"" + policy.cluster + "\"";
    return out;
  }
  out.trust = Trust::kTrusted;
  return out;
}

std::string sign_wal_record(const signing::SigningKey& key, const std::string& cluster,
                            const std::string& record) {
  signing::Signature sig;
  sig.key_id = key.verify_key().id();
  sig.bytes = key.sign(wal_signed_message(cluster, record));
  return sig.encode();
}

TrustPolicy trust_policy_for(const Settings& settings) {
  TrustPolicy policy;
  policy.keys = load_verify_keys(settings);
  policy.cluster = cluster_name(settings);
  FreshnessState state(state_file_path(settings));
  try {
    state.load();
    policy.clock_floor_ms = state.clock_floor_ms(policy.cluster);
  } catch (const Error&) {
    // A damaged state file: the clock alone; restore and list say what is wrong with it.
  }
  return policy;
}

SetSigner set_signer_for(const Settings& settings) {
  signing::SigningKey key = load_signing_key(settings);
  TrustPolicy trust = trust_policy_for(settings);
  if (trust.find(key.verify_key().id()) == nullptr)
    throw Error(Errc::kConfig,
                "the verify key of ramsafe.signing_key_file (" + key.verify_key().id() +
                    ") is not in ramsafe.verify_keys_file" +
                    (settings.verify_keys_file.empty() ? " (not set)"
                                                       : " (" + settings.verify_keys_file + ")") +
                    ": the sets it signs would be untrusted here (never restored, counted or "
                    "uploaded); add this line to it: " +
                    key.verify_key().encode());
  return SetSigner{std::move(key), cluster_name(settings), state_file_path(settings),
                   std::move(trust)};
}

}  // namespace ramsafe
