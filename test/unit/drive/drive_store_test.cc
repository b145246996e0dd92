// The Drive store against the Drive v3 emulator (test/drive_emulator): one folder per
// cluster and per WAL archive whatever answers get lost, readers that see every folder
// and writers that fold them into one, parallel reads (also under ThreadSanitizer:
// test/drills/tsan_drive.sh), listings Drive flags as incomplete, duplicates, and how
// files are removed in a shared drive and in My Drive. Skipped without node.
#include "core/drive/drive_store.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto/age.h"
#include "core/error.h"
#include "core/io/stages.h"
#include "core/wal/wal_archive.h"
#include "test/unit/drive/drive_emulator.h"
#include "test/unit/signing_util.h"
#include "test/unit/test_util.h"

namespace ramsafe {
namespace {

constexpr const char* kAccount = "backup@ramsafe-unit.iam.gserviceaccount.com";
constexpr const char* kSharedDrive = "0AunitSharedDrive";

class DriveStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::DriveEmulator::available()) GTEST_SKIP() << "node or openssl is missing";
    emulator_ = std::make_unique<test::DriveEmulator>();
    credentials_.emplace(emulator_->service_account(kAccount));
    emulator_->admin("POST", "/drives",
                     {{"id", kSharedDrive},
                      {"name", "backups"},
                      {"members", {{kAccount, "fileOrganizer"}}}});  // Content manager
  }

  std::unique_ptr<DriveStore> store() {
    return std::make_unique<DriveStore>(emulator_->options(), *credentials_, kSharedDrive, "main",
                                        signer_.trust);
  }

  // A published local set with these files (path -> content), finished at `finished`.
  SetEntry local_set(LocalStore& local, int64_t when, const std::string& finished,
                     const std::map<std::string, std::string>& files) {
    auto writer = local.begin_set(when, signer_);
    Manifest m;
    m.backup_id = writer->id();
    m.cluster = "main";
    m.started_at = finished;
    m.finished_at = finished;
    m.initdb = {"UTF8", "C", "C", "libc", "", false, "postgres"};
    for (const auto& [path, content] : files) {
      UniqueFd fd = writer->create_file(path);
      write_all(fd.get(), content.data(), content.size(), path);
      writer->close_file(fd, path);
      ManifestFile f;
      f.path = path;
      f.role = "database";
      f.database = path.substr(3, path.find('.') - 3);
      f.stored_bytes = content.size();
      f.plaintext_bytes = content.size();
      f.sha256 = sha256_hex(content);
      f.compression = "zstd";
      f.encryption = "age-v1";
      m.files.push_back(f);
    }
    writer->publish(m);
    for (const auto& s : local.list_sets())
      if (s.id == m.backup_id) return s;
    throw Error(Errc::kInternal, "the set just published is not listed");
  }

  // Live (not trashed) folders tagged with key=main, oldest first.
  std::vector<nlohmann::json> folders(const std::string& key) {
    std::vector<nlohmann::json> out;
    for (const auto& f : emulator_->files())
      if (f["mimeType"] == kDriveFolderMime && !f["trashed"].get<bool>() &&
          f["appProperties"].value(key, "") == "main")
        out.push_back(f);
    std::sort(out.begin(), out.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
      return a["createdTime"].get<std::string>() < b["createdTime"].get<std::string>();
    });
    return out;
  }

  // The parents of every live file tagged with key (a set's or a WAL file's).
  std::set<std::string> parents_of_files(const std::string& key) {
    std::set<std::string> out;
    for (const auto& f : emulator_->files())
      if (!f["trashed"].get<bool>() && f["appProperties"].contains(key))
        out.insert(f["parents"][0].get<std::string>());
    return out;
  }

  // A second folder like `id`, made the oldest: what a lost answer or a race left behind.
  std::string older_twin(const std::string& id) {
    std::string twin = emulator_->admin("POST", "/files/" + id + "/duplicate")["id"];
    emulator_->admin("POST", "/files/" + twin + "/times",
                     {{"createdTime", "2020-01-01T00:00:00Z"}});
    return twin;
  }

  test::ScratchDir dir_;
  std::unique_ptr<test::DriveEmulator> emulator_;
  std::optional<DriveCredentials> credentials_;
  SetSigner signer_ = test::make_signer();
};

