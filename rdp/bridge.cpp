#include "rdp/bridge.hpp"

#include <algorithm>
#include <bit>
#include <cctype>

#include "rdp/client_info.hpp"
#include "rdp/crypto.hpp"
#include "rdp/error_info.hpp"
#include "rdp/fastpath.hpp"
#include "rdp/host_identity.hpp"
#include "rdp/licensing.hpp"
#include "rdp/mcs.hpp"
#include "rdp/security_header.hpp"
#include "rdp/server_security.hpp"
#include "rdp/session_info.hpp"
#include "rdp/x224.hpp"

namespace rdpbridge::rdp {

namespace {

constexpr std::size_t kClientRandomSize = 32;
constexpr std::size_t kRsaPadding = 8;
// The client's MCS PDUs between the Connect Initial and the Client Info: Erect Domain, Attach
// User and a Channel Join per channel (user, I/O, message channel and at most 31 static ones).
// Waiting for the Client Info ends after this many; each PDU is handled as it completes, so
// the wait never buffers more than one PDU.
constexpr std::size_t kMaxPdusBeforeClientInfo = 64;

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
    return s;
}

bool iequals(const std::string& a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::toupper(static_cast<unsigned char>(x)) == y;
    });
}

void append(Bytes& out, ByteView b) {
    out.insert(out.end(), b.begin(), b.end());
}

// Feeds `in` to a framer and runs `handle` on each complete PDU; once `transparent` becomes
// true the rest of the buffered bytes go out untouched. A framer that wipes (the client's
// stream may carry a password) has each PDU's copy wiped here too, once handled.
template <class Handle>
std::optional<Failure> drain(Framer& framer, const bool& transparent, ByteView in, Bytes& out,
                             Cause malformed, Handle handle) {
    if (transparent) {
        append(out, in);
        return std::nullopt;
    }
    framer.feed(in);
    while (!transparent) {
        auto pdu = framer.next();
        if (!pdu) return Failure{malformed, pdu.error().message()};
        if (!*pdu) return std::nullopt;
        auto failure = handle(**pdu, out);
        if (framer.wipes()) crypto::cleanse((*pdu)->data(), (*pdu)->size());
        if (failure) return failure;
    }
    append(out, framer.take_rest());
    return std::nullopt;
}

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

void Bridge::note_error_info(uint32_t code) {
    facts_.emplace_back("set_error_info", error_info_to_string(code));
}

