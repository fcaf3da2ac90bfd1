// The host's SC_SECURITY block under Standard RDP Security ([MS-RDPBCGR] 2.2.1.4.3): the
// encryption method and level it chose, its 32-byte random, and its certificate — proprietary
// (signed with the published Terminal Services key, 5.3.3.1) or an X.509 chain (5.3.3.2).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rdp/gcc.hpp"

namespace rdpbridge::rdp {

namespace encryption_method {
inline constexpr uint32_t none = 0x00;
inline constexpr uint32_t bits40 = 0x01;
inline constexpr uint32_t bits128 = 0x02;
inline constexpr uint32_t bits56 = 0x08;
inline constexpr uint32_t fips = 0x10;
}  // namespace encryption_method
// "40BIT|128BIT", "NONE" for 0.
std::string encryption_methods_to_string(uint32_t methods);

enum class EncryptionLevel : uint32_t {
    none = 0,
    low = 1,
    client_compatible = 2,
    high = 3,
    fips = 4
};
std::string to_string(EncryptionLevel level);

struct RsaPublicKey {
    Bytes modulus;  // little-endian, as on the wire, without the 8 padding zeros
    uint32_t exponent = 0;
    uint32_t bits = 0;
};

enum class CertificateKind { proprietary, x509 };

struct ServerCertificate {
    CertificateKind kind = CertificateKind::proprietary;
    bool temporary = false;  // top bit of dwVersion
    RsaPublicKey key;
    // Proprietary only: whether the signature verifies against the Terminal Services key (unset
    // too when OpenSSL could not check it).
    std::optional<bool> signature_valid;
    std::vector<Bytes> x509_chain;  // DER, as sent; the key is taken from the last one
};

struct ServerSecurity {
    uint32_t method = 0;
    EncryptionLevel level = EncryptionLevel::none;
    Bytes server_random;  // 32 bytes when method != none
    std::optional<ServerCertificate> certificate;
};

Result<ServerSecurity> decode_server_security(const gcc::DataBlock& sc_security);

// The SC_SECURITY a TLS server sends: method and level NONE, nothing else.
gcc::DataBlock tls_server_security();

}  // namespace rdpbridge::rdp
