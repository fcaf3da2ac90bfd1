#include "bench/pdus.hpp"

#include <array>
#include <stdexcept>

#include "rdp/client_data.hpp"
#include "rdp/mcs_domain.hpp"
#include "rdp/security_header.hpp"
#include "rdp/tpkt.hpp"
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
constexpr uint16_t kStaticChannelBase = 1003;  // MCS I/O channel; static channels follow
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
    n.u16le(kStaticChannelBase);
    n.u16le(uint16_t(channel_count));
    for (std::size_t i = 0; i < channel_count; ++i) n.u16le(uint16_t(kStaticChannelBase + 1 + i));
    if (channel_count % 2) n.u16le(0);  // pad to a multiple of 4 bytes
    return encode_connect(
        rdp::gcc::Direction::response, kConnectResponseFields, kConferenceResponseHeader,
        {{block::sc_core, core}, {block::sc_security, security}, {block::sc_net, net}});
}

Bytes client_info_pdu() {
    constexpr uint16_t kInitiator = 6;  // user 1007, the first one an MCS server attaches
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
    header.channel = kStaticChannelBase;
    auto frame = rdp::mcs::encode_send_data(header, data);
    if (!frame) throw std::logic_error("bench Client Info PDU: " + frame.error().message());
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
    if (!core) return rdp::Error{"bench.connect_response", "SC_CORE missing"};
    return ConnectResponseFacts{rdp::gcc::client_requested_protocols(*core)};
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
