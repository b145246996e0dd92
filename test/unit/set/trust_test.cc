// Which sets and WAL records a reader trusts (core/set/trust.h): a signature by a configured
// verify key over the exact bytes, this cluster, and no time in the future (the freshness
// check). Each attack of issue 14 on the manifest has its case here: a forged set with the
// public recipient only (unsigned, or signed by the forger's own key), a re-dated manifest,
// and key-less manifests with future dates.
#include "core/set/trust.h"

#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/stages.h"
#include "test/unit/signing_util.h"

namespace ramsafe {
namespace {

constexpr const char* kId = "20261122T031500Z";
const int64_t kNow = *parse_rfc3339_utc("2026-11-22T04:00:00Z");

Manifest manifest(int format_version = kManifestFormatVersion,
                  const std::string& finished = "2026-11-22T03:16:02.311Z") {
  Manifest m;
  m.format_version = format_version;
  m.sequence = format_version >= 2 ? 7 : 0;
  m.backup_id = kId;
  m.cluster = "main";
  m.started_at = "2026-11-22T03:15:00.120Z";
  m.finished_at = finished;
  m.initdb = {"UTF8", "C", "C", "libc", "", false, "postgres"};
  ManifestFile f;
  f.path = "globals.sql.zst.age";
  f.role = "globals";
  f.sha256 = std::string(64, 'a');
  f.compression = "zstd";
  f.encryption = "age-v1";
  m.files.push_back(f);
  return m;
}

class Trust : public ::testing::Test {
 protected:
  Trust() {
    policy_ = signer_.trust;
    policy_.now_ms = kNow;
  }

  ManifestCheck check(const std::string& bytes, const std::string* sig) const {
    return check_manifest(kId, bytes, sig, policy_, "test");
  }

