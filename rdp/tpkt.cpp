#include "rdp/tpkt.hpp"

namespace rdpbridge::rdp {

namespace {
constexpr std::size_t kMinTpktLength = kTpktHeaderSize + kX224DataHeaderSize;
}

Result<std::optional<FrameHeader>> peek_frame(ByteView buffered) {
    using Peek = std::optional<FrameHeader>;
    if (buffered.empty()) return Peek{};
    const uint8_t first = buffered[0];
    if ((first & 0x03) == 0) {
        // Fast-path: length in one byte, or two when the high bit of the first is set.
        if (buffered.size() < 2) return Peek{};
        std::size_t length = buffered[1];
        std::size_t header = 2;
        if (length & 0x80) {
            if (buffered.size() < 3) return Peek{};
            length = ((length & 0x7F) << 8) | buffered[2];
            header = 3;
        }
        if (length < header)
            return Error{"fastpath.length", std::to_string(length) + " is shorter than its header"};
        return Peek{FrameHeader{FrameKind::fastpath, length}};
    }
    if (first != kTpktVersion) {
        return Error{"tpkt.version", "first byte 0x" + hex(buffered.first(1)) +
                                         " is neither TPKT version 3 nor a fast-path header"};
    }
    if (buffered.size() < kTpktHeaderSize) return Peek{};
    const std::size_t length = std::size_t(buffered[2]) << 8 | buffered[3];
    if (length < kMinTpktLength)
        return Error{"tpkt.length", std::to_string(length) + " is below the minimum of 7"};
    return Peek{FrameHeader{FrameKind::tpkt, length}};
}

void write_tpkt_header(Writer& w, std::size_t total) {
    w.u8(kTpktVersion);
    w.u8(0);
    w.u16be(uint16_t(total));
}

Result<ByteView> tpkt_body(ByteView frame, const char* what) {
    Reader r(frame);
    auto version = r.u8("tpkt.version");
    if (!version) return version.error();
    if (*version != kTpktVersion)
        return Error{"tpkt.version", "expected 3, got " + std::to_string(*version)};
    if (auto s = r.skip(1, "tpkt.reserved"); !s) return s.error();
    auto length = r.u16be("tpkt.length");
    if (!length) return length.error();
    if (*length != frame.size()) {
        return Error{"tpkt.length", std::string(what) + " says " + std::to_string(*length) +
                                        " bytes, frame has " + std::to_string(frame.size())};
    }
    return r.rest();
}

Bytes wrap_x224_data(ByteView payload) {
    Bytes out;
    out.reserve(kTpktHeaderSize + kX224DataHeaderSize + payload.size());
    Writer w(out);
    write_tpkt_header(w, kTpktHeaderSize + kX224DataHeaderSize + payload.size());
    w.u8(2);     // length indicator
    w.u8(0xF0);  // DT TPDU
    w.u8(0x80);  // EOT: RDP never fragments at the X.224 layer
    w.bytes(payload);
    return out;
}

Result<ByteView> unwrap_x224_data(ByteView frame) {
    auto body = tpkt_body(frame, "x224 data");
    if (!body) return body.error();
    Reader r(*body);
    auto li = r.u8("x224.length_indicator");
    if (!li) return li.error();
    if (*li != 2)
        return Error{"x224.length_indicator",
                     "expected 2 for a Data TPDU, got " + std::to_string(*li)};
    auto code = r.u8("x224.code");
    if (!code) return code.error();
    if (*code != 0xF0)
        return Error{"x224.code", "expected Data TPDU 0xf0, got 0x" + hex(ByteView(&*code, 1))};
    if (auto s = r.skip(1, "x224.eot"); !s) return s.error();
    return r.rest();
}

}  // namespace rdpbridge::rdp
