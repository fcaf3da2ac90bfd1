#include "rdp/gcc.hpp"

#include <algorithm>
#include <array>

#include "rdp/ber.hpp"

namespace rdpbridge::rdp::gcc {

namespace {

// Key object identifier t124-02-98 { 0 0 20 124 0 1 }, PER-encoded after a CHOICE index 0.
constexpr std::array<uint8_t, 7> kT124Identifier{0x00, 0x05, 0x00, 0x14, 0x7C, 0x00, 0x01};
constexpr std::array<uint8_t, 4> kClientKey{'D', 'u', 'c', 'a'};
constexpr std::array<uint8_t, 4> kServerKey{'M', 'c', 'D', 'n'};
constexpr std::size_t kBlockHeader = 4;

// ConferenceCreateRequest: choice, optional-field selection, conferenceName (NumericString,
// at least one digit, packed two per octet), padding, one set of user data, H.221 choice.
Status skip_request_fields(Reader& r) {
    if (auto s = r.skip(2, "gcc.conference_create_request.choice"); !s) return s;
    auto digits = r.u8("gcc.conference_create_request.conference_name.length");
    if (!digits) return digits.error();
    const std::size_t name_octets = (std::size_t(*digits) + 1 + 1) / 2;
    if (auto s = r.skip(name_octets, "gcc.conference_create_request.conference_name"); !s) return s;
    return r.skip(3, "gcc.conference_create_request.user_data_set");
}

// ConferenceCreateResponse: choice, nodeID (2), tag (INTEGER: length + value), result
// (ENUMERATED), one set of user data, H.221 choice.
Status skip_response_fields(Reader& r) {
    if (auto s = r.skip(3, "gcc.conference_create_response.node_id"); !s) return s;
    auto tag_length = r.u8("gcc.conference_create_response.tag.length");
    if (!tag_length) return tag_length.error();
    if (auto s = r.skip(*tag_length, "gcc.conference_create_response.tag"); !s) return s;
    return r.skip(3, "gcc.conference_create_response.result_and_user_data_set");
}

Status read_h221_key(Reader& r, Direction direction) {
    auto length = r.u8("gcc.h221_key.length");
    if (!length) return length.error();
    if (*length != 0) {  // PER octet string with a lower bound of 4: 0 means exactly 4
        return Error{"gcc.h221_key.length",
                     "expected a 4-octet key, got length index " + std::to_string(*length)};
    }
    auto key = r.bytes(4, "gcc.h221_key");
    if (!key) return key.error();
    const auto& expected = direction == Direction::request ? kClientKey : kServerKey;
    if (!std::equal(key->begin(), key->end(), expected.begin()))
        return Error{"gcc.h221_key", "expected \"" + std::string(expected.begin(), expected.end()) +
                                         "\", got 0x" + hex(*key)};
    return Ok{};
}

Result<std::vector<DataBlock>> read_blocks(ByteView data) {
    std::vector<DataBlock> blocks;
    Reader r(data);
    while (!r.empty()) {
        auto type = r.u16le("gcc.data_block.type");
        if (!type) return type.error();
        auto length = r.u16le("gcc.data_block.length");
        if (!length) return length.error();
        if (*length < kBlockHeader)
            return Error{"gcc.data_block.length",
                         std::to_string(*length) + " is shorter than the block header"};
        auto body = r.bytes(*length - kBlockHeader, "gcc.data_block.body");
        if (!body) return body.error();
        blocks.push_back(DataBlock{*type, Bytes(body->begin(), body->end())});
    }
    return blocks;
}

std::optional<uint32_t> read_u32_at(const DataBlock& b, std::size_t offset) {
    if (b.body.size() < offset + 4) return std::nullopt;
    return load_u32le(&b.body[offset]);
}

bool write_u32_at(DataBlock& b, std::size_t offset, uint32_t value) {
    if (b.body.size() < offset + 4) return false;
    store_u32le(&b.body[offset], value);
    return true;
}

}  // namespace

DataBlock* ConferenceCreate::find(uint16_t type) {
    auto it = std::find_if(blocks.begin(), blocks.end(), [&](auto& b) { return b.type == type; });
    return it == blocks.end() ? nullptr : &*it;
}

const DataBlock* ConferenceCreate::find(uint16_t type) const {
    return const_cast<ConferenceCreate*>(this)->find(type);
}

Result<ConferenceCreate> decode(ByteView user_data, Direction direction) {
    Reader r(user_data);
    auto id = r.bytes(kT124Identifier.size(), "gcc.t124_identifier");
    if (!id) return id.error();
    if (!std::equal(id->begin(), id->end(), kT124Identifier.begin()))
        return Error{"gcc.t124_identifier", "not the T.124 key 0.0.20.124.0.1: 0x" + hex(*id)};
    bool long_connect = false, long_data = false;
    auto connect_length = per::read_length(r, "gcc.connect_pdu.length", &long_connect);
    if (!connect_length) return connect_length.error();
    const int skew = int(*connect_length) - int(r.remaining());
    const std::size_t header_start = r.position();
    const ByteView connect_pdu = r.rest();
    auto fields =
        direction == Direction::request ? skip_request_fields(r) : skip_response_fields(r);
    if (!fields) return fields.error();
    if (auto s = read_h221_key(r, direction); !s) return s.error();
    ConferenceCreate out;
    out.direction = direction;
    out.connect_length_skew = skew;
    out.long_connect_length = long_connect;
    out.connect_pdu_header.assign(connect_pdu.begin(),
                                  connect_pdu.begin() + (r.position() - header_start));
    auto data_length = per::read_length(r, "gcc.user_data.length", &long_data);
    if (!data_length) return data_length.error();
    out.long_user_data_length = long_data;
    if (*data_length != r.remaining()) {
        return Error{"gcc.user_data.length", "says " + std::to_string(*data_length) + ", " +
                                                 std::to_string(r.remaining()) + " present"};
    }
    auto blocks = read_blocks(r.rest());
    if (!blocks) return blocks.error();
    out.blocks = std::move(*blocks);
    return out;
}

Status encodable(const ConferenceCreate& cc) {
    std::size_t data = 0;
    for (const auto& b : cc.blocks) data += kBlockHeader + b.body.size();
    if (data > per::kMaxLength)
        return Error{"gcc.user_data.length",
                     std::to_string(data) + " bytes of data blocks exceed a PER length"};
    const std::size_t connect =
        cc.connect_pdu_header.size() + (data >= 0x80 || cc.long_user_data_length ? 2 : 1) + data;
    if (int(connect) + cc.connect_length_skew > int(per::kMaxLength))
        return Error{"gcc.connect_pdu.length", "the ConnectGCCPDU exceeds a PER length"};
    return Ok{};
}

Bytes encode(const ConferenceCreate& cc) {
    Bytes data;
    Writer dw(data);
    for (const auto& b : cc.blocks) {
        dw.u16le(b.type);
        dw.u16le(uint16_t(b.body.size() + kBlockHeader));
        dw.bytes(b.body);
    }
    Bytes connect_pdu = cc.connect_pdu_header;
    Writer cw(connect_pdu);
    per::write_length(cw, data.size(), cc.long_user_data_length);
    cw.bytes(data);

    Bytes out(kT124Identifier.begin(), kT124Identifier.end());
    Writer w(out);
    per::write_length(w, std::size_t(std::max(0, int(connect_pdu.size()) + cc.connect_length_skew)),
                      cc.long_connect_length);
    w.bytes(connect_pdu);
    return out;
}

std::optional<uint32_t> server_selected_protocol(const DataBlock& cs_core) {
    return read_u32_at(cs_core, kCsCoreServerSelectedProtocol);
}

bool set_server_selected_protocol(DataBlock& cs_core, uint32_t value) {
    return write_u32_at(cs_core, kCsCoreServerSelectedProtocol, value);
}

std::optional<uint32_t> client_requested_protocols(const DataBlock& sc_core) {
    return read_u32_at(sc_core, kScCoreClientRequestedProtocols);
}

bool set_client_requested_protocols(DataBlock& sc_core, uint32_t value) {
    return write_u32_at(sc_core, kScCoreClientRequestedProtocols, value);
}

std::optional<uint32_t> server_version(const DataBlock& sc_core) {
    return read_u32_at(sc_core, 0);
}

}  // namespace rdpbridge::rdp::gcc
