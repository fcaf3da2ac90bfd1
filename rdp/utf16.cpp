#include "rdp/utf16.hpp"

#include <optional>

namespace rdpbridge::rdp {

namespace {

bool is_high_surrogate(uint32_t unit) {
    return unit >= 0xD800 && unit <= 0xDBFF;
}
bool is_low_surrogate(uint32_t unit) {
    return unit >= 0xDC00 && unit <= 0xDFFF;
}

void append_utf8(Bytes& out, uint32_t code_point) {
    if (code_point < 0x80) {
        out.push_back(uint8_t(code_point));
    } else if (code_point < 0x800) {
        out.push_back(uint8_t(0xC0 | code_point >> 6));
        out.push_back(uint8_t(0x80 | (code_point & 0x3F)));
    } else if (code_point < 0x10000) {
        out.push_back(uint8_t(0xE0 | code_point >> 12));
        out.push_back(uint8_t(0x80 | (code_point >> 6 & 0x3F)));
        out.push_back(uint8_t(0x80 | (code_point & 0x3F)));
    } else {
        out.push_back(uint8_t(0xF0 | code_point >> 18));
        out.push_back(uint8_t(0x80 | (code_point >> 12 & 0x3F)));
        out.push_back(uint8_t(0x80 | (code_point >> 6 & 0x3F)));
        out.push_back(uint8_t(0x80 | (code_point & 0x3F)));
    }
}

void append_utf16le(Bytes& out, uint32_t code_point) {
    auto unit = [&out](uint32_t u) {
        out.push_back(uint8_t(u));
        out.push_back(uint8_t(u >> 8));
    };
    if (code_point < 0x10000) {
        unit(code_point);
    } else {
        code_point -= 0x10000;
        unit(0xD800 | code_point >> 10);
        unit(0xDC00 | (code_point & 0x3FF));
    }
}

// The code point of the UTF-8 sequence at `utf8[at]`, advancing `at`; nullopt if it is not the
// shortest encoding of a scalar value (truncated, overlong, a surrogate, above U+10FFFF).
std::optional<uint32_t> next_code_point(ByteView utf8, std::size_t& at) {
    const uint8_t lead = utf8[at];
    if (lead < 0x80) {
        ++at;
        return lead;
    }
    // The multi-byte forms: lead byte pattern, continuation bytes, smallest value allowed.
    struct Form {
        uint8_t mask, pattern;
        std::size_t continuations;
        uint32_t minimum;
    };
    static constexpr Form kForms[] = {
        {0xE0, 0xC0, 1, 0x80}, {0xF0, 0xE0, 2, 0x800}, {0xF8, 0xF0, 3, 0x10000}};
    for (const Form& form : kForms) {
        if ((lead & form.mask) != form.pattern) continue;
        if (utf8.size() - at <= form.continuations) return std::nullopt;
        uint32_t code_point = lead & uint8_t(~form.mask);
        for (std::size_t i = 1; i <= form.continuations; ++i) {
            const uint8_t next = utf8[at + i];
            if ((next & 0xC0) != 0x80) return std::nullopt;
            code_point = code_point << 6 | (next & 0x3F);
        }
        if (code_point < form.minimum || code_point > 0x10FFFF || is_high_surrogate(code_point) ||
            is_low_surrogate(code_point))
            return std::nullopt;
        at += 1 + form.continuations;
        return code_point;
    }
    return std::nullopt;
}

}  // namespace

Status append_utf16le_as_utf8(ByteView utf16le, Bytes& out, const char* field) {
    if (utf16le.size() % 2 != 0)
        return Error{
            field, "UTF-16LE text of " + std::to_string(utf16le.size()) + " bytes, an odd number"};
    out.reserve(out.size() + utf16le.size() / 2 * 3);  // a unit gives at most 3 bytes, a pair 4
    for (std::size_t i = 0; i < utf16le.size(); i += 2) {
        const uint32_t unit = uint32_t(utf16le[i] | utf16le[i + 1] << 8);
        uint32_t code_point = unit;
        if (is_high_surrogate(unit) && i + 3 < utf16le.size()) {
            const uint32_t low = uint32_t(utf16le[i + 2] | utf16le[i + 3] << 8);
            if (is_low_surrogate(low)) {
                code_point = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                i += 2;
            }
        }
        if (is_high_surrogate(code_point) || is_low_surrogate(code_point))
            return Error{field, "unpaired UTF-16 surrogate at byte " + std::to_string(i)};
        append_utf8(out, code_point);
    }
    return Ok{};
}

Status append_utf8_as_utf16le(ByteView utf8, Bytes& out, const char* field) {
    out.reserve(out.size() + utf8.size() * 2);  // a byte gives at most 2, a 4-byte sequence 4
    for (std::size_t at = 0; at < utf8.size();) {
        const std::size_t start = at;
        auto code_point = next_code_point(utf8, at);
        if (!code_point) return Error{field, "invalid UTF-8 at byte " + std::to_string(start)};
        append_utf16le(out, *code_point);
    }
    return Ok{};
}

Result<std::string> utf16le_to_utf8(ByteView utf16le, const char* field) {
    Bytes utf8;
    if (auto s = append_utf16le_as_utf8(utf16le, utf8, field); !s) return s.error();
    return std::string(utf8.begin(), utf8.end());
}

Result<Bytes> utf8_to_utf16le(std::string_view utf8, const char* field) {
    Bytes out;
    const ByteView bytes(reinterpret_cast<const uint8_t*>(utf8.data()), utf8.size());
    if (auto s = append_utf8_as_utf16le(bytes, out, field); !s) return s.error();
    return out;
}

}  // namespace rdpbridge::rdp
