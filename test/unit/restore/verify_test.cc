// Unit tests for verifying the WAL archive (core/restore/verify.h): damaged files found and named,
// missing checksum files, gaps in the segment sequence after a physical base, timeline
// switches not taken for gaps.
#include "core/restore/verify.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/crypto/age.h"
#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/unique_fd.h"
#include "core/wal/wal_archive.h"
#include "core/wal/wal_window.h"
#include "test/unit/signing_util.h"
#include "test/unit/test_util.h"

namespace ramsafe {
namespace {

constexpr uint64_t kSeg = uint64_t{16} << 20;

class WalVerify : public ::testing::Test {
 protected:
  WalVerify()
      : identity_(age::X25519Identity::generate()),
        recipients_{identity_.recipient()},
        identities_{identity_},
        root_(dir_.file("store/main")) {}

  void archive(const std::string& name) {
    std::string content;
    for (int i = 0; i < 2000; ++i) content += name + ":" + std::to_string(i) + "\n";
    std::string source = dir_.write("pg_wal/" + name, content);
    archive_wal_file(root_, recipients_, 3, name, source, signer_);
  }

  // Flips one byte in the middle of the stored file.
  void damage(const std::string& name) {
    std::string path = wal_stored_path(root_, name);
    std::string bytes = read_file(path);
    bytes[bytes.size() / 2] ^= 0x20;
    UniqueFd fd = open_or_throw(path, O_WRONLY | O_TRUNC);
    write_all(fd.get(), bytes.data(), bytes.size(), path);
  }

  static SetEntry base(const std::string& id, uint32_t timeline, const std::string& start) {
    Manifest m;
    m.backup_id = id;
    m.kind = "physical";
    PhysicalInfo p;
    p.timeline = timeline;
    p.start_wal_file = start;
    p.stop_wal_file = start;
    p.wal_segment_size = kSeg;
    m.physical = p;
    SetEntry e;
    e.id = id;
    e.store = "local test";
    e.manifest = m;
    return e;
  }

  WalVerification check(const std::vector<SetEntry>& sets, bool deep = true) {
    return verify_wal_archive(root_, sets, deep, identities_, signer_.trust, nullptr);
  }

  test::ScratchDir dir_;
  age::X25519Identity identity_;
  std::vector<age::Recipient> recipients_;
  std::vector<age::Identity> identities_;
  std::string root_;
  SetSigner signer_ = test::make_signer();
};

TEST_F(WalVerify, NoArchiveIsNotDamage) {
  WalVerification v = check({});
  EXPECT_FALSE(v.present);
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.files, 0u);
}

TEST_F(WalVerify, AnIntactArchivePasses) {
  for (const char* n : {"000000010000000000000001", "000000010000000000000002",
                        "000000010000000000000003", "00000002.history"})
    archive(n);
  WalVerification v = check({base("20261126T100000Z", 1, "000000010000000000000001")});
  EXPECT_TRUE(v.present);
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.files, 4u);
  EXPECT_GT(v.stored_bytes, 0u);
  EXPECT_EQ(v.first_segment, "000000010000000000000001");
  EXPECT_EQ(v.last_segment, "000000010000000000000003");
  EXPECT_TRUE(v.damaged.empty());
  EXPECT_TRUE(v.gaps.empty());
}

TEST_F(WalVerify, DeepNamesExactlyTheDamagedFile) {
  for (const char* n :
       {"000000010000000000000001", "000000010000000000000002", "000000010000000000000003"})
    archive(n);
  damage("000000010000000000000002");
  WalVerification v = check({});
  EXPECT_FALSE(v.ok);
  ASSERT_EQ(v.damaged.size(), 1u);
  EXPECT_EQ(v.damaged[0].name, "000000010000000000000002");
  EXPECT_NE(v.damaged[0].problem.find(wal_stored_path(root_, "000000010000000000000002")),
            std::string::npos)
      << v.damaged[0].problem;
  // Without a key only the checksum files are looked at: the flip is not visible.
  EXPECT_TRUE(check({}, false).ok);
}

