// The Standard RDP Security leg, for a client that only ever speaks TLS: the host's key is
// checked before it gets the client random, the Security Exchange the client skips is sent for
// it, slow-path PDUs are sealed towards the host and opened from it, and the basic security
// headers are re-framed as a TLS client expects them (licensing PDUs keep theirs).
#include <bit>

#include "rdp/bridge.hpp"
#include "rdp/bridge_internal.hpp"
#include "rdp/capabilities.hpp"
#include "rdp/crypto.hpp"
#include "rdp/host_identity.hpp"
#include "rdp/licensing.hpp"
#include "rdp/mcs.hpp"
#include "rdp/security_header.hpp"
#include "rdp/session_info.hpp"

namespace rdpbridge::rdp {

using bridge_detail::append;

namespace {

constexpr std::size_t kClientRandomSize = 32;
constexpr std::size_t kRsaPadding = 8;

// The errorInfo of a Set Error Info PDU (Share Control + Share Data headers, pduType2 0x2F).
std::optional<uint32_t> set_error_info_code(const Bytes& share) {
    constexpr std::size_t kPduType2 = 6 + 8;
    constexpr std::size_t kErrorInfo = 6 + 12;
    if (share.size() < kErrorInfo + 4 || (share[2] & 0x0F) != 0x7) return std::nullopt;
    if (share[kPduType2] != kPduType2SetErrorInfo) return std::nullopt;
    return load_u32le(&share[kErrorInfo]);
}

// RC4 keys change before the 4097th PDU of a direction, and every 4096 after that.
bool first_after_key_update(uint32_t packets) {
    return packets > 1 && (packets - 1) % 4096 == 0;
}

}  // namespace

// The host's choice of method and its key decide whether the leg runs Standard RDP Security at
// all, and whether the host may have the client random.
std::optional<Failure> Bridge::accept_server_security(const ServerSecurity& security) {
    facts_.emplace_back("rdp_encryption_method", encryption_methods_to_string(security.method));
    facts_.emplace_back("rdp_encryption_level", to_string(security.level));
    if (security.method == encryption_method::none) {
        if (!params_.expected_rdp_key_sha256.empty()) {
            return Failure{Cause::host_identity_changed,
                           "recorded RDP key sha256 " + params_.expected_rdp_key_sha256 +
                               key_recorded_note() +
                               "; the host now selects no encryption and presents no key"};
        }
        // No encryption: the PDUs already have the form a TLS client expects.
        client_step_aside();
        host_step_aside();
    } else {
        if (std::popcount(security.method) != 1 || !(security.method & params_.allowed_methods))
            return Failure{Cause::host_selected_unoffered_method,
                           "offered " + encryption_methods_to_string(params_.allowed_methods) +
                               ", host chose " + encryption_methods_to_string(security.method)};
        if (!security.certificate)
            return Failure{Cause::host_mcs_malformed, "sc_security: no server certificate"};
        const auto& cert = *security.certificate;
        facts_.emplace_back(
            "rdp_certificate",
            std::string(cert.kind == CertificateKind::proprietary ? "proprietary" : "x509") +
                ", RSA " + std::to_string(cert.key.bits) + " bits" +
                (cert.signature_valid
                     ? (*cert.signature_valid ? ", signature valid" : ", signature INVALID")
                     : ""));
        if (auto refused = check_host_key(cert.key)) return refused;
        if (cert.key.modulus.size() < kClientRandomSize + 1)
            return Failure{Cause::host_mcs_malformed, "server RSA key too small"};
        const ByteView random(params_.client_random);
        auto keys = derive_session_keys(security.method, random, security.server_random);
        if (!keys) return Failure{Cause::host_mcs_malformed, keys.error().message()};
        auto session = StandardSecurity::create(*keys);
        if (!session) return Failure{Cause::internal_error, session.error().message()};
        auto encrypted = crypto::rsa_public_le(random, cert.key.modulus, cert.key.exponent);
        if (!encrypted) return Failure{Cause::host_mcs_malformed, encrypted.error().message()};
        security_ = std::make_unique<StandardSecurity>(std::move(*session));
        encrypted_client_random_ = std::move(*encrypted);
        encrypted_client_random_.resize(encrypted_client_random_.size() + kRsaPadding, 0);
        crypto::cleanse(params_.client_random.data(), params_.client_random.size());
    }
    return std::nullopt;
}

std::string Bridge::key_recorded_note() const {
    return params_.key_recorded.empty() ? "" : " (" + params_.key_recorded + ")";
}

// The host's key decides whether it gets the client random (and, under it, the Client Info with
// the user's credentials): nothing is sent to a host whose key differs from the expected one.
std::optional<Failure> Bridge::check_host_key(const RsaPublicKey& key) {
    const auto sha256 = rdp_key_sha256(key);
    if (!sha256) return Failure{Cause::internal_error, sha256.error().message()};
    const std::string& presented = *sha256;
    facts_.emplace_back("rdp_key_sha256", presented);
    const auto& expected = params_.expected_rdp_key_sha256;
    if (!expected.empty() && expected != presented) {
        return Failure{Cause::host_identity_changed, "recorded RDP key sha256 " + expected +
                                                         key_recorded_note() +
                                                         ", presented sha256 " + presented};
    }
    if (expected.empty() && params_.refuse_unknown_key) {
        return Failure{Cause::host_identity_unknown,
                       "nothing recorded for this host; it presents an RDP key, sha256 " +
                           presented + " (recorded as pending)"};
    }
    return std::nullopt;
}

void Bridge::note_key_updates() {
    if (security_->fips()) return;  // FIPS keys never change
    if (first_after_key_update(security_->packets_sealed()) && !sealed_update_noted_) {
        facts_.emplace_back(
            "rdp_key_update",
            "to host, after " + std::to_string(security_->packets_sealed() - 1) + " PDUs");
    }
    if (first_after_key_update(security_->packets_opened()) && !opened_update_noted_) {
        facts_.emplace_back(
            "rdp_key_update",
            "from host, after " + std::to_string(security_->packets_opened() - 1) + " PDUs");
    }
    sealed_update_noted_ = first_after_key_update(security_->packets_sealed());
    opened_update_noted_ = first_after_key_update(security_->packets_opened());
}

std::optional<Failure> Bridge::security_exchange(const mcs::SendData& carrier, Bytes& out) {
    Bytes body;
    Writer w(body);
    // No SEC_LICENSE_ENCRYPT_SC: we ask the host not to encrypt licensing PDUs (and cope if it
    // does anyway).
    w.u16le(sec::exchange_pkt);
    w.u16le(0);
    w.u32le(uint32_t(encrypted_client_random_.size()));
    w.bytes(encrypted_client_random_);
    mcs::SendData header = carrier;
    auto frame = mcs::encode_send_data(header, body);
    if (!frame) return Failure{Cause::internal_error, frame.error().message()};
    append(out, *frame);
    exchange_sent_ = true;
    facts_.emplace_back(
        "security_exchange",
        "client random sent (" + std::to_string(encrypted_client_random_.size()) + " bytes, RSA)");
    facts_.emplace_back("established", "");
    return std::nullopt;
}

std::optional<Failure> Bridge::append_sealed(const mcs::SendData& header, uint16_t flags,
                                             ByteView plaintext, Bytes& out) {
    const auto sealed = security_->seal(plaintext);
    if (!sealed) return Failure{Cause::internal_error, sealed.error().message()};
    note_key_updates();
    Bytes body;
    body.reserve(plaintext.size() + sec::kFipsSize + 8);
    Writer w(body);
    w.u16le(uint16_t(flags | sec::encrypt));
    w.u16le(0);
    if (security_->fips()) {
        w.u16le(sec::kFipsHeaderLength);
        w.u8(sec::kFipsVersion);
        w.u8(sealed->fips_padding);
    }
    w.bytes(sealed->mac);
    w.bytes(sealed->data);
    auto frame = mcs::encode_send_data(header, body);
    if (!frame) return Failure{Cause::client_mcs_malformed, frame.error().message()};
    append(out, *frame);
    return std::nullopt;
}

std::optional<Failure> Bridge::client_send_data(const Bytes& pdu, const mcs::SendData& sd,
                                                Bytes& out) {
    if (filter_ && (!standard_security() || exchange_sent_)) {
        bool handled = false;
        if (auto failure = channel_policy(sd, out, handled)) return failure;
        if (handled) return std::nullopt;
    }
    if (!standard_security()) {
        if (auto_logon_) return inject_plain(pdu, sd, out);
        append(out, pdu);
        return std::nullopt;
    }
    if (!exchange_sent_) {
        // A TLS client skips the Security Exchange; the host expects it right before the Client
        // Info PDU, which is this client's first Send Data Request.
        if (auto failure = security_exchange(sd, out)) return failure;
    }
    // Under TLS only the Client Info and licensing PDUs (all sent before the host's first
    // non-licensing PDU) carry a basic security header.
    if (licensing_done_) {
        if (auto_logon_) stop_awaiting_client_info("the host's session began before a Client Info");
        return append_sealed(sd, 0, sd.user_data, out);
    }
    Reader r(sd.user_data);
    auto flags = r.u16le("security_header.flags");
    if (!flags) return Failure{Cause::client_mcs_malformed, flags.error().message()};
    if (auto s = r.skip(2, "security_header.flags_hi"); !s)
        return Failure{Cause::client_mcs_malformed, s.error().message()};
    const uint16_t kept = *flags & uint16_t(~(sec::encrypt | sec::secure_checksum));
    if (auto_logon_) {
        if (*flags & sec::info_pkt) {
            // The client's Client Info takes the delegated credentials before it is sealed.
            std::optional<Secret> info;
            if (auto failure = rewrite_client_info(r.rest(), info)) return failure;
            if (info) return append_sealed(sd, kept, info->view(), out);
        } else {
            stop_awaiting_client_info("the client's first Send Data Request is no Client Info");
        }
    }
    if ((*flags & sec::license_pkt) && !host_encrypts_licensing_) {
        append(out, pdu);  // licensing PDUs stay in the clear unless the host asked otherwise
        return std::nullopt;
    }
    return append_sealed(sd, kept, r.rest(), out);
}

std::optional<Failure> Bridge::host_send_data(const Bytes& pdu, const mcs::SendData& sd,
                                              Bytes& out) {
    if (!standard_security() || !exchange_sent_) {
        if (filter_ && !standard_security() && !demand_active_seen_ &&
            caps::is_demand_active(sd.user_data)) {
            // Towards a TLS (or unencrypted) host a slow-path PDU has no security header.
            Bytes share(sd.user_data.begin(), sd.user_data.end());
            if (auto failure = demand_active(share)) return failure;
            if (auto s = mcs::append_send_data(sd, share, out); !s)
                return Failure{Cause::host_mcs_malformed, s.error().message()};
            return std::nullopt;
        }
        append(out, pdu);
        return std::nullopt;
    }
    Reader r(sd.user_data);
    auto flags = r.u16le("security_header.flags");
    if (!flags) return Failure{Cause::host_mcs_malformed, flags.error().message()};
    if (auto s = r.skip(2, "security_header.flags_hi"); !s)
        return Failure{Cause::host_mcs_malformed, s.error().message()};
    Bytes plain;
    if (*flags & sec::encrypt) {
        uint8_t padding = 0;
        if (security_->fips()) {
            auto fips = r.bytes(4, "security_header.fips");
            if (!fips) return Failure{Cause::host_mcs_malformed, fips.error().message()};
            padding = (*fips)[3];
        }
        auto mac = r.bytes(sec::kMacSize, "security_header.mac");
        if (!mac) return Failure{Cause::host_mcs_malformed, mac.error().message()};
        plain.assign(r.rest().begin(), r.rest().end());
        const auto opened =
            security_->open(plain, mac->data(), *flags & sec::secure_checksum, padding);
        if (!opened) return Failure{Cause::internal_error, opened.error().message()};
        if (*opened == Opened::mac_mismatch) {
            return Failure{Cause::host_mac_mismatch,
                           "MAC of host PDU #" + std::to_string(security_->packets_opened()) +
                               " on channel " + std::to_string(sd.channel) + " does not verify"};
        }
        note_key_updates();
    } else {
        plain.assign(r.rest().begin(), r.rest().end());
    }

    uint16_t keep = 0;  // the basic header flags a TLS client expects, if any
    const auto license = licensing::message_name(plain);
    if ((*flags & sec::license_pkt) || (!licensing_done_ && license)) {
        keep = sec::license_pkt;
        if (*flags & sec::license_encrypt) host_encrypts_licensing_ = true;
        facts_.emplace_back(
            "licensing", license.value_or("?") + ((*flags & sec::encrypt) ? " (decrypted)" : ""));
    } else if (*flags & sec::redirection_pkt) {
        facts_.emplace_back("withheld",
                            "Server Redirection PDU: it would send the client around "
                            "the gateway");
        return std::nullopt;
    } else {
        finish_licensing();
        if (auto failure = demand_active(plain)) return failure;
        keep = *flags & (sec::autodetect_req | sec::heartbeat | sec::transport_req);
        if (auto code = set_error_info_code(plain)) note_error_info(*code);
        if (session_info::strip_autoreconnect_cookie(plain))
            facts_.emplace_back("withheld",
                                "auto-reconnect cookie (keyed with the host's random, "
                                "which the client never saw)");
    }
    Bytes body;
    if (keep) {
        Writer w(body);
        w.u16le(keep);
        w.u16le(0);
    }
    append(body, plain);
    auto frame = mcs::encode_send_data(sd, body);
    if (!frame) return Failure{Cause::host_mcs_malformed, frame.error().message()};
    append(out, *frame);
    return std::nullopt;
}

// The host's first PDU that is not licensing: its connection sequence has moved on to the
// capability exchange, so the host is no longer waiting on anything the gateway translates.
void Bridge::finish_licensing() {
    if (licensing_done_) return;
    licensing_done_ = true;
    facts_.emplace_back("licensing_done", "");
}

}  // namespace rdpbridge::rdp
