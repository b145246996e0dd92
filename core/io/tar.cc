#include "core/io/tar.h"

#include <fcntl.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/io/paths.h"

namespace ramsafe {
namespace {

constexpr size_t kBlock = 512;

// width includes the terminating NUL.
void put_octal(char* field, size_t width, uint64_t value) {
  field[width - 1] = '\0';
  for (size_t i = width - 1; i-- > 0; value >>= 3) field[i] = static_cast<char>('0' + (value & 7));
  if (value != 0) throw Error(Errc::kInvalidArgument, "tar: value too large for its header field");
}

uint64_t get_octal(const char* field, size_t width, const std::string& source) {
  uint64_t value = 0;
  if (static_cast<unsigned char>(field[0]) & 0x80) {  // GNU base-256 (sizes over 8 GiB)
    for (size_t i = 1; i < width; ++i) {
      if (value >> 56) throw Error(Errc::kCorrupt, source + ": number too large in tar header");
      value = (value << 8) | static_cast<unsigned char>(field[i]);
    }
    return value;
  }
  size_t i = 0;
  while (i < width && field[i] == ' ') ++i;
  for (; i < width && field[i] != '\0' && field[i] != ' '; ++i) {
    if (field[i] < '0' || field[i] > '7')
      throw Error(Errc::kCorrupt, source + ": bad number in tar header");
    value = value * 8 + static_cast<uint64_t>(field[i] - '0');
  }
  return value;
}

unsigned header_checksum(const unsigned char* header) {
  unsigned sum = 0;
  for (size_t i = 0; i < kBlock; ++i) sum += (i >= 148 && i < 156) ? ' ' : header[i];
  return sum;
}

}  // namespace

void write_tar(const std::vector<TarEntry>& entries, Sink& out) {
  static const uint8_t kZeros[kBlock] = {};
  for (const auto& e : entries) {
    if (e.name.size() > 100 || !is_safe_relative_path(e.name))
      throw Error(Errc::kInvalidArgument, "tar: cannot store name \"" + e.name + "\"");
    unsigned char h[kBlock] = {};
    std::copy(e.name.begin(), e.name.end(), h);  // 100 bytes, NUL only if shorter
    put_octal(reinterpret_cast<char*>(h + 100), 8, e.mode & 07777);
    put_octal(reinterpret_cast<char*>(h + 108), 8, 0);
    put_octal(reinterpret_cast<char*>(h + 116), 8, 0);
    put_octal(reinterpret_cast<char*>(h + 124), 12, e.content.size());
    put_octal(reinterpret_cast<char*>(h + 136), 12, static_cast<uint64_t>(e.mtime));
    h[156] = '0';
    const char kMagicAndVersion[8] = {'u', 's', 't', 'a', 'r', '\0', '0', '0'};
    std::copy(kMagicAndVersion, kMagicAndVersion + 8, h + 257);
    put_octal(reinterpret_cast<char*>(h + 148), 7, header_checksum(h));
    h[155] = ' ';
    out.write(h, kBlock);
    out.write(reinterpret_cast<const uint8_t*>(e.content.data()), e.content.size());
    size_t pad = (kBlock - e.content.size() % kBlock) % kBlock;
    out.write(kZeros, pad);
  }
  out.write(kZeros, kBlock);
  out.write(kZeros, kBlock);
}

void write_tar_header(Sink& out, const std::string& name, char type, unsigned mode, uint64_t size,
                      int64_t mtime) {
  std::string stored = type == '5' ? name + "/" : name;
  if (stored.size() > 100 || !is_safe_relative_path(name) || (type != '0' && type != '5'))
    throw Error(Errc::kInvalidArgument,
                "tar: cannot store \"" + name + "\" (names are limited to 100 bytes)");
  unsigned char h[kBlock] = {};
  std::copy(stored.begin(), stored.end(), h);
  put_octal(reinterpret_cast<char*>(h + 100), 8, mode & 07777);
  put_octal(reinterpret_cast<char*>(h + 108), 8, 0);
  put_octal(reinterpret_cast<char*>(h + 116), 8, 0);
  if (size < (uint64_t{1} << 33)) {
    put_octal(reinterpret_cast<char*>(h + 124), 12, size);
  } else {
    h[124] = 0x80;  // GNU base-256: the remaining 11 bytes, big-endian
    for (int i = 11; i >= 1; --i, size >>= 8) h[124 + i] = static_cast<unsigned char>(size & 0xff);
  }
  put_octal(reinterpret_cast<char*>(h + 136), 12,
            static_cast<uint64_t>(std::max<int64_t>(mtime, 0)));
  h[156] = static_cast<unsigned char>(type);
  const char kMagicAndVersion[8] = {'u', 's', 't', 'a', 'r', '\0', '0', '0'};
  std::copy(kMagicAndVersion, kMagicAndVersion + 8, h + 257);
  put_octal(reinterpret_cast<char*>(h + 148), 7, header_checksum(h));
  h[155] = ' ';
  out.write(h, kBlock);
}

void write_tar_padding(Sink& out, uint64_t size) {
  static const uint8_t kZeros[kBlock] = {};
  size_t pad = static_cast<size_t>((kBlock - size % kBlock) % kBlock);
  if (pad > 0) out.write(kZeros, pad);
}

void write_tar_end(Sink& out) {
  static const uint8_t kZeros[kBlock] = {};
  out.write(kZeros, kBlock);
  out.write(kZeros, kBlock);
}

std::vector<TarEntry> read_tar(const std::string& archive, const std::string& source) {
  std::vector<TarEntry> entries;
  size_t pos = 0;
  for (;;) {
    if (pos + kBlock > archive.size())
      throw Error(Errc::kCorrupt, source + ": tar archive is truncated");
    const auto* h = reinterpret_cast<const unsigned char*>(archive.data() + pos);
    bool zero = true;
    for (size_t i = 0; i < kBlock && zero; ++i) zero = h[i] == 0;
    if (zero) break;
    const char* c = reinterpret_cast<const char*>(h);
    if (get_octal(c + 148, 8, source) != header_checksum(h))
      throw Error(Errc::kCorrupt, source + ": tar header checksum mismatch");
    TarEntry e;
    e.name.assign(c, strnlen(c, 100));
    e.mode = static_cast<unsigned>(get_octal(c + 100, 8, source));
    uint64_t size = get_octal(c + 124, 12, source);
    e.mtime = static_cast<int64_t>(get_octal(c + 136, 12, source));
    char type = c[156];
    if ((type != '0' && type != '\0') || !is_safe_relative_path(e.name))
      throw Error(Errc::kCorrupt,
                  source + ": tar entry \"" + e.name + "\" is not a plain relative file");
    pos += kBlock;
    if (size > archive.size() - pos)
      throw Error(Errc::kCorrupt, source + ": tar archive is truncated");
    e.content = archive.substr(pos, size);
    pos += (size + kBlock - 1) / kBlock * kBlock;
    entries.push_back(std::move(e));
  }
  return entries;
}

void TarStreamParser::write(const uint8_t* data, size_t size) {
  while (size > 0) {
    if (ended_) return;  // anything after the end marker (more zero blocks) is ignored
    if (remaining_ > 0) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, size));
      on_data(data, n);
      remaining_ -= n;
      data += n;
      size -= n;
      if (remaining_ == 0) on_entry_end();
      continue;
    }
    if (padding_ > 0) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(padding_, size));
      padding_ -= n;
      data += n;
      size -= n;
      continue;
    }
    size_t n = std::min(kBlock - block_fill_, size);
    std::memcpy(block_ + block_fill_, data, n);
    block_fill_ += n;
    data += n;
    size -= n;
    if (block_fill_ == kBlock) {
      block_fill_ = 0;
      header();
    }
  }
}