TEST_F(WalVerify, AMissingChecksumFileIsDamageEvenWithoutAKey) {
  archive("000000010000000000000001");
  archive("000000010000000000000002");
  std::string data = wal_stored_path(root_, "000000010000000000000002");
  std::string sum = data.substr(0, data.size() - std::string(".zst.age").size()) + ".sha256";
  ASSERT_EQ(::unlink(sum.c_str()), 0);
  for (bool deep : {false, true}) {
    WalVerification v = check({}, deep);
    EXPECT_FALSE(v.ok);
    ASSERT_EQ(v.damaged.size(), 1u);
    EXPECT_EQ(v.damaged[0].name, "000000010000000000000002");
    EXPECT_NE(v.damaged[0].problem.find("is missing"), std::string::npos) << v.damaged[0].problem;
  }
}

TEST_F(WalVerify, AFileForAnotherIdentityIsFlagged) {
  archive("000000010000000000000001");
  std::vector<age::Identity> other{age::X25519Identity::generate()};
  WalVerification v = verify_wal_archive(root_, {}, true, other, signer_.trust, nullptr);
  EXPECT_FALSE(v.ok);
  ASSERT_EQ(v.damaged.size(), 1u);
  EXPECT_EQ(v.damaged[0].name, "000000010000000000000001");
}

TEST_F(WalVerify, AGapAfterABaseIsReportedWithTheBase) {
  for (const char* n :
       {"000000010000000000000001", "000000010000000000000002", "000000010000000000000003",
        "000000010000000000000006", "000000010000000000000007"})
    archive(n);
  WalVerification v = check({base("20261126T100000Z", 1, "000000010000000000000002"),
                             base("20261126T090000Z", 1, "000000010000000000000001")},
                            false);
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(v.damaged.empty());
  ASSERT_EQ(v.gaps.size(), 1u);
  EXPECT_EQ(v.gaps[0].first_missing, "000000010000000000000004");
  EXPECT_EQ(v.gaps[0].last_missing, "000000010000000000000005");
  EXPECT_EQ(v.gaps[0].after_base, "20261126T100000Z");  // the newest base it cuts short
}

TEST_F(WalVerify, WithoutABaseNoGapIsReported) {
  archive("000000010000000000000001");
  archive("000000010000000000000005");
  EXPECT_TRUE(check({}, false).ok);
}

TEST_F(WalVerify, SegmentsBeforeTheOldestBaseAndTimelineSwitchesAreNoGaps) {
  // Old WAL before the base (retention may have removed some), then the base on
  // timeline 1, a promotion to timeline 2 at segment 4 and to 3 at segment 6 (which
  // holds a copy of 5 on the new timeline).
  for (const char* n : {"000000010000000000000001", "000000010000000000000003",
                        "000000010000000000000004", "00000002.history", "000000020000000000000005",
                        "00000003.history", "000000030000000000000005", "000000030000000000000006"})
    archive(n);
  WalVerification v = check({base("20261126T100000Z", 1, "000000010000000000000003")}, false);
  EXPECT_TRUE(v.ok) << (v.gaps.empty() ? "" : v.gaps[0].first_missing);
  EXPECT_EQ(v.last_segment, "000000030000000000000006");
}

TEST_F(WalVerify, ABaseWhoseFirstSegmentIsMissing) {
  archive("000000010000000000000001");
  WalVerification v = check({base("20261126T100000Z", 1, "000000010000000000000004")}, false);
  EXPECT_FALSE(v.ok);
  ASSERT_EQ(v.gaps.size(), 1u);
  EXPECT_EQ(v.gaps[0].first_missing, "000000010000000000000004");
}

TEST_F(WalVerify, AGapADroppedSegmentMarkerExplainsIsReportedButNotDamage) {
  for (const char* n :
       {"000000010000000000000001", "000000010000000000000002", "000000010000000000000004"})
    archive(n);
  record_wal_chain_break(root_, "000000010000000000000003", "dropped by the backlog policy");
  WalVerification v = check({base("20261126T090000Z", 1, "000000010000000000000001")}, false);
  EXPECT_TRUE(v.ok);
  ASSERT_EQ(v.gaps.size(), 1u);
  EXPECT_EQ(v.gaps[0].first_missing, "000000010000000000000003");
  EXPECT_EQ(v.gaps[0].dropped_segment, "000000010000000000000003");
}

}  // namespace
}  // namespace ramsafe
