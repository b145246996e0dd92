// Containers for secrets: their memory is wiped (OPENSSL_cleanse) when freed, so key
// material does not linger in freed heap blocks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <openssl/crypto.h>

namespace ramsafe {

template <typename T>
struct CleansingAllocator {
  using value_type = T;
  CleansingAllocator() = default;
  template <typename U>
  CleansingAllocator(const CleansingAllocator<U>&) {}  // NOLINT(google-explicit-constructor)
  T* allocate(size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, size_t n) {
    OPENSSL_cleanse(p, n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }
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

// Reads a secret file, refusing one that group or others can read or write
// (kPermission, naming the file and its mode) or that is not a regular file.
SecureString read_secret_file(const std::string& path);

}  // namespace ramsafe
