// The ERRINFO table of [MS-RDPBCGR] 2.2.5.1.1 (Set Error Info PDU Data, errorInfo field),
// https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-rdpbcgr/a21a1bd9-2303-49c1-90ec-3932435c248c
#include "rdp/error_info.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace rdpbridge::rdp {
namespace {

TEST(ErrorInfo, TableIsSortedAndUnique) {
    const auto table = error_info_table();
    ASSERT_FALSE(table.empty());
    std::set<std::string_view> names;
    for (std::size_t i = 0; i < table.size(); ++i) {
        if (i > 0) {
            EXPECT_LT(table[i - 1].code, table[i].code) << table[i].name;
        }
        EXPECT_TRUE(names.insert(table[i].name).second) << "duplicate name " << table[i].name;
    }
}

TEST(ErrorInfo, EveryEntryIsNamedAndDescribedOnOneLine) {
    for (const auto& e : error_info_table()) {
        EXPECT_EQ(e.name.substr(0, 8), "ERRINFO_") << e.name;
        EXPECT_EQ(e.name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"),
                  std::string_view::npos)
            << e.name;
        ASSERT_FALSE(e.description.empty()) << e.name;
        EXPECT_EQ(e.description.find('\n'), std::string_view::npos) << e.name;
        EXPECT_EQ(e.description.back(), '.') << e.name;
        EXPECT_LT(e.description.size(), 120u) << e.name;
        EXPECT_EQ(error_info_name(e.code), e.name);
        EXPECT_EQ(error_info_description(e.code), e.description);
    }
}

// The four groups of the spec's table, by how many codes each documents.
TEST(ErrorInfo, CoversEveryGroupOfTheSpec) {
    std::size_t independent = 0, licensing = 0, broker = 0, rdp_specific = 0;
    for (const auto& e : error_info_table()) {
        if (e.code <= 0x1A)
            ++independent;
        else if (e.code >= 0x100 && e.code <= 0x10A)
            ++licensing;
        else if (e.code >= 0x400 && e.code <= 0x412)
            ++broker;
        else if (e.code >= 0x10C9 && e.code <= 0x1195)
            ++rdp_specific;
        else {
            ADD_FAILURE() << "code outside the spec's ranges: " << e.code;
        }
    }
    EXPECT_EQ(independent, 20u);  // 0x0..0x7, 0x9..0xC, 0xF..0x12, 0x17..0x1A
    EXPECT_EQ(licensing, 11u);    // 0x100..0x10A
    EXPECT_EQ(broker, 11u);       // 0x400, 0x402, 0x404..0x409, 0x410..0x412
    EXPECT_EQ(rdp_specific, 78u);
    EXPECT_EQ(error_info_table().size(), 120u);
}

TEST(ErrorInfo, SpotChecksAgainstTheSpec) {
    const std::pair<uint32_t, std::string_view> spec[] = {
        {0x00000000, "ERRINFO_NONE"},
        {0x00000001, "ERRINFO_RPC_INITIATED_DISCONNECT"},
        {0x00000002, "ERRINFO_RPC_INITIATED_LOGOFF"},
        {0x00000003, "ERRINFO_IDLE_TIMEOUT"},
        {0x00000004, "ERRINFO_LOGON_TIMEOUT"},
        {0x00000005, "ERRINFO_DISCONNECTED_BY_OTHERCONNECTION"},
        {0x00000006, "ERRINFO_OUT_OF_MEMORY"},
        {0x00000007, "ERRINFO_SERVER_DENIED_CONNECTION"},
        {0x00000009, "ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES"},
        {0x0000000A, "ERRINFO_SERVER_FRESH_CREDENTIALS_REQUIRED"},
        {0x0000000B, "ERRINFO_RPC_INITIATED_DISCONNECT_BYUSER"},
        {0x0000000C, "ERRINFO_LOGOFF_BY_USER"},
        {0x0000000F, "ERRINFO_CLOSE_STACK_ON_DRIVER_NOT_READY"},
        {0x00000018, "ERRINFO_SERVER_CSRSS_CRASH"},
        {0x0000001A, "ERRINFO_SERVER_REBOOT"},
        {0x00000100, "ERRINFO_LICENSE_INTERNAL"},
        {0x00000104, "ERRINFO_LICENSE_HWID_DOESNT_MATCH_LICENSE"},
        {0x0000010A, "ERRINFO_LICENSE_NO_REMOTE_CONNECTIONS"},
        {0x00000400, "ERRINFO_CB_DESTINATION_NOT_FOUND"},
        {0x00000410, "ERRINFO_CB_CONNECTION_ERROR_INVALID_SETTINGS"},
        {0x00000412, "ERRINFO_CB_SESSION_ONLINE_VM_SESSMON_FAILED"},
        {0x000010C9, "ERRINFO_UNKNOWNPDUTYPE2"},
        {0x000010CA, "ERRINFO_UNKNOWNPDUTYPE"},
        {0x000010E3, "ERRINFO_BADSUPRESSOUTPUTPDU"},
        {0x000010F8, "ERRINFO_GDIPLUSPDUBADLENGTH"},
        {0x00001111, "ERRINFO_SECURITYDATATOOSHORT2"},
        {0x00001126, "ERRINFO_SECURITYDATATOOSHORT23"},
        {0x00001129, "ERRINFO_BADMONITORDATA"},
        {0x00001136, "ERRINFO_INVALIDMONITORCOUNT"},
        {0x00001191, "ERRINFO_UPDATESESSIONKEYFAILED"},
        {0x00001192, "ERRINFO_DECRYPTFAILED"},
        {0x00001193, "ERRINFO_ENCRYPTFAILED"},
        {0x00001194, "ERRINFO_ENCPKGMISMATCH"},
        {0x00001195, "ERRINFO_DECRYPTFAILED2"},
    };
    for (const auto& [code, name] : spec) {
        EXPECT_EQ(error_info_name(code), name) << code;
    }
}

TEST(ErrorInfo, UndocumentedCodesAreUnknown) {
    // Gaps in the spec's table, the mstsc-only extended reasons and FreeRDP's private 0x1196.
    for (uint32_t code : {0x8u,    0xDu,    0xEu,    0x13u,   0x16u,   0x1Bu,   0xFFu,
                          0x10Bu,  0x300u,  0x401u,  0x403u,  0x40Au,  0x413u,  0x1000u,
                          0x10C8u, 0x10CCu, 0x10D6u, 0x10E4u, 0x10E6u, 0x10EBu, 0x10EEu,
                          0x10F9u, 0x1127u, 0x1128u, 0x1137u, 0x1190u, 0x1196u, 0xFFFFFFFFu}) {
        EXPECT_EQ(error_info_name(code), std::nullopt) << code;
        EXPECT_EQ(error_info_description(code), std::nullopt) << code;
    }
}

TEST(ErrorInfo, ToString) {
    EXPECT_EQ(error_info_to_string(0x0000000C), "ERRINFO_LOGOFF_BY_USER (0x0000000C)");
    EXPECT_EQ(error_info_to_string(0x000010C9), "ERRINFO_UNKNOWNPDUTYPE2 (0x000010C9)");
    EXPECT_EQ(error_info_to_string(0), "ERRINFO_NONE (0x00000000)");
    EXPECT_EQ(error_info_to_string(0x0000BEEF), "unknown ERRINFO 0x0000BEEF");
    EXPECT_EQ(error_info_to_string(0xFFFFFFFF), "unknown ERRINFO 0xFFFFFFFF");
}

TEST(ErrorInfo, DescriptionsSayWhatHappened) {
    EXPECT_EQ(error_info_description(0x3), "The server's idle session time limit ran out.");
    EXPECT_NE(error_info_description(0x7)->find("refused"), std::string_view::npos);
    EXPECT_NE(error_info_description(0x102)->find("License"), std::string_view::npos);
}

}  // namespace
}  // namespace rdpbridge::rdp
