#include "rdp/x224.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "rdp/tpkt.hpp"

namespace rdpbridge::rdp {

namespace {

constexpr uint8_t kConnectionRequest = 0xE0;
constexpr uint8_t kConnectionConfirm = 0xD0;
constexpr uint8_t kTypeNegReq = 0x01;
constexpr uint8_t kTypeNegRsp = 0x02;
constexpr uint8_t kTypeNegFailure = 0x03;
constexpr uint8_t kTypeCorrelationInfo = 0x06;
constexpr uint16_t kNegLength = 8;
constexpr uint16_t kCorrelationLength = 36;
constexpr std::size_t kFixedX224 = 6;  // code, dst-ref, src-ref, class (after LI)

constexpr std::string_view kCookiePrefix = "Cookie: ";
constexpr std::string_view kMstshash = "Cookie: mstshash=";

std::string byte_hex(uint8_t b) {
    return "0x" + hex(ByteView(&b, 1));
}

// Reads LI, code, references and class; returns the variable part.
Result<ByteView> read_fixed_part(ByteView frame, uint8_t expected_code, const char* what) {
    auto body = tpkt_body(frame, what);
    if (!body) return body.error();
    Reader r(*body);
    auto li = r.u8("x224.length_indicator");
    if (!li) return li.error();
    if (*li != r.remaining()) {
        return Error{"x224.length_indicator", "says " + std::to_string(*li) + ", but " +
                                                  std::to_string(r.remaining()) +
                                                  " byte(s) follow it"};
    }
    auto code = r.u8("x224.code");
    if (!code) return code.error();
    if ((*code & 0xF0) != expected_code) {
        return Error{"x224.code", std::string("expected ") + what + " " + byte_hex(expected_code) +
                                      ", got " + byte_hex(*code)};
    }
    if (auto s = r.skip(kFixedX224 - 1, "x224.references_and_class"); !s) return s.error();
    return r.rest();
}

// The type, flags and 16-bit length shared by every negotiation structure.
struct NegHeader {
    uint8_t type;
    uint8_t flags;
};

Result<NegHeader> read_neg_header(Reader& r, uint16_t expected_length, const char* length_field) {
    auto type = r.u8("x224.negotiation.type");
    if (!type) return type.error();
    auto flags = r.u8("x224.negotiation.flags");
    if (!flags) return flags.error();
    auto length = r.u16le(length_field);
    if (!length) return length.error();
    if (*length != expected_length) {
        return Error{length_field, "expected " + std::to_string(expected_length) + ", got " +
                                       std::to_string(*length)};
    }
    return NegHeader{*type, *flags};
}

Status read_cookie_line(Reader& r, ConnectionRequest& out) {
    const ByteView rest = r.rest();
    const std::string_view text(reinterpret_cast<const char*>(rest.data()), rest.size());
    if (!text.starts_with(kCookiePrefix)) return Ok{};
    const auto end = text.find("\r\n");
    if (end == std::string_view::npos)
        return Error{"x224.cookie", "cookie line has no CR LF terminator"};
    const std::string_view line = text.substr(0, end);
    if (line.starts_with(kMstshash))
        out.mstshash = std::string(line.substr(kMstshash.size()));
    else
        out.routing_token = std::string(line);
    return r.skip(end + 2, "x224.cookie");
}

void write_fixed_part(Writer& w, std::size_t variable_size, uint8_t code) {
    write_tpkt_header(w, kTpktHeaderSize + 1 + kFixedX224 + variable_size);
    w.u8(uint8_t(kFixedX224 + variable_size));
    w.u8(code);
    w.u16be(0);  // dst-ref
    w.u16be(0);  // src-ref
    w.u8(0);     // class 0
}

void write_neg(Writer& w, uint8_t type, uint8_t flags, uint32_t value) {
    w.u8(type);
    w.u8(flags);
    w.u16le(kNegLength);
    w.u32le(value);
}

}  // namespace

std::string protocols_to_string(uint32_t protocols) {
    static constexpr std::array<std::pair<uint32_t, const char*>, 5> names{{
        {protocol::ssl, "SSL"},
        {protocol::hybrid, "HYBRID"},
        {protocol::rdstls, "RDSTLS"},
        {protocol::hybrid_ex, "HYBRID_EX"},
        {protocol::rdsaad, "RDSAAD"},
    }};
    if (protocols == protocol::rdp) return "RDP";
    std::string s;
    uint32_t known = 0;
    for (auto [bit, name] : names) {
        known |= bit;
        if (!(protocols & bit)) continue;
        if (!s.empty()) s += '|';
        s += name;
    }
    if (protocols & ~known) {
        if (!s.empty()) s += '|';
        s += hex32(protocols & ~known);
    }
    return s;
}

std::string to_string(NegFailureCode code) {
    switch (code) {
        case NegFailureCode::ssl_required_by_server:
            return "SSL_REQUIRED_BY_SERVER";
        case NegFailureCode::ssl_not_allowed_by_server:
            return "SSL_NOT_ALLOWED_BY_SERVER";
        case NegFailureCode::ssl_cert_not_on_server:
            return "SSL_CERT_NOT_ON_SERVER";
        case NegFailureCode::inconsistent_flags:
            return "INCONSISTENT_FLAGS";
        case NegFailureCode::hybrid_required_by_server:
            return "HYBRID_REQUIRED_BY_SERVER";
        case NegFailureCode::ssl_with_user_auth_required_by_server:
            return "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER";
    }
    return "UNKNOWN(" + std::to_string(uint32_t(code)) + ")";
}

Result<ConnectionRequest> decode_connection_request(ByteView frame) {
    auto variable = read_fixed_part(frame, kConnectionRequest, "Connection Request");
    if (!variable) return variable.error();
    Reader r(*variable);
    ConnectionRequest out;
    if (auto s = read_cookie_line(r, out); !s) return s.error();
    if (!r.empty() && r.peek() == kTypeNegReq) {
        auto h = read_neg_header(r, kNegLength, "x224.rdp_neg_req.length");
        if (!h) return h.error();
        auto protocols = r.u32le("x224.rdp_neg_req.requested_protocols");
        if (!protocols) return protocols.error();
        out.negotiation = NegotiationRequest{h->flags, *protocols};
    }
    if (!r.empty() && r.peek() == kTypeCorrelationInfo) {
        auto all = r.bytes(kCorrelationLength, "x224.rdp_neg_correlation_info");
        if (!all) return all.error();
        Reader c(*all);
        if (auto h = read_neg_header(c, kCorrelationLength, "x224.rdp_neg_correlation_info.length");
            !h)
            return h.error();
        out.correlation_info = Bytes(all->begin(), all->end());
    }
    if (!r.empty()) {
        return Error{"x224.connection_request",
                     std::to_string(r.remaining()) + " unexpected byte(s) after the last field"};
    }
    return out;
}

Result<ConnectionConfirm> decode_connection_confirm(ByteView frame) {
    auto variable = read_fixed_part(frame, kConnectionConfirm, "Connection Confirm");
    if (!variable) return variable.error();
    Reader r(*variable);
    ConnectionConfirm out;
    if (r.empty()) return out;
    auto h = read_neg_header(r, kNegLength, "x224.negotiation.length");
    if (!h) return h.error();
    auto value = r.u32le("x224.negotiation.value");
    if (!value) return value.error();
    if (h->type == kTypeNegRsp)
        out.negotiation = NegotiationResponse{h->flags, *value};
    else if (h->type == kTypeNegFailure)
        out.negotiation = NegotiationFailure{NegFailureCode(*value)};
    else
        return Error{"x224.negotiation.type",
                     "expected RDP_NEG_RSP 0x02 or RDP_NEG_FAILURE 0x03, "
                     "got " +
                         byte_hex(h->type)};
    if (!r.empty()) {
        return Error{"x224.connection_confirm",
                     std::to_string(r.remaining()) + " unexpected byte(s) after the last field"};
    }
    return out;
}

Bytes encode(const ConnectionRequest& request) {
    std::string cookie;
    if (request.mstshash)
        cookie = std::string(kMstshash) + *request.mstshash + "\r\n";
    else if (request.routing_token)
        cookie = *request.routing_token + "\r\n";
    const std::size_t variable = cookie.size() + (request.negotiation ? kNegLength : 0) +
                                 (request.correlation_info ? request.correlation_info->size() : 0);
    Bytes out;
    Writer w(out);
    write_fixed_part(w, variable, kConnectionRequest);
    w.bytes(ByteView(reinterpret_cast<const uint8_t*>(cookie.data()), cookie.size()));
    if (request.negotiation)
        write_neg(w, kTypeNegReq, request.negotiation->flags,
                  request.negotiation->requested_protocols);
    if (request.correlation_info) w.bytes(*request.correlation_info);
    return out;
}

Bytes encode(const ConnectionConfirm& confirm) {
    Bytes out;
    Writer w(out);
    if (auto* rsp = std::get_if<NegotiationResponse>(&confirm.negotiation)) {
        write_fixed_part(w, kNegLength, kConnectionConfirm);
        write_neg(w, kTypeNegRsp, rsp->flags, rsp->selected_protocol);
    } else if (auto* failure = std::get_if<NegotiationFailure>(&confirm.negotiation)) {
        write_fixed_part(w, kNegLength, kConnectionConfirm);
        write_neg(w, kTypeNegFailure, 0, uint32_t(failure->code));
    } else {
        write_fixed_part(w, 0, kConnectionConfirm);
    }
    return out;
}

}  // namespace rdpbridge::rdp
