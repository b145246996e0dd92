#include "core/io/tar.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/io/process.h"
#include "core/io/stages.h"
#include "test/unit/test_util.h"

namespace ramsafe {
namespace {

TEST(Tar, RoundTrips) {
  std::vector<TarEntry> in = {{"postgresql.conf", "shared_buffers = 128MB\n", 0600, 1795302300},
                              {"conf.d/extra.conf", std::string(1000, 'x'), 0640, 1},
                              {"empty", "", 0600, 0}};
  StringSink out;
  write_tar(in, out);
  EXPECT_EQ(out.data().size() % 512, 0u);
  auto back = read_tar(out.data(), "t");
  ASSERT_EQ(back.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back[i].name, in[i].name);
    EXPECT_EQ(back[i].content, in[i].content);
    EXPECT_EQ(back[i].mode, in[i].mode);
    EXPECT_EQ(back[i].mtime, in[i].mtime);
  }
}

TEST(Tar, GnuTarReadsIt) {
  test::ScratchDir dir;
  StringSink out;
  write_tar(
      {{"pg_hba.conf", "local all all peer\n", 0600, 0}, {"conf.d/a.conf", "x = 1\n", 0600, 0}},
      out);
  write_file_atomic(dir.file("c.tar"), out.data());
  ProcessOptions options;
  options.argv = {"tar", "-xf", dir.file("c.tar"), "-C", dir.path()};
  ChildProcess tar(options);
  tar.wait_success();
  EXPECT_EQ(read_file(dir.file("pg_hba.conf")), "local all all peer\n");
  EXPECT_EQ(read_file(dir.file("conf.d/a.conf")), "x = 1\n");
}

TEST(Tar, RejectsUnsafeNamesBothWays) {
  StringSink out;
  EXPECT_THROW(write_tar({{"../x", "", 0600, 0}}, out), Error);
  EXPECT_THROW(write_tar({{"/etc/passwd", "", 0600, 0}}, out), Error);
  StringSink good;
  write_tar({{"aaaaaaaaaaaa", "", 0600, 0}}, good);
  // Same length name "../x" cannot be patched in without fixing the checksum: test both.
  std::string archive = good.data();
  archive.replace(0, 4, "../x");
  EXPECT_THROW(read_tar(archive, "t"), Error) << "checksum";
}

TEST(Tar, DetectsTruncationAndDamage) {
  StringSink out;
  write_tar({{"a", std::string(3000, 'a'), 0600, 0}}, out);
  EXPECT_THROW(read_tar(out.data().substr(0, 1024), "t"), Error);
  EXPECT_THROW(read_tar("", "t"), Error);
  std::string bad = out.data();
  bad[130] ^= 1;  // size field
  EXPECT_THROW(read_tar(bad, "t"), Error);
}

}  // namespace
}  // namespace ramsafe
