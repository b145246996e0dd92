#include "core/wal/wal_archive.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/crypto/age.h"
#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/process.h"
#include "core/io/stages.h"
#include "core/io/unique_fd.h"
#include "test/unit/signing_util.h"
#include "test/unit/test_util.h"

namespace ramsafe {
namespace {

constexpr size_t kSegmentSize = size_t{16} << 20;
constexpr const char* kSegment = "000000010000000000000003";

class WalArchive : public ::testing::Test {
 protected:
  WalArchive()
      : identity_(age::X25519Identity::generate()),
        recipients_{identity_.recipient()},
        identities_{identity_},
        root_(dir_.file("store/main")) {}

  WalArchiveResult archive(const std::string& name, const std::string& content) {
    std::string source = dir_.write("pg_wal/" + name, content);
    return archive_wal_file(root_, recipients_, 3, name, source, signer_);
  }

  std::string fetch(const std::string& name, bool allow_unsigned = false) {
    return fetch_with(signer_.trust, name, allow_unsigned);
  }

  std::string fetch_with(const TrustPolicy& trust, const std::string& name,
                         bool allow_unsigned = false) {
    std::string dest = dir_.file("restored/RECOVERYXLOG");
    make_dirs(parent_dir(dest));
    fetch_wal_file(root_, identities_, name, dest, trust, allow_unsigned);
    return read_file(dest, 1u << 30);
  }

  std::string wal_file(const std::string& name, const std::string& suffix) const {
    return root_ + "/wal/00000001/" + name + suffix;
  }

  static Errc code_of(const std::function<void()>& fn, std::string* message = nullptr) {
    try {
      fn();
    } catch (const Error& e) {
      if (message != nullptr) *message = e.what();
      return e.code();
    }
    ADD_FAILURE() << "no error thrown";
    return Errc::kInternal;
  }