TEST_F(DriveStoreTest, LostAnswersToFolderCreationsMakeNoSecondFolder) {
  LocalStore local(dir_.file("store/main"), signer_.trust);
  SetEntry set = local_set(local, 1795302300, "2026-11-21T23:05:01.000Z",
                           {{"db/app.dump.zst.age", test::random_bytes(300000)}});
  age::X25519Identity identity = age::X25519Identity::generate();
  std::string wal = dir_.write("pg_wal/000000010000000000000003", test::random_bytes(1 << 16));
  archive_wal_file(local.root(), {identity.recipient()}, 3, "000000010000000000000003", wal,
                   signer_);
  // The cluster folder's and the WAL folder's creations are carried out, their answers lost.
  emulator_->admin(
      "POST", "/faults",
      {{"rules", {{{"match", {{"kind", "create"}}}, {"action", "loseResponse"}, {"count", 2}}}}});
  auto drive = store();
  drive->upload_set(local, set, nullptr);
  drive->upload_wal_file(local.root(), list_wal_files(local.root()).front(), nullptr, nullptr);
  EXPECT_EQ(emulator_->admin("GET", "/faults")["rules"][0]["fired"], 2);
  EXPECT_EQ(folders("ramsafe_cluster").size(), 1u);
  EXPECT_EQ(folders("ramsafe_wal_folder").size(), 1u);
  auto reader = store();
  ASSERT_EQ(reader->list_sets().size(), 1u);
  EXPECT_EQ(reader->list_wal().size(), 1u);
}

TEST_F(DriveStoreTest, ReadersSeeEveryFolderAndAWriterFoldsThemIntoTheOldest) {
  LocalStore local(dir_.file("store/main"), signer_.trust);
  auto worker = store();  // as the server's worker: one object for many passes
  SetEntry first = local_set(local, 1795302300, "2026-11-21T23:05:01.000Z",
                             {{"db/app.dump.zst.age", test::random_bytes(1000, 1)}});
  worker->upload_set(local, first, nullptr);
  std::string original = folders("ramsafe_cluster").at(0)["id"];
  std::string oldest = older_twin(original);

  // A reader sees the set though the oldest folder, the one a single pick would take, is empty.
  auto reader = store();
  auto sets = reader->list_sets();
  ASSERT_EQ(sets.size(), 1u);
  EXPECT_TRUE(sets[0].usable());

  // The worker looked the folder up before the twin appeared; its next upload goes into
  // the oldest folder all the same, and the other one's files follow it there.
  std::vector<std::string> notes;
  worker->set_log([&](const std::string& text) { notes.push_back(text); });
  SetEntry second = local_set(local, 1795305900, "2026-11-22T00:05:01.000Z",
                              {{"db/app.dump.zst.age", test::random_bytes(1000, 2)}});
  worker->upload_set(local, second, nullptr);
  ASSERT_EQ(folders("ramsafe_cluster").size(), 1u);
  EXPECT_EQ(folders("ramsafe_cluster")[0]["id"], oldest);
  EXPECT_EQ(parents_of_files("ramsafe_set"), std::set<std::string>{oldest});
  EXPECT_TRUE(emulator_->admin("GET", "/files/" + original)["trashed"].get<bool>());
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("found a second Drive folder for cluster main (" + original),
            std::string::npos)
      << notes[0];
  EXPECT_EQ(store()->list_sets().size(), 2u);
}

