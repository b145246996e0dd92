#include "core/crypto/age_crypto.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>

#include "core/error.h"

namespace ramsafe::age::detail {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct KdfDeleter {
  void operator()(EVP_KDF* p) const { EVP_KDF_free(p); }
};
struct KdfCtxDeleter {
  void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); }
};
struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;

[[noreturn]] void throw_openssl(const char* what) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  std::string message = std::string("age: OpenSSL ") + what + " failed";
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    message += std::string(": ") + buf;
  }
  throw Error(Errc::kInternal, message);
}

Pkey x25519_private(const uint8_t scalar[32]) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, scalar, 32));
  if (!key) throw_openssl("X25519 private key");
  return key;
}

}  // namespace

void random_bytes(uint8_t* out, size_t size) {
  if (size > INT_MAX || RAND_bytes(out, static_cast<int>(size)) != 1) throw_openssl("RAND_bytes");
}

bool x25519(const uint8_t scalar[32], const uint8_t point[32], uint8_t out[32]) {
  Pkey ours = x25519_private(scalar);
  Pkey theirs(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, point, 32));
  if (!theirs) throw_openssl("X25519 public key");
  PkeyCtx ctx(EVP_PKEY_CTX_new(ours.get(), nullptr));
  if (!ctx) throw_openssl("EVP_PKEY_CTX_new");
  if (EVP_PKEY_derive_init(ctx.get()) != 1) throw_openssl("X25519 derive init");
  if (EVP_PKEY_derive_set_peer_ex(ctx.get(), theirs.get(), 0) != 1)
    throw_openssl("X25519 set peer");
  size_t size = 32;
  // OpenSSL refuses to return the all-zero shared secret; treat any failure here as that.
  if (EVP_PKEY_derive(ctx.get(), out, &size) != 1 || size != 32) {
    ERR_clear_error();
    OPENSSL_cleanse(out, 32);
    return false;
  }
  uint8_t acc = 0;
  for (int i = 0; i < 32; ++i) acc |= out[i];
  return acc != 0;
}

void x25519_base(const uint8_t scalar[32], uint8_t out[32]) {
  Pkey key = x25519_private(scalar);
  size_t size = 32;
  if (EVP_PKEY_get_raw_public_key(key.get(), out, &size) != 1 || size != 32)
    throw_openssl("X25519 public key derivation");
}

void hkdf_sha256(const uint8_t* ikm, size_t ikm_size, const uint8_t* salt, size_t salt_size,
                 const std::string& info, uint8_t* out, size_t out_size) {
  std::unique_ptr<EVP_KDF, KdfDeleter> kdf(EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr));
  if (!kdf) throw_openssl("HKDF fetch");
  std::unique_ptr<EVP_KDF_CTX, KdfCtxDeleter> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) throw_openssl("HKDF context");
  static const uint8_t kEmpty[1] = {0};
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(ikm), ikm_size),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                        const_cast<uint8_t*>(salt_size ? salt : kEmpty), salt_size),
      OSSL_PARAM_construct_octet_string(
          OSSL_KDF_PARAM_INFO, const_cast<char*>(info.empty() ? "" : info.data()), info.size()),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_KDF_derive(ctx.get(), out, out_size, params) != 1) throw_openssl("HKDF");
}

std::array<uint8_t, 32> hmac_sha256(const uint8_t* key, size_t key_size, const uint8_t* data,
                                    size_t size) {
  std::array<uint8_t, 32> out{};
  size_t out_size = 0;
  char digest[] = "SHA256";
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, key, key_size, data, size, out.data(),
                out.size(), &out_size) == nullptr ||
      out_size != out.size())
    throw_openssl("HMAC-SHA256");
  return out;
}

std::array<uint8_t, 32> sha256(const uint8_t* data, size_t size) {
  std::array<uint8_t, 32> out{};
  unsigned int out_size = 0;
  if (EVP_Digest(data, size, out.data(), &out_size, EVP_sha256(), nullptr) != 1 || out_size != 32)
    throw_openssl("SHA-256");
  return out;
}

