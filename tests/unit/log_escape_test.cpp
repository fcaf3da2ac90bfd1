#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "proxy/handshake_log.hpp"
#include "proxy/log_escape.hpp"

using namespace rdpbridge::proxy;
using namespace std::string_literals;

namespace {

// True when the line holds no byte a terminal or a journal would act on.
bool inert(const std::string& line) {
    for (unsigned char c : line)
        if (c < 0x20 || c == 0x7F) return false;
    return true;
}

TEST(LogEscape, PrintableTextIsUnchanged) {
    EXPECT_EQ(escape_for_log("plc-07 Admin [x] {y} 'q' \"d\""), "plc-07 Admin [x] {y} 'q' \"d\"");
    EXPECT_EQ(escape_for_log("Grüße — 東京 ✓"), "Grüße — 東京 ✓");
    EXPECT_EQ(escape_for_log(""), "");
}

TEST(LogEscape, ControlBytesBecomeEscapes) {
    EXPECT_EQ(escape_for_log("a\x1b[31mb"), "a\\x1b[31mb");
    EXPECT_EQ(escape_for_log("1\n2\r3\t4"), "1\\n2\\r3\\t4");
    EXPECT_EQ(escape_for_log("nul\0end"s), "nul\\x00end");
    EXPECT_EQ(escape_for_log("bell\x07 del\x7f"), "bell\\x07 del\\x7f");
    // A backslash is escaped too, so that an escape in the output always means a byte that was
    // escaped, never the peer typing the four characters \x1b.
    EXPECT_EQ(escape_for_log("DOM\\user \\x1b"), "DOM\\\\user \\\\x1b");
}

TEST(LogEscape, InvalidUtf8BytesBecomeHexOneByOne) {
    EXPECT_EQ(escape_for_log("\xff\xfe"), "\\xff\\xfe");
    EXPECT_EQ(escape_for_log("end\xc3"), "end\\xc3");                       // truncated
    EXPECT_EQ(escape_for_log("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
    EXPECT_EQ(escape_for_log("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a UTF-16 surrogate
    EXPECT_EQ(escape_for_log("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
    // A broken sequence does not swallow the character that follows it.
    EXPECT_EQ(escape_for_log("\xe2\x80"
                             "A\xc3\xa9"),
              "\\xe2\\x80A\xc3\xa9");
}

TEST(LogEscape, CharactersThatActOnTheDisplayBecomeCodePoints) {
    EXPECT_EQ(escape_for_log("\xc2\x9b"
                             "2J"),
              "\\u009b2J");  // C1 CSI
    EXPECT_EQ(escape_for_log("a\xe2\x80\xae"
                             "b"),
              "a\\u202eb");  // right-to-left override
    EXPECT_EQ(escape_for_log("a\xe2\x80\xa8"
                             "b"),
              "a\\u2028b");                                  // line separator
    EXPECT_EQ(escape_for_log("\xef\xbb\xbfx"), "\\ufeffx");  // BOM
}

TEST(LogEscape, QuotedFormEscapesQuotes) {
    EXPECT_EQ(quote_for_log("a\"b\n"), "\"a\\\"b\\n\"");
}

TEST(LogEscape, EveryByteAloneComesOutInert) {
    for (int b = 0; b < 256; ++b) {
        const std::string one(1, char(b));
        const std::string out = escape_for_log(one);
        EXPECT_TRUE(inert(out)) << "byte " << b;
        if (b >= 0x80) {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", b);
            EXPECT_EQ(out, hex);
        }
    }
}

// The attack this exists for: a cookie that would end the gateway's line and print a forged
// one with a timestamp, after clearing the screen.
TEST(HumanLine, ForgedCookieStaysOnOneEscapedLine) {
    const std::string cookie = "evil\x1b[2J\x1b[H\r\n2026-12-04 [info] fake\x07\xff";
    Json event{{"conn", "abc123-000001"},
               {"event", "stage"},
               {"stage", "client_x224"},
               {"mstshash", cookie},
               {"detail", "cookie " + cookie}};
    event["x224"] = {{"mstshash", cookie}, {"requested_protocols", "SSL|HYBRID"}};
    const std::string line = human_line(event);

    EXPECT_TRUE(inert(line)) << line;
    EXPECT_EQ(line.find('\n'), std::string::npos);
    const std::string escaped = "evil\\x1b[2J\\x1b[H\\r\\n2026-12-04 [info] fake\\x07\\xff";
    EXPECT_NE(line.find("mstshash=" + escaped), std::string::npos) << line;
    EXPECT_NE(line.find("(cookie " + escaped + ")"), std::string::npos) << line;
    // Nested values are escaped as well (dumping them as JSON would throw on the 0xff).
    EXPECT_NE(line.find("x224={\"mstshash\":\"" + escaped + "\",\"requested_protocols\":"),
              std::string::npos)
        << line;
}

TEST(HumanLine, EveryFieldIsEscapedKeysIncluded) {
    Json event{{"conn", "c\n1"},   {"event", "handshake_failed\r"},
               {"k\x1b", "v\x1b"}, {"explanation", "e\x1b"},
               {"hint", "h\n"},    {"n", 42}};
    const std::string line = human_line(event);
    EXPECT_TRUE(inert(line)) << line;
    EXPECT_EQ(line, "[c\\n1] handshake_failed\\r k\\x1b=v\\x1b n=42 — e\\x1b Fix: h\\n");
}

}  // namespace
