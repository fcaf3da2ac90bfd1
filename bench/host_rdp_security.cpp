#include "bench/host_rdp_security.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "bench/crypto_bound.hpp"
#include "rdp/fastpath.hpp"
#include "rdp/mcs_domain.hpp"
#include "rdp/security_header.hpp"
#include "rdp/server_security.hpp"
#include "rdp/tpkt.hpp"

namespace rdpbridge::bench {

namespace {

constexpr uint32_t kCertChainVersion2 = 2;  // an X.509 chain, as hosts with a real certificate send
constexpr std::size_t kRsaPadding = 8;      // zeros after the encrypted client random

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("host Standard RDP Security: " + what);
}

rdp::Bytes certificate_der(SSL_CTX* host) {
    X509* cert = SSL_CTX_get0_certificate(host);
    unsigned char* der = nullptr;
    const int n = cert ? i2d_X509(cert, &der) : -1;
    if (n <= 0) fail("the host has no certificate");
    rdp::Bytes out(der, der + n);
    OPENSSL_free(der);
    return out;
}

// Raw RSA with the host's private key; RDP writes the numbers little-endian.
rdp::Bytes rsa_private_le(SSL_CTX* host, rdp::ByteView message_le) {
    EVP_PKEY* key = SSL_CTX_get0_privatekey(host);
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        key ? EVP_PKEY_CTX_new(key, nullptr) : nullptr, EVP_PKEY_CTX_free);
    rdp::Bytes in(message_le.rbegin(), message_le.rend());
    rdp::Bytes out(in.size());
    std::size_t n = out.size();
    if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING) != 1 ||
        EVP_PKEY_decrypt(ctx.get(), out.data(), &n, in.data(), in.size()) != 1)
        fail("the encrypted client random does not decrypt with the host's key");
    out.resize(n);
    std::reverse(out.begin(), out.end());
    return out;
}

// The user data of the Send Data Request in a TPKT frame (it points into `frame`).
rdp::ByteView user_data(rdp::ByteView frame, const std::string& what) {
    auto payload = rdp::unwrap_x224_data(frame);
    if (!payload) fail(what + ": " + payload.error().message());
    auto sd = rdp::mcs::decode_send_data(*payload);
    if (!sd) fail(what + ": " + sd.error().message());
    return sd->user_data;
}

}  // namespace

std::string rdp_method_name(uint32_t method) {
    return method == rdp::encryption_method::fips ? kRdpFips : kRdpRc4_128;
}

HostRdpSecurity::HostRdpSecurity(SSL_CTX* host, uint32_t method) : host_(host), method_(method) {
    if (method != rdp::encryption_method::bits128 && method != rdp::encryption_method::fips)
        fail("only 128-bit RC4 and FIPS are modelled");
    if (RAND_bytes(server_random_.data(), int(server_random_.size())) != 1)
        fail("no server random");
}

rdp::Bytes HostRdpSecurity::sc_security() const {
    const rdp::Bytes cert = certificate_der(host_);
    rdp::Bytes chain;
    rdp::Writer c(chain);
    c.u32le(kCertChainVersion2);
    c.u32le(1);  // NumCertBlobs
    c.u32le(uint32_t(cert.size()));
    c.bytes(cert);
    chain.resize(chain.size() + 8 + 4 * 1);  // the padding 5.3.3.2 puts after the blobs

    rdp::Bytes body;
    rdp::Writer w(body);
    w.u32le(method_);
    w.u32le(uint32_t(method_ == rdp::encryption_method::fips ? rdp::EncryptionLevel::fips
                                                             : rdp::EncryptionLevel::high));
    w.u32le(uint32_t(server_random_.size()));
    w.u32le(uint32_t(chain.size()));
    w.bytes(server_random_);
    w.bytes(chain);
    return body;
}

void HostRdpSecurity::accept_exchange(rdp::ByteView frame) {
    rdp::Reader r(user_data(frame, "security exchange"));
    auto flags = r.u16le("flags");
    auto skipped = r.skip(2, "flags_hi");
    auto length = r.u32le("length");
    if (!flags || !skipped || !length || !(*flags & rdp::sec::exchange_pkt))
        fail("the gateway's first PDU is no Security Exchange PDU");
    auto encrypted = r.bytes(*length, "encrypted_client_random");
    if (!encrypted || *length <= kRsaPadding) fail("security exchange: bad length");
    const rdp::Bytes random = rsa_private_le(host_, encrypted->subspan(0, *length - kRsaPadding));
    if (random.size() < 32) fail("client random too short");
    auto derived = rdp::derive_session_keys(method_, rdp::ByteView(random.data(), 32),
                                            rdp::ByteView(server_random_));
    if (!derived) fail(derived.error().message());
    rdp::SessionKeys keys = std::move(*derived);
    // The client encrypts with what the server decrypts with, and the other way round.
    std::swap(keys.encrypt_key, keys.decrypt_key);
    auto security = rdp::StandardSecurity::create(keys);
    if (!security) fail(security.error().message());
    security_.emplace(std::move(*security));
}

void HostRdpSecurity::check_client_info(rdp::ByteView frame) {
    if (!security_) fail("client info before the security exchange");
    rdp::Reader r(user_data(frame, "client info"));
    auto flags = r.u16le("flags");
    if (!flags || !r.skip(2, "flags_hi") || !(*flags & rdp::sec::info_pkt) ||
        !(*flags & rdp::sec::encrypt))
        fail("client info: no encrypted Client Info PDU after the Security Exchange");
    uint8_t padding = 0;
    if (security_->fips()) {
        auto fips = r.bytes(4, "fips");
        if (!fips) fail("client info: " + fips.error().message());
        padding = (*fips)[3];
    }
    auto mac = r.bytes(rdp::sec::kMacSize, "mac");
    if (!mac) fail("client info: " + mac.error().message());
    rdp::Bytes data(r.rest().begin(), r.rest().end());
    const auto opened =
        security_->open(data, mac->data(), *flags & rdp::sec::secure_checksum, padding);
    if (!opened) fail("client info: " + opened.error().message());
    if (*opened != rdp::Opened::verified)
        fail("client info: MAC does not verify (the two ends' session keys differ)");
}

rdp::Bytes HostRdpSecurity::seal_output(const rdp::Bytes& pdu) {
    auto plain = rdp::fastpath::decode(pdu, false);
    if (!plain) fail("output: " + plain.error().message());
    const auto sealed = security_->seal(plain->data);
    if (!sealed) fail("output: " + sealed.error().message());
    rdp::fastpath::Pdu p;
    p.header = uint8_t((plain->header & 0x3F) | (rdp::sec::fastpath_encrypted << 6));
    p.mac = sealed->mac;
    if (security_->fips()) p.fips_padding = sealed->fips_padding;
    auto encoded = rdp::fastpath::encode(p, sealed->data);
    if (!encoded) fail("output: " + encoded.error().message());
    return std::move(*encoded);
}

std::size_t HostRdpSecurity::overhead() const {
    return method_ == rdp::encryption_method::fips ? rdp::sec::kFipsSize - rdp::sec::kBasicSize
                                                   : rdp::sec::kMacSize;
}

}  // namespace rdpbridge::bench
