// age v1 streaming encryption and decryption: the Encryptor and Decryptor sinks. The
// pieces live in age_header (header format), age_stanzas (recipient stanzas), age_stream
// (STREAM payload), age_armor (ASCII armor), age_keys (keys and key files) and
// age_crypto (OpenSSL primitives).
#include "core/crypto/age.h"

#include <algorithm>
#include <optional>
#include <string>

#include "core/crypto/age_armor.h"
#include "core/crypto/age_crypto.h"
#include "core/crypto/age_header.h"
#include "core/crypto/age_stanzas.h"
#include "core/crypto/age_stream.h"
#include "core/error.h"

namespace ramsafe::age {
namespace {

constexpr size_t kPayloadNonceSize = 16;

void derive_payload_key(const detail::FileKey& file_key, const uint8_t nonce[16],
                        detail::Key32& out) {
  detail::hkdf_sha256(file_key.data(), file_key.size(), nonce, kPayloadNonceSize, "payload",
                      out.data(), out.size());
}

std::array<uint8_t, 32> header_mac(const detail::FileKey& file_key, const std::string& covered) {
  detail::Key32 mac_key;
  detail::hkdf_sha256(file_key.data(), file_key.size(), nullptr, 0, "header", mac_key.data(),
                      mac_key.size());
  return detail::hmac_sha256(mac_key.data(), mac_key.size(),
                             reinterpret_cast<const uint8_t*>(covered.data()), covered.size());
}

[[noreturn]] void used_after_error() {
  throw Error(Errc::kInternal, "age: the stream was used after an error or after finish");
}

// The binary (unarmored) age file: header, MAC check, payload nonce, STREAM.
class BinaryDecryptor : public Sink {
 public:
  BinaryDecryptor(const std::vector<Identity>& identities, Sink& next)
      : identities_(identities), next_(next) {}

  void write(const uint8_t* data, size_t size) override {
    if (!stream_) {
      if (header_) {
        size_t used = header_->feed(data, size);
        data += used;
        size -= used;
        if (!header_->done()) return;
        open_header();
        header_.reset();  // the header's memory is not needed for the payload
      }
      size_t take = std::min(size, kPayloadNonceSize - nonce_.size());
      nonce_.insert(nonce_.end(), data, data + take);
      data += take;
      size -= take;
      if (nonce_.size() < kPayloadNonceSize) return;
      detail::Key32 payload_key;
      derive_payload_key(file_key_, nonce_.data(), payload_key);
      stream_.emplace(payload_key.data(), next_);
    }
    if (size > 0) stream_->write(data, size);
  }

  void finish() override {
    if (header_) header_->finish();
    if (!stream_)
      throw Error(Errc::kCorrupt, "age: invalid header: the file ends before the payload nonce");
    stream_->finish();
    next_.finish();
  }

 private:
  void open_header() {
    file_key_ = detail::unwrap_file_key(header_->stanzas(), identities_);
    std::array<uint8_t, 32> mac = header_mac(file_key_, header_->mac_input());
    if (!detail::equal_ct(mac.data(), header_->mac().data(), mac.size()))
      throw Error(Errc::kCorrupt, "age: header MAC mismatch: the header was modified or corrupted");
  }

  const std::vector<Identity>& identities_;
  Sink& next_;
  std::optional<detail::HeaderParser> header_{std::in_place};  // until the header is done
  detail::FileKey file_key_;
  std::vector<uint8_t> nonce_;
  std::optional<detail::StreamDecryptor> stream_;
};

bool is_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

}  // namespace

// ---- Encryptor ----

struct Encryptor::State {
  State(const std::vector<Recipient>& recipients, Sink& next_sink) : next(next_sink) {
    detail::FileKey file_key;
    detail::random_bytes(file_key.data(), file_key.size());
    std::vector<detail::Stanza> stanzas = detail::wrap_file_key(file_key, recipients);
    header = detail::encode_header_without_mac(stanzas);
    header += detail::encode_mac_line(header_mac(file_key, header));
    uint8_t nonce[kPayloadNonceSize];
    detail::random_bytes(nonce, sizeof nonce);
    header.append(reinterpret_cast<const char*>(nonce), sizeof nonce);
    detail::Key32 payload_key;
    derive_payload_key(file_key, nonce, payload_key);
    stream.emplace(payload_key.data(), next);
  }

