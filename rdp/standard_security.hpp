// Standard RDP Security as the client side of a connection ([MS-RDPBCGR] 5.3): session keys
// from the two randoms, then per-direction MAC + RC4 (40/56/128-bit) or HMAC + 3DES (FIPS),
// with the RC4 key update every 4096 packets. The gateway is the client on the back leg: it
// protects what goes to the host and checks and strips what comes from it.
//
// Key material never leaves this object and is wiped when it is destroyed. A primitive OpenSSL
// cannot give (see crypto::legacy_provider_problem) is an Error, never an exception.
#pragma once

#include <array>
#include <memory>

#include "rdp/bytes.hpp"
#include "rdp/crypto.hpp"

namespace rdpbridge::rdp {

struct SessionKeys {
    uint32_t method = 0;  // exactly one encryption_method bit
    Bytes mac_key;        // non-FIPS: 8 or 16 bytes
    Bytes encrypt_key;    // client -> server (RC4 key, or 3DES key for FIPS)
    Bytes decrypt_key;    // server -> client
    Bytes hmac_key;       // FIPS only: 20 bytes

    SessionKeys() = default;
    SessionKeys(const SessionKeys&) = default;
    SessionKeys& operator=(const SessionKeys&) = default;
    ~SessionKeys();
};

// [MS-RDPBCGR] 5.3.5.1 (non-FIPS) and 5.3.5.2 (FIPS), from the client's point of view. An error
// names the argument when the method is not exactly one of the four or a random is not 32 bytes,
// or the digest OpenSSL could not compute.
Result<SessionKeys> derive_session_keys(uint32_t method, ByteView client_random,
                                        ByteView server_random);

// The ciphertext and what to put in the security header around it.
struct Sealed {
    std::array<uint8_t, 8> mac{};
    uint8_t fips_padding = 0;
    Bytes data;  // encrypted, padded to 8 bytes for FIPS
};

// What open() found: a PDU whose MAC does not match must not be used.
enum class Opened { verified, mac_mismatch };

class StandardSecurity {
  public:
    // An error when OpenSSL cannot key the ciphers.
    static Result<StandardSecurity> create(const SessionKeys& keys);
    ~StandardSecurity();
    StandardSecurity(StandardSecurity&&) noexcept;

    bool fips() const;

    // Client -> server. `salted` selects the SEC_SECURE_CHECKSUM MAC. An Error (OpenSSL failed)
    // leaves this direction's cipher state unusable: the session must end.
    Result<Sealed> seal(ByteView plaintext, bool salted = false);
    // Server -> client: decrypts `data` in place (FIPS: then drops `fips_padding` bytes) and
    // checks `mac`. An Error is OpenSSL's, as for seal().
    Result<Opened> open(Bytes& data, const uint8_t* mac, bool salted, uint8_t fips_padding = 0);

    uint32_t packets_sealed() const;
    uint32_t packets_opened() const;

  private:
    struct State;
    explicit StandardSecurity(std::unique_ptr<State> s);
    std::unique_ptr<State> s_;
};

}  // namespace rdpbridge::rdp