  SetSigner signer_ = test::make_signer();
  TrustPolicy policy_;
};

TEST_F(Trust, ASignedManifestIsTrusted) {
  std::string bytes = manifest().to_json();
  std::string sig = sign_manifest(signer_.key, bytes);
  ManifestCheck c = check(bytes, &sig);
  EXPECT_EQ(c.trust, ramsafe::Trust::kTrusted) << c.problem;
  ASSERT_TRUE(c.manifest);
  EXPECT_EQ(c.manifest->sequence, 7u);
  EXPECT_EQ(c.key_id, signer_.key.verify_key().id());
}

TEST_F(Trust, ATamperedManifestIsUntrusted) {
  std::string bytes = manifest().to_json();
  std::string sig = sign_manifest(signer_.key, bytes);
  std::string tampered = bytes;
  tampered[tampered.find("postgres")] = 'P';
  ManifestCheck c = check(tampered, &sig);
  EXPECT_EQ(c.trust, ramsafe::Trust::kUntrusted);
  EXPECT_FALSE(c.manifest);
  EXPECT_NE(c.problem.find("BAD SIGNATURE"), std::string::npos) << c.problem;
  // Whitespace is bytes too: the signature is over the exact file.
  ManifestCheck spaced = check(bytes + " ", &sig);
  EXPECT_EQ(spaced.trust, ramsafe::Trust::kUntrusted);
}

// Attack 2: an old set re-dated (finished_at moved, its self-checksum recomputed, as anyone
// can): the self-checksum passes, the signature does not.
TEST_F(Trust, AReDatedManifestIsUntrusted) {
  std::string bytes = manifest().to_json();
  std::string sig = sign_manifest(signer_.key, bytes);
  nlohmann::json j = nlohmann::json::parse(bytes);
  j["finished_at"] = "2026-11-22T03:59:00.000Z";
  j.erase("manifest_sha256");
  j["manifest_sha256"] = sha256_hex(j.dump());
  std::string redated = j.dump(2) + "\n";
  ASSERT_NO_THROW(Manifest::parse(redated, "redated")) << "the self-checksum is no protection";
  ManifestCheck c = check(redated, &sig);
  EXPECT_EQ(c.trust, ramsafe::Trust::kUntrusted);
  EXPECT_NE(c.problem.find("BAD SIGNATURE"), std::string::npos) << c.problem;
}

// Attack 1: a forger has the public recipient but no signing key: an unsigned set (either
// format), or one signed by a key of their own.
TEST_F(Trust, AForgedSetIsNeverTrusted) {
  std::string v2 = manifest().to_json();
  ManifestCheck stripped = check(v2, nullptr);
  EXPECT_EQ(stripped.trust, ramsafe::Trust::kUntrusted);
  EXPECT_NE(stripped.problem.find("signature manifest.json.sig is missing"), std::string::npos)
      << stripped.problem;

  std::string v1 = manifest(1).to_json();
  ManifestCheck unsigned_set = check(v1, nullptr);
  EXPECT_EQ(unsigned_set.trust, ramsafe::Trust::kUnsigned);
  EXPECT_NE(unsigned_set.problem.find("--allow-unsigned"), std::string::npos);
  ASSERT_TRUE(unsigned_set.manifest) << "what it claims, for list and --allow-unsigned";

  SetSigner forger = test::make_signer();
  std::string forged_sig = sign_manifest(forger.key, v2);
  ManifestCheck other = check(v2, &forged_sig);
  EXPECT_EQ(other.trust, ramsafe::Trust::kUntrusted);
  EXPECT_EQ(other.key_id, forger.key.verify_key().id());
  EXPECT_NE(other.problem.find("not in ramsafe.verify_keys_file"), std::string::npos)
      << other.problem;

  // A signature that is not one.
  for (const std::string& junk :
       {std::string(""), std::string("ramsafe-signature-v1\n"), std::string(100000, 'x')}) {
    ManifestCheck c = check(v2, &junk);
    EXPECT_EQ(c.trust, ramsafe::Trust::kUntrusted);
    EXPECT_NE(c.problem.find("malformed"), std::string::npos) << c.problem;
  }
}

TEST_F(Trust, NoVerifyKeysMeansNothingIsTrusted) {
  std::string bytes = manifest().to_json();
  std::string sig = sign_manifest(signer_.key, bytes);
  policy_.keys.clear();
  ManifestCheck c = check(bytes, &sig);
  EXPECT_EQ(c.trust, ramsafe::Trust::kUntrusted);
  EXPECT_NE(c.problem.find("trusts no verify key"), std::string::npos) << c.problem;
}

// Attack 3 and the freshness rule: a time in the future (beyond the skew) is not trusted,
// signed or not; a host whose clock lags behind what it has seen uses that as its floor.
TEST_F(Trust, FutureTimesAreUntrusted) {
  std::string in_skew = manifest(2, "2026-11-22T04:04:00.000Z").to_json();
  std::string sig = sign_manifest(signer_.key, in_skew);
  EXPECT_EQ(check(in_skew, &sig).trust, ramsafe::Trust::kTrusted) << "within the 5-minute skew";

  std::string future = manifest(2, "2026-11-22T04:06:00.000Z").to_json();
  sig = sign_manifest(signer_.key, future);
  ManifestCheck c = check(future, &sig);
  EXPECT_EQ(c.trust, ramsafe::Trust::kUntrusted);
  EXPECT_NE(c.problem.find("in the future"), std::string::npos) << c.problem;

  std::string keyless = manifest(1, "2099-01-01T00:00:00.000Z").to_json();
  ManifestCheck k = check(keyless, nullptr);
  EXPECT_EQ(k.trust, ramsafe::Trust::kUntrusted) << "an unsigned set from the future is not "
                                                    "even restorable with --allow-unsigned";
  EXPECT_FALSE(k.manifest);

  policy_.clock_floor_ms = *parse_rfc3339_utc("2026-11-22T05:00:00Z");
  EXPECT_EQ(check(future, &sig).trust, ramsafe::Trust::kTrusted)
      << "this host has seen later times than its clock shows";
}

TEST_F(Trust, AnotherClustersOrAnotherSetsManifestIsUntrusted) {
  Manifest m = manifest();
  m.cluster = "other";
  std::string bytes = m.to_json();
  std::string sig = sign_manifest(signer_.key, bytes);
  ManifestCheck c = check(bytes, &sig);
  EXPECT_EQ(c.trust, ramsafe::Trust::kUntrusted);
  EXPECT_NE(c.problem.find("cluster \"other\""), std::string::npos) << c.problem;

  std::string mine = manifest().to_json();
  sig = sign_manifest(signer_.key, mine);
  ManifestCheck moved = check_manifest("20261122T041500Z", mine, &sig, policy_, "test");
  EXPECT_EQ(moved.trust, ramsafe::Trust::kUntrusted);
  EXPECT_NE(moved.problem.find("is for backup " + std::string(kId)), std::string::npos)
      << moved.problem;
}

TEST_F(Trust, ADamagedUnsignedManifestIsUnusable) {
  ManifestCheck c = check("{not json", nullptr);
  EXPECT_EQ(c.trust, ramsafe::Trust::kUnusable);
  EXPECT_NE(c.problem.find("not valid JSON"), std::string::npos) << c.problem;
}

TEST_F(Trust, WalRecordsAreBoundToTheirCluster) {
  std::string record = std::string(64, 'b') + "  000000010000000000000003\n";
  std::string sig = sign_wal_record(signer_.key, "main", record);
  EXPECT_EQ(check_wal_record(record, &sig, policy_, "wal/x").trust, ramsafe::Trust::kTrusted);
  std::string other = std::string(64, 'c') + "  000000010000000000000003\n";
  EXPECT_EQ(check_wal_record(other, &sig, policy_, "wal/x").trust, ramsafe::Trust::kUntrusted);
  TrustPolicy elsewhere = policy_;
  elsewhere.cluster = "other";
  EXPECT_EQ(check_wal_record(record, &sig, elsewhere, "wal/x").trust, ramsafe::Trust::kUntrusted);
  EXPECT_EQ(check_wal_record(record, nullptr, policy_, "wal/x").trust, ramsafe::Trust::kUnsigned);
  // A manifest signature is no WAL signature (and the other way round): the contexts differ.
  std::string manifest_sig = sign_manifest(signer_.key, record);
  EXPECT_EQ(check_wal_record(record, &manifest_sig, policy_, "wal/x").trust,
            ramsafe::Trust::kUntrusted);
}

}  // namespace
}  // namespace ramsafe
