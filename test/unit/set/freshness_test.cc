// The freshness state (core/set/freshness.h): what this host has seen only grows, two
// writers never lose each other's note, a rollback is named, a damaged file is an error.
#include "core/set/freshness.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/unique_fd.h"
#include "test/unit/test_util.h"

namespace ramsafe {
namespace {

SeenBackup seen(uint64_t sequence, const std::string& id,
                const std::string& finished = "2026-11-22T03:16:02.311Z") {
  return {sequence, id, finished, "2026-11-22T03:16:03.000Z"};
}

TEST(Freshness, NothingSeenAtFirstThenOnlyEverHigher) {
  test::ScratchDir dir;
  std::string path = dir.file("keys/ramsafe-state.json");
  make_dirs(dir.file("keys"));
  FreshnessState state(path);
  state.load();
  EXPECT_FALSE(state.seen("main"));
  EXPECT_EQ(state.clock_floor_ms("main"), 0);

  std::string problem;
  EXPECT_TRUE(state.note("main", seen(3, "20261122T031500Z"), &problem)) << problem;
  EXPECT_TRUE(state.note("main", seen(2, "20261122T021500Z"), &problem)) << problem;
  EXPECT_TRUE(state.note("other", seen(9, "20261122T011500Z"), &problem)) << problem;
  FreshnessState again(path);
  again.load();
  ASSERT_TRUE(again.seen("main"));
  EXPECT_EQ(again.seen("main")->sequence, 3u) << "a lower sequence never replaces a higher";
  EXPECT_EQ(again.seen("main")->backup_id, "20261122T031500Z");
  EXPECT_EQ(again.seen("other")->sequence, 9u);
  EXPECT_EQ(again.clock_floor_ms("main"), *parse_rfc3339_utc("2026-11-22T03:16:03.000Z"));
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(path_exists(path + ".tmp"));
}

TEST(Freshness, TwoWritersKeepTheHigherOfBoth) {
  test::ScratchDir dir;
  std::string path = dir.file("state.json");
  FreshnessState a(path), b(path);
  a.load();
  b.load();
  std::string problem;
  ASSERT_TRUE(a.note("main", seen(5, "20261122T051500Z"), &problem)) << problem;
  // b loaded before a wrote; its lower note must not undo a's.
  ASSERT_TRUE(b.note("main", seen(4, "20261122T041500Z"), &problem)) << problem;
  FreshnessState c(path);
  c.load();
  EXPECT_EQ(c.seen("main")->sequence, 5u);
}

TEST(Freshness, RollbackIsNamedOnlyWhenTheNewestIsOlderThanSeen) {
  EXPECT_EQ(rollback_problem(std::nullopt, seen(1, "a")), "") << "a new host has no memory";
  EXPECT_EQ(rollback_problem(seen(4, "x"), seen(4, "x")), "");
  EXPECT_EQ(rollback_problem(seen(4, "x"), seen(6, "y")), "");
  std::string r = rollback_problem(seen(6, "20261122T061500Z"), seen(4, "20261122T041500Z"));
  EXPECT_EQ(r.compare(0, 9, "ROLLBACK:"), 0) << r;
  EXPECT_NE(r.find("20261122T061500Z (sequence 6"), std::string::npos) << r;
  EXPECT_NE(r.find("20261122T041500Z (sequence 4"), std::string::npos) << r;
  EXPECT_NE(rollback_problem(seen(6, "y"), std::nullopt).find("no trusted backup is left"),
            std::string::npos);
}

TEST(Freshness, ADamagedStateIsAConfigurationErrorAndNoStateIsNone) {
  test::ScratchDir dir;
  std::string path = dir.write("state.json", "{\"format\": \"ramsafe-state\", \"clus");
  FreshnessState state(path);
  try {
    state.load();
    FAIL() << "a damaged state file was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kConfig);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  // Noting anyway overwrites nothing it cannot read... and says why.
  std::string problem;
  EXPECT_FALSE(state.note("main", seen(1, "a"), &problem));
  EXPECT_NE(problem.find("damaged"), std::string::npos) << problem;

  FreshnessState none("");
  none.load();
  EXPECT_TRUE(none.note("main", seen(1, "a"), &problem));
  EXPECT_EQ(none.seen("main")->sequence, 1u) << "kept in memory only";
}

}  // namespace
}  // namespace ramsafe