TEST_F(DriveStoreTest, WalFoldersAreFoldedIntoTheOldest) {
  LocalStore local(dir_.file("store/main"), signer_.trust);
  age::X25519Identity identity = age::X25519Identity::generate();
  auto archive = [&](const std::string& name) {
    std::string wal = dir_.write("pg_wal/" + name, test::random_bytes(1 << 15));
    archive_wal_file(local.root(), {identity.recipient()}, 3, name, wal, signer_);
  };
  archive("000000010000000000000003");
  auto worker = store();
  worker->upload_wal_file(local.root(), list_wal_files(local.root()).at(0), nullptr, nullptr);
  std::string original = folders("ramsafe_wal_folder").at(0)["id"];
  std::string oldest = older_twin(original);
  EXPECT_EQ(store()->list_wal().size(), 1u) << "a reader sees both WAL folders";
  archive("000000010000000000000004");
  // A minute's lookup may be reused: a listing looks again.
  ASSERT_EQ(worker->list_wal().size(), 1u);
  worker->upload_wal_file(local.root(), list_wal_files(local.root()).at(1), nullptr, nullptr);
  ASSERT_EQ(folders("ramsafe_wal_folder").size(), 1u);
  EXPECT_EQ(folders("ramsafe_wal_folder")[0]["id"], oldest);
  EXPECT_EQ(parents_of_files("ramsafe_wal"), std::set<std::string>{oldest});
  EXPECT_EQ(store()->list_wal().size(), 2u);
}

TEST_F(DriveStoreTest, ParallelReadsEachGetTheirOwnConnection) {
  LocalStore local(dir_.file("store/main"), signer_.trust);
  std::map<std::string, std::string> files;
  for (int i = 0; i < 4; ++i)
    files["db/d" + std::to_string(i) + ".dump.zst.age"] =
        test::random_bytes((size_t{1} << 20) + 1000 * i, 10 + i);
  SetEntry set = local_set(local, 1795302300, "2026-11-21T23:05:01.000Z", files);
  store()->upload_set(local, set, nullptr);
  // Downloads cut mid-body: each thread resumes its own with Range; a token expires too.
  emulator_->admin("POST", "/faults",
                   {{"seed", 3},
                    {"rules",
                     {{{"match", {{"kind", "media"}}},
                       {"action", "reset"},
                       {"afterBytes", {{"random", {1000, 600000}}}},
                       {"probability", 0.4},
                       {"count", 8}}}}});
  auto drive = store();
  ASSERT_EQ(drive->list_sets().size(), 1u);
  emulator_->admin("POST", "/expire-tokens");
  std::vector<std::thread> threads;
  std::vector<std::string> got(8);
  std::vector<std::string> errors(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      try {
        StringSink out;
        drive->read_file(set.id, "db/d" + std::to_string(t % 4) + ".dump.zst.age", out, nullptr);
        got[t] = out.data();
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int t = 0; t < 8; ++t) {
    EXPECT_EQ(errors[t], "") << "thread " << t;
    EXPECT_TRUE(got[t] == files["db/d" + std::to_string(t % 4) + ".dump.zst.age"])
        << "thread " << t;
  }
}

TEST_F(DriveStoreTest, AListingDriveSaysMayBeIncompleteIsRefused) {
  LocalStore local(dir_.file("store/main"), signer_.trust);
  SetEntry set = local_set(local, 1795302300, "2026-11-21T23:05:01.000Z",
                           {{"db/app.dump.zst.age", test::random_bytes(1000)}});
  store()->upload_set(local, set, nullptr);
  // Drive leaves shared drives out of searches over every drive: the shared drive is
  // searched alone.
  emulator_->admin("POST", "/settings", {{"incomplete_search", "allDrives"}});
  EXPECT_EQ(store()->list_sets().size(), 1u);
  emulator_->admin("POST", "/settings", {{"incomplete_search", "always"}});
  try {
    store()->list_sets();
    FAIL() << "a listing flagged incompleteSearch was used";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kRemote);
    EXPECT_NE(std::string(e.what()).find("may be incomplete (incompleteSearch)"), std::string::npos)
        << e.what();
  }
}

