#include "core/tar.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/paths.h"

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

}  // namespace ramsafe
