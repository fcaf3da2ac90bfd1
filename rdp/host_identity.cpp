#include "rdp/host_identity.hpp"

#include "rdp/crypto.hpp"
#include "rdp/x224.hpp"

namespace rdpbridge::rdp {

SecurityLayers layers_of(uint32_t selected_protocol) {
    SecurityLayers l;
    if (selected_protocol == protocol::rdp) {
        l.rdp = true;
    } else {
        l.tls = true;
        l.nla = (selected_protocol & (protocol::hybrid | protocol::hybrid_ex)) != 0;
    }
    return l;
}

std::string to_string(const SecurityLayers& layers) {
    std::string s;
    auto add = [&s](bool on, const char* name) {
        if (!on) return;
        if (!s.empty()) s += '+';
        s += name;
    };
    add(layers.tls, "TLS");
    add(layers.nla, "NLA");
    add(layers.rdp, "RDP");
    return s.empty() ? "none" : s;
}

Result<std::string> rdp_key_sha256(const RsaPublicKey& key) {
    const uint8_t exponent[4] = {uint8_t(key.exponent), uint8_t(key.exponent >> 8),
                                 uint8_t(key.exponent >> 16), uint8_t(key.exponent >> 24)};
    const auto digest = crypto::sha256({ByteView(key.modulus), ByteView(exponent, 4)});
    if (!digest) return digest.error();
    return hex(ByteView(*digest));
}

namespace {

IdentityDecision first_use(const std::string& what, const std::string& sha256, bool learn) {
    return {learn ? IdentityVerdict::learn : IdentityVerdict::refuse_unknown,
            "nothing recorded for this host; it presents " + what + " sha256 " + sha256};
}

}  // namespace

IdentityDecision check_tls_identity(const HostIdentity* recorded, const std::string& cert_sha256,
                                    const std::string& spki_sha256, bool learn_first_use) {
    if (recorded == nullptr ||
        (recorded->tls_cert_sha256.empty() && recorded->rdp_key_sha256.empty()))
        return first_use("TLS certificate", cert_sha256, learn_first_use);
    if (recorded->tls_cert_sha256.empty()) {
        return {IdentityVerdict::changed,
                "recorded only a Standard RDP Security key (sha256 " + recorded->rdp_key_sha256 +
                    "); the host now presents a TLS certificate, sha256 " + cert_sha256};
    }
    if (recorded->tls_cert_sha256 == cert_sha256) return {IdentityVerdict::match, cert_sha256};
    if (!recorded->tls_spki_sha256.empty() && recorded->tls_spki_sha256 == spki_sha256) {
        return {IdentityVerdict::renewed,
                "certificate sha256 " + recorded->tls_cert_sha256 + " replaced by " + cert_sha256 +
                    " for the same key (spki sha256 " + spki_sha256 + ")"};
    }
    return {IdentityVerdict::changed, "recorded TLS certificate sha256 " +
                                          recorded->tls_cert_sha256 + ", presented sha256 " +
                                          cert_sha256 + " (a different key)"};
}

IdentityDecision check_rdp_identity(const HostIdentity* recorded, const std::string& key_sha256,
                                    bool learn_first_use) {
    if (recorded == nullptr ||
        (recorded->tls_cert_sha256.empty() && recorded->rdp_key_sha256.empty()))
        return first_use("an RDP key", key_sha256, learn_first_use);
    if (recorded->rdp_key_sha256.empty()) {
        return {IdentityVerdict::changed,
                "recorded only a TLS certificate (sha256 " + recorded->tls_cert_sha256 +
                    "); the host now presents a Standard RDP Security key, sha256 " + key_sha256};
    }
    if (recorded->rdp_key_sha256 == key_sha256) return {IdentityVerdict::match, key_sha256};
    return {IdentityVerdict::changed, "recorded RDP key sha256 " + recorded->rdp_key_sha256 +
                                          ", presented sha256 " + key_sha256};
}

}  // namespace rdpbridge::rdp
