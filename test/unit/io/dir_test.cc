#include "core/io/dir.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/unique_fd.h"
#include "test/unit/test_util.h"

namespace ramsafe {
namespace {

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode;
}

TEST(Dir, SubAndOpenReadRefuseSymbolicLinks) {
  test::ScratchDir dir;
  std::string victim = dir.write("victim/secret", "secret");
  ASSERT_EQ(::mkdir(dir.file("store").c_str(), 0700), 0);
  ASSERT_EQ(::symlink(dir.file("victim").c_str(), dir.file("store/linked").c_str()), 0);
  ASSERT_EQ(::symlink(victim.c_str(), dir.file("store/file").c_str()), 0);
  Dir store = Dir::open(dir.file("store"));
  EXPECT_NE(error_of([&] { store.sub("linked"); }).find("is a symbolic link"), std::string::npos);
  EXPECT_NE(error_of([&] { store.open_read("linked/secret"); }).find("is a symbolic link"),
            std::string::npos);
  EXPECT_NE(error_of([&] { store.open_read("file"); }).find("is a symbolic link"),
            std::string::npos);
  EXPECT_FALSE(store.sub_if_exists("missing").has_value());
}

TEST(Dir, OpenReadRefusesAFifoWithoutBlocking) {
  test::ScratchDir dir;
  ASSERT_EQ(::mkfifo(dir.file("fifo").c_str(), 0600), 0);
  Dir d = Dir::open(dir.path());
  EXPECT_NE(error_of([&] { d.open_read("fifo"); }).find("is not a regular file"),
            std::string::npos);
}

TEST(Dir, CreateNeverWritesThroughALink) {
  test::ScratchDir dir;
  std::string victim = dir.write("victim", "untouched");
  ASSERT_EQ(::symlink(victim.c_str(), dir.file("new").c_str()), 0);
  Dir d = Dir::open(dir.path());
  EXPECT_THROW(d.create("new"), Error);
  EXPECT_THROW(d.open_or_create("new", O_RDWR), Error);
  EXPECT_EQ(read_file(victim), "untouched");
}

// A planted "<name>.tmp" (here mode 0666, or a link to another file) must neither receive
// the content nor lend its mode to the file written (issue 14, attack 6: a pre-created
// world-readable <token>.tmp left the Drive token world-readable).
TEST(Dir, WriteFileAtomicIgnoresPlantedTemporaryFiles) {
  test::ScratchDir dir;
  std::string token = dir.file("token.json");
  int fd = ::open((token + ".tmp").c_str(), O_WRONLY | O_CREAT, 0666);
  ASSERT_GE(fd, 0);
  ::close(fd);
  ASSERT_EQ(::chmod((token + ".tmp").c_str(), 0666), 0);
  write_file_atomic(token, "refresh token", 0600);
  EXPECT_EQ(read_file(token), "refresh token");
  EXPECT_EQ(mode_of(token) & 0777, 0600u);
  EXPECT_EQ(read_file(token + ".tmp"), "") << "the planted file received nothing";

  std::string victim = dir.write("victim", "untouched");
  std::string report = dir.file("report.json");
  ASSERT_EQ(::symlink(victim.c_str(), (report + ".tmp").c_str()), 0);
  write_file_atomic(report, "{}", 0600);
  EXPECT_EQ(read_file(victim), "untouched");
  EXPECT_EQ(read_file(report), "{}");
  // A link or a FIFO at the name itself is refused: neither written through nor replaced.
  ASSERT_EQ(::unlink(report.c_str()), 0);
  ASSERT_EQ(::symlink(victim.c_str(), report.c_str()), 0);
  EXPECT_NE(error_of([&] { write_file_atomic(report, "{}", 0600); }).find("is a symbolic link"),
            std::string::npos);
  EXPECT_EQ(read_file(victim), "untouched");
  EXPECT_TRUE(S_ISLNK(mode_of(report)));
  ASSERT_EQ(::mkfifo(dir.file("fifo").c_str(), 0600), 0);
  EXPECT_NE(error_of([&] {
              write_file_atomic(dir.file("fifo"), "{}", 0600);
            }).find("is not a regular file"),
            std::string::npos);
}

TEST(Dir, TempFilesAreNewAndRemovedUnlessCommitted) {
  test::ScratchDir dir;
  Dir d = Dir::open(dir.path());
  std::string name;
  {
    TempFile tmp(d, "x");
    name = tmp.name();
    EXPECT_EQ(name.rfind(".x.", 0), 0u) << name;
    EXPECT_TRUE(d.exists(name));
  }
  EXPECT_FALSE(d.exists(name));
  {
    TempFile tmp(d, "y");
    write_all(tmp.fd(), "data", 4, tmp.path());
    tmp.commit("y");
  }
  EXPECT_EQ(read_file(dir.file("y")), "data");
  EXPECT_EQ(d.list(), std::vector<std::string>{"y"});
  {
    TempFile tmp(d, "y");
    EXPECT_THROW(tmp.commit("y", false), Error) << "no replacing with replace = false";
  }
}

TEST(Dir, RemoveTreeRemovesLinksNotWhatTheyPointTo) {
  test::ScratchDir dir;
  std::string victim = dir.write("victim/keep", "keep");
  dir.write("tree/a/b/file", "x");
  ASSERT_EQ(::symlink(dir.file("victim").c_str(), dir.file("tree/a/link").c_str()), 0);
  ASSERT_EQ(::symlink(victim.c_str(), dir.file("tree/filelink").c_str()), 0);
  Dir::open(dir.path()).remove_tree("tree");
  EXPECT_FALSE(path_exists(dir.file("tree")));
  EXPECT_EQ(read_file(victim), "keep");
  Dir::open(dir.path()).remove_tree("tree");  // missing is fine
}

TEST(Dir, RemoveTreeDoesNotCrossAMountPoint) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting needs root";
  test::ScratchDir dir;
  dir.write("tree/mnt/.keep", "");
  std::string mnt = dir.file("tree/mnt");
  if (::mount("ramsafe-test", mnt.c_str(), "tmpfs", 0, "size=1m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here";
  dir.write("tree/mnt/inside", "on another file system");
  std::string message = error_of([&] { Dir::open(dir.path()).remove_tree("tree"); });
  bool inside = path_exists(dir.file("tree/mnt/inside"));
  ::umount2(mnt.c_str(), MNT_DETACH);
  EXPECT_NE(message.find("is a mount point"), std::string::npos) << message;
  EXPECT_TRUE(inside) << "nothing on the mounted file system was removed";
}

TEST(Dir, CheckPrivateRefusesGroupWritableAndForeignDirectories) {
  test::ScratchDir dir;
  std::string store = dir.file("store");
  ASSERT_EQ(::mkdir(store.c_str(), 0700), 0);
  Dir d = Dir::open(store);
  d.check_private(DirAccess::kWrite, "the backup store");
  ASSERT_EQ(::chmod(store.c_str(), 0770), 0);
  std::string message = error_of([&] { d.check_private(DirAccess::kRead, "the backup store"); });
  EXPECT_NE(message.find("the backup store " + store + " has mode 0770"), std::string::npos)
      << message;
  EXPECT_NE(message.find("writable by group or others"), std::string::npos) << message;
  ASSERT_EQ(::chmod(store.c_str(), 0700), 0);
  if (::geteuid() != 0) return;
  ASSERT_EQ(::chown(store.c_str(), 65534, 65534), 0);
  d.check_private(DirAccess::kRead, "the backup store");  // root may read it
  message = error_of([&] { d.check_private(DirAccess::kWrite, "the backup store"); });
  EXPECT_NE(message.find(store + " is owned by uid 65534"), std::string::npos) << message;
  EXPECT_NE(message.find("run ramsafe as its owner"), std::string::npos) << message;
}

TEST(Dir, MakeSubCreatesEveryMissingComponent) {
  test::ScratchDir dir;
  Dir d = Dir::open(dir.path());
  bool created = false;
  Dir sub = d.make_sub("a/b/c", 0700, &created);
  EXPECT_TRUE(created);
  EXPECT_EQ(sub.path(), dir.file("a/b/c"));
  EXPECT_EQ(mode_of(dir.file("a/b/c")) & 0777, 0700u);
  d.make_sub("a/b/c", 0700, &created);
  EXPECT_FALSE(created);
  EXPECT_THROW(d.make_sub("../x"), Error);
}

}  // namespace
}  // namespace ramsafe
