#include "bench/pdus.hpp"

#include <array>
#include <stdexcept>

#include "rdp/client_data.hpp"
#include "rdp/gcc_network.hpp"
#include "rdp/mcs_domain.hpp"
#include "rdp/rdpdr.hpp"
#include "rdp/security_header.hpp"
#include "rdp/tpkt.hpp"
#include "rdp/virtual_channel.hpp"
#include "rdp/x224.hpp"

namespace rdpbridge::bench {

namespace {

using rdp::Bytes;
using rdp::Writer;
namespace block = rdp::gcc::block;

// MCS Connect Initial fields before userData ([MS-RDPBCGR] 4.1.3, as mstsc and FreeRDP send
// them): calling/called domain selectors, upward flag, target/minimum/maximum domain parameters.
constexpr uint8_t kConnectInitialFields[] = {
    0x04, 0x01, 0x01, 0x04, 0x01, 0x01, 0x01, 0x01, 0xff,
    // targetParameters
    0x30, 0x19, 0x02, 0x01, 0x22, 0x02, 0x01, 0x02, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01, 0x02, 0x01,
    0x00, 0x02, 0x01, 0x01, 0x02, 0x02, 0xff, 0xff, 0x02, 0x01, 0x02,
    // minimumParameters
    0x30, 0x19, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x02, 0x01,
    0x00, 0x02, 0x01, 0x01, 0x02, 0x02, 0x04, 0x20, 0x02, 0x01, 0x02,
    // maximumParameters
    0x30, 0x1c, 0x02, 0x02, 0xff, 0xff, 0x02, 0x02, 0xfc, 0x17, 0x02, 0x02, 0xff, 0xff, 0x02, 0x01,
    0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01, 0x02, 0x02, 0xff, 0xff, 0x02, 0x01, 0x02};

// MCS Connect Response fields before userData (4.1.4): result, calledConnectId, domainParameters.
constexpr uint8_t kConnectResponseFields[] = {0x0a, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x1a, 0x02,
                                              0x01, 0x22, 0x02, 0x01, 0x03, 0x02, 0x01, 0x00, 0x02,
                                              0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01, 0x02,
                                              0x03, 0x00, 0xff, 0xf8, 0x02, 0x01, 0x02};

// GCC ConferenceCreateResponse up to and including the H.221 key "McDn" (the request's is
// rdp::gcc::conference_create_request_header()).
constexpr uint8_t kConferenceResponseHeader[] = {0x14, 0x76, 0x0a, 0x01, 0x01, 0x00, 0x01,
                                                 0xc0, 0x00, 'M',  'c',  'D',  'n'};

constexpr uint32_t kRdpVersion5 = 0x00080004;  // SC_CORE version
constexpr uint8_t kUpdateSurfaceCommands = 0x04;
constexpr uint16_t kStreamSurfaceBits = 0x0006;
constexpr uint8_t kInputEventMouse = 0x01;
constexpr uint16_t kPointerMove = 0x0800;

// CS_CORE as rdp/ builds a client's (mstsc's XP-era defaults), as a Windows 7 client.
rdp::gcc::DataBlock cs_core(uint32_t server_selected_protocol) {
    rdp::gcc::ClientCore core;
    core.client_build = 7601;
    core.client_name = "BENCH";
    core.high_color_depth = 24;
    core.server_selected_protocol = server_selected_protocol;
    return rdp::gcc::encode(core);  // 212 bytes: a 216-byte block with its header
}

Bytes cs_net() {
    Bytes b;
    Writer w(b);
    struct Channel {
        const char name[8];
        uint32_t options;
    };
    constexpr Channel channels[] = {{"rdpdr", 0x80800000}, {"cliprdr", 0xC0A00000}};
    static_assert(std::size(channels) == kClientChannels);
    w.u32le(uint32_t(std::size(channels)));
    for (const auto& c : channels) {
        w.bytes(rdp::ByteView(reinterpret_cast<const uint8_t*>(c.name), 8));
        w.u32le(c.options);
    }
    return b;
}

Bytes encode_connect(rdp::gcc::Direction direction, rdp::ByteView fields,
                     rdp::ByteView conference_header, std::vector<rdp::gcc::DataBlock> blocks) {
    rdp::mcs::ConnectPdu pdu;
    pdu.direction = direction;
    pdu.fields_before_user_data.assign(fields.begin(), fields.end());
    pdu.conference.direction = direction;
    pdu.conference.connect_pdu_header.assign(conference_header.begin(), conference_header.end());
    pdu.conference.blocks = std::move(blocks);
    auto frame = rdp::mcs::encode(pdu);
    if (!frame) throw std::logic_error("bench connect PDU: " + frame.error().message());
    return std::move(*frame);
}

}  // namespace

Bytes connection_request() {
    rdp::ConnectionRequest r;
    r.mstshash = "bench";
    r.negotiation = rdp::NegotiationRequest{0, rdp::protocol::ssl};
    return rdp::encode(r);
}

Bytes connection_confirm(uint32_t selected) {
    return rdp::encode(rdp::ConnectionConfirm{
        rdp::NegotiationResponse{rdp::neg_rsp_flags::extended_client_data_supported, selected}});
}

Bytes connect_initial(uint32_t server_selected_protocol) {
    // 40/56/128-bit and FIPS offered, as mstsc does; TLS makes it moot.
    return encode_connect(rdp::gcc::Direction::request, kConnectInitialFields,
                          rdp::gcc::conference_create_request_header(),
                          {cs_core(server_selected_protocol),
                           rdp::gcc::client_security(0x1B),
                           {block::cs_net, cs_net()}});
}

Bytes connect_response(uint32_t client_requested, std::size_t channel_count,
                       const Bytes* sc_security) {
    Bytes core, security, net;
    Writer c(core);
    c.u32le(kRdpVersion5);
    c.u32le(client_requested);
    c.u32le(0);  // earlyCapabilityFlags
    if (sc_security) {
        security = *sc_security;
    } else {
        Writer s(security);
        s.u32le(0);  // encryptionMethod: none, TLS protects the session
        s.u32le(0);  // encryptionLevel: none
    }
    Writer n(net);
    n.u16le(kIoChannel);
    n.u16le(uint16_t(channel_count));
    for (std::size_t i = 0; i < channel_count; ++i) n.u16le(uint16_t(kIoChannel + 1 + i));
    if (channel_count % 2) n.u16le(0);  // pad to a multiple of 4 bytes
    return encode_connect(
        rdp::gcc::Direction::response, kConnectResponseFields, kConferenceResponseHeader,
        {{block::sc_core, core}, {block::sc_security, security}, {block::sc_net, net}});
}

Bytes erect_domain_request() {
    // subHeight 0, subInterval 0: PER integers of one octet each.
    constexpr uint8_t payload[] = {uint8_t(uint8_t(rdp::mcs::DomainPdu::erect_domain_request) << 2),
                                   0x01, 0x00, 0x01, 0x00};
    return rdp::wrap_x224_data(payload);
}

Bytes attach_user_request() {
    constexpr uint8_t payload[] = {uint8_t(uint8_t(rdp::mcs::DomainPdu::attach_user_request) << 2)};
    return rdp::wrap_x224_data(payload);
}

Bytes attach_user_confirm() {
    // The initiator-present bit, result rt-successful, the initiator.
    constexpr uint8_t payload[] = {
        uint8_t(uint8_t(rdp::mcs::DomainPdu::attach_user_confirm) << 2 | 0x02), 0x00, 0x00,
        kUserInitiator};
    return rdp::wrap_x224_data(payload);
}

Bytes channel_join_request(uint16_t initiator, uint16_t channel) {
    Bytes payload;
    Writer w(payload);
    w.u8(uint8_t(uint8_t(rdp::mcs::DomainPdu::channel_join_request) << 2));
    w.u16be(initiator);
    w.u16be(channel);
    return rdp::wrap_x224_data(payload);
}

namespace {
uint16_t be16(const uint8_t* p) {
    return uint16_t(p[0] << 8 | p[1]);
}

// The MCS payload of a domain PDU of type `type`, whose result octet says rt-successful.
rdp::Result<rdp::ByteView> successful(rdp::ByteView frame, rdp::mcs::DomainPdu type,
                                      std::size_t size, const char* what) {
    auto payload = rdp::unwrap_x224_data(frame);
    if (!payload) return payload.error();
    auto seen = rdp::mcs::domain_pdu_type(*payload);
    if (!seen) return seen.error();
    if (*seen != type)
        return rdp::Error{
            what, "expected it, got MCS domain PDU type " + std::to_string(unsigned(*seen))};
    if (payload->size() < size) return rdp::Error{what, "truncated"};
    if ((*payload)[1] != 0)
        return rdp::Error{what, "result " + std::to_string((*payload)[1]) + ", not rt-successful"};
    return *payload;
}
}  // namespace

rdp::Result<uint16_t> read_attach_user_confirm(rdp::ByteView frame) {
    auto p =
        successful(frame, rdp::mcs::DomainPdu::attach_user_confirm, 4, "bench.attach_user_confirm");
    if (!p) return p.error();
    if (!((*p)[0] & 0x02)) return rdp::Error{"bench.attach_user_confirm", "no initiator"};
    return be16(&(*p)[2]);
}

rdp::Result<uint16_t> read_channel_join_confirm(rdp::ByteView frame) {
    auto p = successful(frame, rdp::mcs::DomainPdu::channel_join_confirm, 8,
                        "bench.channel_join_confirm");
    if (!p) return p.error();
    const uint16_t requested = be16(&(*p)[4]);
    if (!((*p)[0] & 0x02)) return rdp::Error{"bench.channel_join_confirm", "no channel granted"};
    const uint16_t granted = be16(&(*p)[6]);
    if (granted != requested)
        return rdp::Error{"bench.channel_join_confirm",
                          "granted channel " + std::to_string(granted) + " for requested " +
                              std::to_string(requested)};
    return granted;
}

Bytes client_info_pdu() {
    constexpr uint16_t kInitiator = kUserInitiator;
    constexpr uint32_t kInfoFlags = 0x0001 | 0x0002 | 0x0010;  // MOUSE, DISABLECTRLALTDEL, UNICODE
    Bytes data;
    Writer w(data);
    w.u16le(rdp::sec::info_pkt);
    w.u16le(0);
    w.u32le(0);  // CodePage
    w.u32le(kInfoFlags);
    for (int i = 0; i < 5; ++i) w.u16le(0);  // cbDomain .. cbWorkingDir: all empty
    for (int i = 0; i < 5; ++i) w.u16le(0);  // and their UTF-16 terminators
    rdp::mcs::SendData header;
    header.initiator = kInitiator;
    header.channel = kIoChannel;
    auto frame = rdp::mcs::encode_send_data(header, data);
    if (!frame) throw std::logic_error("bench Client Info PDU: " + frame.error().message());
    return std::move(*frame);
}

Bytes rdpdr_read_response(uint16_t channel) {
    constexpr uint16_t kDeviceIoCompletion = 0x4943;  // PAKID_CORE_DEVICE_IOCOMPLETION
    constexpr std::size_t kRead = 1580;
    Bytes message;
    Writer m(message);
    m.u16le(rdp::rdpdr::kComponentCore);
    m.u16le(kDeviceIoCompletion);
    m.u32le(1);  // DeviceId
    m.u32le(7);  // CompletionId
    m.u32le(0);  // IoStatus: STATUS_SUCCESS
    m.u32le(uint32_t(kRead));
    message.resize(message.size() + kRead, 0xA5);
    const auto chunks = rdp::vc::chunk(message, 0, rdp::vc::kDefaultChunkSize);
    if (chunks.size() != 1) throw std::logic_error("bench rdpdr read response: not one chunk");
    rdp::mcs::SendData header;
    header.initiator = kUserInitiator;
    header.channel = channel;
    auto frame = rdp::mcs::encode_send_data(header, chunks.front());
    if (!frame) throw std::logic_error("bench rdpdr read response: " + frame.error().message());
    return std::move(*frame);
}

rdp::Result<ConnectInitialFacts> check_connect_initial(rdp::ByteView frame) {
    auto payload = rdp::unwrap_x224_data(frame);
    if (!payload) return payload.error();
    auto pdu = rdp::mcs::decode_connect_initial(*payload);
    if (!pdu) return pdu.error();
    const auto* net = pdu->conference.find(block::cs_net);
    if (!pdu->conference.find(block::cs_core) || !net)
        return rdp::Error{"bench.connect_initial", "CS_CORE or CS_NET missing"};
    auto names = rdp::gcc::channel_names(*net);
    if (!names) return names.error();
    return ConnectInitialFacts{names->size()};
}

rdp::Result<ConnectResponseFacts> check_connect_response(rdp::ByteView frame) {
    auto payload = rdp::unwrap_x224_data(frame);
    if (!payload) return payload.error();
    auto pdu = rdp::mcs::decode_connect_response(*payload);
    if (!pdu) return pdu.error();
    const auto* core = pdu->conference.find(block::sc_core);
    const auto* net = pdu->conference.find(block::sc_net);
    if (!core || !net) return rdp::Error{"bench.connect_response", "SC_CORE or SC_NET missing"};
    auto channels = rdp::gcc::decode_server_network(*net);
    if (!channels) return channels.error();
    return ConnectResponseFacts{rdp::gcc::client_requested_protocols(*core), channels->io_channel,
                                std::move(channels->channel_ids)};
}

Bytes fastpath_output(std::size_t size) {
    if (size < kMinOutputPdu || size > kMaxFastPathPdu)
        throw std::invalid_argument("fast-path output PDU size must be 44..32767 bytes");
    const std::size_t header = size > 0x7F ? 3 : 2;
    Bytes b;
    b.reserve(size);
    Writer w(b);
    w.u8(0x00);  // fpOutputHeader: action FASTPATH, no encryption flags
    if (header == 3) {
        w.u8(uint8_t(0x80 | (size >> 8)));
        w.u8(uint8_t(size));
    } else {
        w.u8(uint8_t(size));
    }
    const std::size_t update = size - header - 3;
    w.u8(kUpdateSurfaceCommands);  // updateCode, FRAGMENT_SINGLE, no compression
    w.u16le(uint16_t(update));
    w.u16le(kStreamSurfaceBits);  // TS_SURFCMD_STREAM_SURF_BITS
    w.u16le(0);                   // destLeft
    w.u16le(0);                   // destTop
    w.u16le(64);                  // destRight
    w.u16le(64);                  // destBottom
    const std::size_t bitmap = update - 10 - 12;
    w.u8(32);  // TS_BITMAP_DATA_EX.bpp
    w.u8(0);   // flags
    w.u8(0);   // reserved
    w.u8(0);   // codecID: uncompressed
    w.u16le(64);
    w.u16le(64);
    w.u32le(uint32_t(bitmap));
    b.resize(size, 0x5A);  // bitmap data: probe, then filler
    return b;
}

namespace {
std::size_t header_size(rdp::ByteView pdu) {
    return pdu[1] & 0x80 ? 3 : 2;
}
std::size_t probe_offset(rdp::ByteView pdu) {
    return header_size(pdu) + 3 + 10 + 12;
}

void store_u64(uint8_t* p, uint64_t v) {
    rdp::store_u32le(p, uint32_t(v));
    rdp::store_u32le(p + 4, uint32_t(v >> 32));
}
uint64_t load_u64(const uint8_t* p) {
    return rdp::load_u32le(p) | uint64_t(rdp::load_u32le(p + 4)) << 32;
}
}  // namespace

void stamp_output(Bytes& pdu, uint64_t send_ns, uint64_t sequence) {
    uint8_t* p = pdu.data() + probe_offset(pdu);
    store_u64(p, send_ns);
    store_u64(p + 8, sequence);
}

std::optional<Probe> read_probe(rdp::ByteView head) {
    if (head.size() < 2) return std::nullopt;
    const std::size_t at = probe_offset(head);
    if (head.size() < at + 16 || (head[0] & 0x03) != 0 ||
        head[header_size(head)] != kUpdateSurfaceCommands)
        return std::nullopt;
    return Probe{load_u64(&head[at]), load_u64(&head[at + 8])};
}

Bytes fastpath_input(std::size_t events) {
    if (events < 1 || events > kMaxInputEvents)
        throw std::invalid_argument("fast-path input PDU carries 1..255 events");
    constexpr std::size_t kEvent = 7;
    // numEvents fits the header's 4 bits up to 15; beyond, the header says 0 and a byte follows.
    const bool in_header = events <= 15;
    std::size_t size = (in_header ? 0 : 1) + events * kEvent;
    size += size + 2 > 0x7F ? 3 : 2;
    Bytes b;
    b.reserve(size);
    Writer w(b);
    w.u8(uint8_t((in_header ? events : 0) << 2));  // action FASTPATH, no flags
    if (size > 0x7F) {
        w.u8(uint8_t(0x80 | (size >> 8)));
        w.u8(uint8_t(size));
    } else {
        w.u8(uint8_t(size));
    }
    if (!in_header) w.u8(uint8_t(events));
    for (std::size_t i = 0; i < events; ++i) {
        w.u8(kInputEventMouse << 5);  // TS_FP_POINTER_EVENT
        w.u16le(kPointerMove);
        w.u16le(uint16_t(i % 1024));
        w.u16le(uint16_t(i % 768));
    }
    return b;
}

}  // namespace rdpbridge::bench
