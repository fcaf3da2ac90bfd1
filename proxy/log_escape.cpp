#include "proxy/log_escape.hpp"

#include <cstdint>
#include <cstdio>

namespace rdpbridge::proxy {

namespace {

void append_hex(std::string& out, const char* format, unsigned value) {
    char buf[12];
    const int n = std::snprintf(buf, sizeof buf, format, value);
    out.append(buf, std::size_t(n));
}

// The length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF) and its code point; 0 when it is not one.
std::size_t utf8_sequence(std::string_view s, char32_t& cp) {
    const auto byte = [&](std::size_t i) { return uint8_t(s[i]); };
    const uint8_t lead = byte(0);
    std::size_t len = 0;
    char32_t min = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
        len = 2, cp = lead & 0x1F, min = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        len = 3, cp = lead & 0x0F, min = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        len = 4, cp = lead & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (s.size() < len) return 0;
    for (std::size_t i = 1; i < len; ++i) {
        if ((byte(i) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (byte(i) & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

// Characters that are valid but act rather than show: C1 controls (0x9B is CSI to many
// terminals), line/paragraph separators, and the formatting characters that reorder a line
// (Trojan Source) or hide in it.
bool acts_on_display(char32_t cp) {
    return (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
           cp == 0x2028 || cp == 0x2029 || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

void escape_into(std::string& out, std::string_view text, bool quoted) {
    for (std::size_t i = 0; i < text.size();) {
        const auto c = uint8_t(text[i]);
        if (c < 0x80) {
            switch (c) {
                case '\n':
                    out += "\\n";
                    break;
                case '\r':
                    out += "\\r";
                    break;
                case '\t':
                    out += "\\t";
                    break;
                case '\\':
                    out += "\\\\";
                    break;
                case '"':
                    out += quoted ? "\\\"" : "\"";
                    break;
                default:
                    if (c < 0x20 || c == 0x7F)
                        append_hex(out, "\\x%02x", c);
                    else
                        out += char(c);
            }
            ++i;
            continue;
        }
        char32_t cp = 0;
        const std::size_t len = utf8_sequence(text.substr(i), cp);
        if (len == 0) {
            append_hex(out, "\\x%02x", c);  // one byte at a time: the next may start a character
            ++i;
        } else if (acts_on_display(cp)) {
            append_hex(out, "\\u%04x", unsigned(cp));
            i += len;
        } else {
            out.append(text.substr(i, len));
            i += len;
        }
    }
}

}  // namespace

std::string escape_for_log(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    escape_into(out, text, false);
    return out;
}

std::string quote_for_log(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    out += '"';
    escape_into(out, text, true);
    out += '"';
    return out;
}

}  // namespace rdpbridge::proxy
