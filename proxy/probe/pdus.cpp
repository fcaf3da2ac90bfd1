#include "proxy/probe/pdus.hpp"

#include <array>
#include <string_view>

#include "rdp/ber.hpp"
#include "rdp/mcs.hpp"
#include "rdp/x224.hpp"

namespace rdpbridge::probe {

namespace {

using rdp::Bytes;
using rdp::Writer;

// T.124 ConnectGCCPDU up to the H.221 key, exactly as mstsc and FreeRDP send it:
// conferenceCreateRequest with userData present, conference name "1", one set of user data,
// h221NonStandard key "Duca".
constexpr std::array<uint8_t, 12> kConferenceCreateRequestHeader{0x00, 0x08, 0x00, 0x10, 0x00, 0x01,
                                                                 0xC0, 0x00, 'D',  'u',  'c',  'a'};

// T.125 DomainParameters (maxChannelIds, maxUserIds, maxTokenIds, numPriorities,
// minThroughput, maxHeight, maxMCSPDUsize, protocolVersion) a real client proposes.
constexpr std::array<uint32_t, 8> kTargetParameters{34, 2, 0, 1, 0, 1, 65535, 2};
constexpr std::array<uint32_t, 8> kMinimumParameters{1, 1, 1, 1, 0, 1, 1056, 2};
constexpr std::array<uint32_t, 8> kMaximumParameters{65535, 64535, 65535, 1, 0, 1, 65535, 2};

constexpr uint16_t kBerBoolean = 0x01;
constexpr uint16_t kBerInteger = 0x02;
constexpr uint16_t kBerOctetString = 0x04;
constexpr uint16_t kBerSequence = 0x30;

// CS_CORE constants ([MS-RDPBCGR] 2.2.1.3.2).
constexpr uint32_t kRdpVersion5Plus = 0x00080004;
constexpr uint16_t kColor8Bpp = 0xCA01;
constexpr uint16_t kSasSequence = 0xAA03;
constexpr uint32_t kKeyboardUs = 0x0409;
constexpr uint32_t kClientBuild = 2600;
constexpr uint32_t kKeyboardIbmEnhanced = 4;
constexpr uint32_t kFunctionKeys = 12;
constexpr uint16_t kHighColor16 = 16;
constexpr uint16_t kSupportedDepths = 0x000F;  // 24, 16, 15 and 32 bpp
constexpr uint16_t kErrinfoPduSupported = 0x0001;

void ber_unsigned(Writer& w, uint32_t value) {
    Bytes digits;
    do {
        digits.insert(digits.begin(), uint8_t(value & 0xFF));
        value >>= 8;
    } while (value != 0);
    if (digits.front() & 0x80) digits.insert(digits.begin(), 0);  // stay positive
    rdp::ber::write_header(w, kBerInteger, digits.size());
    w.bytes(digits);
}

void domain_parameters(Writer& w, const std::array<uint32_t, 8>& values) {
    Bytes body;
    Writer bw(body);
    for (uint32_t v : values) ber_unsigned(bw, v);
    rdp::ber::write_header(w, kBerSequence, body.size());
    w.bytes(body);
}

Bytes fields_before_user_data() {
    Bytes out;
    Writer w(out);
    const uint8_t domain_selector = 0x01;
    rdp::ber::write_header(w, kBerOctetString, 1);  // callingDomainSelector
    w.u8(domain_selector);
    rdp::ber::write_header(w, kBerOctetString, 1);  // calledDomainSelector
    w.u8(domain_selector);
    rdp::ber::write_header(w, kBerBoolean, 1);  // upwardFlag
    w.u8(0xFF);
    domain_parameters(w, kTargetParameters);
    domain_parameters(w, kMinimumParameters);
    domain_parameters(w, kMaximumParameters);
    return out;
}

void utf16_fixed(Writer& w, std::string_view ascii, std::size_t bytes) {
    std::size_t written = 0;
    for (char c : ascii) {
        if (written + 4 > bytes) break;  // keep the terminating NUL
        w.u16le(uint16_t(static_cast<unsigned char>(c)));
        written += 2;
    }
    for (; written < bytes; ++written) w.u8(0);
}

void zeros(Writer& w, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) w.u8(0);
}

rdp::gcc::DataBlock cs_core(uint32_t server_selected_protocol) {
    rdp::gcc::DataBlock b{rdp::gcc::block::cs_core, {}};
    Writer w(b.body);
    w.u32le(kRdpVersion5Plus);
    w.u16le(1024);  // desktopWidth
    w.u16le(768);   // desktopHeight
    w.u16le(kColor8Bpp);
    w.u16le(kSasSequence);
    w.u32le(kKeyboardUs);
    w.u32le(kClientBuild);
    utf16_fixed(w, kProbeClientName, 32);
    w.u32le(kKeyboardIbmEnhanced);
    w.u32le(0);  // keyboardSubType
    w.u32le(kFunctionKeys);
    zeros(w, 64);         // imeFileName
    w.u16le(kColor8Bpp);  // postBeta2ColorDepth
    w.u16le(1);           // clientProductId
    w.u32le(0);           // serialNumber
    w.u16le(kHighColor16);
    w.u16le(kSupportedDepths);
    w.u16le(kErrinfoPduSupported);
    zeros(w, 64);  // clientDigProductId
    w.u8(0);       // connectionType
    w.u8(0);       // pad1octet
    w.u32le(server_selected_protocol);
    return b;
}

}  // namespace

Bytes connection_request(uint32_t requested_protocols, bool with_negotiation) {
    rdp::ConnectionRequest request;
    request.mstshash = kProbeCookie;
    if (with_negotiation) request.negotiation = rdp::NegotiationRequest{0, requested_protocols};
    return rdp::encode(request);
}

std::vector<rdp::gcc::DataBlock> client_blocks(uint32_t encryption_methods,
                                               uint32_t server_selected_protocol) {
    rdp::gcc::DataBlock security{rdp::gcc::block::cs_security, {}};
    Writer sw(security.body);
    sw.u32le(encryption_methods);
    sw.u32le(0);  // extEncryptionMethods: French locale clients only
    rdp::gcc::DataBlock net{rdp::gcc::block::cs_net, {}};
    Writer nw(net.body);
    nw.u32le(0);  // channelCount
    return {cs_core(server_selected_protocol), std::move(security), std::move(net)};
}

rdp::Result<Bytes> connect_initial(uint32_t encryption_methods, uint32_t server_selected_protocol) {
    rdp::mcs::ConnectPdu pdu;
    pdu.direction = rdp::gcc::Direction::request;
    pdu.fields_before_user_data = fields_before_user_data();
    pdu.conference.direction = rdp::gcc::Direction::request;
    pdu.conference.connect_pdu_header.assign(kConferenceCreateRequestHeader.begin(),
                                             kConferenceCreateRequestHeader.end());
    pdu.conference.blocks = client_blocks(encryption_methods, server_selected_protocol);
    return rdp::mcs::encode(pdu);
}

}  // namespace rdpbridge::probe
