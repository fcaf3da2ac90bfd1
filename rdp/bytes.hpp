// Bounds-checked reading and plain writing of the little- and big-endian integers RDP mixes.
// Reader never reads past its span; each read names the field so that a short buffer becomes
// an Error pointing at the exact field that did not fit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rdp/error.hpp"

namespace rdpbridge::rdp {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

class Reader {
  public:
    explicit Reader(ByteView data) : data_(data) {}

    std::size_t remaining() const { return data_.size() - pos_; }
    std::size_t position() const { return pos_; }
    bool empty() const { return remaining() == 0; }
    ByteView rest() const { return data_.subspan(pos_); }
    // Looks at the next byte without consuming it; only valid when !empty().
    uint8_t peek() const { return data_[pos_]; }

    Result<uint8_t> u8(const char* field);
    Result<uint16_t> u16le(const char* field);
    Result<uint16_t> u16be(const char* field);
    Result<uint32_t> u32le(const char* field);
    Result<ByteView> bytes(std::size_t n, const char* field);
    Status skip(std::size_t n, const char* field);

  private:
    Status need(std::size_t n, const char* field) const;

    ByteView data_;
    std::size_t pos_ = 0;
};

class Writer {
  public:
    explicit Writer(Bytes& out) : out_(out) {}

    void u8(uint8_t v) { out_.push_back(v); }
    void u16le(uint16_t v);
    void u16be(uint16_t v);
    void u32le(uint32_t v);
    void bytes(ByteView b) { out_.insert(out_.end(), b.begin(), b.end()); }
    std::size_t size() const { return out_.size(); }

  private:
    Bytes& out_;
};

// Little-endian accessors for fixed offsets inside an already length-checked block.
inline uint32_t load_u32le(const uint8_t* p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline void store_u32le(uint8_t* p, uint32_t v) {
    p[0] = uint8_t(v);
    p[1] = uint8_t(v >> 8);
    p[2] = uint8_t(v >> 16);
    p[3] = uint8_t(v >> 24);
}

std::string hex(ByteView b);
// "0x0000000b": how the spec writes 32-bit flags and codes.
std::string hex32(uint32_t v);

}  // namespace rdpbridge::rdp
