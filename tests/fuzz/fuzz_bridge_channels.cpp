// fuzz-requires: bridge_channels.cpp channel_filter.cpp
// The Bridge with a channel policy (BridgeParams::channels): both directions fed in random-size
// chunks, interleaved, as the relay does. Denied static channels leave the client's CS_NET, the
// host's SC_NET gets the gateway's ids back, the client's joins of removed channels are
// answered by the bridge (take_replies), its data there dropped, and with device rules the
// rdpdr Device List Announce loses the denied devices.
//
// Input: u8 mode (bits 0-2: channel rules, see policy(); bit 3: the host runs Standard RDP
// Security, else TLS; bit 4: deny drives and smart cards; bit 5: allow only printers; bit 6:
// a cooperative peer pair, see cooperate(), whose client sends nothing after its Connect
// Initial before the host's Connect Response is in), u8 choice (a name the rules list), u32
// chunking seed, u16 length of the client stream, the client stream (MCS Connect Initial
// first), the host stream (the rest), fed once the bridge has sent the host something.
// Oracles:
//  - a failure carries one of its direction's causes;
//  - take_replies() is always whole TPKT frames, each a Channel Join Confirm of a channel the
//    bridge gave the client an id of its own for;
//  - the host's view (what the bridge sends it, read as far as it frames): its CS_NET names no
//    channel the policy denies; no Channel Join Request or Send Data Request for a channel id
//    of the gateway's; towards a TLS host, on every channel the host's CS_NET calls rdpdr,
//    reassembled as a lenient host does (channel_model.hpp), no Device List Announce with a
//    denied device and nothing compressed the policy could not read;
//  - the client's view: once a channel is removed, its SC_NET has an id for every channel of
//    its CS_NET, the gateway's for the removed ones.
#include <algorithm>
#include <array>
#include <initializer_list>
#include <map>
#include <set>

#include "rdp/bridge.hpp"
#include "rdp/gcc_network.hpp"
#include "rdp/mcs.hpp"
#include "rdp/mcs_domain.hpp"
#include "rdp/tpkt.hpp"
#include "rdp/x224.hpp"
#include "tests/fuzz/channel_model.hpp"
#include "tests/fuzz/harness.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::fuzz::expect_channel_passes;
using rdpbridge::fuzz::hex_prefix;
using rdpbridge::fuzz::iequal_ascii;

