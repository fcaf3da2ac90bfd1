#include "rdp/pdu_watch.hpp"

#include <algorithm>

#include "rdp/ber.hpp"
#include "rdp/mcs_domain.hpp"

namespace rdpbridge::rdp {

namespace {

constexpr uint8_t kX224DataCode = 0xF0;
constexpr std::size_t kShareControlHeaderSize = 6;  // totalLength, pduType, pduSource
constexpr std::size_t kShareDataHeaderSize = 12;    // shareId .. compressedLength
constexpr std::size_t kShareHeadersSize = kShareControlHeaderSize + kShareDataHeaderSize;
constexpr std::size_t kSetErrorInfoSize = kShareHeadersSize + 4;  // + errorInfo
constexpr uint16_t kPduTypeData = 7;         // PDUTYPE_DATAPDU, the low 4 bits of pduType
constexpr uint8_t kPacketCompressed = 0x20;  // compressedType flag
constexpr std::size_t kPduType2Offset = kShareControlHeaderSize + 8;
constexpr std::size_t kCompressedTypeOffset = kPduType2Offset + 1;

// The longest MCS Send Data header (type, initiator, channel, flags, two-byte PER length) ends
// well inside the kept bytes, and so does a whole Set Error Info PDU after it.
static_assert(kTpktHeaderSize + kX224DataHeaderSize + 8 + kSetErrorInfoSize <= PduWatch::kHeadSize);

uint16_t u16le_at(ByteView b, std::size_t at) {
    return uint16_t(b[at] | b[at + 1] << 8);
}

std::string hex_byte(uint8_t v) {
    return "0x" + hex(ByteView(&v, 1));
}

}  // namespace

PduWatch::PduWatch(std::size_t max_pdu) : max_pdu_(max_pdu) {}

std::size_t PduWatch::header_bytes_wanted() const {
    if (head_len_ == 0) return 1;
    if ((head_[0] & 0x03) == 0) {  // fast-path: one length byte, or two
        if (head_len_ < 2) return 2;
        return (head_[1] & 0x80) ? 3 : 2;
    }
    return kTpktHeaderSize;
}

void PduWatch::reset_pdu() {
    head_len_ = 0;
    length_ = 0;
    seen_ = 0;
    pdu_start_ = offset_;
}

std::optional<Error> PduWatch::fail(Error e) {
    e.reason += " (PDU at stream offset " + std::to_string(pdu_start_) + ")";
    error_ = std::move(e);
    return error_;
}

std::optional<Error> PduWatch::feed(ByteView chunk) {
    if (error_) return error_;
    std::size_t i = 0;
    while (i < chunk.size()) {
        if (length_ == 0) {
            // The header: never more bytes than it has, so none of the next PDU's are taken.
            const std::size_t n = std::min(header_bytes_wanted() - head_len_, chunk.size() - i);
            std::copy_n(chunk.data() + i, n, head_.data() + head_len_);
            head_len_ += n;
            seen_ += n;
            i += n;
            offset_ += n;
            auto peek = peek_frame(ByteView(head_.data(), head_len_));
            if (!peek) return fail(peek.error());
            if (!*peek) continue;
            const FrameHeader header = **peek;
            if (header.length > max_pdu_) {
                return fail(
                    Error{header.kind == FrameKind::tpkt ? "tpkt.length" : "fastpath.length",
                          "announces " + std::to_string(header.length) +
                              " bytes, more than the limit of " + std::to_string(max_pdu_)});
            }
            kind_ = header.kind;
            length_ = header.length;
        } else {
            const std::size_t n = std::min(length_ - seen_, chunk.size() - i);
            if (kind_ == FrameKind::tpkt && head_len_ < kHeadSize) {
                const std::size_t keep = std::min(n, kHeadSize - head_len_);
                std::copy_n(chunk.data() + i, keep, head_.data() + head_len_);
                head_len_ += keep;
            }
            seen_ += n;
            i += n;
            offset_ += n;
        }
        if (length_ != 0 && seen_ == length_) {
            ++pdus_;
            if (kind_ == FrameKind::tpkt) {
                if (auto e = inspect()) return fail(std::move(*e));
            }
            reset_pdu();
        }
    }
    return std::nullopt;
}

std::optional<Error> PduWatch::inspect() {
    // head_ holds min(length_, kHeadSize) bytes; peek_frame made length_ at least 7.
    const ByteView head(head_.data(), head_len_);
    const uint8_t li = head[4];
    const uint8_t code = head[5];
    if (code != kX224DataCode) {
        switch (code & 0xF0) {
            case 0xE0:  // Connection Request
            case 0xD0:  // Connection Confirm
            case 0x80:  // Disconnect Request
            case 0x70:  // TPDU Error
                if (std::size_t(li) + 1 > length_ - kTpktHeaderSize)
                    return Error{"x224.length_indicator",
                                 std::to_string(li) + " runs past the " +
                                     std::to_string(length_ - kTpktHeaderSize) + "-byte TPDU"};
                return std::nullopt;  // nothing of ours inside
            default:
                return Error{"x224.code", hex_byte(code) + " is not a class 0 TPDU"};
        }
    }
    if (li != 2)
        return Error{"x224.length_indicator",
                     "expected 2 for a Data TPDU, got " + std::to_string(li)};

    const std::size_t payload_size = length_ - kTpktHeaderSize - kX224DataHeaderSize;
    // The kept part of the payload: all of it up to kHeadSize - 7 bytes.
    const ByteView payload = head.subspan(kTpktHeaderSize + kX224DataHeaderSize);
    if (payload_size == 0) return Error{"mcs.domain_pdu", "empty X.224 data payload"};
    const auto type = mcs::DomainPdu(payload[0] >> 2);

    if (type == mcs::DomainPdu::disconnect_provider_ultimatum) {
        auto reason = mcs::disconnect_reason(payload);
        if (!reason) return reason.error();
        events_.push_back(WatchEvent{WatchEvent::Kind::disconnect_ultimatum, *reason});
        return std::nullopt;
    }
    if (type != mcs::DomainPdu::send_data_indication && type != mcs::DomainPdu::send_data_request)
        return std::nullopt;

    // The Send Data header ends within 8 bytes: when the payload is shorter than that, the kept
    // part is all of it, so a short read here is a short PDU.
    Reader r(payload);
    if (auto s = r.skip(1, "mcs.send_data.type"); !s) return s.error();
    if (auto s = r.skip(2, "mcs.send_data.initiator"); !s) return s.error();
    if (auto s = r.skip(2, "mcs.send_data.channel_id"); !s) return s.error();
    if (auto s = r.skip(1, "mcs.send_data.priority_segmentation"); !s) return s.error();
    auto length = per::read_length(r, "mcs.send_data.length");
    if (!length) return length.error();
    const std::size_t header = r.position();
    const std::size_t user_size = *length;
    if (header + user_size > payload_size) {
        return Error{"mcs.send_data.user_data",
                     "needs " + std::to_string(user_size) + " byte(s), only " +
                         std::to_string(payload_size - header) + " left"};
    }
    if (header + user_size < payload_size) {
        return Error{"mcs.send_data", std::to_string(payload_size - header - user_size) +
                                          " byte(s) after user data"};
    }

    // Is the user data a Set Error Info PDU? Its kept part holds min(user_size, 22) bytes.
    if (user_size < kShareHeadersSize) return std::nullopt;
    const ByteView user = r.rest();
    const uint16_t total_length = u16le_at(user, 0);
    const uint16_t pdu_type = u16le_at(user, 2);
    if ((pdu_type & 0x0F) != kPduTypeData || total_length != user_size ||
        user[kPduType2Offset] != kPduType2SetErrorInfo)
        return std::nullopt;
    if (user[kCompressedTypeOffset] & kPacketCompressed) return std::nullopt;  // unreadable
    if (user_size < kSetErrorInfoSize) {
        return Error{
            "set_error_info.error_info",
            "needs 4 byte(s), only " + std::to_string(user_size - kShareHeadersSize) + " left"};
    }
    events_.push_back(
        WatchEvent{WatchEvent::Kind::set_error_info, load_u32le(user.data() + kShareHeadersSize)});
    return std::nullopt;
}

std::vector<WatchEvent> PduWatch::take_events() {
    std::vector<WatchEvent> out;
    out.swap(events_);
    return out;
}

std::optional<Error> PduWatch::finish() const {
    if (error_) return error_;
    if (seen_ == 0) return std::nullopt;
    const std::string where = " (PDU at stream offset " + std::to_string(pdu_start_) + ")";
    if (length_ == 0) {
        const bool fastpath = (head_[0] & 0x03) == 0;
        return Error{
            fastpath ? "fastpath.length" : "tpkt.length",
            "stream ended after " + std::to_string(seen_) + " byte(s) of the header" + where};
    }
    return Error{kind_ == FrameKind::tpkt ? "tpkt.length" : "fastpath.length",
                 "announces " + std::to_string(length_) + " bytes, stream ended after " +
                     std::to_string(seen_) + where};
}

}  // namespace rdpbridge::rdp
