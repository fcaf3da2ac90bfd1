// What a reload reports as changed, and what it cannot apply (proxy/generation.hpp).
#include "proxy/generation.hpp"

#include <gtest/gtest.h>

#include "config/load.hpp"

using namespace rdpbridge;

namespace {

config::Config load(const std::string& toml) {
    auto r = config::parse(toml, "t.toml");
    if (auto* errors = std::get_if<std::vector<config::LoadError>>(&r))
        throw std::runtime_error(errors->front().to_string());
    return std::get<config::Config>(std::move(r));
}

const std::string kBase = R"([[listener]]
name = "front"
bind = "127.0.0.1:3389"
default_backend = "win7"
[[backend]]
name = "win7"
address = "192.0.2.7"
[[backend]]
name = "xp"
address = "192.0.2.8"
)";

}  // namespace

TEST(ReloadChanges, NothingChangedIsAnEmptyObject) {
    EXPECT_EQ(proxy::reload_changes(load(kBase), load(kBase)), proxy::Json::object());
    EXPECT_TRUE(proxy::restart_only_changes(load(kBase), load(kBase)).empty());
}

TEST(ReloadChanges, NamesAddedRemovedAndChangedEntries) {
    const auto before = load(kBase);
    std::string text = kBase;
    text.replace(text.find("192.0.2.8"), 9, "192.0.2.9");  // xp changed
    text += R"([[backend]]
name = "nt4"
address = "192.0.2.10"
[[route]]
mstshash = "old*"
backend = "nt4"
[limits]
handshake_timeout = "20s"
keepalive = "30s"
[service]
drain_timeout = 0
)";
    const auto changes = proxy::reload_changes(before, load(text));
    EXPECT_EQ(changes["backends"]["added"], proxy::Json::array({"nt4"}));
    EXPECT_EQ(changes["backends"]["changed"], proxy::Json::array({"xp"}));
    EXPECT_FALSE(changes["backends"].contains("removed"));
    EXPECT_FALSE(changes.contains("listeners"));
    EXPECT_EQ(changes["routes"], "0 -> 1");
    EXPECT_EQ(changes["limits"], proxy::Json::array({"handshake_timeout", "keepalive"}));
    EXPECT_EQ(changes["service"], "changed");
    // And back: the backend is removed.
    EXPECT_EQ(proxy::reload_changes(load(text), before)["backends"]["removed"],
              proxy::Json::array({"nt4"}));
}

TEST(ReloadChanges, LogStateDirWorkersAndIpv6PrefixWaitForARestart) {
    const auto before = load(kBase);
    const auto after = load("state_dir = \"/srv/other\"\n" + kBase + R"(
[logging]
level = "debug"
[limits]
ipv6_source_prefix = 56
[service]
workers = 3
)");
    const auto later = proxy::restart_only_changes(before, after);
    ASSERT_EQ(later.size(), 4u);
    EXPECT_NE(later[0].find("[logging]"), std::string::npos);
    EXPECT_NE(later[1].find("state_dir"), std::string::npos);
    EXPECT_NE(later[2].find("[service] workers"), std::string::npos);
    EXPECT_NE(later[3].find("ipv6_source_prefix"), std::string::npos);
}

TEST(ReloadChanges, ASharedKnownHostsStoreWaitsForARestart) {
    const auto before = load(kBase);
    const auto after = load("known_hosts = \"/srv/shared/known_hosts.jsonl\"\n" + kBase);
    const auto later = proxy::restart_only_changes(before, after);
    ASSERT_EQ(later.size(), 1u);
    EXPECT_NE(later[0].find("known_hosts changed"), std::string::npos) << later[0];
    EXPECT_NE(later[0].find("/known_hosts.jsonl until a restart"), std::string::npos) << later[0];
}

TEST(ReloadChanges, AdminCredentialsApplyButANewBindWaitsForARestart) {
    const auto before = load(kBase + "[admin]\nbind = \"127.0.0.1:9389\"\n");
    const auto token = load(kBase + "[admin]\nbind = \"127.0.0.1:9389\"\ntoken_file = \"/t\"\n");
    EXPECT_EQ(proxy::reload_changes(before, token)["admin"], "credentials");
    EXPECT_TRUE(proxy::restart_only_changes(before, token).empty());
    const auto moved = load(kBase + "[admin]\nbind = \"127.0.0.1:9390\"\n");
    EXPECT_FALSE(proxy::reload_changes(before, moved).contains("admin"));
    const auto later = proxy::restart_only_changes(before, moved);
    ASSERT_EQ(later.size(), 1u);
    EXPECT_NE(later[0].find("[admin] bind changed"), std::string::npos) << later[0];
}
