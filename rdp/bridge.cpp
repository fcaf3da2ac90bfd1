// The spine of the Bridge state machine: the two byte streams are framed here and each PDU is
// sent on to the part that translates it (bridge_connect.cpp, bridge_autologon.cpp,
// bridge_rdp_security.cpp, bridge_fastpath.cpp); once a direction needs no translation its bytes
// pass straight through, with only the host's last words watched.
#include "rdp/bridge.hpp"

#include "rdp/bridge_internal.hpp"
#include "rdp/crypto.hpp"
#include "rdp/error_info.hpp"
#include "rdp/mcs.hpp"
#include "rdp/x224.hpp"

namespace rdpbridge::rdp {

using bridge_detail::append;

namespace {

// The client's MCS PDUs between the Connect Initial and the Client Info: Erect Domain, Attach
// User and a Channel Join per channel (user, I/O, message channel and at most 31 static ones).
// Waiting for the Client Info ends after this many; each PDU is handled as it completes, so
// the wait never buffers more than one PDU.
constexpr std::size_t kMaxPdusBeforeClientInfo = 64;

// Feeds `in` to a framer and runs `handle` on each complete PDU; once `transparent` becomes
// true the rest of the buffered bytes go out untouched. A framer that wipes (the client's
// stream may carry a password) has each PDU's copy wiped here too, once handled.
// `rest` sees the bytes that follow the PDU after which the direction turned transparent.
template <class Handle, class Rest>
std::optional<Failure> drain(Framer& framer, const bool& transparent, ByteView in, Bytes& out,
                             Cause malformed, Handle handle, Rest rest) {
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
    const Bytes after = framer.take_rest();
    rest(ByteView(after));
    append(out, after);
    return std::nullopt;
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

Bridge::Bridge(const BridgeParams& params)
    : params_(params), client_framer_(params.max_pdu, /*wipe=*/true), host_framer_(params.max_pdu) {
    if (params.channels.filters_channels() || params.channels.filters_devices())
        filter_ = std::make_unique<ChannelFilter>(params.channels);
}

Bridge::~Bridge() {
    crypto::cleanse(params_.client_random.data(), params_.client_random.size());
}

void Bridge::client_step_aside() {
    client_may_step_aside_ = true;
    client_maybe_transparent();
}

// The client's stream is read for as long as anything awaits in it: the Client Info for
// auto-logon, or, with a channel policy, the client's channel data for the whole session.
void Bridge::client_maybe_transparent() {
    if (client_may_step_aside_ && !auto_logon_ && !(filter_ && filter_->reads_client_stream()))
        client_transparent_ = true;
}

// The host's stream stays framed while the channel policy still has business in it: the
// gateway's own Channel Join Confirms go in between two of its PDUs until the client has joined
// every channel, and with device rules its Demand Active is edited (capabilities.hpp).
bool Bridge::host_stream_needed() const {
    if (!filter_) return false;
    const bool joining = filter_->removed_any() && (!joins_done_ || !held_confirms_.empty());
    return joining || (filter_->reads_device_lists() && !demand_active_seen_);
}

void Bridge::host_step_aside() {
    host_may_step_aside_ = true;
    if (!host_stream_needed()) host_transparent_ = true;
}

std::vector<Fact> Bridge::take_facts() {
    std::vector<Fact> f;
    f.swap(facts_);
    return f;
}

std::optional<Failure> Bridge::from_client(ByteView in, Bytes& to_host) {
    return drain(
        client_framer_, client_transparent_, in, to_host, Cause::client_mcs_malformed,
        [this](const Bytes& pdu, Bytes& out) { return client_pdu(pdu, out); }, [](ByteView) {});
}

std::optional<Failure> Bridge::from_host(ByteView in, Bytes& to_client) {
    if (host_transparent_) {
        watch_transparent_host(in);
        to_client.insert(to_client.end(), in.begin(), in.end());
        return std::nullopt;
    }
    return drain(
        host_framer_, host_transparent_, in, to_client, Cause::host_mcs_malformed,
        [this](const Bytes& pdu, Bytes& out) { return host_pdu(pdu, out); },
        [this](ByteView rest) { watch_transparent_host(rest); });
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
        joins_done_ = true;
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
        if (filter_ && frame->type == mcs::DomainPdu::channel_join_request)
            return join_request(pdu, out);
        append(out, pdu);
        return std::nullopt;
    }
    joins_done_ = true;
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
    std::optional<Failure> failure;
    if (frame->type == mcs::DomainPdu::channel_join_confirm) {
        append(out, pdu);
        join_confirm(out);
    } else if (frame->type != mcs::DomainPdu::send_data_indication) {
        append(out, pdu);
    } else {
        failure = host_send_data(pdu, *frame->send_data, out);
    }
    if (host_may_step_aside_ && !host_stream_needed()) host_transparent_ = true;
    return failure;
}

}  // namespace rdpbridge::rdp
