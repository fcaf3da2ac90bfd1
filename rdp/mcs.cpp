#include "rdp/mcs.hpp"

#include <array>

#include "rdp/ber.hpp"
#include "rdp/tpkt.hpp"

namespace rdpbridge::rdp::mcs {

namespace {

constexpr uint16_t kConnectInitial = 0x7F65;
constexpr uint16_t kConnectResponse = 0x7F66;
constexpr uint16_t kOctetString = 0x04;
constexpr uint16_t kBoolean = 0x01;
constexpr uint16_t kInteger = 0x02;
constexpr uint16_t kEnumerated = 0x0A;
constexpr uint16_t kSequence = 0x30;
constexpr std::size_t kMaxTpkt = 0xFFFF;

struct FieldSpec {
    uint16_t tag;
    const char* name;
};

// The fields that precede userData, in order.
constexpr std::array<FieldSpec, 6> kInitialFields{{
    {kOctetString, "mcs.connect_initial.calling_domain_selector"},
    {kOctetString, "mcs.connect_initial.called_domain_selector"},
    {kBoolean, "mcs.connect_initial.upward_flag"},
    {kSequence, "mcs.connect_initial.target_parameters"},
    {kSequence, "mcs.connect_initial.minimum_parameters"},
    {kSequence, "mcs.connect_initial.maximum_parameters"},
}};
constexpr std::array<FieldSpec, 3> kResponseFields{{
    {kEnumerated, "mcs.connect_response.result"},
    {kInteger, "mcs.connect_response.called_connect_id"},
    {kSequence, "mcs.connect_response.domain_parameters"},
}};

template <std::size_t N>
Result<ConnectPdu> decode_connect(ByteView payload, uint16_t tag, const char* name,
                                  const std::array<FieldSpec, N>& fields,
                                  gcc::Direction direction) {
    Reader outer(payload);
    auto pdu = ber::read(outer, tag, name);
    if (!pdu) return pdu.error();
    if (!outer.empty())
        return Error{name, std::to_string(outer.remaining()) + " byte(s) after the PDU"};
    Reader r(pdu->value);
    for (const auto& f : fields) {
        if (auto tlv = ber::read(r, f.tag, f.name); !tlv) return tlv.error();
    }
    const std::size_t before_user_data = r.position();
    const std::string user_data_field = std::string(name) + ".user_data";
    auto user_data = ber::read(r, kOctetString, user_data_field.c_str());
    if (!user_data) return user_data.error();
    if (!r.empty()) return Error{name, std::to_string(r.remaining()) + " byte(s) after user data"};
    auto conference = gcc::decode(user_data->value, direction);
    if (!conference) return conference.error();
    ConnectPdu out;
    out.direction = direction;
    out.fields_before_user_data.assign(pdu->value.begin(), pdu->value.begin() + before_user_data);
    out.conference = std::move(*conference);
    out.outer_length_width = pdu->length_width;
    out.user_data_length_width = user_data->length_width;
    return out;
}

}  // namespace

Result<ConnectPdu> decode_connect_initial(ByteView payload) {
    return decode_connect(payload, kConnectInitial, "mcs.connect_initial", kInitialFields,
                          gcc::Direction::request);
}

Result<ConnectPdu> decode_connect_response(ByteView payload) {
    return decode_connect(payload, kConnectResponse, "mcs.connect_response", kResponseFields,
                          gcc::Direction::response);
}

Result<Bytes> encode(const ConnectPdu& pdu) {
    if (auto s = gcc::encodable(pdu.conference); !s) return s.error();
    const Bytes user_data = gcc::encode(pdu.conference);
    Bytes inner = pdu.fields_before_user_data;
    Writer iw(inner);
    ber::write_header(iw, kOctetString, user_data.size(), pdu.user_data_length_width);
    iw.bytes(user_data);

    Bytes payload;
    Writer pw(payload);
    const uint16_t tag =
        pdu.direction == gcc::Direction::request ? kConnectInitial : kConnectResponse;
    ber::write_header(pw, tag, inner.size(), pdu.outer_length_width);
    pw.bytes(inner);
    if (payload.size() + kTpktHeaderSize + kX224DataHeaderSize > kMaxTpkt)
        return Error{"mcs.connect_pdu", "re-encoded PDU of " + std::to_string(payload.size()) +
                                            " bytes no longer fits in a TPKT frame"};
    return wrap_x224_data(payload);
}

bool looks_like_connect_initial(ByteView payload) {
    return payload.size() >= 2 && payload[0] == 0x7F && payload[1] == 0x65;
}

}  // namespace rdpbridge::rdp::mcs