namespace {

constexpr uint16_t kGateway = ChannelFilter::kFirstGatewayChannel;

const std::array<std::string, 6> kNames{"rdpdr", "rdpsnd", "CLIPRDR", "drdynvc", "rail", "MS_T120"};

ChannelPolicy policy(uint8_t mode, uint8_t choice) {
    ChannelPolicy p;
    switch (mode & 7) {
        case 0:  // devices only
            p.deny_devices = {rdpdr::device::drive};
            break;
        case 1:
            p.deny = {"cliprdr"};
            break;
        case 2:
            p.allow.emplace();
            break;
        case 3:
            p.allow = std::vector<std::string>{"RDPDR", "drdynvc"};
            break;
        case 4:
            p.deny = {"rdpsnd", "cliprdr", "rail"};
            break;
        case 5:
            p.deny = {kNames[choice % kNames.size()]};
            break;
        case 6:
            p.allow = std::vector<std::string>{kNames[choice % kNames.size()]};
            break;
        default:
            p.deny = {"rdpdr"};
            break;
    }
    if (mode & 0x10)
        p.deny_devices.insert(p.deny_devices.end(),
                              {rdpdr::device::drive, rdpdr::device::smartcard});
    if (mode & 0x20) p.allow_devices = std::vector<uint32_t>{rdpdr::device::printer};
    return p;
}

struct Frame {
    ByteView pdu;
    std::optional<ByteView> payload;  // X.224 Data payload of a TPKT frame
};

// The whole PDUs at the front of a stream, as far as it frames.
std::vector<Frame> frames(ByteView stream) {
    std::vector<Frame> out;
    while (!stream.empty()) {
        auto header = peek_frame(stream);
        if (!header || !*header || (*header)->length > stream.size() || (*header)->length == 0)
            break;
        const ByteView pdu = stream.first((*header)->length);
        stream = stream.subspan(pdu.size());
        Frame f{pdu, std::nullopt};
        if ((*header)->kind == FrameKind::tpkt)
            if (auto payload = unwrap_x224_data(pdu)) f.payload = *payload;
        out.push_back(f);
    }
    return out;
}

// The first slow-path PDU's payload: the connect PDU (fast-path PDUs ahead of it pass as is).
std::optional<ByteView> connect_payload(const std::vector<Frame>& fs) {
    for (const auto& f : fs)
        if (f.pdu[0] == kTpktVersion) return f.payload;
    return std::nullopt;
}

std::optional<std::vector<gcc::ChannelDef>> cs_net_of(ByteView connect_initial_payload) {
    auto ci = mcs::decode_connect_initial(connect_initial_payload);
    if (!ci) return std::nullopt;
    const auto* net = ci->conference.find(gcc::block::cs_net);
    if (!net) return std::nullopt;
    auto defs = gcc::decode_client_network(*net);
    if (!defs) return std::nullopt;
    return *defs;
}

std::optional<gcc::ServerNetwork> sc_net_of(ByteView connect_response_payload) {
    auto cr = mcs::decode_connect_response(connect_response_payload);
    if (!cr) return std::nullopt;
    const auto* net = cr->conference.find(gcc::block::sc_net);
    if (!net) return std::nullopt;
    auto decoded = gcc::decode_server_network(*net);
    if (!decoded) return std::nullopt;
    return *decoded;
}

bool same_def(const gcc::ChannelDef& a, const gcc::ChannelDef& b) {
    return a.name == b.name && a.options == b.options;
}

// The peers of a real session, made to play along with the policy: the host answers the
// CS_NET the bridge sent it with an id per channel (the one its captured SC_NET gave that
// channel), and the client uses the ids its SC_NET then holds (the gateway's for removed
// channels) in its joins and Send Data Requests. Leaves the streams as they are when their
// first PDUs do not decode.
void cooperate(const BridgeParams& params, Bytes& client, Bytes& host) {
    const auto client_frames = frames(client);
    const auto host_frames = frames(host);
    // Only streams that start with the connect PDUs.
    if (client_frames.empty() || host_frames.empty() || !client_frames[0].payload ||
        !host_frames[0].payload)
        return;
    const auto requested = cs_net_of(*client_frames[0].payload);
    auto cr = mcs::decode_connect_response(*host_frames[0].payload);
    if (!requested || !cr) return;
    auto* sc_net = cr->conference.find(gcc::block::sc_net);
    if (!sc_net) return;
    auto original = gcc::decode_server_network(*sc_net);
    if (!original) return;

    // What the host is asked for: the bridge's own Connect Initial.
    Bridge probe(params);
    Bytes sent;
    if (probe.from_client(client_frames[0].pdu, sent) || sent.empty()) return;
    const auto sent_frames = frames(sent);
    if (sent_frames.empty() || !sent_frames[0].payload) return;
    const auto asked = cs_net_of(*sent_frames[0].payload).value_or(*requested);

    std::vector<bool> passes;
    std::size_t next = 0;
    for (const auto& d : *requested) {
        passes.push_back(next < asked.size() && same_def(d, asked[next]));
        if (passes.back()) ++next;
    }
    std::map<uint16_t, uint16_t> client_id;  // captured id -> the one the client now has
    gcc::ServerNetwork answer{original->io_channel, {}};
    for (std::size_t i = 0; i < requested->size(); ++i) {
        const uint16_t id =
            i < original->channel_ids.size() ? original->channel_ids[i] : uint16_t(1004 + i);
        if (passes[i]) answer.channel_ids.push_back(id);
        client_id[id] = passes[i] ? id : uint16_t(kGateway + i);
    }
    *sc_net = gcc::encode_server_network(answer);
    auto response = mcs::encode(*cr);
    if (!response) return;
    Bytes new_host = *response;
    new_host.insert(new_host.end(), host.begin() + long(host_frames[0].pdu.size()), host.end());
    host = std::move(new_host);

    // The client's joins and Send Data Requests: type, initiator (u16), channel (u16), ...
    for (std::size_t k = 1; k < client_frames.size(); ++k) {
        const auto& f = client_frames[k];
        if (!f.payload || f.payload->size() < 5) continue;
        const uint8_t type = (*f.payload)[0] >> 2;
        if (type != uint8_t(mcs::DomainPdu::channel_join_request) &&
            type != uint8_t(mcs::DomainPdu::send_data_request))
            continue;
        const std::size_t at = std::size_t(f.payload->data() - client.data()) + 3;
        const uint16_t channel = uint16_t(client[at] << 8 | client[at + 1]);
        auto mapped = client_id.find(channel);
        if (mapped == client_id.end()) continue;
        client[at] = uint8_t(mapped->second >> 8);
        client[at + 1] = uint8_t(mapped->second);
    }
}

struct Leg {
    const char* name;
    bool client;
    ByteView stream;
    std::size_t fed = 0;
    Bytes out;
    std::optional<Failure> failure;
};

bool one_of(Cause c, std::initializer_list<Cause> allowed) {
    return std::find(allowed.begin(), allowed.end(), c) != allowed.end();
}

void check_replies(ByteView replies, const std::set<uint16_t>& gateway_ids) {
    const auto fs = frames(replies);
    std::size_t covered = 0;
    for (const auto& f : fs) {
        covered += f.pdu.size();
        FUZZ_CHECK(f.payload.has_value(), "a reply is not an X.224 Data TPDU");
        auto type = mcs::domain_pdu_type(*f.payload);
        FUZZ_CHECK(type && *type == mcs::DomainPdu::channel_join_confirm && f.payload->size() == 8,
                   "a reply is not a Channel Join Confirm: " + hex_prefix(f.pdu));
        const uint16_t channel = uint16_t((*f.payload)[4] << 8 | (*f.payload)[5]);
        FUZZ_CHECK(gateway_ids.contains(channel), "the gateway confirmed a join of channel " +
                                                      std::to_string(channel) +
                                                      ", which it did not remove");
    }
    FUZZ_CHECK(covered == replies.size(),
               "take_replies() is not whole TPKT frames: " + hex_prefix(replies));
}

// What reached the host: the bridge's Connect Initial, then MCS PDUs.
void check_host_view(const ChannelPolicy& p, const Leg& client_leg, const Leg& host_leg, bool tls) {
    const auto fs = frames(client_leg.out);
    const auto connect = connect_payload(fs);
    if (!connect) return;
    const auto asked = cs_net_of(*connect);
    if (!asked) return;
    for (const auto& d : *asked)
        FUZZ_CHECK(expect_channel_passes(p, d.text()),
                   "the host was asked for denied channel '" + d.text() + "'");
    // The ids the gateway gave the channels the policy removed.
    std::set<uint16_t> removed;
    if (auto requested = connect_payload(frames(client_leg.stream.first(client_leg.fed))))
        if (auto defs = cs_net_of(*requested))
            for (std::size_t i = 0; i < defs->size(); ++i)
                if (!expect_channel_passes(p, (*defs)[i].text()))
                    removed.insert(uint16_t(kGateway + i));
    // The host's ids for the channels it was asked for, from its own Connect Response.
    std::map<uint16_t, std::string> host_name;
    if (auto response = connect_payload(frames(host_leg.stream.first(host_leg.fed))))
        if (auto net = sc_net_of(*response); net && net->channel_ids.size() == asked->size())
            for (std::size_t i = 0; i < asked->size(); ++i)
                host_name.emplace(net->channel_ids[i], (*asked)[i].text());
    std::map<uint16_t, rdpbridge::fuzz::HostChannel> rdpdr;
    bool after_connect = false;
    for (const auto& f : fs) {
        if (!f.payload) continue;
        if (!after_connect) {  // the Connect Initial
            after_connect = true;
            continue;
        }
        auto type = mcs::domain_pdu_type(*f.payload);
        if (!type) continue;
        if (*type == mcs::DomainPdu::channel_join_request) {
            auto join = mcs::decode_channel_join_request(*f.payload);
            FUZZ_CHECK(!join || !removed.contains(join->channel),
                       "the host got a join of removed channel " + std::to_string(join->channel));
        }
        if (*type != mcs::DomainPdu::send_data_request) continue;
        auto sd = mcs::decode_send_data(*f.payload);
        if (!sd) continue;
        FUZZ_CHECK(!removed.contains(sd->channel),
                   "the host got data on removed channel " + std::to_string(sd->channel));
        auto name = host_name.find(sd->channel);
        if (tls && name != host_name.end() && iequal_ascii(name->second, "rdpdr"))
            rdpdr[sd->channel].add(sd->user_data);
    }
    for (const auto& [id, channel] : rdpdr)
        for (const auto& m : channel.messages()) {
            const std::string why = rdpbridge::fuzz::device_violation(p, m);
            FUZZ_CHECK(why.empty(),
                       why + " on channel " + std::to_string(id) + ": " + hex_prefix(m.data));
        }
}

// What reached the client: the host's Connect Response with the gateway's ids put back.
void check_client_view(const ChannelPolicy& p, const Leg& client_leg, ByteView to_client) {
    const auto connect = connect_payload(frames(client_leg.stream.first(client_leg.fed)));
    if (!connect) return;
    const auto requested = cs_net_of(*connect);
    if (!requested) return;
    std::vector<uint16_t> removed;
    for (std::size_t i = 0; i < requested->size(); ++i)
        if (!expect_channel_passes(p, (*requested)[i].text())) removed.push_back(uint16_t(i));
    if (removed.empty()) return;
    if (auto response = connect_payload(frames(to_client))) {
        auto net = sc_net_of(*response);
        if (!net) return;
        FUZZ_CHECK(net->channel_ids.size() == requested->size(),
                   "the client got " + std::to_string(net->channel_ids.size()) + " ids for " +
                       std::to_string(requested->size()) + " channels");
        for (uint16_t i : removed)
            FUZZ_CHECK(net->channel_ids[i] == kGateway + i,
                       "removed channel " + std::to_string(i) + " got id " +
                           std::to_string(net->channel_ids[i]));
    }
}

}  // namespace

