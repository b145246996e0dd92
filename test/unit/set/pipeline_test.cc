#include "core/set/pipeline.h"

#include <fcntl.h>
#include <sys/resource.h>

#include <gtest/gtest.h>

#include "core/error.h"
#include "test/unit/test_util.h"

namespace ramsafe {
namespace {

using test::bytes;

struct Keys {
  age::X25519Identity identity = age::X25519Identity::generate();
  std::vector<age::Recipient> recipients{identity.recipient()};
  std::vector<age::Identity> identities{identity};
};

ManifestFile encrypt_to_file(const std::string& path, const std::string& plaintext,
                             const Keys& keys, int workers = 0) {
  UniqueFd fd = open_or_throw(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  EncryptChain chain(fd.get(), path, 3, keys.recipients, workers);
  for (size_t pos = 0; pos < plaintext.size(); pos += 100000)
    chain.write(bytes(plaintext) + pos, std::min<size_t>(100000, plaintext.size() - pos));
  chain.finish();
  ManifestFile f;
  f.path = path;
  f.plaintext_bytes = chain.plaintext_bytes();
  f.stored_bytes = chain.stored_bytes();
  f.sha256 = chain.sha256();
  return f;
}

std::string decrypt_file(const std::string& path, const ManifestFile& expected, const Keys& keys) {
  StringSink out;
  DecryptChain chain(expected, path, keys.identities, out);
  std::string stored = read_file(path, 1u << 30);
  chain.write(bytes(stored), stored.size());
  chain.finish();
  return out.data();
}

TEST(Pipeline, EncryptChainRoundTripsAndAccountsBytes) {
  test::ScratchDir dir;
  Keys keys;
  for (int workers : {0, 1}) {
    std::string text = test::compressible_text(3000000);
    ManifestFile f = encrypt_to_file(dir.file("f"), text, keys, workers);
    EXPECT_EQ(f.plaintext_bytes, text.size());
    std::string stored = read_file(dir.file("f"), 1u << 30);
    EXPECT_EQ(f.stored_bytes, stored.size());
    EXPECT_EQ(f.sha256, sha256_hex(stored));
    EXPECT_LT(f.stored_bytes, text.size() / 2) << "compressed before encryption";
    EXPECT_EQ(stored.compare(0, 21, "age-encryption.org/v1"), 0) << "an age file";
    EXPECT_EQ(stored.find("discussion"), std::string::npos) << "no plaintext in the stored bytes";
    EXPECT_EQ(decrypt_file(dir.file("f"), f, keys), text);
  }
}

TEST(Pipeline, DecryptChainRejectsEveryKindOfDamage) {
  test::ScratchDir dir;
  Keys keys;
  std::string text = test::compressible_text(500000);
  ManifestFile f = encrypt_to_file(dir.file("f"), text, keys);
  std::string stored = read_file(dir.file("f"));

  auto expect_corrupt = [&](const std::string& damaged, const ManifestFile& expected,
                            const char* what) {
    write_file_atomic(dir.file("g"), damaged);
    try {
      decrypt_file(dir.file("g"), expected, keys);
      ADD_FAILURE() << what << " not detected";
    } catch (const Error& e) {
      EXPECT_TRUE(e.code() == Errc::kCorrupt || e.code() == Errc::kCrypto)
          << what << ": " << e.what();
    }
  };
  for (size_t pos : {size_t{3}, size_t{100}, stored.size() / 2, stored.size() - 1}) {
    std::string bad = stored;
    bad[pos] ^= 0x01;
    expect_corrupt(bad, f, "bit flip");
  }
  expect_corrupt(stored.substr(0, stored.size() - 100), f, "truncation");
  expect_corrupt(stored + "x", f, "appended byte");
  ManifestFile wrong_sha = f;
  wrong_sha.sha256[0] = wrong_sha.sha256[0] == '0' ? '1' : '0';
  expect_corrupt(stored, wrong_sha, "manifest checksum mismatch");
}

TEST(Pipeline, WrongIdentityIsACryptoError) {
  test::ScratchDir dir;
  Keys keys, other;
  ManifestFile f = encrypt_to_file(dir.file("f"), "secret rows", keys);
  try {
    decrypt_file(dir.file("f"), f, other);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kCrypto) << e.what();
  }
}

TEST(Pipeline, ChecksumVerifierNeedsNoKey) {
  test::ScratchDir dir;
  Keys keys;
  ManifestFile f = encrypt_to_file(dir.file("f"), test::compressible_text(100000), keys);
  std::string stored = read_file(dir.file("f"));
  ChecksumVerifier ok(f, "f");
  ok.write(bytes(stored), stored.size());
  EXPECT_NO_THROW(ok.finish());
  ChecksumVerifier bad(f, "f");
  bad.write(bytes(stored), stored.size() - 1);
  EXPECT_THROW(bad.finish(), Error);
}

TEST(Pipeline, DiskFullSurfacesAsNoSpace) {
  Keys keys;
  UniqueFd full = open_or_throw("/dev/full", O_WRONLY);
  EncryptChain chain(full.get(), "/dev/full", 3, keys.recipients, 0);
  std::string text = test::random_bytes(1 << 20);
  try {
    chain.write(bytes(text), text.size());
    chain.finish();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kNoSpace) << e.what();
  }
}

TEST(Pipeline, MemoryStaysFlatWhateverTheStreamLength) {
  test::ScratchDir dir;
  Keys keys;
  ProcessOptions o;
  // 512 MiB of incompressible-ish data from a child, through the whole chain.
  o.argv = {"sh", "-c", "head -c 536870912 /dev/urandom"};
  o.pipe_stdout = true;
  struct rusage before, after;
  getrusage(RUSAGE_SELF, &before);
  UniqueFd fd = open_or_throw(dir.file("big"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  EncryptChain chain(fd.get(), "big", 1, keys.recipients, 1);
  ChildProcess child(o);
  pump_child(child, chain, nullptr, nullptr);
  getrusage(RUSAGE_SELF, &after);
  EXPECT_EQ(chain.plaintext_bytes(), 536870912u);
  long grown_kib = after.ru_maxrss - before.ru_maxrss;
  EXPECT_LT(grown_kib, 64 * 1024) << "peak RSS grew by " << grown_kib
                                  << " KiB for a 512 MiB stream";
}

// Issue 14, attack 7: a zstd bomb as globals or config. The manifest of a forged (or
// damaged) set claims a small plaintext; the stored file decompresses to 64 MiB of zeros.
// Nothing past the recorded size may reach the sink, which for globals and config is
// memory.
TEST(Pipeline, DecryptChainStopsAtTheRecordedPlaintextSize) {
  test::ScratchDir dir;
  Keys keys;
  ManifestFile f = encrypt_to_file(dir.file("bomb"), std::string(64u << 20, '\0'), keys);
  EXPECT_LT(f.stored_bytes, 64u << 10) << "a bomb: small stored, large plaintext";
  f.plaintext_bytes = 1000;  // what the forged manifest claims
  StringSink out;
  DecryptChain chain(f, "set/globals.sql.zst.age", keys.identities, out);
  std::string stored = read_file(dir.file("bomb"), 1u << 30);
  try {
    for (size_t pos = 0; pos < stored.size(); pos += 4096)
      chain.write(bytes(stored) + pos, std::min<size_t>(4096, stored.size() - pos));
    chain.finish();
    FAIL() << "the bomb was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kCorrupt);
    EXPECT_EQ(std::string(e.what()),
              "set/globals.sql.zst.age: decompresses to more than the 1000 bytes its manifest "
              "records");
  }
  EXPECT_LE(out.data().size(), 1000u) << "never more than the recorded size in memory";
}

}  // namespace
}  // namespace ramsafe