TEST_F(DriveStoreTest, DuplicatesKeepTheCopyThatChecksOut) {
  LocalStore local(dir_.file("store/main"), signer_.trust);
  std::string content = test::random_bytes(400000);
  SetEntry set =
      local_set(local, 1795302300, "2026-11-21T23:05:01.000Z", {{"db/app.dump.zst.age", content}});
  store()->upload_set(local, set, nullptr);
  std::string original, manifest;
  for (const auto& f : emulator_->files()) {
    if (f["appProperties"].value("ramsafe_path", "") == "db/app.dump.zst.age") original = f["id"];
    if (f["appProperties"].value("ramsafe_path", "") == "manifest.json") manifest = f["id"];
  }
  // The oldest copy damaged at rest, a good one and an identical twin of the manifest.
  std::string good = emulator_->admin("POST", "/files/" + original + "/duplicate")["id"];
  emulator_->admin("POST", "/files/" + original + "/corrupt", {{"offset", 1234}});
  std::string twin = emulator_->admin("POST", "/files/" + manifest + "/duplicate")["id"];

  auto drive = store();
  auto sets = drive->list_sets();
  ASSERT_EQ(sets.size(), 1u);
  ASSERT_TRUE(sets[0].usable()) << sets[0].problem;
  StringSink read;
  drive->read_file(set.id, "db/app.dump.zst.age", read, nullptr);
  EXPECT_TRUE(read.data() == content) << "the reader takes the copy that checks out";
  ASSERT_EQ(drive->duplicates().size(), 2u);

  std::vector<DuplicateFix> fixes = drive->fix_duplicates({}, nullptr);
  ASSERT_EQ(fixes.size(), 2u);
  for (const auto& fix : fixes) {
    ASSERT_EQ(fix.removed.size(), 1u) << fix.path << ": " << fix.problem;
    if (fix.path == "manifest.json") {
      EXPECT_EQ(fix.kept_id, manifest);
      EXPECT_EQ(fix.removed[0], twin + " (identical to the kept copy)");
    } else {
      EXPECT_EQ(fix.kept_id, good);
      EXPECT_EQ(fix.removed[0], original + " (its SHA-256 is not the manifest's)");
    }
  }
  EXPECT_TRUE(emulator_->admin("GET", "/files/" + original)["trashed"].get<bool>());
  auto again = store();
  again->list_sets();
  EXPECT_TRUE(again->duplicates().empty());

  // No copy checks out: nothing goes.
  std::string other = emulator_->admin("POST", "/files/" + good + "/duplicate")["id"];
  emulator_->admin("POST", "/files/" + good + "/corrupt", {{"offset", 1}});
  emulator_->admin("POST", "/files/" + other + "/corrupt", {{"offset", 2}});
  again->list_sets();
  fixes = again->fix_duplicates({}, nullptr);
  ASSERT_EQ(fixes.size(), 1u);
  EXPECT_EQ(fixes[0].kept_id, "");
  EXPECT_TRUE(fixes[0].removed.empty());
  EXPECT_FALSE(emulator_->admin("GET", "/files/" + other)["trashed"].get<bool>());
}

TEST_F(DriveStoreTest, RemovalTrashesInASharedDriveAndDeletesInMyDrive) {
  LocalStore local(dir_.file("store/main"), signer_.trust);
  SetEntry set = local_set(local, 1795302300, "2026-11-21T23:05:01.000Z",
                           {{"db/app.dump.zst.age", test::random_bytes(1000)}});
  auto shared = store();
  shared->upload_set(local, set, nullptr);
  ASSERT_EQ(shared->list_sets().size(), 1u);
  shared->delete_set(set.id);  // a Content manager may not delete in a shared drive
  int trashed = 0;
  for (const auto& f : emulator_->files())
    if (f["appProperties"].contains("ramsafe_set")) {
      EXPECT_TRUE(f["trashed"].get<bool>()) << f.dump();
      ++trashed;
    }
  EXPECT_EQ(trashed, 3);  // the data file, the signature and the manifest
  EXPECT_TRUE(shared->list_sets().empty());

  DriveStore mine(emulator_->options(), emulator_->user_token("pi@example.com"), "", "main",
                  signer_.trust);
  mine.upload_set(local, set, nullptr);
  ASSERT_EQ(mine.list_sets().size(), 1u);
  mine.delete_set(set.id);  // the owner deletes: trashed files would count against the quota
  int left = 0;
  for (const auto& f : emulator_->files())
    if (f["owner"] == "pi@example.com" && f["appProperties"].contains("ramsafe_set")) ++left;
  EXPECT_EQ(left, 0);
  EXPECT_TRUE(mine.list_sets().empty());
}

}  // namespace
}  // namespace ramsafe
