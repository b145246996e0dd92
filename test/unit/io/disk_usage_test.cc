#include "core/io/disk_usage.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "core/error.h"
#include "test/unit/test_util.h"

namespace ramsafe {
namespace {

TEST(DiskUsage, CountsFilesInSubdirectoriesOnTheFilesystem) {
  test::ScratchDir dir;
  ASSERT_EQ(::mkdir((dir.path() + "/sub").c_str(), 0700), 0);
  std::ofstream(dir.path() + "/sub/a") << std::string(1 << 20, 'x');
  std::ofstream(dir.path() + "/b") << std::string(100000, 'y');
  DiskUsage usage = disk_usage(dir.path());
  // tmpfs allocates whole pages: at least the bytes written, at most a few pages more.
  EXPECT_GE(usage.directory_bytes, (1u << 20) + 100000u);
  EXPECT_LE(usage.directory_bytes, (1u << 20) + 100000u + 16 * 4096u);
  EXPECT_GT(usage.filesystem_bytes, 0u);
  EXPECT_GE(usage.used_bytes, usage.directory_bytes);
  EXPECT_LE(usage.free_bytes, usage.filesystem_bytes);
  EXPECT_GT(usage.used_percent(), 0.0);
  EXPECT_LE(usage.used_percent(), 100.0);
}

TEST(DiskUsage, FilesystemUsageHasTheSameFiguresWithoutTheWalk) {
  test::ScratchDir dir;
  DiskUsage full = disk_usage(dir.path());
  DiskUsage quick = filesystem_usage(dir.path());
  EXPECT_EQ(quick.directory_bytes, 0u);
  EXPECT_EQ(quick.filesystem_bytes, full.filesystem_bytes);
  EXPECT_LE(quick.used_bytes, quick.filesystem_bytes);
  EXPECT_LE(quick.free_bytes, quick.filesystem_bytes);
  EXPECT_THROW(filesystem_usage("/nonexistent/ramsafe-dir"), Error);
}

TEST(DiskUsage, MissingDirectoryIsAnErrorNamingIt) {
  try {
    disk_usage("/nonexistent/ramsafe-dir");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/ramsafe-dir"), std::string::npos);
  }
}

}  // namespace
}  // namespace ramsafe