void scrypt(const char* passphrase, size_t passphrase_size, const uint8_t* salt, size_t salt_size,
            int log_n, uint8_t* out, size_t out_size) {
  if (log_n < 1 || log_n > 40) throw Error(Errc::kInternal, "age: scrypt work factor out of range");
  const uint64_t n = uint64_t{1} << log_n;
  const uint64_t r = 8, p = 1;
  // OpenSSL needs 128*r*(N+2) bytes for V plus 128*r*p for B; allow a little more.
  const uint64_t maxmem = 128 * r * (n + 2) + 128 * r * p + (1u << 20);
  if (EVP_PBE_scrypt(passphrase_size ? passphrase : "", passphrase_size, salt, salt_size, n, r, p,
                     maxmem, out, out_size) != 1)
    throw_openssl("scrypt (out of memory?)");
}

struct ChaChaPoly::Impl {
  Key32 key;
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> ctx{EVP_CIPHER_CTX_new()};
};

ChaChaPoly::ChaChaPoly(const uint8_t key[32]) : impl_(std::make_unique<Impl>()) {
  if (!impl_->ctx) throw_openssl("EVP_CIPHER_CTX_new");
  std::copy(key, key + 32, impl_->key.data());
}

ChaChaPoly::~ChaChaPoly() = default;

void ChaChaPoly::seal(const uint8_t nonce[12], const uint8_t* in, size_t size, uint8_t* out) {
  EVP_CIPHER_CTX* ctx = impl_->ctx.get();
  if (size > INT_MAX) throw Error(Errc::kInternal, "age: ChaCha20-Poly1305 message too large");
  if (EVP_EncryptInit_ex(ctx, EVP_chacha20_poly1305(), nullptr, impl_->key.data(), nonce) != 1)
    throw_openssl("ChaCha20-Poly1305 init");
  int len = 0;
  if (size > 0 && EVP_EncryptUpdate(ctx, out, &len, in, static_cast<int>(size)) != 1)
    throw_openssl("ChaCha20-Poly1305 encrypt");
  int final_len = 0;
  if (EVP_EncryptFinal_ex(ctx, out + len, &final_len) != 1)
    throw_openssl("ChaCha20-Poly1305 final");
  if (static_cast<size_t>(len) + static_cast<size_t>(final_len) != size)
    throw Error(Errc::kInternal, "age: ChaCha20-Poly1305 short output");
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagSize), out + size) != 1)
    throw_openssl("ChaCha20-Poly1305 tag");
}

bool ChaChaPoly::open(const uint8_t nonce[12], const uint8_t* in, size_t size, uint8_t* out) {
  EVP_CIPHER_CTX* ctx = impl_->ctx.get();
  if (size < kTagSize) return false;
  if (size > INT_MAX) throw Error(Errc::kInternal, "age: ChaCha20-Poly1305 message too large");
  size_t body = size - kTagSize;
  if (EVP_DecryptInit_ex(ctx, EVP_chacha20_poly1305(), nullptr, impl_->key.data(), nonce) != 1)
    throw_openssl("ChaCha20-Poly1305 init");
  int len = 0;
  if (body > 0 && EVP_DecryptUpdate(ctx, out, &len, in, static_cast<int>(body)) != 1)
    throw_openssl("ChaCha20-Poly1305 decrypt");
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagSize),
                          const_cast<uint8_t*>(in + body)) != 1)
    throw_openssl("ChaCha20-Poly1305 set tag");
  int final_len = 0;
  if (EVP_DecryptFinal_ex(ctx, out + len, &final_len) != 1) {
    ERR_clear_error();
    return false;
  }
  return static_cast<size_t>(len) + static_cast<size_t>(final_len) == body;
}

bool equal_ct(const uint8_t* a, const uint8_t* b, size_t size) {
  return CRYPTO_memcmp(a, b, size) == 0;
}

}  // namespace ramsafe::age::detail
