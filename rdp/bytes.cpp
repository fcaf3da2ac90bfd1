#include "rdp/bytes.hpp"

namespace rdpbridge::rdp {

Status Reader::need(std::size_t n, const char* field) const {
    if (remaining() >= n) return Ok{};
    return Error{field, "needs " + std::to_string(n) + " byte(s), only " +
                            std::to_string(remaining()) + " left"};
}

Result<uint8_t> Reader::u8(const char* field) {
    if (auto s = need(1, field); !s) return s.error();
    return data_[pos_++];
}

Result<uint16_t> Reader::u16le(const char* field) {
    if (auto s = need(2, field); !s) return s.error();
    uint16_t v = uint16_t(data_[pos_] | data_[pos_ + 1] << 8);
    pos_ += 2;
    return v;
}

Result<uint16_t> Reader::u16be(const char* field) {
    if (auto s = need(2, field); !s) return s.error();
    uint16_t v = uint16_t(data_[pos_] << 8 | data_[pos_ + 1]);
    pos_ += 2;
    return v;
}

Result<uint32_t> Reader::u32le(const char* field) {
    if (auto s = need(4, field); !s) return s.error();
    uint32_t v = load_u32le(&data_[pos_]);
    pos_ += 4;
    return v;
}

Result<ByteView> Reader::bytes(std::size_t n, const char* field) {
    if (auto s = need(n, field); !s) return s.error();
    ByteView v = data_.subspan(pos_, n);
    pos_ += n;
    return v;
}

Status Reader::skip(std::size_t n, const char* field) {
    if (auto s = need(n, field); !s) return s.error();
    pos_ += n;
    return Ok{};
}

void Writer::u16le(uint16_t v) {
    out_.push_back(uint8_t(v));
    out_.push_back(uint8_t(v >> 8));
}

void Writer::u16be(uint16_t v) {
    out_.push_back(uint8_t(v >> 8));
    out_.push_back(uint8_t(v));
}

void Writer::u32le(uint32_t v) {
    uint8_t b[4];
    store_u32le(b, v);
    bytes(b);
}

std::string hex(ByteView b) {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    s.reserve(b.size() * 2);
    for (uint8_t x : b) {
        s.push_back(digits[x >> 4]);
        s.push_back(digits[x & 15]);
    }
    return s;
}

std::string hex32(uint32_t v) {
    const uint8_t be[4] = {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
    return "0x" + hex(be);
}

}  // namespace rdpbridge::rdp
