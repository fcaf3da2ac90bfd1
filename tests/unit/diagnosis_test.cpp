#include <gtest/gtest.h>

#include <set>

#include "rdp/diagnosis.hpp"

using namespace rdpbridge::rdp;

TEST(Diagnosis, TableIsCompleteOrderedAndUnique) {
    std::set<std::string_view> ids;
    const auto causes = all_causes();
    for (std::size_t i = 0; i < causes.size(); ++i) {
        const auto& c = causes[i];
        EXPECT_EQ(std::size_t(c.cause), i) << c.id << " is out of enum order";
        EXPECT_TRUE(ids.insert(c.id).second) << "duplicate id " << c.id;
        EXPECT_FALSE(c.explanation.empty()) << c.id;
        EXPECT_FALSE(c.fix.empty()) << c.id;
        EXPECT_FALSE(c.mstsc.empty()) << c.id;
        EXPECT_FALSE(c.freerdp.empty()) << c.id;
        for (char ch : c.id)
            EXPECT_TRUE(ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) << c.id;
    }
    EXPECT_EQ(&describe(Cause::host_ssl_not_allowed),
              &causes[std::size_t(Cause::host_ssl_not_allowed)]);
}

TEST(Diagnosis, StageNames) {
    EXPECT_EQ(to_string(Stage::client_transport), "client_transport");
    EXPECT_EQ(to_string(Stage::backend_negotiation), "backend_negotiation");
    EXPECT_EQ(to_string(Stage::active_session), "active_session");
}
