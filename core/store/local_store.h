// A local directory store: <local_dir>/<cluster>/<backup-id>/...
// Publishing is atomic: files are written into <backup-id>.partial/, fsynced with their
// directories, then the directory is renamed. A crash leaves a complete set or a
// .partial that is never listed and is removed by cleanup_partials().
//
// Everything below the store's root is reached relative to directory descriptors, never
// through a symbolic link (core/io/dir.h), and the root must be owned by the running user
// and not writable by group or others (open_store_root).
// Every set is signed when it is published (LocalSetWriter::publish), whatever wrote it.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/io/dir.h"
#include "core/io/unique_fd.h"
#include "core/store/store.h"

namespace ramsafe {

class LocalSetWriter;

// The root of a local store (<local_dir>/<cluster>, or any directory) for reading or
// writing: its last component is never a symbolic link, and it must belong to the running
// user and not be writable by group or others (Dir::check_private: root may read a store it
// does not own). Missing: nullopt, or with create, made (0700, parents too).
std::optional<Dir> open_store_root(const std::string& root, DirAccess access, bool create);

class LocalStore : public Store {
 public:
  // root = <local_dir>/<cluster>. Created (0700) on first write, not by the constructor.
  // trust: what list_sets() trusts (core/set/trust.h).
  LocalStore(std::string root, TrustPolicy trust);

  std::string kind() const override { return "local"; }
  std::string describe() const override { return "local " + root_; }
  const std::string& root() const { return root_; }

  std::vector<SetEntry> list_sets() override;
  void read_file(const std::string& set_id, const std::string& path, Sink& out,
                 const CancelCheck& cancel) override;
  void delete_set(const std::string& set_id) override;

  // Starts a new set named after unix_seconds (with a suffix if that id is taken), to be
  // signed by signer when it is published. Call it holding lock().
  std::unique_ptr<LocalSetWriter> begin_set(int64_t unix_seconds, const SetSigner& signer);
  // Removes .partial directories whose last change is older than max_age_seconds, and
  // returns their names. A .partial still being written by a running backup is newer.
  std::vector<std::string> cleanup_partials(int64_t max_age_seconds);
  std::string set_path(const std::string& set_id) const;
  // Takes the store's lock (flock on <root>/.lock), held while the returned fd lives.
  // Throws Error(kBusy) if another process (a backup or prune) holds it.
  UniqueFd lock(const std::string& purpose);
  // A published set's file for reading (never through a link; regular files only).
  UniqueFd open_set_file(const std::string& set_id, const std::string& path);

 private:
  std::string root_;
};

class LocalSetWriter {
 public:
  LocalSetWriter(LocalStore& store, Dir root, std::string id, Dir partial, const SetSigner& signer);
  ~LocalSetWriter();  // removes the .partial directory unless published
  LocalSetWriter(const LocalSetWriter&) = delete;
  LocalSetWriter& operator=(const LocalSetWriter&) = delete;

  const std::string& id() const { return id_; }
  const std::string& partial_path() const { return partial_; }
  // Creates a new file (mode 0600, O_EXCL, never through a link) at a relative path inside
  // the set, with parent dirs.
  UniqueFd create_file(const std::string& relative_path);
  // Removes a file create_file made (a database dropped while it was dumped).
  void remove_file(const std::string& relative_path);
  // fsync and close a file made by create_file; errors (e.g. ENOSPC) surface here.
  void close_file(UniqueFd& fd, const std::string& relative_path);
  // The one place a set is signed: gives the manifest the signed format and the cluster's
  // next sequence number (above every trusted set in the store and every one this host
  // has seen), writes manifest.json and manifest.json.sig, fsyncs everything, renames the
  // set into place and notes it in the freshness state. Returns the final directory.
  std::string publish(Manifest& manifest);
  // Removes the .partial directory now (errors ignored).
  void abandon();
  // What went wrong after publishing that did not undo it (the freshness state could not
  // be written), for the caller to warn about; "" if nothing.
  const std::string& warning() const { return warning_; }

 private:
  LocalStore& store_;
  const SetSigner& signer_;
  std::string warning_;
  Dir root_;
  std::string id_;
  std::string partial_;  // its path, for messages
  Dir partial_dir_;
  std::vector<std::string> dirs_;  // directories created inside the set, to fsync
  bool published_ = false;
};

}  // namespace ramsafe
