#include "proxy/quick_start_hints.hpp"

#include <gtest/gtest.h>

#include "rdp/diagnosis.hpp"

using rdpbridge::proxy::quick_start_hint;
using rdpbridge::rdp::Cause;
using rdpbridge::rdp::describe;

namespace {

std::string hint_for(Cause c) {
    return quick_start_hint(std::string(describe(c).fix), "192.0.2.7:3389", "192.0.2.7:3389");
}

}  // namespace

TEST(QuickStartHints, SecurityKeyBecomesTheFlag) {
    const auto h = hint_for(Cause::host_ssl_not_allowed);
    EXPECT_NE(h.find("run with --backend-security rdp (or auto)"), std::string::npos) << h;
    EXPECT_EQ(h.find("[[backend]]"), std::string::npos) << h;
    EXPECT_EQ(h.find("write a config file"), std::string::npos) << h;
}

TEST(QuickStartHints, AddressBecomesTarget) {
    const auto h = hint_for(Cause::dns_not_found);
    EXPECT_NE(h.find("--target"), std::string::npos) << h;
    EXPECT_EQ(h.find("[[backend]]"), std::string::npos) << h;
}

TEST(QuickStartHints, NlaBecomesNlaUsers) {
    const auto h = hint_for(Cause::host_hybrid_required);
    EXPECT_NE(h.find("--nla-users FILE"), std::string::npos) << h;
}

TEST(QuickStartHints, KeysWithoutAFlagPointAtAConfigFileForThisBackend) {
    const auto h = hint_for(Cause::host_tls_version_mismatch);
    EXPECT_NE(h.find("[backend.tls] min_version"), std::string::npos) << h;
    EXPECT_NE(h.find("write a config file"), std::string::npos) << h;
    EXPECT_NE(h.find("name = \"192.0.2.7:3389\""), std::string::npos) << h;
}

TEST(QuickStartHints, HintsWithoutConfigKeysStayAsTheyAre) {
    const std::string fix(describe(Cause::client_closed).fix);
    EXPECT_EQ(quick_start_hint(fix, "b", "h:1"), fix);
}