  void write_header() {
    if (header_written) return;
    header_written = true;
    next.write(reinterpret_cast<const uint8_t*>(header.data()), header.size());
    std::string().swap(header);
  }

  Sink& next;
  std::string header;  // including the payload nonce
  bool header_written = false;
  bool finished = false;
  bool failed = false;
  std::optional<detail::StreamEncryptor> stream;
};

Encryptor::Encryptor(const std::vector<Recipient>& recipients, Sink& next)
    : state_(std::make_unique<State>(recipients, next)) {}

Encryptor::~Encryptor() = default;

void Encryptor::write(const uint8_t* data, size_t size) {
  State& s = *state_;
  if (s.failed || s.finished) used_after_error();
  if (size == 0) return;
  try {
    s.write_header();
    s.stream->write(data, size);
  } catch (...) {
    s.failed = true;
    throw;
  }
}

void Encryptor::finish() {
  State& s = *state_;
  if (s.failed || s.finished) used_after_error();
  try {
    s.write_header();
    s.stream->finish();
    s.finished = true;
    s.next.finish();
  } catch (...) {
    s.failed = true;
    throw;
  }
}

// ---- Decryptor ----

struct Decryptor::State {
  State(const std::vector<Identity>& ids, Sink& next)
      : identities(ids), binary(identities, next), armor(binary) {}

  // Binary age files start with "age-encryption.org/v1"; armored ones with optional
  // whitespace and "-----BEGIN". Undecided while only whitespace has been seen.
  enum class Mode { kDetect, kBinary, kArmor };

  Sink& target() { return mode == Mode::kArmor ? static_cast<Sink&>(armor) : binary; }

  void detect(const uint8_t*& data, size_t& size) {
    size_t i = 0;
    while (i < size && is_space(data[i]) && leading.size() + i < kMaxDetect) ++i;
    if (i == size && leading.size() + i < kMaxDetect) {
      leading.append(reinterpret_cast<const char*>(data), size);
      data += size;
      size = 0;
      return;
    }
    mode = (i < size && data[i] == '-') ? Mode::kArmor : Mode::kBinary;
    if (!leading.empty()) {
      target().write(reinterpret_cast<const uint8_t*>(leading.data()), leading.size());
      std::string().swap(leading);
    }
  }

  static constexpr size_t kMaxDetect = 4096;
  std::vector<Identity> identities;
  BinaryDecryptor binary;
  detail::ArmorDecoder armor;
  Mode mode = Mode::kDetect;
  std::string leading;
  bool finished = false;
  bool failed = false;
};

Decryptor::Decryptor(const std::vector<Identity>& identities, Sink& next)
    : state_(std::make_unique<State>(identities, next)) {}

Decryptor::~Decryptor() = default;

void Decryptor::write(const uint8_t* data, size_t size) {
  State& s = *state_;
  if (s.failed || s.finished) used_after_error();
  try {
    if (s.mode == State::Mode::kDetect) s.detect(data, size);
    if (size > 0) s.target().write(data, size);
  } catch (...) {
    s.failed = true;
    throw;
  }
}

void Decryptor::finish() {
  State& s = *state_;
  if (s.failed || s.finished) used_after_error();
  try {
    if (s.mode == State::Mode::kDetect) {
      s.mode = State::Mode::kBinary;
      if (!s.leading.empty())
        s.binary.write(reinterpret_cast<const uint8_t*>(s.leading.data()), s.leading.size());
    }
    s.finished = true;
    s.target().finish();
  } catch (...) {
    s.failed = true;
    throw;
  }
}

}  // namespace ramsafe::age
