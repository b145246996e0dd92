#include "core/store/local_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/error.h"
#include "core/io/stages.h"
#include "core/set/freshness.h"
#include "test/unit/signing_util.h"
#include "test/unit/test_util.h"

namespace ramsafe {
namespace {

Manifest manifest_for(const std::string& id, const std::string& finished,
                      const std::string& content) {
  Manifest m;
  m.backup_id = id;
  m.cluster = "main";
  m.started_at = finished;
  m.finished_at = finished;
  m.initdb = {"UTF8", "C", "C", "libc", "", false, "postgres"};
  ManifestFile f;
  f.path = "db/app.dump.zst.age";
  f.role = "database";
  f.database = "app";
  f.stored_bytes = content.size();
  f.sha256 = sha256_hex(content);
  f.compression = "zstd";
  f.encryption = "age-v1";
  m.files.push_back(f);
  return m;
}

// One signing key for the tests below; stores read with its trust.
const SetSigner& signer() {
  static const SetSigner s = test::make_signer();
  return s;
}

// Times in these tests are from 2026: read them as of a later day.
TrustPolicy trust() {
  TrustPolicy t = signer().trust;
  t.now_ms = *parse_rfc3339_utc("2026-12-01T00:00:00Z");
  return t;
}

std::string publish(LocalStore& store, int64_t when, const std::string& finished,
                    const std::string& content, const SetSigner& by = signer()) {
  auto writer = store.begin_set(when, by);
  UniqueFd fd = writer->create_file("db/app.dump.zst.age");
  write_all(fd.get(), content.data(), content.size(), "test");
  writer->close_file(fd, "db/app.dump.zst.age");
  Manifest m = manifest_for(writer->id(), finished, content);
  writer->publish(m);
  return writer->id();
}

TEST(LocalStore, PublishListsAndReads) {
  test::ScratchDir dir;
  LocalStore store(dir.file("main"), trust());
  EXPECT_TRUE(store.list_sets().empty());
  std::string id = publish(store, 1795302300, "2026-11-21T23:05:01.000Z", "payload");
  EXPECT_EQ(id, "20261121T230500Z");
  auto sets = store.list_sets();
  ASSERT_EQ(sets.size(), 1u);
  EXPECT_TRUE(sets[0].usable());
  EXPECT_EQ(sets[0].store, "local " + dir.file("main"));
  StringSink out;
  store.read_file(id, "db/app.dump.zst.age", out, nullptr);
  EXPECT_EQ(out.data(), "payload");
  struct stat st;
  ASSERT_EQ(::stat((dir.file("main/") + id + "/db/app.dump.zst.age").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(dir.file("main").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(LocalStore, SameSecondGetsASuffix) {
  test::ScratchDir dir;
  LocalStore store(dir.file("main"), trust());
  EXPECT_EQ(publish(store, 1795302300, "2026-11-21T23:05:01.000Z", "a"), "20261121T230500Z");
  EXPECT_EQ(publish(store, 1795302300, "2026-11-21T23:05:02.000Z", "b"), "20261121T230500Z-2");
  EXPECT_EQ(publish(store, 1795302300, "2026-11-21T23:05:03.000Z", "c"), "20261121T230500Z-3");
  auto sets = store.list_sets();
  ASSERT_EQ(sets.size(), 3u);
  EXPECT_EQ(sets[0].id, "20261121T230500Z-3");
}

TEST(LocalStore, NewestIsByManifestFinishTimeNotByName) {
  test::ScratchDir dir;
  LocalStore store(dir.file("main"), trust());
  // The clock went backwards between these backups: the later one has the smaller id.
  publish(store, 1795302300, "2026-11-21T23:05:01.000Z", "first");
  publish(store, 1795298700, "2026-11-21T23:30:00.000Z", "second, after a clock step back");
  auto sets = store.list_sets();
  ASSERT_EQ(sets.size(), 2u);
  EXPECT_EQ(sets[0].id, "20261121T220500Z");
}

TEST(LocalStore, PartialSetsAreNeverListedAndAreCleanedUp) {
  test::ScratchDir dir;
  LocalStore store(dir.file("main"), trust());
  publish(store, 1795302300, "2026-11-21T23:05:01.000Z", "good");
  {
    auto writer = store.begin_set(1795305900, signer());
    UniqueFd fd = writer->create_file("globals.sql.zst.age");
    EXPECT_TRUE(path_exists(writer->partial_path()));
    EXPECT_EQ(store.list_sets().size(), 1u);
  }  // destroyed unpublished: removed
  EXPECT_EQ(list_dir(dir.file("main")), (std::vector<std::string>{"20261121T230500Z"}));

  // A crash leaves a .partial behind: simulate one, old enough to clean.
  make_dirs(dir.file("main/20261122T000500Z.partial/db"));
  EXPECT_EQ(store.list_sets().size(), 1u);
  EXPECT_TRUE(store.cleanup_partials(3600).empty())
      << "a fresh .partial may belong to a running backup";
  EXPECT_EQ(store.cleanup_partials(-1), std::vector<std::string>{"20261122T000500Z.partial"});
  EXPECT_FALSE(path_exists(dir.file("main/20261122T000500Z.partial")));
}

TEST(LocalStore, DamagedOrMissingManifestIsListedUnusable) {
  test::ScratchDir dir;
  LocalStore store(dir.file("main"), trust());
  std::string a = publish(store, 1795302300, "2026-11-21T23:05:01.000Z", "a");
  std::string b = publish(store, 1795305900, "2026-11-22T00:05:01.000Z", "b");
  ::unlink(dir.file("main/" + b + "/manifest.json").c_str());
  {
    UniqueFd fd = open_or_throw(dir.file("main/" + a + "/manifest.json"), O_WRONLY);
    ASSERT_EQ(::pwrite(fd.get(), "X", 1, 30), 1);
  }
  auto sets = store.list_sets();
  ASSERT_EQ(sets.size(), 2u);
  for (const auto& s : sets) EXPECT_FALSE(s.usable());
  EXPECT_NE(sets[0].problem.find("no manifest.json"), std::string::npos) << sets[0].problem;
  EXPECT_NE(sets[1].problem.find("manifest"), std::string::npos) << sets[1].problem;
}

TEST(LocalStore, ManifestOfAnotherSetIsRejected) {
  test::ScratchDir dir;
  LocalStore store(dir.file("main"), trust());
  std::string a = publish(store, 1795302300, "2026-11-21T23:05:01.000Z", "a");
  ASSERT_EQ(::rename(dir.file("main/" + a).c_str(), dir.file("main/20200101T000000Z").c_str()), 0);
  auto sets = store.list_sets();
  ASSERT_EQ(sets.size(), 1u);
  EXPECT_FALSE(sets[0].usable());
  EXPECT_NE(sets[0].problem.find("is for backup " + a), std::string::npos) << sets[0].problem;
}

TEST(LocalStore, DeleteRemovesTheSetAtomically) {
  test::ScratchDir dir;
  LocalStore store(dir.file("main"), trust());
  std::string a = publish(store, 1795302300, "2026-11-21T23:05:01.000Z", "a");
  store.delete_set(a);
  EXPECT_TRUE(store.list_sets().empty());
  EXPECT_TRUE(list_dir(dir.file("main")).empty() ||
              list_dir(dir.file("main")) == std::vector<std::string>{".lock"});
  EXPECT_THROW(store.delete_set("../../etc"), Error);
}

TEST(LocalStore, LockIsExclusive) {
  test::ScratchDir dir;
  LocalStore store(dir.file("main"), trust());
  UniqueFd held = store.lock("back up");
  // flock locks belong to the open file description: a second open conflicts even in
  // one process, like a second ramsafe process would.
  try {
    store.lock("prune");
    FAIL() << "second lock succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kBusy);
    EXPECT_NE(std::string(e.what()).find("pid " + std::to_string(::getpid())), std::string::npos)
        << e.what();
  }
  held.reset();
  EXPECT_NO_THROW(store.lock("prune"));
}

TEST(LocalStore, WriteErrorsSurface) {
  test::ScratchDir dir;
  LocalStore store(dir.file("main"), trust());
  auto writer = store.begin_set(1795302300, signer());
  UniqueFd fd = writer->create_file("x");
  EXPECT_THROW(writer->create_file("x"), Error) << "files are created exclusively";
}

// Signed sets (issue 14): publish is where every set is signed and numbered.
TEST(LocalStore, PublishSignsAndNumbersEverySet) {
  test::ScratchDir dir;
  make_dirs(dir.file("keys"));
  SetSigner by = test::make_signer("main", dir.file("keys/ramsafe-state.json"));
  TrustPolicy t = by.trust;
  t.now_ms = *parse_rfc3339_utc("2026-12-01T00:00:00Z");
  LocalStore store(dir.file("main"), t);
  std::string a = publish(store, 1795302300, "2026-11-21T23:05:01.000Z", "a", by);
  std::string b = publish(store, 1795305900, "2026-11-22T00:05:01.000Z", "b", by);
  std::string sig = read_file(dir.file("main/" + a + "/manifest.json.sig"));
  EXPECT_EQ(sig.compare(0, 21, "ramsafe-signature-v1 "), 0) << sig;
  auto sets = store.list_sets();
  ASSERT_EQ(sets.size(), 2u);
  EXPECT_EQ(sets[0].id, b);
  EXPECT_EQ(sets[0].trust, Trust::kTrusted);
  EXPECT_EQ(sets[0].key_id, by.key.verify_key().id());
  EXPECT_EQ(sets[0].manifest->format_version, 2);
  EXPECT_EQ(sets[0].manifest->sequence, 2u);
  EXPECT_EQ(sets[1].manifest->sequence, 1u);

  // The newest set deleted (by retention, or by someone with access to the store): the
  // next one does not reuse its number, this host remembers it.
  store.delete_set(b);
  std::string c = publish(store, 1795309500, "2026-11-22T01:05:01.000Z", "c", by);
  EXPECT_EQ(store.list_sets()[0].manifest->sequence, 3u);
  FreshnessState state(by.state_file);
  state.load();
  EXPECT_EQ(state.seen("main")->sequence, 3u);
  EXPECT_EQ(state.seen("main")->backup_id, c);

  // A host without its state (a new machine restored from the store) goes on from the
  // store's highest number.
  SetSigner fresh{std::move(by.key), "main", "", by.trust};
  publish(store, 1795313100, "2026-11-22T02:05:01.000Z", "d", fresh);
  EXPECT_EQ(store.list_sets()[0].manifest->sequence, 4u);
}

TEST(LocalStore, TamperedUnsignedAndForeignSetsAreListedUntrusted) {
  test::ScratchDir dir;
  LocalStore store(dir.file("main"), trust());
  std::string a = publish(store, 1795302300, "2026-11-21T23:05:01.000Z", "a");
  std::string b = publish(store, 1795305900, "2026-11-22T00:05:01.000Z", "b");
  std::string c = publish(store, 1795309500, "2026-11-22T01:05:01.000Z", "c");
  std::string d = publish(store, 1795313100, "2026-11-22T02:05:01.000Z", "d",
                          test::make_signer());  // a key this store's reader does not trust
  // a: an edit anywhere in the manifest; b: the signature removed; c: a set written before
  // signing (format 1, no signature).
  std::string manifest_a = dir.file("main/" + a + "/manifest.json");
  std::string text = read_file(manifest_a);
  text.replace(text.find("\"app\""), 5, "\"APP\"");
  write_file_atomic(manifest_a, text);
  ::unlink(dir.file("main/" + b + "/manifest.json.sig").c_str());
  ::unlink(dir.file("main/" + c + "/manifest.json.sig").c_str());
  Manifest old = manifest_for(c, "2026-11-22T01:05:01.000Z", "c");
  old.format_version = 1;
  write_file_atomic(dir.file("main/" + c + "/manifest.json"), old.to_json());

  auto sets = store.list_sets();
  ASSERT_EQ(sets.size(), 4u);
  for (const auto& s : sets) {
    EXPECT_FALSE(s.usable()) << s.id;
    EXPECT_TRUE(s.untrusted()) << s.id;
    EXPECT_EQ(s.problem_text().compare(0, 11, "UNTRUSTED: "), 0) << s.problem_text();
  }
  auto find = [&sets](const std::string& id) {
    for (const auto& s : sets)
      if (s.id == id) return s;
    return SetEntry{};
  };
  EXPECT_NE(find(a).problem.find("BAD SIGNATURE"), std::string::npos) << find(a).problem;
  EXPECT_NE(find(b).problem.find("is missing"), std::string::npos) << find(b).problem;
  EXPECT_EQ(find(c).trust, Trust::kUnsigned);
  ASSERT_TRUE(find(c).unsigned_manifest);
  EXPECT_EQ(find(c).unsigned_manifest->finished_at, "2026-11-22T01:05:01.000Z");
  EXPECT_NE(find(d).problem.find("not in ramsafe.verify_keys_file"), std::string::npos);
  EXPECT_FALSE(newest_by_sequence(sets)) << "untrusted sets have no sequence to trust";
}

// ---- a hostile store (issue 14) ----

// Attack 4: one manifest nested 200,000 arrays deep; the good set beside it must still be
// listed (before, every reader of the store died with SIGSEGV).
TEST(LocalStore, DeepManifestIsUnusableAndTheGoodSetStillListed) {
  test::ScratchDir dir;
  LocalStore store(dir.file("main"), trust());
  std::string good = publish(store, 1795302300, "2026-11-21T23:05:01.000Z", "good");
  dir.write("main/20261122T000500Z/manifest.json",
            "{\"format\": \"ramsafe-backup\", \"manifest_sha256\": \"x\", \"x\": " +
                std::string(200000, '[') + std::string(200000, ']') + "}");
  auto sets = store.list_sets();
  ASSERT_EQ(sets.size(), 2u);
  EXPECT_TRUE(sets[0].usable());
  EXPECT_EQ(sets[0].id, good);
  EXPECT_FALSE(sets[1].usable());
  EXPECT_NE(sets[1].problem.find("nested deeper than 64 levels"), std::string::npos)
      << sets[1].problem;
}

// Attack 8: a backup_id with terminal escape sequences in a manifest.
TEST(LocalStore, ProblemsHoldNoControlCharacters) {
  test::ScratchDir dir;
  LocalStore store(dir.file("main"), trust());
  // An unsigned (format 1) manifest: its claims are read, to be reported.
  Manifest old =
      manifest_for("\x1b]0;owned\x07\x1b[2J\r\n20261122T000500Z", "2026-11-22T00:05:01.000Z", "x");
  old.format_version = 1;
  dir.write("main/20261122T000500Z/manifest.json", old.to_json());
  auto sets = store.list_sets();
  ASSERT_EQ(sets.size(), 1u);
  EXPECT_FALSE(sets[0].usable());
  EXPECT_NE(sets[0].problem.find("manifest is for backup \\x1b]0;owned\\x07\\x1b[2J\\x0d\\x0a"),
            std::string::npos)
      << sets[0].problem;
  for (char c : sets[0].problem) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << sets[0].problem;
}

// Attack 5: a set file replaced by a link to a file outside the store (the Drive token):
// nothing reads through it.
TEST(LocalStore, SetFilesAreNeverReadThroughALink) {
  test::ScratchDir dir;
  LocalStore store(dir.file("main"), trust());
  std::string id = publish(store, 1795302300, "2026-11-21T23:05:01.000Z", "payload");
  std::string secret = dir.write("token.json", "secret");
  std::string file = dir.file("main/" + id + "/db/app.dump.zst.age");
  ASSERT_EQ(::unlink(file.c_str()), 0);
  ASSERT_EQ(::symlink(secret.c_str(), file.c_str()), 0);
  StringSink out;
  EXPECT_THROW(store.read_file(id, "db/app.dump.zst.age", out, nullptr), Error);
  EXPECT_EQ(out.data(), "");
  EXPECT_THROW(store.open_set_file(id, "db/app.dump.zst.age"), Error);
  // The same for a directory of the set, and for the set itself.
  std::string db = dir.file("main/" + id + "/db");
  ASSERT_EQ(::unlink(file.c_str()), 0);
  ASSERT_EQ(::rmdir(db.c_str()), 0);
  dir.write("outside/app.dump.zst.age", "payload");
  ASSERT_EQ(::symlink(dir.file("outside").c_str(), db.c_str()), 0);
  EXPECT_THROW(store.read_file(id, "db/app.dump.zst.age", out, nullptr), Error);
  EXPECT_EQ(out.data(), "");
}

// Attack 5: .lock planted as a link to a file the store's user can write; a backup
// truncated it.
TEST(LocalStore, LockFileIsNeverALink) {
  test::ScratchDir dir;
  LocalStore store(dir.file("main"), trust());
  ASSERT_EQ(::mkdir(dir.file("main").c_str(), 0700), 0);
  std::string victim = dir.write("pg_control", "precious");
  ASSERT_EQ(::symlink(victim.c_str(), dir.file("main/.lock").c_str()), 0);
  EXPECT_THROW(store.lock("back up"), Error);
  EXPECT_EQ(read_file(victim), "precious");
}

// Attack 5: a directory of a leftover .partial swapped for a link to a directory outside
// the store while the .partial is removed. The swap runs as fast as it can in another
// thread (renameat2 RENAME_EXCHANGE), for a bounded number of rounds.
TEST(LocalStore, PartialRemovalNeverFollowsASwappedInLink) {
  test::ScratchDir dir;
  LocalStore store(dir.file("main"), trust());
  constexpr int kFiles = 200;
  for (int i = 0; i < kFiles; ++i) dir.write("victim/f" + std::to_string(i), "precious");
  for (int round = 0; round < 20; ++round) {
    std::string partial = dir.file("main/20261122T000500Z.partial");
    make_dirs(partial + "/db");
    for (int i = 0; i < kFiles; ++i)
      dir.write("main/20261122T000500Z.partial/db/f" + std::to_string(i), "");
    std::string link = partial + "/link";
    ASSERT_EQ(::symlink(dir.file("victim").c_str(), link.c_str()), 0);
    std::atomic<bool> stop{false};
    std::thread swapper([&] {
      while (!stop)
        (void)::renameat2(AT_FDCWD, (partial + "/db").c_str(), AT_FDCWD, link.c_str(),
                          RENAME_EXCHANGE);
    });
    try {
      store.cleanup_partials(-1);
    } catch (const Error&) {
      // A failed removal is fine (it is retried by the next backup); following is not.
    }
    stop = true;
    swapper.join();
    for (int i = 0; i < kFiles; ++i)
      ASSERT_TRUE(path_exists(dir.file("victim/f" + std::to_string(i))))
          << "round " << round << ": a file outside the store was deleted";
    remove_tree(partial);
  }
}

// PostgreSQL's rule for its data directory, for the store: owned by the running user,
// not writable by group or others.
TEST(LocalStore, RefusesAStoreOthersCanWrite) {
  test::ScratchDir dir;
  LocalStore store(dir.file("main"), trust());
  publish(store, 1795302300, "2026-11-21T23:05:01.000Z", "good");
  ASSERT_EQ(::chmod(dir.file("main").c_str(), 0770), 0);
  try {
    store.list_sets();
    FAIL() << "listed a group-writable store";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kPermission);
    EXPECT_NE(std::string(e.what()).find("the backup store " + dir.file("main") + " has mode 0770"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(store.begin_set(1795305900, signer()), Error);
  EXPECT_THROW(store.lock("back up"), Error);
  ASSERT_EQ(::chmod(dir.file("main").c_str(), 0700), 0);
  // The store's own directory is never a link either.
  ASSERT_EQ(::rename(dir.file("main").c_str(), dir.file("elsewhere").c_str()), 0);
  ASSERT_EQ(::symlink(dir.file("elsewhere").c_str(), dir.file("main").c_str()), 0);
  EXPECT_THROW(store.list_sets(), Error);
}

}  // namespace
}  // namespace ramsafe
