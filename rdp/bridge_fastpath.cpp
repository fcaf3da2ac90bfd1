// Fast-path PDUs on the Standard RDP Security leg: sealed towards the host, opened from it, and
// passed on with the header a TLS peer expects (no encryption flags, no MAC).
#include "rdp/bridge.hpp"
#include "rdp/bridge_internal.hpp"
#include "rdp/fastpath.hpp"
#include "rdp/security_header.hpp"

namespace rdpbridge::rdp {

using bridge_detail::append;

std::optional<Failure> Bridge::client_fastpath(const Bytes& pdu, Bytes& out) {
    if (!standard_security()) {
        append(out, pdu);
        return std::nullopt;
    }
    auto in = fastpath::decode(pdu, false);
    if (!in) return Failure{Cause::client_mcs_malformed, in.error().message()};
    const auto sealed = security_->seal(in->data);
    if (!sealed) return Failure{Cause::internal_error, sealed.error().message()};
    note_key_updates();
    fastpath::Pdu p;
    p.header = uint8_t((in->header & 0x3F) | (sec::fastpath_encrypted << 6));
    p.mac = sealed->mac;
    if (security_->fips()) p.fips_padding = sealed->fips_padding;
    auto encoded = fastpath::encode(p, sealed->data);
    if (!encoded) return Failure{Cause::client_mcs_malformed, encoded.error().message()};
    append(out, *encoded);
    return std::nullopt;
}

std::optional<Failure> Bridge::host_fastpath(const Bytes& pdu, Bytes& out) {
    if (!standard_security()) {
        append(out, pdu);
        return std::nullopt;
    }
    auto in = fastpath::decode(pdu, security_->fips());
    if (!in) return Failure{Cause::host_mcs_malformed, in.error().message()};
    finish_licensing();
    Bytes plain(in->data.begin(), in->data.end());
    if (in->flags() & sec::fastpath_encrypted) {
        const auto opened =
            security_->open(plain, in->mac->data(), in->flags() & sec::fastpath_secure_checksum,
                            in->fips_padding.value_or(0));
        if (!opened) return Failure{Cause::internal_error, opened.error().message()};
        if (*opened == Opened::mac_mismatch) {
            return Failure{Cause::host_mac_mismatch,
                           "MAC of host fast-path PDU #" +
                               std::to_string(security_->packets_opened()) + " does not verify"};
        }
        note_key_updates();
    }
    fastpath::Pdu p;
    p.header = in->header & 0x3F;
    auto encoded = fastpath::encode(p, plain);
    if (!encoded) return Failure{Cause::host_mcs_malformed, encoded.error().message()};
    append(out, *encoded);
    return std::nullopt;
}

}  // namespace rdpbridge::rdp
