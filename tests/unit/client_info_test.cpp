// rdp/client_info: TS_INFO_PACKET decoding and the auto-logon rewrite, on FreeRDP's real
// Client Info and the TSCredentials it delegated over NLA (see client_info_fixture.hpp).
#include <gtest/gtest.h>

#include <algorithm>

#include "client_info_fixture.hpp"
#include "rdp/client_info.hpp"

using namespace rdpbridge::rdp;
using namespace rdpbridge::test;

namespace {

bool contains(ByteView haystack, ByteView needle) {
    return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
           haystack.end();
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

Bytes bytes_of(ByteView v) {
    return Bytes(v.begin(), v.end());
}

const char* const kLabPassword = "labpass-Secret1";

}  // namespace

TEST(ClientInfo, DecodesFreeRdpsRealClientInfo) {
    const Bytes info = info_packet_of_pdu(real_client_info_pdu());
    ASSERT_EQ(info.size(), 344u);
    auto p = client_info::decode(info);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->code_page, 0u);
    EXPECT_EQ(p->flags, kFreeRdpFlags);
    EXPECT_TRUE(p->unicode());
    EXPECT_TRUE(p->flags & client_info::info_autologon);  // FreeRDP had /p: on its command line
    EXPECT_TRUE(p->domain.empty());
    EXPECT_EQ(*utf16le_to_utf8(p->user_name, "user"), "labuser");
    EXPECT_EQ(bytes_of(p->password), utf16(kLabPassword));
    EXPECT_TRUE(p->alternate_shell.empty());
    EXPECT_TRUE(p->working_dir.empty());
    // TS_EXTENDED_INFO_PACKET: clientAddressFamily AF_INET, cbClientAddress 20 ("127.0.0.1").
    ASSERT_GE(p->extended.size(), 4u);
    EXPECT_EQ(bytes_of(p->extended.first(4)), (Bytes{0x02, 0x00, 0x14, 0x00}));
    EXPECT_EQ(p->extended.data(), info.data() + 18 + 2 + 16 + 32 + 2 + 2);
    EXPECT_EQ(bytes_of(p->extended), real_extended_info());
}

TEST(ClientInfo, DecodesAnAnsiClientInfo) {
    const Bytes ansi = build_info_packet(1252, client_info::info_mouse,
                                         {Bytes{'D'}, Bytes{'b', 'o', 'b'}, {}, {}, Bytes{'C'}},
                                         Bytes{0x02, 0x00});
    auto p = client_info::decode(ansi);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_FALSE(p->unicode());
    EXPECT_EQ(bytes_of(p->user_name), (Bytes{'b', 'o', 'b'}));
    EXPECT_EQ(bytes_of(p->working_dir), Bytes{'C'});
    EXPECT_EQ(bytes_of(p->extended), (Bytes{0x02, 0x00}));
}

TEST(ClientInfo, RewriteKeepsEveryOtherByte) {
    const Bytes info = info_packet_of_pdu(real_client_info_pdu());
    const auto original = *client_info::decode(info);
    auto rewritten = client_info::with_credentials(info, credentials("CORP", "alice", "pw-Ä€😀"));
    ASSERT_TRUE(rewritten) << rewritten.error().message();
    const ByteView out = rewritten->view();

    // Byte for byte what the spec says the packet becomes: the new lengths and strings in
    // place of the old, everything else copied.
    const Bytes domain = utf16("CORP"), user = utf16("alice"), password = utf16("pw-Ä€😀");
    const Bytes expected =
        build_info_packet(0, kFreeRdpFlags, {domain, user, password, {}, {}}, original.extended);
    EXPECT_EQ(bytes_of(out), expected);
    EXPECT_EQ(out.size(), info.size() - 14 - 30 + domain.size() + user.size() + password.size());
    // The extended info is the same bytes at the end of both.
    EXPECT_TRUE(std::equal(original.extended.rbegin(), original.extended.rend(), out.rbegin()));

    auto p = client_info::decode(out);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(*utf16le_to_utf8(p->domain, "d"), "CORP");
    EXPECT_EQ(*utf16le_to_utf8(p->user_name, "u"), "alice");
    EXPECT_EQ(bytes_of(p->password), password);
    EXPECT_EQ(p->code_page, original.code_page);
    EXPECT_EQ(p->flags, original.flags | client_info::info_autologon);
}

// Acceptance: the back leg's Client Info takes the password from the delegated TSCredentials
// even when the client's own Client Info carries none (as mstsc sends it).
TEST(ClientInfo, EmptyPasswordTakesTheDelegatedPasswordAndAutoLogon) {
    const Bytes mstsc = mstsc_style_info_packet();
    const auto before = *client_info::decode(mstsc);
    ASSERT_TRUE(before.password.empty());
    ASSERT_FALSE(before.flags & client_info::info_autologon);

    const credssp::PasswordCredentials delegated = delegated_credentials();
    ASSERT_EQ(delegated.domain, "LAB");
    ASSERT_EQ(delegated.user, "labuser");
    auto rewritten = client_info::with_credentials(mstsc, delegated);
    ASSERT_TRUE(rewritten) << rewritten.error().message();
    auto after = client_info::decode(rewritten->view());
    ASSERT_TRUE(after) << after.error().message();
    EXPECT_EQ(bytes_of(after->password), bytes_of(delegated.password.view()));
    EXPECT_EQ(bytes_of(after->password), utf16(kLabPassword));
    EXPECT_EQ(*utf16le_to_utf8(after->domain, "d"), "LAB");
    EXPECT_EQ(*utf16le_to_utf8(after->user_name, "u"), "labuser");
    EXPECT_EQ(after->flags, before.flags | client_info::info_autologon);
    EXPECT_EQ(bytes_of(after->extended), bytes_of(before.extended));
}