RDPBRIDGE_FUZZ_TARGET(fuzz_bridge_channels) {
    rdpbridge::fuzz::Input in(input);
    const uint8_t mode = in.u8();
    const uint8_t choice = in.u8();
    rdpbridge::fuzz::Chunker chunker(in.u32());
    const ByteView client_in = in.take(in.u16());
    const ByteView host_in = in.rest();

    BridgeParams params;
    params.client_requested = protocol::ssl;
    params.front_selected = protocol::ssl;
    const bool tls = !(mode & 0x08);
    params.back_selected = tls ? protocol::ssl : protocol::rdp;
    params.allowed_methods = 0x1B;
    for (std::size_t i = 0; i < params.client_random.size(); ++i)
        params.client_random[i] = uint8_t(i * 7 + 1);
    params.channels = policy(mode, choice);

    Bytes client_stream(client_in.begin(), client_in.end());
    Bytes host_stream(host_in.begin(), host_in.end());
    if (mode & 0x40) cooperate(params, client_stream, host_stream);

    // The ids the gateway may hand out: kFirstGatewayChannel + index in the client's CS_NET.
    std::set<uint16_t> gateway_ids;
    if (const auto connect = connect_payload(frames(client_stream)))
        if (const auto requested = cs_net_of(*connect))
            for (std::size_t i = 0; i < requested->size(); ++i)
                gateway_ids.insert(uint16_t(kGateway + i));

    Bridge bridge(params);
    FUZZ_CHECK(bridge.channel_policy(), "a policy, yet no filter");
    Leg client{"client", true, client_stream, 0, {}, std::nullopt};
    Leg host{"host", false, host_stream, 0, {}, std::nullopt};
    Bytes replies;
    // A cooperative client waits for the host's Connect Response before it goes on.
    const bool cooperative = mode & 0x40;
    auto first_length = [](ByteView stream) {
        auto header = peek_frame(stream);
        return header && *header ? std::min((*header)->length, stream.size()) : 0;
    };
    const std::size_t client_connect = cooperative ? first_length(client.stream) : 0;
    const std::size_t host_connect = cooperative ? first_length(host.stream) : 0;
    while (!client.failure && !host.failure) {
        // A host speaks once it has heard the Connect Initial; other clients may run ahead.
        const bool host_may = host.fed < host.stream.size() && !client.out.empty();
        const bool client_may = client.fed < client.stream.size() &&
                                (client.fed < client_connect || host.fed >= host_connect);
        if (!client_may && !host_may) break;
        const bool pick_client = client_may && (!host_may || (chunker.next_random() & 1));
        Leg& leg = pick_client ? client : host;
        std::size_t n = chunker.next(leg.stream.size() - leg.fed);
        if (pick_client && client.fed < client_connect)
            n = std::min(n, client_connect - client.fed);
        const ByteView chunk = leg.stream.subspan(leg.fed, n);
        leg.fed += n;
        leg.failure =
            pick_client ? bridge.from_client(chunk, leg.out) : bridge.from_host(chunk, leg.out);
        const Bytes r = bridge.take_replies();
        check_replies(r, gateway_ids);
        replies.insert(replies.end(), r.begin(), r.end());
        if (leg.failure) {
            FUZZ_CHECK(pick_client
                           ? one_of(leg.failure->cause,
                                    {Cause::client_mcs_malformed, Cause::client_requested_ms_t120})
                           : one_of(leg.failure->cause, {Cause::host_mcs_malformed,
                                                         Cause::host_selected_unoffered_method,
                                                         Cause::host_mac_mismatch}),
                       std::string(leg.name) +
                           ": failure with an unexpected cause: " + leg.failure->detail);
            FUZZ_CHECK(!leg.failure->detail.empty(), "failure without detail");
        }
        for (auto& f : bridge.take_facts()) FUZZ_CHECK(!f.first.empty(), "fact without a name");
    }
    check_host_view(params.channels, client, host, tls);
    check_client_view(params.channels, client, host.out);
}
