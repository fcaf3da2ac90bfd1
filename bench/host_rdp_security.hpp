// The synthetic host's side of Standard RDP Security ([MS-RDPBCGR] 5.3), as an XP or Server 2003
// host runs it: its SC_SECURITY (a server random and, as an X.509 chain, the RSA certificate the
// host already has for TLS), the client random out of the gateway's Security Exchange PDU, and
// the session keys seen from the server's end. rdp/ implements only the client's end, which is
// the gateway's; the server's is the same keys with the directions swapped.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <optional>
#include <string>

#include "rdp/bytes.hpp"
#include "rdp/standard_security.hpp"

namespace rdpbridge::bench {

class HostRdpSecurity {
  public:
    // `host` holds the host's RSA certificate and private key; `method` is exactly one
    // encryption_method bit (128-bit RC4 or FIPS).
    HostRdpSecurity(SSL_CTX* host, uint32_t method);

    // The SC_SECURITY block's body: method, level (HIGH, or FIPS), random, certificate chain.
    rdp::Bytes sc_security() const;
    // The TPKT frame of the gateway's Security Exchange PDU: decrypts the client random and
    // derives this session's keys. Throws if the frame is not one.
    void accept_exchange(rdp::ByteView frame);
    // The Client Info PDU that follows it: throws unless it is encrypted and its MAC verifies,
    // which proves that both ends derived the same keys.
    void check_client_info(rdp::ByteView frame);
    // A plain fast-path output PDU, encrypted and MACed as such a host sends it.
    rdp::Bytes seal_output(const rdp::Bytes& pdu);
    // What the security layer adds to each PDU (the MAC, and the FIPS header; not FIPS padding).
    std::size_t overhead() const;

  private:
    SSL_CTX* host_;
    uint32_t method_;
    std::array<uint8_t, 32> server_random_{};
    std::optional<rdp::StandardSecurity> security_;  // from accept_exchange on
};

// "RC4-128" or "FIPS", the names the relay bound knows (crypto_bound.hpp).
std::string rdp_method_name(uint32_t method);

}  // namespace rdpbridge::bench