TEST(ClientInfo, SmartCardPinFlagIsClearedWhenAPasswordGoesIn) {
    const Bytes pin = build_info_packet(0, kFreeRdpFlags | client_info::info_password_is_sc_pin,
                                        {{}, utf16("u"), utf16("1234"), {}, {}}, {});
    auto rewritten = client_info::with_credentials(pin, credentials("", "u", "pw"));
    ASSERT_TRUE(rewritten);
    EXPECT_EQ(client_info::decode(rewritten->view())->flags, kFreeRdpFlags);
}

TEST(ClientInfo, AnsiClientInfoIsNotRewritten) {
    const Bytes ansi = build_info_packet(1252, client_info::info_mouse,
                                         {{}, Bytes{'b', 'o', 'b'}, {}, {}, {}}, {});
    auto r = client_info::with_credentials(ansi, credentials("", "bob", "pw"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().field, "client_info.flags");
    EXPECT_TRUE(contains(r.error().reason, "INFO_UNICODE"));
}

TEST(ClientInfo, TruncationsFailNamingTheField) {
    const Bytes info = info_packet_of_pdu(real_client_info_pdu());
    // Everything up to the last terminator is required; the extended info is opaque.
    const std::size_t strings_end = info.size() - real_extended_info().size();
    for (std::size_t n = 0; n < strings_end; ++n) {
        const ByteView cut = ByteView(info).first(n);
        auto r = client_info::decode(cut);
        ASSERT_FALSE(r) << "prefix of " << n << " bytes accepted";
        EXPECT_TRUE(r.error().field.starts_with("client_info.")) << r.error().field;
        EXPECT_FALSE(contains(r.error().message(), kLabPassword));
        auto w = client_info::with_credentials(cut, credentials("D", "u", "p"));
        ASSERT_FALSE(w);
        EXPECT_EQ(w.error().field, r.error().field);
    }
    EXPECT_EQ(client_info::decode(ByteView(info).first(2)).error().field, "client_info.CodePage");
    EXPECT_EQ(client_info::decode(ByteView(info).first(6)).error().field, "client_info.flags");
    EXPECT_EQ(client_info::decode(ByteView(info).first(13)).error().field,
              "client_info.cbPassword");
    // Inside the password (bytes 18 + 2 + 16 = 36 to 66), then at its terminator.
    EXPECT_EQ(client_info::decode(ByteView(info).first(40)).error().field, "client_info.Password");
    EXPECT_EQ(client_info::decode(ByteView(info).first(67)).error().field,
              "client_info.Password.terminator");
    EXPECT_EQ(client_info::decode(ByteView(info).first(70)).error().field,
              "client_info.WorkingDir.terminator");
    EXPECT_TRUE(client_info::decode(ByteView(info).first(strings_end)));
}

TEST(ClientInfo, MalformedStringsAreRefused) {
    Bytes odd = info_packet_of_pdu(real_client_info_pdu());
    odd[10] = 13;  // cbUserName odd in UTF-16LE
    auto r = client_info::decode(odd);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().field, "client_info.cbUserName");

    Bytes unterminated = info_packet_of_pdu(real_client_info_pdu());
    unterminated[18 + 2 + 14 + 2 + 30] = 'X';  // the password's terminator
    r = client_info::decode(unterminated);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().field, "client_info.Password.terminator");
    EXPECT_FALSE(contains(r.error().message(), kLabPassword));
}

TEST(ClientInfo, ThePasswordNeverAppearsInAnError) {
    const Bytes info = mstsc_style_info_packet();
    // An odd-sized password: refused without quoting it, in UTF-16LE or UTF-8.
    const Bytes odd = {'s', 0, 'e', 0, 'c', 0, 'r', 0, 'e', 0, 't', 0, '!'};
    auto r = client_info::with_credentials(info, {"", "u", Secret(ByteView(odd))});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().field, "credentials.password");
    EXPECT_FALSE(contains(r.error().message(), "secret"));
    const std::string message = r.error().message();
    EXPECT_FALSE(
        contains(ByteView(reinterpret_cast<const uint8_t*>(message.data()), message.size()),
                 ByteView(odd).first(12)));
    // Too long for cbPassword.
    auto long_password =
        client_info::with_credentials(info, {"", "u", Secret(Bytes(0x10000 + 2, 'x'))});
    ASSERT_FALSE(long_password);
    EXPECT_EQ(long_password.error().field, "credentials.password");
    EXPECT_FALSE(contains(long_password.error().message(), "xxxx"));
}