void Bridge::watch_transparent_host(ByteView in) {
    if (!host_watching_) return;
    if (auto error = host_watch_.feed(in)) {
        // Watching is best effort: the bytes already went to the client untouched.
        facts_.emplace_back("watch_stopped", error->message());
        host_watching_ = false;
        return;
    }
    for (const auto& e : host_watch_.take_events()) {
        if (e.kind == WatchEvent::Kind::set_error_info)
            note_error_info(e.code);
        else
            facts_.emplace_back("disconnect_provider_ultimatum", std::to_string(e.code));
    }
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

Bridge::Bridge(const BridgeParams& params)
    : params_(params),
      client_framer_(params.max_pdu, /*wipe=*/true),
      host_framer_(params.max_pdu) {}

Bridge::~Bridge() {
    crypto::cleanse(params_.client_random.data(), params_.client_random.size());
}

void Bridge::set_auto_logon(credssp::PasswordCredentials credentials) {
    auto_logon_.emplace(std::move(credentials));
}

void Bridge::client_step_aside() {
    client_may_step_aside_ = true;
    if (!auto_logon_) client_transparent_ = true;
}

void Bridge::stop_awaiting_client_info(std::string reason) {
    auto_logon_.reset();  // wipes the password
    facts_.emplace_back("credentials_not_injected", std::move(reason));
    if (client_may_step_aside_) client_transparent_ = true;
}

// The TS_INFO_PACKET with the delegated credentials; `rewritten` stays empty (and the caller
// passes the client's own) when this Client Info cannot take them.
std::optional<Failure> Bridge::rewrite_client_info(ByteView info_packet,
                                                   std::optional<Secret>& rewritten) {
    auto decoded = client_info::decode(info_packet);
    if (!decoded) return Failure{Cause::client_mcs_malformed, decoded.error().message()};
    if (!decoded->unicode()) {
        stop_awaiting_client_info("Client Info without INFO_UNICODE (ANSI, code page " +
                                  std::to_string(decoded->code_page) + ")");
        return std::nullopt;
    }
    auto info = client_info::with_credentials(info_packet, *auto_logon_);
    if (!info) return Failure{Cause::internal_error, info.error().message()};
    rewritten.emplace(std::move(*info));
    facts_.emplace_back("credentials_injected", auto_logon_->user);
    auto_logon_.reset();  // wipes the password
    if (client_may_step_aside_) client_transparent_ = true;
    return std::nullopt;
}

// Towards a host without Standard RDP Security the Client Info travels as the client wrote it,
// with a basic security header (SEC_INFO_PKT) and no encryption.
std::optional<Failure> Bridge::inject_plain(const Bytes& pdu, const mcs::SendData& sd, Bytes& out) {
    if (sd.user_data.size() < sec::kBasicSize ||
        !((sd.user_data[0] | sd.user_data[1] << 8) & sec::info_pkt)) {
        stop_awaiting_client_info("the client's first Send Data Request is no Client Info");
        append(out, pdu);
        return std::nullopt;
    }
    std::optional<Secret> info;
    if (auto failure = rewrite_client_info(sd.user_data.subspan(sec::kBasicSize), info))
        return failure;
    if (!info) {
        append(out, pdu);
        return std::nullopt;
    }
    Bytes user_data;
    user_data.reserve(sec::kBasicSize + info->size());
    user_data.insert(user_data.end(), sd.user_data.begin(), sd.user_data.begin() + sec::kBasicSize);
    append(user_data, info->view());
    const Secret body(std::move(user_data));
    // Room for the frame and whatever follows it in this call, so that neither moves the
    // password to a new buffer and leaves the old one unwiped.
    out.reserve(out.size() + body.size() + 16 + client_framer_.buffered());
    auto frame = mcs::append_send_data(sd, body.view(), out);
    if (!frame) return Failure{Cause::client_mcs_malformed, frame.error().message()};
    return std::nullopt;
}

std::vector<Fact> Bridge::take_facts() {
    std::vector<Fact> f;
    f.swap(facts_);
    return f;
}

std::optional<Failure> Bridge::from_client(ByteView in, Bytes& to_host) {
    return drain(client_framer_, client_transparent_, in, to_host, Cause::client_mcs_malformed,
                 [this](const Bytes& pdu, Bytes& out) { return client_pdu(pdu, out); });
}

std::optional<Failure> Bridge::from_host(ByteView in, Bytes& to_client) {
    if (host_transparent_) {
        watch_transparent_host(in);
        to_client.insert(to_client.end(), in.begin(), in.end());
        return std::nullopt;
    }
    return drain(host_framer_, host_transparent_, in, to_client, Cause::host_mcs_malformed,
                 [this](const Bytes& pdu, Bytes& out) { return host_pdu(pdu, out); });
}

namespace {

// The Send Data PDU inside a slow-path frame, or nullopt for the other MCS domain PDUs (erect
// domain, attach user, channel join, disconnect), which pass between the legs unchanged.
struct DomainFrame {
    mcs::DomainPdu type;
    std::optional<mcs::SendData> send_data;    // when type is the carrier asked for
    std::optional<uint8_t> disconnect_reason;  // when type is a Disconnect Provider Ultimatum
};

Result<DomainFrame> domain_frame(const Bytes& pdu, mcs::DomainPdu carrier) {
    auto payload = unwrap_x224_data(pdu);
    if (!payload) return payload.error();
    auto type = mcs::domain_pdu_type(*payload);
    if (!type) return type.error();
    DomainFrame frame{*type, std::nullopt, std::nullopt};
    if (*type == mcs::DomainPdu::disconnect_provider_ultimatum) {
        if (auto reason = mcs::disconnect_reason(*payload)) frame.disconnect_reason = *reason;
    }
    if (*type != carrier) return frame;
    auto sd = mcs::decode_send_data(*payload);
    if (!sd) return sd.error();
    frame.send_data = *sd;
    return frame;
}

}  // namespace

std::optional<Failure> Bridge::client_pdu(const Bytes& pdu, Bytes& out) {
    if (pdu[0] != kTpktVersion) {
        if (auto_logon_ && client_connected_)
            stop_awaiting_client_info("fast-path input came before a Client Info");
        return client_fastpath(pdu, out);
    }
    if (!client_connected_) return connect_initial(pdu, out);
    auto frame = domain_frame(pdu, mcs::DomainPdu::send_data_request);
    if (!frame) return Failure{Cause::client_mcs_malformed, frame.error().message()};
    if (frame->type != mcs::DomainPdu::send_data_request) {
        if (auto_logon_ && ++pdus_awaiting_client_info_ >= kMaxPdusBeforeClientInfo)
            stop_awaiting_client_info(std::to_string(kMaxPdusBeforeClientInfo) +
                                      " MCS PDUs came without a Client Info");
        append(out, pdu);
        return std::nullopt;
    }
    return client_send_data(pdu, *frame->send_data, out);
}

std::optional<Failure> Bridge::host_pdu(const Bytes& pdu, Bytes& out) {
    if (pdu[0] != kTpktVersion) return host_fastpath(pdu, out);
    if (!host_connected_) return connect_response(pdu, out);
    auto frame = domain_frame(pdu, mcs::DomainPdu::send_data_indication);
    if (!frame) return Failure{Cause::host_mcs_malformed, frame.error().message()};
    if (frame->disconnect_reason)
        facts_.emplace_back("disconnect_provider_ultimatum",
                            std::to_string(*frame->disconnect_reason));
    if (frame->type != mcs::DomainPdu::send_data_indication) {
        append(out, pdu);
        return std::nullopt;
    }
    return host_send_data(pdu, *frame->send_data, out);
}

std::optional<Failure> Bridge::connect_initial(const Bytes& pdu, Bytes& out) {
    auto payload = unwrap_x224_data(pdu);
    if (!payload) return Failure{Cause::client_mcs_malformed, payload.error().message()};
    auto ci = mcs::decode_connect_initial(*payload);
    if (!ci) return Failure{Cause::client_mcs_malformed, ci.error().message()};
    if (const auto* net = ci->conference.find(gcc::block::cs_net)) {
        auto names = gcc::channel_names(*net);
        if (!names) return Failure{Cause::client_mcs_malformed, names.error().message()};
        facts_.emplace_back("client_channels", join(*names));
        const bool t120 = std::any_of(names->begin(), names->end(),
                                      [](const std::string& n) { return iequals(n, "MS_T120"); });
        if (t120 && params_.refuse_ms_t120) {
            return Failure{
                Cause::client_requested_ms_t120,
                "CS_NET asks for static channel MS_T120 (channels: " + join(*names) + ")"};
        }
    }
    auto* core = ci->conference.find(gcc::block::cs_core);
    if (!core) return Failure{Cause::client_mcs_malformed, "gcc.cs_core: block missing"};
    bool changed = false;
    // The client wrote what the gateway selected; the host checks it against its own choice.
    const auto seen = gcc::server_selected_protocol(*core);
    if (seen && *seen != params_.back_selected) {
        gcc::set_server_selected_protocol(*core, params_.back_selected);
        facts_.emplace_back("rewrote", "CS_CORE.serverSelectedProtocol " +
                                           protocols_to_string(*seen) + " -> " +
                                           protocols_to_string(params_.back_selected));
        changed = true;
    }
    if (params_.back_selected == protocol::rdp) {
        // Offer the host exactly the methods its profile allows; a TLS client offers anything.
        Bytes body(8, 0);
        store_u32le(body.data(), params_.allowed_methods);
        if (auto* security = ci->conference.find(gcc::block::cs_security))
            security->body = body;
        else
            ci->conference.blocks.push_back({gcc::block::cs_security, body});
        changed = true;
    }
    client_connected_ = true;
    if (!changed) {
        append(out, pdu);
    } else {
        auto encoded = mcs::encode(*ci);
        if (!encoded) return Failure{Cause::client_mcs_malformed, encoded.error().message()};
        append(out, *encoded);
    }
    if (params_.back_selected != protocol::rdp) client_step_aside();
    return std::nullopt;
}

std::optional<Failure> Bridge::connect_response(const Bytes& pdu, Bytes& out) {
    auto payload = unwrap_x224_data(pdu);
    if (!payload) return Failure{Cause::host_mcs_malformed, payload.error().message()};
    auto cr = mcs::decode_connect_response(*payload);
    if (!cr) return Failure{Cause::host_mcs_malformed, cr.error().message()};
    auto* core = cr->conference.find(gcc::block::sc_core);
    if (!core) return Failure{Cause::host_mcs_malformed, "gcc.sc_core: block missing"};
    host_connected_ = true;
    bool changed = false;
    // The host echoes what the gateway requested; clients such as mstsc compare it with what
    // they requested themselves, as a downgrade check.
    const auto seen = gcc::client_requested_protocols(*core);
    if (seen && *seen != params_.client_requested) {
        gcc::set_client_requested_protocols(*core, params_.client_requested);
        facts_.emplace_back("rewrote", "SC_CORE.clientRequestedProtocols " +
                                           protocols_to_string(*seen) + " -> " +
                                           protocols_to_string(params_.client_requested));
        changed = true;
    }
    if (params_.back_selected == protocol::rdp) {
        auto* block = cr->conference.find(gcc::block::sc_security);
        if (!block) return Failure{Cause::host_mcs_malformed, "gcc.sc_security: block missing"};
        auto security = decode_server_security(*block);
        if (!security) return Failure{Cause::host_mcs_malformed, security.error().message()};
        facts_.emplace_back("rdp_encryption_method",
                            encryption_methods_to_string(security->method));
        facts_.emplace_back("rdp_encryption_level", to_string(security->level));
        if (security->method == encryption_method::none) {
            if (!params_.expected_rdp_key_sha256.empty()) {
                return Failure{Cause::host_identity_changed,
                               "recorded RDP key sha256 " + params_.expected_rdp_key_sha256 +
                                   key_recorded_note() +
                                   "; the host now selects no encryption and presents no key"};
            }
            // No encryption: the PDUs already have the form a TLS client expects.
            client_step_aside();
            host_transparent_ = true;
        } else {
            if (std::popcount(security->method) != 1 ||
                !(security->method & params_.allowed_methods))
                return Failure{Cause::host_selected_unoffered_method,
                               "offered " + encryption_methods_to_string(params_.allowed_methods) +
                                   ", host chose " +
                                   encryption_methods_to_string(security->method)};
            if (!security->certificate)
                return Failure{Cause::host_mcs_malformed, "sc_security: no server certificate"};
            const auto& cert = *security->certificate;
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
            auto keys = derive_session_keys(security->method, random, security->server_random);
            if (!keys) return Failure{Cause::host_mcs_malformed, keys.error().message()};
            security_ = std::make_unique<StandardSecurity>(*keys);
            encrypted_client_random_ =
                crypto::rsa_public_le(random, cert.key.modulus, cert.key.exponent);
            encrypted_client_random_.resize(encrypted_client_random_.size() + kRsaPadding, 0);
            crypto::cleanse(params_.client_random.data(), params_.client_random.size());
        }
        *block = tls_server_security();
        changed = true;
    }
    if (!security_) facts_.emplace_back("established", "");
    if (!changed) {
        append(out, pdu);
    } else {
        auto encoded = mcs::encode(*cr);
        if (!encoded) return Failure{Cause::host_mcs_malformed, encoded.error().message()};
        append(out, *encoded);
    }
    if (params_.back_selected != protocol::rdp) host_transparent_ = true;
    return std::nullopt;
}

std::string Bridge::key_recorded_note() const {
    return params_.key_recorded.empty() ? "" : " (" + params_.key_recorded + ")";
}

// The host's key decides whether it gets the client random (and, under it, the Client Info with
// the user's credentials): nothing is sent to a host whose key differs from the expected one.
std::optional<Failure> Bridge::check_host_key(const RsaPublicKey& key) {
    const std::string presented = rdp_key_sha256(key);
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
    const Sealed sealed = security_->seal(plaintext);
    note_key_updates();
    Bytes body;
    body.reserve(plaintext.size() + sec::kFipsSize + 8);
    Writer w(body);
    w.u16le(uint16_t(flags | sec::encrypt));
    w.u16le(0);
    if (security_->fips()) {
        w.u16le(sec::kFipsHeaderLength);
        w.u8(sec::kFipsVersion);
        w.u8(sealed.fips_padding);
    }
    w.bytes(sealed.mac);
    w.bytes(sealed.data);
    auto frame = mcs::encode_send_data(header, body);
    if (!frame) return Failure{Cause::client_mcs_malformed, frame.error().message()};
    append(out, *frame);
    return std::nullopt;
}

std::optional<Failure> Bridge::client_send_data(const Bytes& pdu, const mcs::SendData& sd,
                                                Bytes& out) {
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
        if (!security_->open(plain, mac->data(), *flags & sec::secure_checksum, padding)) {
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

std::optional<Failure> Bridge::client_fastpath(const Bytes& pdu, Bytes& out) {
    if (!standard_security()) {
        append(out, pdu);
        return std::nullopt;
    }
    auto in = fastpath::decode(pdu, false);
    if (!in) return Failure{Cause::client_mcs_malformed, in.error().message()};
    const Sealed sealed = security_->seal(in->data);
    note_key_updates();
    fastpath::Pdu p;
    p.header = uint8_t((in->header & 0x3F) | (sec::fastpath_encrypted << 6));
    p.mac = sealed.mac;
    if (security_->fips()) p.fips_padding = sealed.fips_padding;
    auto encoded = fastpath::encode(p, sealed.data);
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
        if (!security_->open(plain, in->mac->data(), in->flags() & sec::fastpath_secure_checksum,
                             in->fips_padding.value_or(0))) {
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
