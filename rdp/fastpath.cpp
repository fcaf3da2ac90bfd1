#include "rdp/fastpath.hpp"

#include "rdp/security_header.hpp"

namespace rdpbridge::rdp::fastpath {

Result<Pdu> decode(ByteView frame, bool fips) {
    Reader r(frame);
    Pdu pdu;
    auto header = r.u8("fastpath.header");
    if (!header) return header.error();
    if ((*header & 0x03) != 0) return Error{"fastpath.header", "action bits are not fast-path (0)"};
    pdu.header = *header;
    auto l1 = r.u8("fastpath.length");
    if (!l1) return l1.error();
    std::size_t length = *l1;
    if (length & 0x80) {
        auto l2 = r.u8("fastpath.length");
        if (!l2) return l2.error();
        length = ((length & 0x7F) << 8) | *l2;
    }
    if (length != frame.size())
        return Error{"fastpath.length", "says " + std::to_string(length) + ", frame has " +
                                            std::to_string(frame.size())};
    if (pdu.flags() & sec::fastpath_encrypted) {
        if (fips) {
            // TS_FP_FIPS_INFO: its length is always 0x10 and its version 1; the padding
            // completes a 3DES block, so it is never 8 or more.
            auto info_len = r.u16le("fastpath.fips_information.length");
            if (!info_len) return info_len.error();
            if (*info_len != sec::kFipsHeaderLength)
                return Error{"fastpath.fips_information.length",
                             "is " + std::to_string(*info_len) + ", must be 16"};
            auto version = r.u8("fastpath.fips_information.version");
            if (!version) return version.error();
            if (*version != sec::kFipsVersion)
                return Error{"fastpath.fips_information.version",
                             "is " + std::to_string(*version) + ", must be 1"};
            auto pad = r.u8("fastpath.fips_information.padlen");
            if (!pad) return pad.error();
            if (*pad > 7)
                return Error{"fastpath.fips_information.padlen",
                             std::to_string(*pad) + " is not 0..7"};
            pdu.fips_padding = *pad;
        }
        auto mac = r.bytes(8, "fastpath.data_signature");
        if (!mac) return mac.error();
        pdu.mac.emplace();
        std::copy(mac->begin(), mac->end(), pdu.mac->begin());
    }
    pdu.data = r.rest();
    return pdu;
}

Result<Bytes> encode(const Pdu& pdu, ByteView data) {
    if (pdu.fips_padding && *pdu.fips_padding > 7)
        return Error{"fastpath.fips_information.padlen",
                     std::to_string(*pdu.fips_padding) + " is not 0..7"};
    const std::size_t security = (pdu.fips_padding ? 4 : 0) + (pdu.mac ? 8 : 0);
    std::size_t total = 2 + security + data.size();
    if (total > 0x7F) ++total;
    if (total > kMaxLength)
        return Error{"fastpath.length", std::to_string(total) + " exceeds the fast-path maximum"};
    Bytes out;
    out.reserve(total);
    Writer w(out);
    w.u8(pdu.header);
    if (total > 0x7F)
        w.u16be(uint16_t(0x8000 | total));
    else
        w.u8(uint8_t(total));
    if (pdu.fips_padding) {
        w.u16le(sec::kFipsHeaderLength);
        w.u8(sec::kFipsVersion);
        w.u8(*pdu.fips_padding);
    }
    if (pdu.mac) w.bytes(*pdu.mac);
    w.bytes(data);
    return out;
}

}  // namespace rdpbridge::rdp::fastpath
