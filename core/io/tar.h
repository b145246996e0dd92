// A minimal ustar writer and reader for the small configuration archive
// (config.tar.zst.age). Readable by GNU tar: `... | zstd -d | tar -x`. And a streaming
// extractor for physical base backups (base.tar.zst.age, pg_basebackup -Ft).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/io/sink.h"
#include "core/io/unique_fd.h"

namespace ramsafe {

struct TarEntry {
  std::string name;  // relative path, at most 100 bytes
  std::string content;
  unsigned mode = 0600;
  int64_t mtime = 0;
};

void write_tar(const std::vector<TarEntry>& entries, Sink& out);  // does not call finish()
// One ustar header for a streamed archive (the offline snapshot's tar): type '0' (a
// regular file of size bytes, which the caller writes next, then write_tar_padding) or
// '5' (a directory, size 0). name is relative, at most 100 bytes (a directory's without
// the trailing '/', which is added and must fit too); sizes past the 8 GiB octal limit
// use GNU's base-256 form, which TarStreamParser reads. Throws Error(kInvalidArgument) for
// a name it cannot store.
void write_tar_header(Sink& out, const std::string& name, char type, unsigned mode, uint64_t size,
                      int64_t mtime);
void write_tar_padding(Sink& out, uint64_t size);  // zeros up to the next 512-byte block
void write_tar_end(Sink& out);                     // the two zero blocks that end an archive

// Throws Error(kCorrupt) for a malformed archive, bad checksum, or an unsafe name
// (absolute, "..", non-regular entries).
std::vector<TarEntry> read_tar(const std::string& archive, const std::string& source);

// A streaming ustar parser (pg_basebackup -Ft output): one header block of memory. Each
// entry is announced to on_entry, its content passed to on_data in pieces. Names have a
// directory's trailing '/' and any leading "./" removed. Throws Error(kCorrupt) naming source for a
// bad header; finish() throws it if the stream ended before the end marker or inside an entry.
class TarStreamParser : public Sink {
 public:
  explicit TarStreamParser(std::string source) : source_(std::move(source)) {}
  void write(const uint8_t* data, size_t size) override;
  void finish() override;

 protected:
  // type: the header's type flag ('0' for a regular file, '5' a directory, '2' a symlink...)
  virtual void on_entry(const std::string& name, char type, unsigned mode, uint64_t size) = 0;
  virtual void on_data(const uint8_t* data, size_t size) = 0;
  virtual void on_entry_end() {}
  const std::string& source() const { return source_; }

 private:
  void header();

  std::string source_;
  unsigned char block_[512] = {};
  size_t block_fill_ = 0;
  uint64_t remaining_ = 0;  // content bytes of the current entry still to come
  uint64_t padding_ = 0;    // then this many padding bytes
  bool ended_ = false;
};

// Extracts such a stream into dest_dir, which must exist: regular files and directories
// only. Files are created new (O_EXCL) with the archive's permission bits (at most 0700);
// nothing is fsynced (the caller syncs the filesystem). Refuses (kCorrupt) unsafe names,
// links and devices (a base backup with tablespaces has symlinks: not supported).
class TarExtractor : public TarStreamParser {
 public:
  TarExtractor(std::string dest_dir, std::string source)
      : TarStreamParser(std::move(source)), dest_(std::move(dest_dir)) {}
  uint64_t files() const { return files_; }
  uint64_t bytes() const { return bytes_; }

 protected:
  void on_entry(const std::string& name, char type, unsigned mode, uint64_t size) override;
  void on_data(const uint8_t* data, size_t size) override;
  void on_entry_end() override;

 private:
  std::string dest_;
  UniqueFd current_;
  std::string current_path_;
  uint64_t files_ = 0;
  uint64_t bytes_ = 0;
};

// Passes a tar stream on to next unchanged while keeping (at least) the last keep_tail bytes of the
// regular files with the given names (e.g. "backup_label", "backup_manifest").
class TarWatch : public TarStreamParser {
 public:
  TarWatch(Sink& next, std::string source, std::vector<std::string> names, size_t keep_tail);
  void write(const uint8_t* data, size_t size) override;
  void finish() override;
  // The kept tail of a watched file, or nullptr if the stream had no such file.
  const std::string* captured(const std::string& name) const;

 protected:
  void on_entry(const std::string& name, char type, unsigned mode, uint64_t size) override;
  void on_data(const uint8_t* data, size_t size) override;

 private:
  Sink& next_;
  std::vector<std::string> names_;
  size_t keep_tail_;
  std::vector<std::pair<std::string, std::string>> captured_;
  std::string* current_ = nullptr;
};

}  // namespace ramsafe
