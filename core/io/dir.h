// File system work in directories someone else may have written to (the backup store, the
// WAL archive, a data directory, the directory of an output file), done the way OpenSSH and
// PostgreSQL do it: every name is resolved relative to an open directory descriptor
// (openat, mkdirat, renameat, unlinkat), never through a symbolic link (O_NOFOLLOW, also for
// every directory component of a relative name), files are created new (O_EXCL) or through
// an O_EXCL temporary file and a rename, reads accept regular files only (a planted FIFO
// cannot block), and tree removal neither follows a link nor crosses a mount point.
//
// The path a Dir is opened from (Dir::open) is the caller's own configuration and may hold
// symbolic links; names below it may not.
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>
#include <vector>

#include "core/io/unique_fd.h"

namespace ramsafe {

// What the running user is about to do in a directory (Dir::check_private).
enum class DirAccess { kRead, kWrite };

class Dir {
 public:
  Dir() = default;

  // Opens an existing directory (symbolic links in path are followed). Throws Error
  // (kNotFound when missing).
  static Dir open(const std::string& path);
  static std::optional<Dir> open_if_exists(const std::string& path);

  bool valid() const { return fd_.valid(); }
  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  std::string path_of(const std::string& relative) const;

  // A directory below this one: one name or a relative path, every component opened with
  // O_NOFOLLOW. A symbolic link is refused (Error kCorrupt naming it), a missing directory
  // is kNotFound (sub) or nullopt (sub_if_exists).
  Dir sub(const std::string& relative) const;
  std::optional<Dir> sub_if_exists(const std::string& relative) const;
  // Creates the directories of relative that are missing (mkdirat, mode), then opens it as
  // sub() does. *created tells whether the last component was made now.
  Dir make_sub(const std::string& relative, unsigned mode = 0700, bool* created = nullptr) const;

  // Opens a regular file below this directory for reading (O_NOFOLLOW on every component;
  // a FIFO, device or socket is refused without blocking on it).
  UniqueFd open_read(const std::string& relative) const;
  // open_read() plus reading it whole; Error(kCorrupt) when it is larger than max_size.
  std::string read_file(const std::string& relative, size_t max_size) const;
  // A new regular file (O_CREAT | O_EXCL | O_NOFOLLOW): an existing name, even a dangling
  // symbolic link, is an error (kIo, EEXIST).
  UniqueFd create(const std::string& name, unsigned mode = 0600) const;
  // An existing regular file or a new one, never through a link (the store's lock file).
  UniqueFd open_or_create(const std::string& name, int flags, unsigned mode = 0600) const;
  // Refuses (Error kInvalidArgument, naming it) a name that exists and is not a regular
  // file: a link there is neither followed nor replaced, nor is a device or a FIFO.
  void check_replaceable(const std::string& name) const;
  // Writes a whole small file atomically: check_replaceable(name), an O_EXCL temporary file
  // beside it, fsync, renameat over name, fsync of this directory.
  void write_file_atomic(const std::string& name, const std::string& content,
                         unsigned mode = 0600) const;

  // lstat of an entry (never follows); nullopt when it does not exist.
  std::optional<struct stat> stat(const std::string& name) const;
  bool exists(const std::string& name) const { return stat(name).has_value(); }
  // Entries without "." and "..", sorted by name.
  std::vector<std::string> list() const;

  // renameat: replacing what is at to (a file, a link or an empty directory), or, with
  // rename_noreplace, failing (EEXIST) when to exists.
  void rename(const std::string& from, const Dir& to_dir, const std::string& to) const;
  void rename_noreplace(const std::string& from, const Dir& to_dir, const std::string& to) const;
  // Removes a file or link (missing is fine).
  void unlink(const std::string& name) const;
  void rmdir(const std::string& name) const;
  // Removes an entry and, for a directory, everything below it; missing is fine. Never
  // follows a symbolic link (a link is removed, not what it points to) and never crosses a
  // mount point (Error kIo naming it, nothing below it removed).
  void remove_tree(const std::string& name) const;

  void fsync() const;

  // Refuses (Error kPermission, naming the directory, its owner and mode) a directory that
  // is writable by group or others, or not owned by the running user. Root may read one
  // owned by another user (`ramsafe list` as root), never write into it. PostgreSQL's rule
  // for its data directory; what names which directory.
  void check_private(DirAccess access, const std::string& what) const;

 private:
  Dir(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd open_dir_at(const std::string& name, bool missing_ok) const;
  void remove_tree_at(const std::string& name, dev_t device) const;

  UniqueFd fd_;
  std::string path_;
};

// An O_EXCL temporary file in a directory, named ".<base>.<random>.tmp" (never an existing
// name, never through a link), removed when destroyed unless it was committed.
class TempFile {
 public:
  TempFile(const Dir& dir, const std::string& base, unsigned mode = 0600);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  int fd() const { return fd_.get(); }
  const std::string& name() const { return name_; }
  std::string path() const { return dir_.path_of(name_); }
  // fsync and close (errors such as ENOSPC surface here), then rename to final_name in the
  // same directory; replacing what is there, or (replace false) failing if it exists. The
  // directory is not fsynced: the caller does that once it is done.
  void commit(const std::string& final_name, bool replace = true);

 private:
  const Dir& dir_;
  std::string name_;
  UniqueFd fd_;
  bool committed_ = false;
};

}  // namespace ramsafe
