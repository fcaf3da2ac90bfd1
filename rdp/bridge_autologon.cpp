// Auto-logon: the credentials the client delegated over NLA go into the host's Client Info, and
// the wait for that Client Info ends as soon as something shows it is not coming.
#include "rdp/bridge.hpp"
#include "rdp/bridge_internal.hpp"
#include "rdp/client_info.hpp"
#include "rdp/mcs.hpp"
#include "rdp/security_header.hpp"

namespace rdpbridge::rdp {

using bridge_detail::append;

void Bridge::set_auto_logon(credssp::PasswordCredentials credentials) {
    auto_logon_.emplace(std::move(credentials));
}

void Bridge::stop_awaiting_client_info(std::string reason) {
    auto_logon_.reset();  // wipes the password
    facts_.emplace_back("credentials_not_injected", std::move(reason));
    client_maybe_transparent();
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
    client_maybe_transparent();
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

}  // namespace rdpbridge::rdp
