// zstd streaming compression and decompression stages (libzstd). The compressor writes
// frames with a content checksum, so `zstd -d` and our decompressor detect corruption
// of the plaintext even without the outer age MAC.
#pragma once

#include <memory>
#include <vector>

#include "core/io/sink.h"

namespace ramsafe {

class ZstdCompressor : public Sink {
 public:
  // workers > 0 runs compression in libzstd's own threads, overlapping it with reading
  // the input (like `zstd -T1`); 0 compresses in the caller's thread.
  ZstdCompressor(Sink& next, int level, int workers = 0);
  ~ZstdCompressor() override;
  ZstdCompressor(const ZstdCompressor&) = delete;
  ZstdCompressor& operator=(const ZstdCompressor&) = delete;
  void write(const uint8_t* data, size_t size) override;
  void finish() override;

 private:
  struct State;
  std::unique_ptr<State> state_;
  Sink& next_;
};

class ZstdDecompressor : public Sink {
 public:
  explicit ZstdDecompressor(Sink& next);
  ~ZstdDecompressor() override;
  ZstdDecompressor(const ZstdDecompressor&) = delete;
  ZstdDecompressor& operator=(const ZstdDecompressor&) = delete;
  void write(const uint8_t* data, size_t size) override;
  // Throws Error(kCorrupt) if the input ended inside a frame.
  void finish() override;

 private:
  struct State;
  std::unique_ptr<State> state_;
  Sink& next_;
};

}  // namespace ramsafe