void TarStreamParser::header() {
  bool zero = true;
  for (size_t i = 0; i < kBlock && zero; ++i) zero = block_[i] == 0;
  if (zero) {
    ended_ = true;
    return;
  }
  const char* c = reinterpret_cast<const char*>(block_);
  if (get_octal(c + 148, 8, source_) != header_checksum(block_))
    throw Error(Errc::kCorrupt, source_ + ": tar header checksum mismatch");
  std::string name(c, strnlen(c, 100));
  char type = c[156] ? c[156] : '0';
  if (type == '5' && !name.empty() && name.back() == '/') name.pop_back();
  // pg_basebackup names a few entries "./pg_wal/...".
  while (name.compare(0, 2, "./") == 0) name.erase(0, 2);
  unsigned mode = static_cast<unsigned>(get_octal(c + 100, 8, source_));
  // Only regular files have content (hard links, symlinks, directories: size 0 here).
  uint64_t size = type == '0' || type == '7' ? get_octal(c + 124, 12, source_) : 0;
  on_entry(name, type, mode, size);
  remaining_ = size;
  padding_ = (kBlock - size % kBlock) % kBlock;
  if (remaining_ == 0) on_entry_end();
}

void TarStreamParser::finish() {
  if (!ended_ || remaining_ > 0)
    throw Error(Errc::kCorrupt, source_ + ": tar archive is truncated (no end marker)");
}

void TarExtractor::on_entry(const std::string& name, char type, unsigned mode, uint64_t size) {
  (void)size;
  if ((type != '0' && type != '5') || !is_safe_relative_path(name))
    throw Error(Errc::kCorrupt, source() + ": tar entry \"" + name + "\" (type " +
                                    std::string(1, type) +
                                    ") is not a plain file or directory below the data "
                                    "directory (tablespaces are not supported)");
  mode &= 0700;
  std::string path = join_path(dest_, name);
  if (type == '5') {
    make_dirs(path, mode ? mode : 0700);
    return;
  }
  make_dirs(parent_dir(path), 0700);
  current_ = open_or_throw(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode ? mode : 0600);
  current_path_ = path;
  files_++;
}

void TarExtractor::on_data(const uint8_t* data, size_t size) {
  write_all(current_.get(), data, size, current_path_);
  bytes_ += size;
}

void TarExtractor::on_entry_end() {
  if (current_.valid()) current_.close_checked(current_path_);
}

TarWatch::TarWatch(Sink& next, std::string source, std::vector<std::string> names, size_t keep_tail)
    : TarStreamParser(std::move(source)),
      next_(next),
      names_(std::move(names)),
      keep_tail_(keep_tail) {}

void TarWatch::write(const uint8_t* data, size_t size) {
  next_.write(data, size);
  TarStreamParser::write(data, size);
}

void TarWatch::finish() {
  TarStreamParser::finish();
  next_.finish();
}

const std::string* TarWatch::captured(const std::string& name) const {
  for (const auto& [n, content] : captured_)
    if (n == name) return &content;
  return nullptr;
}

void TarWatch::on_entry(const std::string& name, char type, unsigned mode, uint64_t size) {
  (void)mode;
  (void)size;
  current_ = nullptr;
  if (type != '0' || std::find(names_.begin(), names_.end(), name) == names_.end()) return;
  captured_.emplace_back(name, std::string());
  current_ = &captured_.back().second;
}

void TarWatch::on_data(const uint8_t* data, size_t size) {
  if (!current_) return;
  current_->append(reinterpret_cast<const char*>(data), size);
  if (current_->size() > 2 * keep_tail_) current_->erase(0, current_->size() - keep_tail_);
}

}  // namespace ramsafe
