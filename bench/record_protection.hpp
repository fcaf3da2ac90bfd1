// TLS record protection reduced to its cryptography, as libssl performs it per record: AEAD
// (TLS 1.3 / 1.2 GCM or ChaCha20-Poly1305) and TLS 1.0 AES-CBC with HMAC-SHA1 (MAC-then-encrypt,
// CBC chained across records). The 5-byte record header and the socket are left out: they cost
// no cryptography.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bench/crypto_bound.hpp"

namespace rdpbridge::bench {

using Buffer = std::vector<uint8_t>;

class RecordProtection {
  public:
    virtual ~RecordProtection() = default;
    // Protects one record's plaintext into `sealed`.
    virtual void seal(std::span<const uint8_t> plain, Buffer& sealed) = 0;
    // Unprotects one record into `plain`; throws if it does not authenticate.
    virtual void open(std::span<const uint8_t> sealed, Buffer& plain) = 0;
    // Back to sequence number 0 (and the first IV), so that recorded records can be replayed.
    virtual void rewind() = 0;
    virtual std::string name() const = 0;
};

// Fixed keys: the cost of record protection does not depend on them.
std::unique_ptr<RecordProtection> make_record_protection(const Suite& suite);

}  // namespace rdpbridge::bench
