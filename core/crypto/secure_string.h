// Containers for secrets: their memory is wiped (OPENSSL_cleanse) when freed, so key
// material does not linger in freed heap blocks, and it lives in pages of its own marked
// MADV_DONTDUMP, so a core dump of the process (the server's worker, the companion) does
// not hold it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <openssl/crypto.h>

namespace ramsafe {

// Whole pages (mmap) marked MADV_DONTDUMP; throws std::bad_alloc. secure_free wipes them
// before unmapping.
void* secure_alloc(size_t bytes);
void secure_free(void* p, size_t bytes) noexcept;

template <typename T>
struct CleansingAllocator {
  using value_type = T;
  CleansingAllocator() = default;
  template <typename U>
  CleansingAllocator(const CleansingAllocator<U>&) {}  // NOLINT(google-explicit-constructor)
  T* allocate(size_t n) { return static_cast<T*>(secure_alloc(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { secure_free(p, n * sizeof(T)); }
  template <typename U>
  bool operator==(const CleansingAllocator<U>&) const {
    return true;
  }
  template <typename U>
  bool operator!=(const CleansingAllocator<U>&) const {
    return false;
  }
};

using SecureString = std::basic_string<char, std::char_traits<char>, CleansingAllocator<char>>;
using SecureBytes = std::vector<uint8_t, CleansingAllocator<uint8_t>>;

// The largest secret file ramsafe reads (keys, passphrases, Drive credentials and tokens).
constexpr size_t kSecretFileMaxBytes = size_t{1} << 20;

// Makes the process non-dumpable (PR_SET_DUMPABLE 0): no core dump, and no other process
// of the same user may ptrace it or read its memory through /proc. For the companion,
// which holds identities, passphrases and Drive credentials; a program it executes
// (pg_restore, initdb) is dumpable again. Throws Error if the kernel refuses.
void make_undumpable();

// Reads a secret file, refusing one that group or others can read or write
// (kPermission, naming the file and its mode) or that is not a regular file.
SecureString read_secret_file(const std::string& path);

}  // namespace ramsafe
