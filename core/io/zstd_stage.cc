#include "core/io/zstd_stage.h"

#include <zstd.h>

#include <string>

#include "core/error.h"

namespace ramsafe {
namespace {

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* ctx) const { ZSTD_freeCCtx(ctx); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* ctx) const { ZSTD_freeDCtx(ctx); }
};

void check_zstd(size_t result, const char* what, Errc code) {
  if (ZSTD_isError(result))
    throw Error(code, std::string("zstd ") + what + ": " + ZSTD_getErrorName(result));
}

}  // namespace

constexpr int kJobSize = 2 << 20;
constexpr int kFullWindowOverlap = 9;

struct ZstdCompressor::State {
  std::unique_ptr<ZSTD_CCtx, CCtxDeleter> ctx{ZSTD_createCCtx()};
  std::vector<uint8_t> out = std::vector<uint8_t>(ZSTD_CStreamOutSize());
};

ZstdCompressor::ZstdCompressor(Sink& next, int level, int workers)
    : state_(std::make_unique<State>()), next_(next) {
  if (!state_->ctx) throw Error(Errc::kInternal, "zstd: cannot allocate a compression context");
  if (level < 1 || level > ZSTD_maxCLevel())
    throw Error(Errc::kInvalidArgument, "zstd compression level " + std::to_string(level) +
                                            " is out of range 1-" +
                                            std::to_string(ZSTD_maxCLevel()));
  check_zstd(ZSTD_CCtx_setParameter(state_->ctx.get(), ZSTD_c_compressionLevel, level), "level",
             Errc::kInternal);
  check_zstd(ZSTD_CCtx_setParameter(state_->ctx.get(), ZSTD_c_checksumFlag, 1), "checksum",
             Errc::kInternal);
  if (workers > 0) {
    // Fails only if libzstd was built without threads; then compress in this thread.
    if (!ZSTD_isError(ZSTD_CCtx_setParameter(state_->ctx.get(), ZSTD_c_nbWorkers, workers))) {
      // Each job buffers its input; the default (4 windows, 8 MiB at level 3) costs more
      // memory than the whole rest of the backup. Small jobs keep the process well under
      // 32 MiB; a full-window overlap lets each job refer back as far as one thread would,
      // which keeps the output within 0.1% of single-threaded zstd (1 MiB jobs without it:
      // 1.3% larger). Measured with test/bench/run.
      (void)ZSTD_CCtx_setParameter(state_->ctx.get(), ZSTD_c_jobSize, kJobSize);
      (void)ZSTD_CCtx_setParameter(state_->ctx.get(), ZSTD_c_overlapLog, kFullWindowOverlap);
    }
  }
}

ZstdCompressor::~ZstdCompressor() = default;

void ZstdCompressor::write(const uint8_t* data, size_t size) {
  ZSTD_inBuffer in{data, size, 0};
  while (in.pos < in.size) {
    ZSTD_outBuffer out{state_->out.data(), state_->out.size(), 0};
    check_zstd(ZSTD_compressStream2(state_->ctx.get(), &out, &in, ZSTD_e_continue), "compress",
               Errc::kInternal);
    if (out.pos > 0) next_.write(state_->out.data(), out.pos);
  }
}

void ZstdCompressor::finish() {
  ZSTD_inBuffer in{nullptr, 0, 0};
  size_t remaining;
  do {
    ZSTD_outBuffer out{state_->out.data(), state_->out.size(), 0};
    remaining = ZSTD_compressStream2(state_->ctx.get(), &out, &in, ZSTD_e_end);
    check_zstd(remaining, "finish", Errc::kInternal);
    if (out.pos > 0) next_.write(state_->out.data(), out.pos);
  } while (remaining != 0);
  next_.finish();
}

struct ZstdDecompressor::State {
  std::unique_ptr<ZSTD_DCtx, DCtxDeleter> ctx{ZSTD_createDCtx()};
  std::vector<uint8_t> out = std::vector<uint8_t>(ZSTD_DStreamOutSize());
  size_t last_hint = 0;  // 0 after a frame is complete
  bool seen_input = false;
};

ZstdDecompressor::ZstdDecompressor(Sink& next) : state_(std::make_unique<State>()), next_(next) {
  if (!state_->ctx) throw Error(Errc::kInternal, "zstd: cannot allocate a decompression context");
}

ZstdDecompressor::~ZstdDecompressor() = default;

void ZstdDecompressor::write(const uint8_t* data, size_t size) {
  if (size > 0) state_->seen_input = true;
  ZSTD_inBuffer in{data, size, 0};
  while (in.pos < in.size) {
    ZSTD_outBuffer out{state_->out.data(), state_->out.size(), 0};
    state_->last_hint = ZSTD_decompressStream(state_->ctx.get(), &out, &in);
    check_zstd(state_->last_hint, "decompress", Errc::kCorrupt);
    if (out.pos > 0) next_.write(state_->out.data(), out.pos);
  }
  // Drain output still held inside the context after the input is consumed.
  for (;;) {
    ZSTD_outBuffer out{state_->out.data(), state_->out.size(), 0};
    ZSTD_inBuffer none{nullptr, 0, 0};
    if (state_->last_hint == 0) break;
    size_t hint = ZSTD_decompressStream(state_->ctx.get(), &out, &none);
    check_zstd(hint, "decompress", Errc::kCorrupt);
    state_->last_hint = hint;
    if (out.pos == 0) break;
    next_.write(state_->out.data(), out.pos);
  }
}

void ZstdDecompressor::finish() {
  if (!state_->seen_input) throw Error(Errc::kCorrupt, "zstd: empty input, no frame");
  if (state_->last_hint != 0)
    throw Error(Errc::kCorrupt, "zstd: input ends inside a frame (truncated)");
  next_.finish();
}

}  // namespace ramsafe