  test::ScratchDir dir_;
  age::X25519Identity identity_;
  std::vector<age::Recipient> recipients_;
  std::vector<age::Identity> identities_;
  std::string root_;
  SetSigner signer_ = test::make_signer();
};

TEST(WalFileNames, AcceptsWhatTheArchiverHandsOver) {
  WalFileName seg = parse_wal_file_name("000000010000000A000000FF");
  EXPECT_EQ(seg.kind, WalFileKind::kSegment);
  EXPECT_EQ(seg.timeline, "00000001");
  EXPECT_EQ(parse_wal_file_name("00000002.history").kind, WalFileKind::kHistory);
  EXPECT_EQ(parse_wal_file_name("00000002.history").timeline, "00000002");
  EXPECT_EQ(parse_wal_file_name("000000010000000000000003.00000028.backup").kind,
            WalFileKind::kBackup);
  EXPECT_EQ(parse_wal_file_name("000000020000000000000003.partial").kind, WalFileKind::kPartial);
  EXPECT_EQ(parse_wal_file_name("000000020000000000000003.partial").timeline, "00000002");
}

TEST(WalFileNames, RejectsAnythingElseNamingIt) {
  for (const std::string bad :
       {"", "00000001000000000000000", "0000000100000000000000030", "000000010000000000000003.zst",
        "000000010000000000000003.partial.x", "00000001000000000000000g",
        "000000010000000a00000003", "00000002.History", "0000002.history", "../../etc/passwd",
        "000000010000000000000003.0000028.backup", "000000010000000000000003/00000028.backup",
        "000000000000000000000003", "00000000.history", "RECOVERYXLOG"}) {
    EXPECT_FALSE(is_wal_file_name(bad)) << bad;
    try {
      parse_wal_file_name(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("\"" + bad.substr(0, 80) + "\""), std::string::npos)
          << e.what();
    }
  }
}

TEST_F(WalArchive, SegmentRoundTrip) {
  std::string segment = test::random_bytes(kSegmentSize, 7);
  WalArchiveResult r = archive(kSegment, segment);
  EXPECT_FALSE(r.already_stored);
  EXPECT_EQ(r.plaintext_bytes, kSegmentSize);
  EXPECT_EQ(r.sha256, sha256_hex(segment));
  EXPECT_EQ(r.path, root_ + "/wal/00000001/" + kSegment + ".zst.age");
  EXPECT_EQ(r.stored_bytes, read_file(r.path, 1u << 30).size());
  EXPECT_EQ(read_file(root_ + "/wal/00000001/" + kSegment + ".sha256"),
            sha256_hex(segment) + "  " + kSegment + "\n");
  // Only the three published files; no temporary file is left.
  EXPECT_EQ(
      list_dir(root_ + "/wal/00000001"),
      (std::vector<std::string>{std::string(kSegment) + ".sha256", std::string(kSegment) + ".sig",
                                std::string(kSegment) + ".zst.age"}));
  struct stat st;
  ASSERT_EQ(::stat(r.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(fetch(kSegment), segment);
  EXPECT_FALSE(path_exists(dir_.file("restored/.RECOVERYXLOG.ramsafe.tmp")));
}

TEST_F(WalArchive, HistoryAndBackupFilesRoundTrip) {
  std::string history = "1\t0/3000060\tno recovery target specified\n";
  archive("00000002.history", history);
  EXPECT_TRUE(path_exists(root_ + "/wal/00000002/00000002.history.zst.age"));
  EXPECT_EQ(fetch("00000002.history"), history);
  std::string label = "START WAL LOCATION: 0/3000028 (file 000000010000000000000003)\n";
  archive("000000010000000000000003.00000028.backup", label);
  EXPECT_EQ(fetch("000000010000000000000003.00000028.backup"), label);
  archive("00000001000000000000000A.partial", test::compressible_text(kSegmentSize / 4));
  std::vector<std::string> names;
  for (const auto& f : list_wal_files(root_)) names.push_back(f.file.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"000000010000000000000003.00000028.backup",
                                      "00000001000000000000000A.partial", "00000002.history"}));
}

TEST_F(WalArchive, CompressesTypicalWal) {
  // Mostly-empty pages compress well; the stored file is much smaller than 16 MiB.
  std::string segment = test::compressible_text(kSegmentSize / 8);
  segment.resize(kSegmentSize, '\0');
  WalArchiveResult r = archive(kSegment, segment);
  EXPECT_LT(r.stored_bytes, kSegmentSize / 16);
  EXPECT_EQ(fetch(kSegment), segment);
}

TEST_F(WalArchive, IdenticalReArchiveIsSuccessWithoutRewriting) {
  std::string segment = test::random_bytes(1 << 20, 3);
  WalArchiveResult first = archive(kSegment, segment);
  std::string stored = read_file(first.path, 1u << 30);
  struct stat before;
  ASSERT_EQ(::stat(first.path.c_str(), &before), 0);
  WalArchiveResult again = archive(kSegment, segment);
  EXPECT_TRUE(again.already_stored);
  EXPECT_EQ(again.sha256, first.sha256);
  EXPECT_EQ(again.stored_bytes, first.stored_bytes);
  struct stat after;
  ASSERT_EQ(::stat(first.path.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(read_file(first.path, 1u << 30), stored);  // age output is random: not rewritten
}

TEST_F(WalArchive, ConflictingContentIsRefusedAndStoredFileUntouched) {
  std::string segment = test::random_bytes(1 << 20, 4);
  WalArchiveResult first = archive(kSegment, segment);
  std::string stored = read_file(first.path, 1u << 30);
  std::string sum = read_file(root_ + "/wal/00000001/" + kSegment + ".sha256");
  std::string message;
  EXPECT_EQ(code_of([&] { archive(kSegment, test::random_bytes(1 << 20, 5)); }, &message),
            Errc::kCorrupt);
  EXPECT_NE(message.find(kSegment), std::string::npos) << message;
  EXPECT_NE(message.find("different content"), std::string::npos) << message;
  EXPECT_EQ(read_file(first.path, 1u << 30), stored);
  EXPECT_EQ(read_file(root_ + "/wal/00000001/" + kSegment + ".sha256"), sum);
  EXPECT_EQ(fetch(kSegment), segment);
}

TEST_F(WalArchive, LoneChecksumFileFromACrashIsRewritten) {
  // A crash between the two renames leaves a .sha256 without data: not archived.
  dir_.write("store/main/wal/00000001/" + std::string(kSegment) + ".sha256",
             std::string(64, '0') + "  " + kSegment + "\n");
  std::string segment = test::random_bytes(4096, 6);
  EXPECT_EQ(code_of([&] { fetch(kSegment); }), Errc::kNotFound);
  EXPECT_FALSE(archive(kSegment, segment).already_stored);
  EXPECT_EQ(fetch(kSegment), segment);
}

TEST_F(WalArchive, BadNamesAndMissingSourceAreRefused) {
  std::string source = dir_.write("x", "data");
  EXPECT_EQ(code_of([&] { archive_wal_file(root_, recipients_, 3, "../x", source, signer_); }),
            Errc::kInvalidArgument);
  EXPECT_EQ(code_of([&] {
              fetch_wal_file(root_, identities_, "x", dir_.file("out"), signer_.trust, false);
            }),
            Errc::kInvalidArgument);
  EXPECT_EQ(code_of([&] {
              archive_wal_file(root_, recipients_, 3, kSegment, dir_.file("pg_wal/missing"),
                               signer_);
            }),
            Errc::kNotFound);
  EXPECT_FALSE(path_exists(root_ + "/wal/00000001/" + kSegment + ".zst.age"));
}

TEST_F(WalArchive, MissingFileIsNotFound) {
  std::string message;
  EXPECT_EQ(code_of([&] { fetch(kSegment); }, &message), Errc::kNotFound);
  EXPECT_NE(message.find(kSegment), std::string::npos) << message;
  archive("000000010000000000000004", "x");
  EXPECT_EQ(code_of([&] { fetch(kSegment); }), Errc::kNotFound);
  EXPECT_FALSE(path_exists(dir_.file("restored/RECOVERYXLOG")));
}

TEST_F(WalArchive, DamagedStoredFileIsCorruptNotNotFound) {
  std::string segment = test::random_bytes(1 << 20, 8);
  std::string path = archive(kSegment, segment).path;
  std::string good = read_file(path, 1u << 30);
  std::string dest = dir_.file("restored/RECOVERYXLOG");

  // Truncated.
  write_file_atomic(path, good.substr(0, good.size() - 100));
  EXPECT_EQ(code_of([&] { fetch(kSegment); }), Errc::kCorrupt);
  EXPECT_FALSE(path_exists(dest));
  EXPECT_FALSE(path_exists(dir_.file("restored/.RECOVERYXLOG.ramsafe.tmp")));
  // One bit flipped in the payload.
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x10;
  write_file_atomic(path, flipped);
  EXPECT_EQ(code_of([&] { fetch(kSegment); }), Errc::kCorrupt);
  // Intact data, damaged or missing checksum file.
  write_file_atomic(path, good);
  std::string sum_path = root_ + "/wal/00000001/" + kSegment + ".sha256";
  std::string sum = read_file(sum_path);
  // (a well-formed record that is not the signed one: untrusted)
  write_file_atomic(sum_path, std::string(64, 'a') + "  " + kSegment + "\n");
  EXPECT_EQ(code_of([&] { fetch(kSegment); }), Errc::kUntrusted);
  write_file_atomic(sum_path, "garbage\n");
  EXPECT_EQ(code_of([&] { fetch(kSegment); }), Errc::kCorrupt);
  ::unlink(sum_path.c_str());
  EXPECT_EQ(code_of([&] { fetch(kSegment); }), Errc::kCorrupt);
  write_file_atomic(sum_path, sum);
  EXPECT_EQ(fetch(kSegment), segment);
}

TEST_F(WalArchive, WrongKeyIsCryptoError) {
  archive(kSegment, "segment");
  std::vector<age::Identity> other{age::X25519Identity::generate()};
  EXPECT_EQ(code_of([&] {
              fetch_wal_file(root_, other, kSegment, dir_.file("out"), signer_.trust, false);
            }),
            Errc::kCrypto);
  EXPECT_FALSE(path_exists(dir_.file("out")));
}

TEST_F(WalArchive, UnwritableStoreFailsWithoutPublishing) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  archive("000000010000000000000002", "earlier");
  std::string dir = root_ + "/wal/00000001";
  ASSERT_EQ(::chmod(dir.c_str(), 0500), 0);
  EXPECT_EQ(code_of([&] { archive(kSegment, "x"); }), Errc::kPermission);
  ASSERT_EQ(::chmod(dir.c_str(), 0700), 0);
  EXPECT_FALSE(path_exists(dir + "/" + kSegment + ".zst.age"));
  EXPECT_EQ(archive(kSegment, "x").plaintext_bytes, 1u);
}

TEST_F(WalArchive, StoredFileIsPlainAgeAndZstd) {
  if (find_program("age").empty() || find_program("zstd").empty())
    GTEST_SKIP() << "age or zstd is not installed";
  std::string segment = test::random_bytes(kSegmentSize, 9);
  segment.replace(0, 4 << 20, test::compressible_text(4 << 20));
  std::string path = archive(kSegment, segment).path;
  SecureString key = age::keygen_file(identity_);
  std::string key_path = dir_.write("key.txt", std::string(key.data(), key.size()));
  std::string out = dir_.file("decrypted");
  ProcessOptions options;
  options.argv = {"sh", "-c", "age -d -i \"$1\" \"$2\" | zstd -d -q -o \"$3\"", "sh", key_path,
                  path, out};
  ChildProcess child(options);
  ExitStatus status = child.wait();
  ASSERT_TRUE(status.success()) << status.describe() << ": " << child.stderr_tail();
  EXPECT_EQ(read_file(out, 1u << 30), segment);
}

// Signed WAL (issue 14): the record's signature is what a reader trusts.
TEST_F(WalArchive, TheChecksumRecordIsSignedAndCheckedOnFetch) {
  std::string segment = test::random_bytes(4096, 11);
  archive(kSegment, segment);
  std::string sig = read_file(wal_file(kSegment, ".sig"));
  EXPECT_EQ(sig.compare(0, 21, "ramsafe-signature-v1 "), 0) << sig;
  EXPECT_NE(sig.find(signer_.key.verify_key().id()), std::string::npos) << sig;

  // Another reader's verify keys: the same bytes are untrusted there.
  test::ScratchDir other_dir;
  SetSigner other = test::make_signer();
  std::string message;
  EXPECT_EQ(code_of([&] { fetch_with(other.trust, kSegment); }, &message), Errc::kUntrusted);
  EXPECT_NE(message.find("not in ramsafe.verify_keys_file"), std::string::npos) << message;
  // No verify keys at all.
  EXPECT_EQ(code_of([&] { fetch_with(TrustPolicy{}, kSegment); }, &message), Errc::kUntrusted);
  EXPECT_NE(message.find("trusts no verify key"), std::string::npos) << message;
  // The record is bound to its cluster: another cluster's reader does not take it.
  TrustPolicy elsewhere = signer_.trust;
  elsewhere.cluster = "other";
  EXPECT_EQ(code_of([&] { fetch_with(elsewhere, kSegment); }, &message), Errc::kUntrusted);
  EXPECT_NE(message.find("BAD SIGNATURE"), std::string::npos) << message;
  // A flipped bit in the signature.
  std::string bad = sig;
  bad[bad.size() - 10] = bad[bad.size() - 10] == 'A' ? 'B' : 'A';
  write_file_atomic(wal_file(kSegment, ".sig"), bad);
  EXPECT_EQ(code_of([&] { fetch(kSegment); }), Errc::kUntrusted);
  // Missing: unsigned, taken only when unsigned files are allowed.
  ::unlink(wal_file(kSegment, ".sig").c_str());
  EXPECT_EQ(code_of([&] { fetch(kSegment); }, &message), Errc::kUntrusted);
  EXPECT_NE(message.find("--allow-unsigned"), std::string::npos) << message;
  EXPECT_EQ(fetch(kSegment, true), segment);
  write_file_atomic(wal_file(kSegment, ".sig"), sig);
  EXPECT_EQ(fetch(kSegment), segment);
}

TEST_F(WalArchive, AForgedFileUnderAnArchivedNameIsUntrusted) {
  // Someone with the public recipient only replaces a stored file with one of their own
  // and writes its checksum: the record is not the signed one.
  std::string segment = test::random_bytes(4096, 12);
  archive(kSegment, segment);
  std::string forged = test::random_bytes(4096, 13);
  SetSigner attacker = test::make_signer();  // a key this host does not trust
  std::string source = dir_.write("attacker/" + std::string(kSegment), forged);
  std::string attacker_root = dir_.file("attacker-store/main");
  archive_wal_file(attacker_root, recipients_, 3, kSegment, source, attacker);
  for (const char* suffix : {".zst.age", ".sha256"})
    write_file_atomic(wal_file(kSegment, suffix),
                      read_file(attacker_root + "/wal/00000001/" + kSegment + suffix, 1u << 30));
  EXPECT_EQ(code_of([&] { fetch(kSegment); }), Errc::kUntrusted);
  // With the attacker's own signature too: signed by a key this host does not trust.
  write_file_atomic(wal_file(kSegment, ".sig"),
                    read_file(attacker_root + "/wal/00000001/" + kSegment + ".sig"));
  EXPECT_EQ(code_of([&] { fetch(kSegment); }), Errc::kUntrusted);
  EXPECT_FALSE(path_exists(dir_.file("restored/RECOVERYXLOG")));
}

TEST_F(WalArchive, AnUntrustedStoredFileIsArchivedAnewOverIt) {
  // A planted (or pre-signing) file under the name PostgreSQL hands over next: the archiver
  // does not take it for an identical copy, nor refuse forever; it stores its own.
  std::string segment = test::random_bytes(4096, 14);
  dir_.write("store/main/wal/00000001/" + std::string(kSegment) + ".zst.age", "planted");
  dir_.write("store/main/wal/00000001/" + std::string(kSegment) + ".sha256",
             sha256_hex(segment) + "  " + kSegment + "\n");
  WalArchiveResult r = archive(kSegment, segment);
  EXPECT_FALSE(r.already_stored);
  EXPECT_EQ(fetch(kSegment), segment);
  EXPECT_TRUE(archive(kSegment, segment).already_stored);
}

// ---- a hostile store (issue 14, attack 5) ----

// The archive module overwrote the target of a link planted at its temporary file's name
// with ciphertext (any file postgres can write, pg_control included).
TEST_F(WalArchive, PlantedTemporaryLinksAreNeverWrittenThrough) {
  archive("000000010000000000000002", "earlier");  // the directories exist
  std::string tl = root_ + "/wal/00000001/";
  std::string victim = dir_.write("data/global/pg_control", "precious");
  for (const char* planted :
       {".000000010000000000000003.zst.age.tmp", ".000000010000000000000003.sha256.tmp"})
    ASSERT_EQ(::symlink(victim.c_str(), (tl + planted).c_str()), 0);
  archive(kSegment, "segment");
  EXPECT_EQ(read_file(victim), "precious");
  struct stat st {};
  ASSERT_EQ(::lstat((tl + kSegment + ".zst.age").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode)) << "the stored file is a file, not the planted link";
  EXPECT_EQ(fetch(kSegment), "segment");

  // wal-fetch's temporary file beside PostgreSQL's destination, likewise.
  std::string dest = dir_.file("restored/RECOVERYXLOG");
  make_dirs(parent_dir(dest));
  ASSERT_EQ(::symlink(victim.c_str(), dir_.file("restored/.RECOVERYXLOG.ramsafe.tmp").c_str()), 0);
  fetch_wal_file(root_, identities_, kSegment, dest, signer_.trust, false);
  EXPECT_EQ(read_file(victim), "precious");
  EXPECT_EQ(read_file(dest), "segment");
}

// Temporary names are random now, so a killed archiver's leftovers are not rewritten by
// the next attempt: the first archive into a directory removes them.
TEST_F(WalArchive, LeftoverTemporaryFilesAreRemoved) {
  make_dirs(root_ + "/wal/00000001", 0700);
  std::string stale = dir_.write(
      "store/main/wal/00000001/.000000010000000000000002.zst.age.0123456789ab.tmp", "half");
  archive(kSegment, "segment");
  EXPECT_FALSE(path_exists(stale));
  EXPECT_EQ(
      list_dir(root_ + "/wal/00000001"),
      (std::vector<std::string>{std::string(kSegment) + ".sha256", std::string(kSegment) + ".sig",
                                std::string(kSegment) + ".zst.age"}));
}

TEST_F(WalArchive, ArchiveDirectoriesAreNeverLinksAndNeverShared) {
  archive("000000010000000000000002", "earlier");
  std::string tl = root_ + "/wal/00000001";
  ASSERT_EQ(::rename(tl.c_str(), dir_.file("outside").c_str()), 0);
  ASSERT_EQ(::symlink(dir_.file("outside").c_str(), tl.c_str()), 0);
  std::string message;
  EXPECT_EQ(code_of([&] { archive(kSegment, "x"); }, &message), Errc::kCorrupt);
  EXPECT_NE(message.find("is a symbolic link"), std::string::npos) << message;
  EXPECT_FALSE(path_exists(dir_.file("outside/") + kSegment + ".zst.age"));
  EXPECT_TRUE(list_wal_files(root_).empty()) << "a linked timeline is not listed";

  ASSERT_EQ(::unlink(tl.c_str()), 0);
  ASSERT_EQ(::chmod((root_ + "/wal").c_str(), 0777), 0);
  EXPECT_EQ(code_of([&] { archive(kSegment, "x"); }, &message), Errc::kPermission);
  EXPECT_NE(message.find("the WAL archive directory " + root_ + "/wal has mode 0777"),
            std::string::npos)
      << message;
  EXPECT_EQ(code_of([&] { list_wal_files(root_); }), Errc::kPermission);
}

}  // namespace
}  // namespace ramsafe
