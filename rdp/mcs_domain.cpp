#include "rdp/mcs_domain.hpp"

#include "rdp/ber.hpp"
#include "rdp/tpkt.hpp"

namespace rdpbridge::rdp::mcs {

namespace {
// PER lengths carry 15 bits; a larger Send Data PDU would be written with a corrupt length.
constexpr std::size_t kMaxUserData = per::kMaxLength;

// TPKT header and X.224 Data TPDU header in front of a `payload`-byte MCS PDU.
void write_frame_start(Writer& w, std::size_t payload) {
    write_tpkt_header(w, kTpktHeaderSize + kX224DataHeaderSize + payload);
    w.u8(2);     // X.224 length indicator
    w.u8(0xF0);  // DT TPDU
    w.u8(0x80);  // EOT
}
}  // namespace

Result<DomainPdu> domain_pdu_type(ByteView payload) {
    if (payload.empty()) return Error{"mcs.domain_pdu", "empty X.224 data payload"};
    return DomainPdu(payload[0] >> 2);
}

Result<SendData> decode_send_data(ByteView payload) {
    Reader r(payload);
    auto first = r.u8("mcs.send_data.type");
    if (!first) return first.error();
    const auto type = DomainPdu(*first >> 2);
    if (type != DomainPdu::send_data_request && type != DomainPdu::send_data_indication)
        return Error{"mcs.send_data.type",
                     "not a Send Data PDU: type " + std::to_string(*first >> 2)};
    SendData sd;
    sd.indication = type == DomainPdu::send_data_indication;
    auto initiator = r.u16be("mcs.send_data.initiator");
    if (!initiator) return initiator.error();
    auto channel = r.u16be("mcs.send_data.channel_id");
    if (!channel) return channel.error();
    auto flags = r.u8("mcs.send_data.priority_segmentation");
    if (!flags) return flags.error();
    auto length = per::read_length(r, "mcs.send_data.length");
    if (!length) return length.error();
    auto data = r.bytes(*length, "mcs.send_data.user_data");
    if (!data) return data.error();
    if (!r.empty())
        return Error{"mcs.send_data", std::to_string(r.remaining()) + " byte(s) after user data"};
    sd.initiator = *initiator;
    sd.channel = *channel;
    sd.priority_segmentation = *flags;
    sd.user_data = *data;
    return sd;
}

Result<Bytes> encode_send_data(const SendData& header, ByteView user_data) {
    Bytes frame;
    if (auto s = append_send_data(header, user_data, frame); !s) return s.error();
    return frame;
}

Status append_send_data(const SendData& header, ByteView user_data, Bytes& out) {
    if (user_data.size() > kMaxUserData)
        return Error{"mcs.send_data.length",
                     std::to_string(user_data.size()) + " bytes do not fit in one TPKT frame"};
    // Type (1), initiator (2), channel (2), priority/segmentation (1), PER length (1 or 2).
    const std::size_t mcs_header = 6 + (user_data.size() < 0x80 ? 1 : 2);
    const std::size_t payload = mcs_header + user_data.size();
    out.reserve(out.size() + kTpktHeaderSize + kX224DataHeaderSize + payload);
    Writer w(out);
    write_frame_start(w, payload);
    w.u8(uint8_t(
        uint8_t(header.indication ? DomainPdu::send_data_indication : DomainPdu::send_data_request)
        << 2));
    w.u16be(header.initiator);
    w.u16be(header.channel);
    w.u8(header.priority_segmentation);
    per::write_length(w, user_data.size());
    w.bytes(user_data);
    return Ok{};
}

Result<ChannelJoin> decode_channel_join_request(ByteView payload) {
    Reader r(payload);
    auto first = r.u8("mcs.channel_join_request.type");
    if (!first) return first.error();
    if (DomainPdu(*first >> 2) != DomainPdu::channel_join_request)
        return Error{"mcs.channel_join_request.type",
                     "not a Channel Join Request: type " + std::to_string(*first >> 2)};
    auto initiator = r.u16be("mcs.channel_join_request.initiator");
    if (!initiator) return initiator.error();
    auto channel = r.u16be("mcs.channel_join_request.channel_id");
    if (!channel) return channel.error();
    return ChannelJoin{*initiator, *channel};
}

Bytes encode_channel_join_confirm(const ChannelJoin& join) {
    // Type with the channelId-present bit, result rt-successful (PER enumerated, one octet),
    // initiator, requested channel, granted channel.
    constexpr std::size_t kConfirmSize = 8;
    Bytes out;
    Writer w(out);
    write_frame_start(w, kConfirmSize);
    w.u8(uint8_t(uint8_t(DomainPdu::channel_join_confirm) << 2 | 0x02));
    w.u8(0);
    w.u16be(join.initiator);
    w.u16be(join.channel);
    w.u16be(join.channel);
    return out;
}

Result<uint8_t> disconnect_reason(ByteView payload) {
    if (payload.size() < 2) return Error{"mcs.disconnect_provider_ultimatum", "truncated"};
    // PER: six bits of type, then the three-bit reason straddling the first two octets.
    return uint8_t(((payload[0] & 0x03) << 1) | (payload[1] >> 7));
}

bool is_disconnect_ultimatum(ByteView payload) {
    auto type = domain_pdu_type(payload);
    return type && *type == DomainPdu::disconnect_provider_ultimatum && disconnect_reason(payload);
}

}  // namespace rdpbridge::rdp::mcs
