#include "rdp/host_identity.hpp"

#include <gtest/gtest.h>

#include "rdp/x224.hpp"

using namespace rdpbridge::rdp;

namespace {

const std::string kCert(64, 'a');
const std::string kOtherCert(64, 'b');
const std::string kSpki(64, 'c');
const std::string kOtherSpki(64, 'd');
const std::string kRdpKey(64, 'e');
const std::string kOtherRdpKey(64, 'f');

HostIdentity tls_host() {
    return HostIdentity{kCert, kSpki, "", layers_of(protocol::ssl)};
}
HostIdentity rdp_host() {
    return HostIdentity{"", "", kRdpKey, layers_of(protocol::rdp)};
}

}  // namespace

TEST(SecurityLayers, FromSelectedProtocol) {
    EXPECT_EQ(to_string(layers_of(protocol::ssl)), "TLS");
    EXPECT_EQ(to_string(layers_of(protocol::hybrid)), "TLS+NLA");
    EXPECT_EQ(to_string(layers_of(protocol::hybrid_ex)), "TLS+NLA");
    EXPECT_EQ(to_string(layers_of(protocol::rdp)), "RDP");
    EXPECT_EQ(to_string(SecurityLayers{}), "none");
}

TEST(RdpKeyFingerprint, CoversModulusAndExponent) {
    RsaPublicKey key{Bytes(64, 0x11), 0x10001, 512};
    const auto fp = rdp_key_sha256(key).value();
    EXPECT_EQ(fp.size(), 64u);
    auto other_exponent = key;
    other_exponent.exponent = 3;
    EXPECT_NE(rdp_key_sha256(other_exponent).value(), fp);
    auto other_modulus = key;
    other_modulus.modulus[0] ^= 1;
    EXPECT_NE(rdp_key_sha256(other_modulus).value(), fp);
    // The bit count is a property of the modulus, not part of the identity.
    auto other_bits = key;
    other_bits.bits = 511;
    EXPECT_EQ(rdp_key_sha256(other_bits).value(), fp);
}

TEST(TlsIdentity, FirstUseLearnsOrRefusesByPolicy) {
    EXPECT_EQ(check_tls_identity(nullptr, kCert, kSpki, true).verdict, IdentityVerdict::learn);
    const auto refused = check_tls_identity(nullptr, kCert, kSpki, false);
    EXPECT_EQ(refused.verdict, IdentityVerdict::refuse_unknown);
    EXPECT_NE(refused.detail.find(kCert), std::string::npos);
    // An entry holding only a pending identity (or only layers) knows no key yet.
    HostIdentity layers_only{"", "", "", layers_of(protocol::ssl)};
    EXPECT_EQ(check_tls_identity(&layers_only, kCert, kSpki, true).verdict, IdentityVerdict::learn);
}

TEST(TlsIdentity, SameCertificateMatches) {
    const auto h = tls_host();
    EXPECT_EQ(check_tls_identity(&h, kCert, kSpki, false).verdict, IdentityVerdict::match);
}

TEST(TlsIdentity, NewCertificateForTheSameKeyIsARenewal) {
    const auto h = tls_host();
    const auto d = check_tls_identity(&h, kOtherCert, kSpki, false);
    EXPECT_EQ(d.verdict, IdentityVerdict::renewed);
    EXPECT_NE(d.detail.find(kOtherCert), std::string::npos);
}

TEST(TlsIdentity, NewKeyIsAChangeNamingBothFingerprints) {
    const auto h = tls_host();
    const auto d = check_tls_identity(&h, kOtherCert, kOtherSpki, true);
    EXPECT_EQ(d.verdict, IdentityVerdict::changed);
    EXPECT_NE(d.detail.find(kCert), std::string::npos);
    EXPECT_NE(d.detail.find(kOtherCert), std::string::npos);
}

TEST(TlsIdentity, HostKnownOnlyByItsRdpKeyCannotBeLearntAnewOverTls) {
    const auto h = rdp_host();
    EXPECT_EQ(check_tls_identity(&h, kCert, kSpki, true).verdict, IdentityVerdict::changed);
}

TEST(RdpIdentity, LearnMatchChange) {
    EXPECT_EQ(check_rdp_identity(nullptr, kRdpKey, true).verdict, IdentityVerdict::learn);
    EXPECT_EQ(check_rdp_identity(nullptr, kRdpKey, false).verdict, IdentityVerdict::refuse_unknown);
    const auto h = rdp_host();
    EXPECT_EQ(check_rdp_identity(&h, kRdpKey, false).verdict, IdentityVerdict::match);
    const auto d = check_rdp_identity(&h, kOtherRdpKey, true);
    EXPECT_EQ(d.verdict, IdentityVerdict::changed);
    EXPECT_NE(d.detail.find(kRdpKey), std::string::npos);
    EXPECT_NE(d.detail.find(kOtherRdpKey), std::string::npos);
    const auto t = tls_host();
    EXPECT_EQ(check_rdp_identity(&t, kRdpKey, true).verdict, IdentityVerdict::changed);
}
