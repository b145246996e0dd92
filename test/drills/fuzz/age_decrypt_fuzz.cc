// Fuzzes age decryption (core/crypto/age.h: armor detection and decoding, the header parser,
// stanza handling, the header MAC, the STREAM payload) with arbitrary bytes and one fixed
// X25519 identity. The seeds (written by test/drills/fuzz.sh with the age CLI) are
// encrypted to that identity, so mutations reach the payload, not only the header.
//
// Each input is decrypted twice: in one write, and in small pieces. Both runs must agree
// (same success and same plaintext), since the decryptor accepts "arbitrary pieces".
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/crypto/age.h"
#include "test/drills/fuzz/fuzz_util.h"

namespace {

// Test-only key; its recipient is kFuzzRecipient in test/drills/fuzz.sh.
constexpr const char kIdentity[] =
    "AGE-SECRET-KEY-1FHXA54P8LZ72M47M44JVYJMK397DPF553KFJKXKTQVEX8HWW0VFQMGX5KE";

class CollectSink : public ramsafe::Sink {
 public:
  void write(const uint8_t* data, size_t size) override {
    if (finished) ramsafe::fuzz::fail("the decryptor wrote after finishing its sink");
    out.insert(out.end(), data, data + size);
  }
  void finish() override {
    if (finished) ramsafe::fuzz::fail("the decryptor finished its sink twice");
    finished = true;
  }
  std::vector<uint8_t> out;
  bool finished = false;
};

const std::vector<ramsafe::age::Identity>& identities() {
  static const std::vector<ramsafe::age::Identity> ids = {
      ramsafe::age::X25519Identity::parse(kIdentity)};
  return ids;
}

// Decrypts data in pieces of `piece` bytes (0: one write). Returns whether it succeeded.
bool decrypt(const uint8_t* data, size_t size, size_t piece, CollectSink& sink) {
  return ramsafe::fuzz::expect_error_or_success([&] {
    ramsafe::age::Decryptor decryptor(identities(), sink);
    if (piece == 0) {
      decryptor.write(data, size);
    } else {
      for (size_t pos = 0; pos < size; pos += piece)
        decryptor.write(data + pos, std::min(piece, size - pos));
    }
    decryptor.finish();
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CollectSink whole;
  bool whole_ok = decrypt(data, size, 0, whole);
  if (whole_ok && !whole.finished) ramsafe::fuzz::fail("success without finishing the sink");

  CollectSink pieces;
  bool pieces_ok = decrypt(data, size, 1 + size % 97, pieces);
  if (whole_ok != pieces_ok)
    ramsafe::fuzz::fail(whole_ok ? "one write decrypts, pieces fail"
                                 : "pieces decrypt, one write fails");
  if (whole_ok && whole.out != pieces.out)
    ramsafe::fuzz::fail("one write and pieces give different plaintexts");
  return 0;
}
