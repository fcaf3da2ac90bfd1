#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "config/channel_policy.hpp"
#include "config/config.hpp"
#include "config/load.hpp"

namespace rdpbridge::config {
namespace {

using namespace std::chrono_literals;
// gtest only (no gmock): the lead links GTest::gtest_main.
::testing::AssertionResult Contains(std::string_view haystack, std::string_view needle) {
    const bool found = haystack.find(needle) != std::string_view::npos;
    auto result = found ? ::testing::AssertionSuccess() : ::testing::AssertionFailure();
    return result << "\"" << haystack << "\" " << (found ? "contains" : "lacks") << " \"" << needle
                  << "\"";
}

Config expect_config(const LoadResult& result) {
    if (const auto* errors = std::get_if<std::vector<LoadError>>(&result)) {
        for (const LoadError& e : *errors) ADD_FAILURE() << e.to_string();
        return Config{};
    }
    return std::get<Config>(result);
}

std::vector<LoadError> expect_errors(const LoadResult& result) {
    if (std::holds_alternative<Config>(result)) {
        ADD_FAILURE() << "expected errors, got a valid config";
        return {};
    }
    return std::get<std::vector<LoadError>>(result);
}

// The error for `key`; fails the test when there is not exactly one.
LoadError error_for(const std::vector<LoadError>& errors, std::string_view key) {
    const LoadError* found = nullptr;
    int count = 0;
    for (const LoadError& e : errors) {
        if (e.key == key) {
            found = &e;
            ++count;
        }
    }
    if (count != 1) {
        std::string all;
        for (const LoadError& e : errors) all += "\n  " + e.to_string();
        ADD_FAILURE() << count << " errors for key " << key << "; all errors:" << all;
        return LoadError{};
    }
    return *found;
}

// The one error of a config that should have exactly one.
LoadError single_error(std::string_view toml) {
    const auto errors = expect_errors(parse(toml, "t.toml"));
    if (errors.size() != 1) {
        std::string all;
        for (const LoadError& e : errors) all += "\n  " + e.to_string();
        ADD_FAILURE() << errors.size() << " errors, expected 1:" << all;
        return LoadError{};
    }
    return errors.front();
}

// A valid listener + backend (lines 1-7) that tests append to.
constexpr std::string_view kBase = R"([[listener]]
name = "main"
bind = "0.0.0.0"
default_backend = "host"
[[backend]]
name = "host"
address = "192.0.2.7"
)";

std::string with_base(std::string_view extra) {
    return std::string(kBase) + std::string(extra);
}

// ---------------------------------------------------------------------------------------------
// Valid input

TEST(FullFile, LoadsEveryKey) {
    const Config c = expect_config(load_file(RDPBRIDGE_FIXTURES_DIR "/config/full.toml"));

    EXPECT_EQ(c.logging.handshake_log, "/var/log/rdpbridge/handshake.jsonl");
    EXPECT_EQ(c.logging.level, "debug");
    EXPECT_EQ(c.limits.handshake_timeout, 1500ms);
    EXPECT_EQ(c.limits.max_x224_request, 4096u);
    EXPECT_EQ(c.limits.relay_buffer, 32768u);
    EXPECT_EQ(c.limits.max_handshakes_per_source, 12u);
    EXPECT_EQ(c.limits.ipv6_source_prefix, 56);
    EXPECT_EQ(c.limits.keepalive, 30s);

    ASSERT_EQ(c.listeners.size(), 2u);
    const Listener& main = c.listeners[0];
    EXPECT_EQ(main.name, "main");
    EXPECT_EQ(main.bind.host, "0.0.0.0");
    EXPECT_EQ(main.bind.port, 3389);
    EXPECT_EQ(main.default_backend, "win7");
    EXPECT_EQ(main.tls.private_key, "/etc/rdpbridge/key.pem");
    EXPECT_EQ(main.tls.min_version, TlsVersion::tls1_3);
    const Listener& v6 = c.listeners[1];
    EXPECT_EQ(v6.name, "plant-floor.v6");
    EXPECT_EQ(v6.bind.host, "::1");
    EXPECT_EQ(v6.bind.port, 13389);
    EXPECT_EQ(v6.default_backend, "");
    EXPECT_FALSE(v6.tls.certificate);

    ASSERT_EQ(c.backends.size(), 2u);
    const Backend& win7 = c.backends[0];
    EXPECT_EQ(win7.name, "win7");
    EXPECT_EQ(win7.address.host, "192.0.2.7");
    EXPECT_EQ(win7.address.port, 3389);
    EXPECT_EQ(win7.security, BackendSecurity::tls);
    EXPECT_EQ(win7.connect_timeout, 3s);
    EXPECT_TRUE(win7.early_host_contact);
    EXPECT_EQ(win7.tls.min_version, TlsVersion::tls1_0);
    EXPECT_EQ(win7.tls.max_version, TlsVersion::tls1_2);
    EXPECT_EQ(win7.tls.ciphers, "AES128-SHA");
    EXPECT_EQ(win7.tls.security_level, 1);
    EXPECT_FALSE(win7.tls.legacy_renegotiation);
    EXPECT_FALSE(win7.tls.resume);
    EXPECT_EQ(win7.tls.verify, CertVerify::pin);
    EXPECT_EQ(win7.tls.pin_sha256,
              "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
    EXPECT_EQ(win7.tls.sni, "win7.plant.example");
    ASSERT_TRUE(win7.channels);
    EXPECT_FALSE(win7.channels->channels.allow);
    EXPECT_EQ(win7.channels->channels.deny, (std::vector<std::string>{"cliprdr", "rdpsnd"}));
    EXPECT_EQ(win7.channels->devices.allow, (std::vector<std::string>{"printer"}));
    EXPECT_TRUE(win7.channels->devices.deny.empty());
    const Backend& plant = c.backends[1];
    EXPECT_EQ(plant.address.host, "plc-gw.example");
    EXPECT_EQ(plant.address.port, 3390);
    EXPECT_EQ(plant.security, BackendSecurity::automatic);
    EXPECT_EQ(plant.connect_timeout, 2min);
    EXPECT_FALSE(plant.early_host_contact);
    EXPECT_FALSE(plant.channels);
    EXPECT_EQ(plant.tls.verify, CertVerify::ca);
    EXPECT_EQ(plant.tls.name, "plc-gw.plant.example");
    EXPECT_EQ(plant.tls.rdp_key_sha256,
              "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");

    ASSERT_EQ(c.routes.size(), 2u);
    EXPECT_EQ(c.routes[0].listener, "plant-floor.v6");
    EXPECT_EQ(c.routes[0].mstshash, "plc-*");
    EXPECT_EQ(c.routes[0].backend, "plant");
    EXPECT_EQ(c.routes[1].listener, "");
    EXPECT_EQ(c.routes[1].mstshash, "Admin");
    EXPECT_FALSE(c.routes[0].channels);
    ASSERT_TRUE(c.routes[1].channels);
    EXPECT_EQ(c.routes[1].channels->channels.allow, std::vector<std::string>{});

    ASSERT_TRUE(c.admin.bind);
    EXPECT_EQ(c.admin.bind->port, 9100);
    EXPECT_EQ(c.admin.access(), AdminAccess::bearer_token);
}

TEST(FullFile, ResolvesRelativePathsAgainstTheFileDirectory) {
    const Config c = expect_config(load_file(RDPBRIDGE_FIXTURES_DIR "/config/full.toml"));
    const std::filesystem::path dir = RDPBRIDGE_FIXTURES_DIR "/config";
    ASSERT_EQ(c.listeners.size(), 2u);
    ASSERT_EQ(c.backends.size(), 2u);
    EXPECT_EQ(c.state_dir, dir / "state");
    EXPECT_EQ(c.listeners[0].tls.certificate, dir / "certs/front.pem");
    EXPECT_EQ(c.listeners[0].tls.private_key, "/etc/rdpbridge/key.pem");  // absolute: as is
    EXPECT_EQ(c.backends[1].tls.ca_file, RDPBRIDGE_FIXTURES_DIR "/ca/plant-ca.pem");
    EXPECT_EQ(c.admin.token_file, dir / "admin-token");
}

TEST(Parse, KeepsRelativePathsAsWritten) {
    const Config c = expect_config(parse(std::string("state_dir = \"state\"\n") +
                                             "[logging]\nhandshake_log = \"logs/h.jsonl\"\n" +
                                             std::string(kBase),
                                         "t.toml"));
    EXPECT_EQ(c.state_dir, "state");
    EXPECT_EQ(c.logging.handshake_log, "logs/h.jsonl");
}

TEST(Defaults, MinimalConfigUsesStructDefaults) {
    const Config c = expect_config(parse(kBase, "t.toml"));
    EXPECT_EQ(c.state_dir, "/var/lib/rdpbridge");
    EXPECT_EQ(c.logging.level, "info");
    EXPECT_FALSE(c.logging.handshake_log);
    EXPECT_EQ(c.limits.handshake_timeout, 10s);
    EXPECT_EQ(c.limits.max_x224_request, 2048u);
    EXPECT_EQ(c.limits.relay_buffer, 65536u);
    EXPECT_EQ(c.limits.max_handshakes, 256u);
    EXPECT_EQ(c.limits.max_handshakes_per_source, 32u);
    EXPECT_EQ(c.limits.ipv6_source_prefix, 64);
    EXPECT_EQ(c.limits.keepalive, 60s);
    ASSERT_EQ(c.listeners.size(), 1u);
    EXPECT_EQ(c.listeners[0].bind.port, 3389);
    EXPECT_FALSE(c.listeners[0].tls.certificate);
    EXPECT_EQ(c.listeners[0].tls.min_version, TlsVersion::tls1_2);
    ASSERT_EQ(c.backends.size(), 1u);
    const Backend& b = c.backends[0];
    EXPECT_EQ(b.security, BackendSecurity::automatic);
    EXPECT_EQ(b.connect_timeout, 5s);
    EXPECT_FALSE(b.early_host_contact);
    EXPECT_FALSE(b.channels);  // no policy: every channel passes, as before channels existed
    EXPECT_EQ(b.tls.min_version, TlsVersion::tls1_0);
    EXPECT_EQ(b.tls.max_version, TlsVersion::tls1_3);
    EXPECT_EQ(b.tls.ciphers, BackendTls{}.ciphers);
    EXPECT_EQ(b.tls.security_level, 0);
    EXPECT_TRUE(b.tls.legacy_renegotiation);
    EXPECT_TRUE(b.tls.resume);
    // Trust on first use unless told otherwise: a backend is never unverified by default.
    EXPECT_EQ(b.tls.verify, CertVerify::tofu);
    EXPECT_EQ(b.tls.tofu_first_use, FirstUse::learn);
    EXPECT_TRUE(c.routes.empty());
    EXPECT_TRUE(warnings(c).empty());
}

TEST(Defaults, DurationForms) {
    const std::string toml = with_base(R"(connect_timeout = 7
[limits]
handshake_timeout = "500ms"
)");
    const Config c = expect_config(parse(toml, "t.toml"));
    ASSERT_EQ(c.backends.size(), 1u);
    EXPECT_EQ(c.backends[0].connect_timeout, 7s);
    EXPECT_EQ(c.limits.handshake_timeout, 500ms);
}

// The annotated example states every [limits] default; a value there that is not the default
// would document a default that is not true.
TEST(DeployExample, LoadsAndStatesTheLimitsDefaults) {
    const Config c =
        expect_config(load_file(RDPBRIDGE_FIXTURES_DIR "/../../deploy/rdpbridge.toml"));
    const Limits d;
    EXPECT_EQ(c.limits.handshake_timeout, d.handshake_timeout);
    EXPECT_EQ(c.limits.max_x224_request, d.max_x224_request);
    EXPECT_EQ(c.limits.relay_buffer, d.relay_buffer);
    EXPECT_EQ(c.limits.max_sessions, d.max_sessions);
    EXPECT_EQ(c.limits.max_handshakes, d.max_handshakes);
    EXPECT_EQ(c.limits.max_sessions_per_source, d.max_sessions_per_source);
    EXPECT_EQ(c.limits.max_handshakes_per_source, d.max_handshakes_per_source);
    EXPECT_EQ(c.limits.connections_per_second_per_source, d.connections_per_second_per_source);
    EXPECT_EQ(c.limits.idle_timeout, d.idle_timeout);
    EXPECT_EQ(c.limits.ipv6_source_prefix, d.ipv6_source_prefix);
}

TEST(Defaults, HandshakesPerSourceFollowMaxHandshakes) {
    const auto per_source = [](std::string_view limits) {
        return expect_config(parse(with_base(limits), "t.toml")).limits.max_handshakes_per_source;
    };
    EXPECT_EQ(per_source("[limits]\nmax_handshakes = 4000\n"), 500u);
    EXPECT_EQ(per_source("[limits]\nmax_handshakes = 20\n"), 4u);  // never below 4...
    EXPECT_EQ(per_source("[limits]\nmax_handshakes = 2\n"), 2u);   // ...nor above the total
    EXPECT_EQ(per_source("[limits]\nmax_handshakes = 20\nmax_handshakes_per_source = 20\n"), 20u);
    EXPECT_EQ(Limits{}.max_handshakes_per_source,
              default_handshakes_per_source(Limits{}.max_handshakes));
}

TEST(Errors, HandshakesPerSourceAboveMaxHandshakes) {
    const LoadError e = single_error(
        with_base("[limits]\nmax_handshakes = 100\nmax_handshakes_per_source = 101\n"));
    EXPECT_EQ(e.key, "limits.max_handshakes_per_source");
    EXPECT_EQ(e.line, 10);
    EXPECT_TRUE(Contains(e.message, "101 is more than max_handshakes (100)"));
    EXPECT_TRUE(Contains(e.message, "use at most 100, or raise max_handshakes"));
    // Above the default total too, with max_handshakes left out.
    EXPECT_TRUE(
        Contains(single_error(with_base("[limits]\nmax_handshakes_per_source = 300\n")).message,
                 "more than max_handshakes (256)"));
}

TEST(Errors, Ipv6SourcePrefixRange) {
    for (const char* bad : {"0", "129", "-1"}) {
        const LoadError e =
            single_error(with_base(std::string("[limits]\nipv6_source_prefix = ") + bad + "\n"));
        EXPECT_EQ(e.key, "limits.ipv6_source_prefix");
        EXPECT_EQ(e.line, 9);
        EXPECT_EQ(e.message, std::string(bad) + " is out of range; use 1..128");
    }
    EXPECT_EQ(expect_config(parse(with_base("[limits]\nipv6_source_prefix = 48\n"), "t.toml"))
                  .limits.ipv6_source_prefix,
              48);
}

TEST(Defaults, RoutesCanReplaceDefaultBackend) {
    const Config c = expect_config(parse(R"([[listener]]
name = "main"
bind = "127.0.0.1:0"
[[backend]]
name = "host"
address = "host.example"
[[route]]
mstshash = "*"
backend = "host"
)",
                                         "t.toml"));
    ASSERT_EQ(c.listeners.size(), 1u);
    EXPECT_EQ(c.listeners[0].bind.port, 0);  // the OS picks; tests rely on it
}

// ---------------------------------------------------------------------------------------------
// Files

TEST(LoadFile, MissingFileGivesOneErrorNamingIt) {
    const auto errors = expect_errors(load_file("/nonexistent/rdpbridge.toml"));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].file, "/nonexistent/rdpbridge.toml");
    EXPECT_EQ(errors[0].line, 0);
    EXPECT_TRUE(Contains(errors[0].message, "No such file or directory"));
    EXPECT_EQ(errors[0].to_string(),
              "/nonexistent/rdpbridge.toml: cannot open the config: No such file or directory");
}

TEST(LoadFile, DirectoryIsRefused) {
    const auto errors = expect_errors(load_file(RDPBRIDGE_FIXTURES_DIR "/config"));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_TRUE(Contains(errors[0].message, "directory"));
}

// ---------------------------------------------------------------------------------------------
// Errors, one kind per test

TEST(Errors, SyntaxErrorHasTomlLineAndColumn) {
    const LoadError e = single_error("[[listener]]\nname = \"main\"\nbind = \n");
    EXPECT_EQ(e.file, "t.toml");
    EXPECT_EQ(e.line, 3);
    EXPECT_GT(e.column, 0);
    EXPECT_TRUE(Contains(e.message, "TOML syntax error"));
}

TEST(Errors, UnknownKeySuggestsClosestAndListsAllowed) {
    const LoadError e = single_error(with_base(R"(adress = "192.0.2.8"
)"));
    EXPECT_EQ(e.key, "backend[0].adress");
    EXPECT_EQ(e.line, 8);
    EXPECT_EQ(e.column, 1);
    EXPECT_TRUE(Contains(e.message, "unknown key \"adress\" in [[backend]]"));
    EXPECT_TRUE(Contains(e.message, "did you mean \"address\"?"));
    EXPECT_TRUE(Contains(
        e.message,
        "allowed keys: name, address, security, connect_timeout, encryption_methods, tls"));
}

TEST(Errors, UnknownKeyFarFromAnyAllowedHasNoSuggestion) {
    const LoadError e = single_error(with_base("[backend.tls]\nfrobnicate = true\n"));
    EXPECT_EQ(e.key, "backend[0].tls.frobnicate");
    EXPECT_EQ(e.line, 9);
    EXPECT_FALSE(Contains(e.message, "did you mean"));
    EXPECT_TRUE(Contains(e.message, "in [backend.tls]"));
}

TEST(Errors, UnknownTopLevelTable) {
    const LoadError e = single_error(std::string(kBase) + "[[listeners]]\nname = \"x\"\n");
    EXPECT_EQ(e.key, "listeners");
    EXPECT_EQ(e.line, 8);
    EXPECT_TRUE(Contains(e.message, "did you mean \"listener\"?"));
}

TEST(Errors, NestedUnknownKeyWithSwappedLetters) {
    const LoadError e = single_error(with_base("[backend.tls]\nmin_versoin = \"1.0\"\n"));
    EXPECT_EQ(e.key, "backend[0].tls.min_versoin");
    EXPECT_EQ(e.line, 9);
    EXPECT_TRUE(Contains(e.message, "did you mean \"min_version\"?"));
}

TEST(Errors, WrongType) {
    const LoadError e = single_error(with_base("[limits]\nmax_x224_request = \"2048\"\n"));
    EXPECT_EQ(e.key, "limits.max_x224_request");
    EXPECT_EQ(e.line, 9);
    EXPECT_EQ(e.column, 20);
    EXPECT_EQ(e.message, "expected an integer, got a string");
}

TEST(Errors, UnquotedVersionSuggestsQuotes) {
    const LoadError e = single_error(with_base("[backend.tls]\nmin_version = 1.2\n"));
    EXPECT_EQ(e.key, "backend[0].tls.min_version");
    EXPECT_EQ(e.line, 9);
    EXPECT_EQ(e.message, "expected a string, got a float; put it in quotes: \"1.2\"");
}

TEST(Errors, UnquotedWholeVersionKeepsItsDecimal) {
    const LoadError e = single_error(with_base("[backend.tls]\nmax_version = 1.0\n"));
    EXPECT_EQ(e.message, "expected a string, got a float; put it in quotes: \"1.0\"");
}

TEST(Errors, TableExpected) {
    const LoadError e = single_error("logging = \"debug\"\n" + std::string(kBase));
    EXPECT_EQ(e.key, "logging");
    EXPECT_EQ(e.line, 1);
    EXPECT_EQ(e.message, "expected a table, got a string");
}

TEST(Errors, SingleBracketListenerAsksForDoubleBrackets) {
    const auto errors = expect_errors(parse(R"([listener]
name = "main"
bind = "0.0.0.0"
[[backend]]
name = "host"
address = "192.0.2.7"
)",
                                            "t.toml"));
    ASSERT_EQ(errors.size(), 1u);  // and no "at least one listener" on top
    EXPECT_EQ(errors[0].key, "listener");
    EXPECT_EQ(errors[0].line, 1);
    EXPECT_TRUE(Contains(errors[0].message, "write [[listener]] with double brackets"));
}

TEST(Errors, BadEnumValueListsChoicesAndSuggests) {
    const LoadError e = single_error(with_base("security = \"tlss\"\n"));
    EXPECT_EQ(e.key, "backend[0].security");
    EXPECT_EQ(e.line, 8);
    EXPECT_EQ(e.message,
              "\"tlss\" is not a backend security mode; did you mean \"tls\"? use one of \"auto\", "
              "\"tls\", \"rdp\"");
}

TEST(Errors, BadTlsVersion) {
    const LoadError e = single_error(with_base("[backend.tls]\nmin_version = \"1.5\"\n"));
    EXPECT_EQ(e.key, "backend[0].tls.min_version");
    EXPECT_TRUE(Contains(e.message, "\"1.5\" is not a TLS version"));
    EXPECT_TRUE(Contains(e.message, "use one of \"1.0\", \"1.1\", \"1.2\", \"1.3\""));
}

TEST(Errors, BadLogLevel) {
    const LoadError e = single_error("[logging]\nlevel = \"verbose\"\n" + std::string(kBase));
    EXPECT_EQ(e.key, "logging.level");
    EXPECT_EQ(e.line, 2);
    EXPECT_TRUE(Contains(e.message, "\"trace\", \"debug\", \"info\", \"warn\", \"error\""));
}

TEST(Errors, BadDurations) {
    const auto errors = expect_errors(parse(R"([limits]
handshake_timeout = "10 s"
[[listener]]
name = "a"
bind = "0.0.0.0"
default_backend = "b1"
[[backend]]
name = "b1"
address = "h1"
connect_timeout = 0
[[backend]]
name = "b2"
address = "h2"
connect_timeout = "11m"
[[backend]]
name = "b3"
address = "h3"
connect_timeout = 1.5
[[backend]]
name = "b4"
address = "h4"
connect_timeout = "1h"
)",
                                            "t.toml"));
    ASSERT_EQ(errors.size(), 5u);
    const LoadError text = error_for(errors, "limits.handshake_timeout");
    EXPECT_EQ(text.line, 2);
    EXPECT_TRUE(Contains(text.message, "\"10 s\" is not a duration"));
    EXPECT_TRUE(Contains(text.message, "\"500ms\", \"10s\", \"2m\""));
    const LoadError zero = error_for(errors, "backend[0].connect_timeout");
    EXPECT_EQ(zero.line, 10);
    EXPECT_EQ(zero.message, "0s is too short; a duration must be more than 0");
    const LoadError long_ = error_for(errors, "backend[1].connect_timeout");
    EXPECT_EQ(long_.line, 14);
    EXPECT_EQ(long_.message, "\"11m\" is too long; this duration must be at most 10m");
    const LoadError fraction = error_for(errors, "backend[2].connect_timeout");
    EXPECT_EQ(fraction.line, 18);
    EXPECT_TRUE(Contains(fraction.message, "expected a duration"));
    EXPECT_TRUE(Contains(fraction.message, "got a float"));
    EXPECT_EQ(error_for(errors, "backend[3].connect_timeout").line, 22);
}

TEST(Defaults, KeepaliveZeroTurnsItOff) {
    const Config off = expect_config(parse(with_base("[limits]\nkeepalive = 0\n"), "t.toml"));
    EXPECT_EQ(off.limits.keepalive, 0s);
    const Config two = expect_config(parse(with_base("[limits]\nkeepalive = \"2s\"\n"), "t.toml"));
    EXPECT_EQ(two.limits.keepalive, 2s);
}

TEST(Defaults, DrainTimeoutIs30sAndZeroClosesAtOnce) {
    EXPECT_EQ(expect_config(parse(with_base(""), "t.toml")).service.drain_timeout, 30s);
    const Config zero = expect_config(parse(with_base("[service]\ndrain_timeout = 0\n"), "t.toml"));
    EXPECT_EQ(zero.service.drain_timeout, 0s);
    const Config two =
        expect_config(parse(with_base("[service]\ndrain_timeout = \"2m\"\n"), "t.toml"));
    EXPECT_EQ(two.service.drain_timeout, 120s);
    const auto errors = expect_errors(parse(with_base("[service]\ndrain = \"2m\"\n"), "t.toml"));
    EXPECT_TRUE(Contains(error_for(errors, "service.drain").message, "drain_timeout"));
}

TEST(Defaults, WorkersAreOnePerCpuUnlessSet) {
    EXPECT_EQ(expect_config(parse(with_base(""), "t.toml")).service.workers, 0);
    EXPECT_EQ(expect_config(parse(with_base("[service]\nworkers = 3\n"), "t.toml")).service.workers,
              3);
    const auto errors = expect_errors(parse(with_base("[service]\nworkers = 10000\n"), "t.toml"));
    EXPECT_TRUE(Contains(error_for(errors, "service.workers").message, "0..256"));
    const auto text = expect_errors(parse(with_base("[service]\nworkers = \"4\"\n"), "t.toml"));
    EXPECT_TRUE(Contains(error_for(text, "service.workers").message, "integer"));
}

TEST(Errors, BadKeepalives) {
    const auto errors = expect_errors(parse(R"([limits]
keepalive = "1500ms"
[[listener]]
name = "a"
bind = "0.0.0.0"
default_backend = "b1"
[[backend]]
name = "b1"
address = "h1"
)",
                                            "t.toml"));
    const LoadError fraction = error_for(errors, "limits.keepalive");
    EXPECT_EQ(fraction.line, 2);
    EXPECT_TRUE(Contains(fraction.message, "\"1500ms\" is not whole seconds"));

    const LoadError long_ = single_error(with_base("[limits]\nkeepalive = \"3h\"\n"));
    EXPECT_EQ(long_.key, "limits.keepalive");
    EXPECT_EQ(long_.line, 9);
    EXPECT_EQ(long_.message, "\"3h\" is too long; this duration must be at most 2h");

    const LoadError zero_text = single_error(with_base("[limits]\nkeepalive = \"0s\"\n"));
    EXPECT_EQ(zero_text.key, "limits.keepalive");
    EXPECT_EQ(zero_text.message, "\"0s\" is too short; a duration must be more than 0");
}

TEST(Errors, EarlyHostContactIsABoolean) {
    const LoadError e = single_error(with_base("early_host_contact = \"yes\"\n"));
    EXPECT_EQ(e.key, "backend[0].early_host_contact");
    EXPECT_EQ(e.line, 8);
}

TEST(Errors, IntegerOutOfRange) {
    const LoadError e = single_error(with_base("[backend.tls]\nsecurity_level = 6\n"));
    EXPECT_EQ(e.key, "backend[0].tls.security_level");
    EXPECT_EQ(e.message, "6 is out of range; use 0..5");
}

TEST(Errors, MaxVersionBelowMinVersion) {
    const LoadError e =
        single_error(with_base("[backend.tls]\nmin_version = \"1.2\"\nmax_version = \"1.1\"\n"));
    EXPECT_EQ(e.key, "backend[0].tls.max_version");
    EXPECT_EQ(e.line, 10);
    EXPECT_TRUE(Contains(e.message, "max_version \"1.1\" is lower than min_version \"1.2\""));
}

TEST(Errors, LegacyTlsRefusedOnTheFront) {
    const LoadError e = single_error(with_base("[listener.tls]\nmin_version = \"1.0\"\n"));
    // [listener.tls] after [[backend]] still belongs to the last [[listener]].
    EXPECT_EQ(e.key, "listener[0].tls.min_version");
    EXPECT_EQ(e.line, 9);
    EXPECT_TRUE(Contains(e.message, "\"1.2\" or \"1.3\""));
    EXPECT_TRUE(Contains(e.message, "Legacy TLS belongs only in [backend.tls]"));
}

TEST(Errors, MalformedPins) {
    const auto errors = expect_errors(parse(std::string(kBase) + R"(tls.verify = "pin"
tls.pin_sha256 = "AB:CD"
[[backend]]
name = "b2"
address = "h2"
tls.verify = "pin"
tls.pin_sha256 = "zz00000000000000000000000000000000000000000000000000000000000000"
)",
                                            "t.toml"));
    ASSERT_EQ(errors.size(), 2u);
    const LoadError short_pin = error_for(errors, "backend[0].tls.pin_sha256");
    EXPECT_EQ(short_pin.line, 9);
    EXPECT_TRUE(Contains(short_pin.message, "it has 4 hex digits, a SHA-256 pin has 64"));
    const LoadError bad_char = error_for(errors, "backend[1].tls.pin_sha256");
    EXPECT_EQ(bad_char.line, 14);
    EXPECT_TRUE(Contains(bad_char.message, "'z' is not a hex digit"));
}

TEST(Errors, VerifyModeNeedsItsKeyAndOnlyItsKey) {
    const auto errors = expect_errors(parse(std::string(kBase) + R"([backend.tls]
verify = "pin"
ca_file = "/etc/ca.pem"
[[backend]]
name = "b2"
address = "h2"
[backend.tls]
verify = "ca"
)",
                                            "t.toml"));
    ASSERT_EQ(errors.size(), 3u);
    const LoadError no_pin = error_for(errors, "backend[0].tls.pin_sha256");
    EXPECT_EQ(no_pin.line, 8);  // the [backend.tls] header
    EXPECT_TRUE(Contains(no_pin.message, "verify = \"pin\" needs pin_sha256"));
    const LoadError stray_ca = error_for(errors, "backend[0].tls.ca_file");
    EXPECT_EQ(stray_ca.line, 10);
    EXPECT_TRUE(Contains(stray_ca.message, "only used with verify = \"ca\""));
    const LoadError no_ca = error_for(errors, "backend[1].tls.ca_file");
    EXPECT_EQ(no_ca.line, 14);
    EXPECT_TRUE(Contains(no_ca.message, "verify = \"ca\" needs ca_file"));
}

TEST(Errors, CertificateWithoutKey) {
    const LoadError e =
        single_error(with_base("[listener.tls]\ncertificate = \"/etc/rdpbridge/cert.pem\"\n"));
    EXPECT_EQ(e.key, "listener[0].tls.private_key");
    EXPECT_EQ(e.line, 8);  // the [listener.tls] header
    EXPECT_TRUE(Contains(e.message, "certificate is set but private_key is not; set both"));
}

TEST(Errors, KeyWithoutCertificate) {
    const LoadError e = single_error(with_base("[listener.tls]\nprivate_key = \"k.pem\"\n"));
    EXPECT_EQ(e.key, "listener[0].tls.certificate");
    EXPECT_TRUE(Contains(e.message, "private_key is set but certificate is not"));
}

TEST(Errors, UndefinedReferences) {
    const auto errors = expect_errors(parse(R"([[listener]]
name = "main"
bind = "0.0.0.0"
default_backend = "win8"
[[backend]]
name = "win7"
address = "192.0.2.7"
[[route]]
listener = "mian"
mstshash = "plc-*"
backend = "plant"
)",
                                            "t.toml"));
    const LoadError def = error_for(errors, "listener[0].default_backend");
    EXPECT_EQ(def.line, 4);
    EXPECT_EQ(def.message,
              "no backend named \"win8\" is defined; did you mean \"win7\"? defined: \"win7\"");
    const LoadError route_listener = error_for(errors, "route[0].listener");
    EXPECT_EQ(route_listener.line, 9);
    EXPECT_TRUE(Contains(route_listener.message, "did you mean \"main\"?"));
    const LoadError route_backend = error_for(errors, "route[0].backend");
    EXPECT_EQ(route_backend.line, 11);
    EXPECT_TRUE(Contains(route_backend.message, "no backend named \"plant\""));
    EXPECT_FALSE(Contains(route_backend.message, "did you mean"));
    EXPECT_EQ(errors.size(), 3u);
}

TEST(Errors, MissingListener) {
    const LoadError e = single_error(R"([[backend]]
name = "host"
address = "192.0.2.7"
)");
    EXPECT_EQ(e.key, "listener");
    EXPECT_EQ(e.line, 1);
    EXPECT_TRUE(Contains(e.message, "at least one [[listener]] is required"));
    EXPECT_TRUE(Contains(e.message, "[[listener]] name = \"main\" bind = \"0.0.0.0:3389\""));
}

TEST(Errors, EmptyDocumentNeedsListenerAndBackend) {
    const auto errors = expect_errors(parse("", "empty.toml"));
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_TRUE(Contains(error_for(errors, "listener").message, "at least one [[listener]]"));
    EXPECT_TRUE(Contains(error_for(errors, "backend").message,
                         "[[backend]] name = \"win7\" address = \"192.0.2.7:3389\""));
}

TEST(Errors, ListenerWithoutDefaultBackendOrRoute) {
    const LoadError e = single_error(R"([[listener]]
name = "main"
bind = "0.0.0.0"
default_backend = "host"
[[listener]]
name = "lonely"
bind = "0.0.0.0:3390"
[[backend]]
name = "host"
address = "192.0.2.7"
[[route]]
listener = "main"
mstshash = "x"
backend = "host"
)");
    EXPECT_EQ(e.key, "listener[1].default_backend");
    EXPECT_EQ(e.line, 5);
    EXPECT_TRUE(Contains(e.message, "listener \"lonely\" has no default_backend and no [[route]]"));
}

TEST(Errors, MissingRequiredKeysPointAtTheTable) {
    const auto errors = expect_errors(parse(std::string(kBase) + R"([[route]]
listener = "main"
)",
                                            "t.toml"));
    ASSERT_EQ(errors.size(), 2u);
    const LoadError mstshash = error_for(errors, "route[0].mstshash");
    EXPECT_EQ(mstshash.line, 8);
    EXPECT_EQ(mstshash.column, 1);
    EXPECT_TRUE(Contains(mstshash.message, "required key is missing in [[route]]"));
    EXPECT_TRUE(Contains(mstshash.message, "mstshash = \"plc-*\""));
    EXPECT_EQ(error_for(errors, "route[0].backend").line, 8);
}

TEST(Errors, DuplicateNames) {
    const LoadError e = single_error(std::string(kBase) + R"([[backend]]
name = "host"
address = "192.0.2.8"
)");
    EXPECT_EQ(e.key, "backend[1].name");
    EXPECT_EQ(e.line, 9);
    EXPECT_TRUE(Contains(e.message, "duplicate backend name \"host\" (first defined on line 6)"));
}

TEST(Errors, InvalidListenerName) {
    const LoadError e = single_error(R"([[listener]]
name = "front door"
bind = "0.0.0.0"
[[backend]]
name = "host"
address = "192.0.2.7"
)");
    EXPECT_EQ(e.key, "listener[0].name");
    EXPECT_EQ(e.line, 2);
    EXPECT_TRUE(Contains(e.message, "letters, digits, '_', '.' and '-'"));
}

TEST(Errors, BadEndpointsAndBackendPortZero) {
    const auto errors = expect_errors(parse(R"([[listener]]
name = "main"
bind = "0.0.0.0:99999"
default_backend = "host"
[[backend]]
name = "host"
address = "192.0.2.7:0"
)",
                                            "t.toml"));
    ASSERT_EQ(errors.size(), 2u);
    const LoadError bind = error_for(errors, "listener[0].bind");
    EXPECT_EQ(bind.line, 3);
    EXPECT_TRUE(Contains(bind.message, "is not an endpoint; write HOST, HOST:PORT, [IPV6]:PORT"));
    const LoadError address = error_for(errors, "backend[0].address");
    EXPECT_EQ(address.line, 7);
    EXPECT_TRUE(Contains(address.message, "port 0"));
}

TEST(Errors, StarOnlyAtTheEndOfMstshash) {
    const LoadError e = single_error(std::string(kBase) + R"([[route]]
mstshash = "plc-*-a"
backend = "host"
)");
    EXPECT_EQ(e.key, "route[0].mstshash");
    EXPECT_EQ(e.line, 9);
}

TEST(Errors, AllErrorsAreCollectedInLineOrder) {
    const auto errors = expect_errors(parse(R"([logging]
level = "loud"
[limits]
relay_buffer = 10
[[listener]]
name = "main"
bind = "0.0.0.0"
default_backend = "nope"
colour = "blue"
[[backend]]
name = "host"
address = 3389
[backend.tls]
verify = "sometimes"
)",
                                            "multi.toml"));
    ASSERT_EQ(errors.size(), 6u);
    const std::vector<std::pair<std::string, int>> expected = {
        {"logging.level", 2},      {"limits.relay_buffer", 4}, {"listener[0].default_backend", 8},
        {"listener[0].colour", 9}, {"backend[0].address", 12}, {"backend[0].tls.verify", 14},
    };
    for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(errors[i].key, expected[i].first) << i;
        EXPECT_EQ(errors[i].line, expected[i].second) << i;
        EXPECT_EQ(errors[i].file, "multi.toml");
    }
}

TEST(LoadError, ToString) {
    EXPECT_EQ((LoadError{"a.toml", 3, 7, "backend[1].tls.min_version", "bad"}).to_string(),
              "a.toml:3:7: backend[1].tls.min_version: bad");
    EXPECT_EQ((LoadError{"a.toml", 0, 0, "", "cannot open"}).to_string(), "a.toml: cannot open");
    EXPECT_EQ((LoadError{"--target", 0, 0, "--target", "is required"}).to_string(),
              "--target: is required");
}

// ---------------------------------------------------------------------------------------------
// Endpoints

TEST(Endpoint, Forms) {
    struct Case {
        std::string_view text;
        std::string host;
        uint16_t port;
    };
    const Case cases[] = {
        {"rdp.example", "rdp.example", 3389},        {"192.0.2.7:3390", "192.0.2.7", 3390},
        {"[2001:db8::7]:3391", "2001:db8::7", 3391}, {"[::1]", "::1", 3389},
        {"2001:db8::7", "2001:db8::7", 3389},        {"fe80::1%eth0", "fe80::1%eth0", 3389},
        {"host_1.lan:65535", "host_1.lan", 65535},   {"0.0.0.0:0", "0.0.0.0", 0},
    };
    for (const Case& c : cases) {
        const auto ep = parse_endpoint(c.text, 3389);
        ASSERT_TRUE(ep) << c.text;
        EXPECT_EQ(ep->host, c.host) << c.text;
        EXPECT_EQ(ep->port, c.port) << c.text;
    }
    EXPECT_EQ(parse_endpoint("host", 4000)->port, 4000);
}

TEST(Endpoint, Rejects) {
    for (std::string_view text :
         {"", ":3389", "host:", "host:65536", "host:33a", "host:-1", "[::1", "[::1]3389",
          "[::1]:", "[host]:3389", "1:2:3", "bad host", "host/24", "[]:1", "host:+1"}) {
        EXPECT_FALSE(parse_endpoint(text, 3389)) << text;
    }
}

// ---------------------------------------------------------------------------------------------
// Quick start

TEST(QuickStart, BuildsOneListenerOneBackendAndTheDefaultRoute) {
    QuickStart q;
    q.listen = "127.0.0.1:13389";
    q.target = "[2001:db8::7]";
    q.backend_security = "rdp";
    q.handshake_log = "h.jsonl";
    const Config c = expect_config(from_quick_start(q));
    ASSERT_EQ(c.listeners.size(), 1u);
    ASSERT_EQ(c.backends.size(), 1u);
    EXPECT_EQ(c.listeners[0].name, "quickstart");
    EXPECT_EQ(c.listeners[0].bind.host, "127.0.0.1");
    EXPECT_EQ(c.listeners[0].bind.port, 13389);
    EXPECT_EQ(c.listeners[0].default_backend, "[2001:db8::7]:3389");
    EXPECT_EQ(c.backends[0].name, "[2001:db8::7]:3389");
    EXPECT_EQ(c.backends[0].address.host, "2001:db8::7");
    EXPECT_EQ(c.backends[0].address.port, 3389);
    EXPECT_EQ(c.backends[0].security, BackendSecurity::rdp);
    EXPECT_EQ(c.logging.handshake_log, "h.jsonl");
    EXPECT_EQ(c.state_dir, "/var/lib/rdpbridge");
    EXPECT_TRUE(c.routes.empty());
    EXPECT_EQ(c.find_backend("[2001:db8::7]:3389"), &c.backends[0]);
}

TEST(QuickStart, ReportsEveryBadFlag) {
    QuickStart q;
    q.listen = "0.0.0.0:http";
    q.backend_security = "TLS";
    q.state_dir = "";
    const auto errors = expect_errors(from_quick_start(q));
    ASSERT_EQ(errors.size(), 4u);
    EXPECT_EQ(errors[0].file, "--listen");
    EXPECT_EQ(errors[0].key, "--listen");
    EXPECT_EQ(errors[0].line, 0);
    EXPECT_TRUE(Contains(errors[0].message, "\"0.0.0.0:http\" is not an endpoint"));
    EXPECT_EQ(errors[1].file, "--target");
    EXPECT_TRUE(Contains(errors[1].message, "is required"));
    EXPECT_EQ(errors[2].file, "--backend-security");
    EXPECT_TRUE(Contains(errors[2].to_string(),
                         "--backend-security: \"TLS\" is not a backend security mode; did you "
                         "mean \"tls\"?"));
    EXPECT_EQ(errors[3].file, "--state-dir");
}

// ---------------------------------------------------------------------------------------------
// config.hpp helpers

TEST(Config, FindBackendAndToString) {
    Config c;
    c.backends.resize(2);
    c.backends[0].name = "a";
    c.backends[1].name = "b";
    EXPECT_EQ(c.find_backend("b"), &c.backends[1]);
    EXPECT_EQ(c.find_backend("c"), nullptr);
    EXPECT_EQ(to_string(TlsVersion::tls1_0), "1.0");
    EXPECT_EQ(to_string(TlsVersion::tls1_3), "1.3");
    EXPECT_EQ(to_string(BackendSecurity::automatic), "auto");
    EXPECT_EQ(to_string(BackendSecurity::rdp), "rdp");
}

// ---------------------------------------------------------------------------------------------
// NLA on a listener

TEST(Nla, OffByDefault) {
    const Config c = expect_config(parse(kBase, "t.toml"));
    EXPECT_EQ(c.listeners[0].nla, NlaMode::off);
    EXPECT_FALSE(c.listeners[0].nla_users);
}

TEST(Nla, ReadsModeAndUsersFileRelativeToTheConfig) {
    const std::string toml = R"([[listener]]
name = "main"
bind = "0.0.0.0"
default_backend = "host"
nla = "require"
nla_users = "nla-users"
nla_keytab = "/etc/rdpbridge/termsrv.keytab"
[[backend]]
name = "host"
address = "192.0.2.7"
)";
    const Config c = expect_config(parse(toml, "/etc/rdpbridge/rdpbridge.toml"));
    EXPECT_EQ(c.listeners[0].nla, NlaMode::require);
    EXPECT_EQ(c.listeners[0].nla_users, "nla-users");
    EXPECT_EQ(c.listeners[0].nla_keytab, "/etc/rdpbridge/termsrv.keytab");
}

TEST(Nla, NeedsAUsersFile) {
    const LoadError e = single_error(R"([[listener]]
name = "main"
bind = "0.0.0.0"
default_backend = "host"
nla = "offer"
[[backend]]
name = "host"
address = "192.0.2.7"
)");
    EXPECT_EQ(e.line, 5);
    EXPECT_NE(e.message.find("nla_users"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("0600"), std::string::npos) << e.message;
}

TEST(Nla, UnknownModeListsTheChoices) {
    const LoadError e = single_error(R"([[listener]]
name = "main"
bind = "0.0.0.0"
default_backend = "host"
nla = "on"
nla_users = "u"
[[backend]]
name = "host"
address = "192.0.2.7"
)");
    EXPECT_NE(e.message.find("\"offer\""), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("\"require\""), std::string::npos) << e.message;
}

TEST(QuickStart, NlaUsersOffersNla) {
    QuickStart q;
    q.listen = "127.0.0.1:13389";
    q.target = "192.0.2.7";
    q.nla_users = "/etc/rdpbridge/nla-users";
    const Config c = expect_config(from_quick_start(q));
    EXPECT_EQ(c.listeners[0].nla, NlaMode::offer);
    EXPECT_EQ(c.listeners[0].nla_users, "/etc/rdpbridge/nla-users");
}

TEST(Nla, BackendServiceCredentialsReadThePasswordFromAFile) {
    const Config c = expect_config(parse(with_base(R"([backend.credentials]
user = "kiosk"
domain = "PLANT"
password_file = "kiosk.password"
)"),
                                         "/etc/rdpbridge/rdpbridge.toml"));
    ASSERT_TRUE(c.backends[0].credentials);
    EXPECT_EQ(c.backends[0].credentials->user, "kiosk");
    EXPECT_EQ(c.backends[0].credentials->domain, "PLANT");
    EXPECT_EQ(c.backends[0].credentials->password_file, "kiosk.password");  // load_file resolves
}

TEST(Nla, ServiceCredentialsNeedUserAndPasswordFileNotAPassword) {
    const auto errors = expect_errors(parse(with_base(R"([backend.credentials]
password = "secret"
)"),
                                            "t.toml"));
    std::string all;
    for (const LoadError& e : errors) all += e.to_string() + "\n";
    EXPECT_NE(all.find("password_file"), std::string::npos) << all;
    EXPECT_NE(all.find("user"), std::string::npos) << all;
    EXPECT_EQ(all.find("secret"), std::string::npos) << all;  // the value is never echoed
}

TEST(Errors, HostIdentityKeysBelongToTheirModes) {
    const auto errors = expect_errors(parse(std::string(kBase) + R"(security = "rdp"
[backend.tls]
verify = "pin"
[[backend]]
name = "b2"
address = "h2"
security = "rdp"
[backend.tls]
verify = "ca"
ca_file = "/etc/ca.pem"
[[backend]]
name = "b3"
address = "h3"
[backend.tls]
name = "h3.example"
rdp_key_sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
[[backend]]
name = "b4"
address = "h4"
[backend.tls]
verify = "pin"
pin_sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
tofu_first_use = "refuse"
[[backend]]
name = "b5"
address = "h5"
[backend.tls]
tofu_first_use = "sometimes"
)",
                                            "t.toml"));
    ASSERT_EQ(errors.size(), 6u) << errors[0].to_string();
    EXPECT_TRUE(Contains(error_for(errors, "backend[0].tls.rdp_key_sha256").message,
                         "with security = \"rdp\" needs rdp_key_sha256"));
    EXPECT_TRUE(Contains(error_for(errors, "backend[1].tls.verify").message,
                         "a CA cannot vouch for a Standard RDP Security key"));
    EXPECT_TRUE(Contains(error_for(errors, "backend[2].tls.name").message, "with verify = \"ca\""));
    EXPECT_TRUE(Contains(error_for(errors, "backend[2].tls.rdp_key_sha256").message,
                         "tofu records the key itself"));
    EXPECT_TRUE(Contains(error_for(errors, "backend[3].tls.tofu_first_use").message,
                         "only used with verify = \"tofu\""));
    const LoadError bad = error_for(errors, "backend[4].tls.tofu_first_use");
    EXPECT_TRUE(Contains(bad.message, "\"learn\"")) << bad.message;
}

TEST(Warnings, VerifyOffAndUnpinnedFallBackAreNamedWithTheFix) {
    const Config c = expect_config(parse(std::string(kBase) + R"([backend.tls]
verify = "off"
[[backend]]
name = "b2"
address = "h2"
[backend.tls]
verify = "pin"
pin_sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
[[backend]]
name = "b3"
address = "h3"
security = "tls"
[backend.tls]
verify = "pin"
pin_sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
)",
                                         "t.toml"));
    const auto w = warnings(c);
    ASSERT_EQ(w.size(), 2u);
    EXPECT_TRUE(Contains(w[0], "verify = \"off\"")) << w[0];
    EXPECT_TRUE(Contains(w[0], "no credentials are sent")) << w[0];
    EXPECT_TRUE(Contains(w[1], "backend \"b2\"")) << w[1];
    EXPECT_TRUE(Contains(w[1], "rdp_key_sha256")) << w[1];
    EXPECT_TRUE(Contains(w[1], "host_rdp_key_not_pinned")) << w[1];
}

// ---------------------------------------------------------------------------------------------
// Channel policy: [backend.channels], [route.channels]

TEST(Channels, ReadLowerCasedWithTheirDevices) {
    const Config c = expect_config(parse(with_base(R"([backend.channels]
allow = ["RDPDR", "ClipRdr"]
[backend.channels.devices]
deny = ["DRIVE", "smartcard"]
)"),
                                         "t.toml"));
    ASSERT_EQ(c.backends.size(), 1u);
    ASSERT_TRUE(c.backends[0].channels);
    const ChannelPolicy& p = *c.backends[0].channels;
    EXPECT_EQ(p.channels.allow, (std::vector<std::string>{"rdpdr", "cliprdr"}));
    EXPECT_TRUE(p.channels.deny.empty());
    EXPECT_FALSE(p.devices.allow);
    EXPECT_EQ(p.devices.deny, (std::vector<std::string>{"drive", "smartcard"}));
    EXPECT_TRUE(passes(p.channels, "CLIPRDR"));  // names from the wire compare in any case
    EXPECT_FALSE(passes(p.channels, "rdpsnd"));
    EXPECT_FALSE(passes(p.devices, "Drive"));
    EXPECT_TRUE(passes(p.devices, "printer"));
    EXPECT_EQ(describe(p), "channels only rdpdr, cliprdr, rdpdr devices all but drive, smartcard");
    EXPECT_TRUE(warnings(c).empty());
}

TEST(Channels, EmptyAllowPassesNothingAndNoListPassesEverything) {
    const Config c = expect_config(parse(with_base(R"([backend.channels]
allow = []
[[backend]]
name = "devices-only"
address = "h2"
[backend.channels.devices]
allow = ["printer"]
)"),
                                         "t.toml"));
    ASSERT_EQ(c.backends.size(), 2u);
    ASSERT_TRUE(c.backends[0].channels);
    const PassRules& none = c.backends[0].channels->channels;
    ASSERT_TRUE(none.allow);  // present and empty: screen, keyboard and mouse only
    EXPECT_TRUE(none.allow->empty());
    EXPECT_FALSE(passes(none, "rdpdr"));
    EXPECT_EQ(describe(*c.backends[0].channels), "channels none");
    ASSERT_TRUE(c.backends[1].channels);
    const ChannelPolicy& devices_only = *c.backends[1].channels;
    EXPECT_EQ(devices_only.channels, PassRules{});
    EXPECT_TRUE(passes(devices_only.channels, "cliprdr"));
    EXPECT_EQ(describe(devices_only), "channels all, rdpdr devices only printer");
}

TEST(Channels, RouteTableReplacesTheBackendsEntirely) {
    const Config c = expect_config(parse(with_base(R"([backend.channels]
deny = ["cliprdr"]
[backend.channels.devices]
deny = ["drive"]
[[route]]
mstshash = "maint*"
backend = "host"
[route.channels]
deny = []
[[route]]
mstshash = "ops*"
backend = "host"
)"),
                                         "t.toml"));
    ASSERT_EQ(c.routes.size(), 2u);
    ASSERT_TRUE(c.routes[0].channels);
    EXPECT_EQ(*c.routes[0].channels, ChannelPolicy{});
    EXPECT_FALSE(c.routes[1].channels);

    const Backend& b = c.backends[0];
    const ChannelPolicy* maint = effective_channel_policy(b, &c.routes[0]);
    ASSERT_EQ(maint, &*c.routes[0].channels);
    EXPECT_TRUE(passes(maint->channels, "cliprdr"));
    EXPECT_TRUE(passes(maint->devices, "drive"));  // the backend's devices rules are gone too
    EXPECT_EQ(effective_channel_policy(b, &c.routes[1]), &*b.channels);
    EXPECT_EQ(effective_channel_policy(b, nullptr), &*b.channels);
    EXPECT_FALSE(passes(b.channels->channels, "cliprdr"));
    EXPECT_EQ(effective_channel_policy(Backend{}, nullptr), nullptr);
}

TEST(Errors, ChannelsAllowAndDenyTogether) {
    const LoadError e = single_error(with_base(R"([backend.channels]
allow = ["rdpsnd"]
deny = ["cliprdr"]
)"));
    EXPECT_EQ(e.key, "backend[0].channels.deny");
    EXPECT_EQ(e.line, 10);
    EXPECT_TRUE(Contains(e.message, "allow and deny are both set in [backend.channels]"));
    EXPECT_TRUE(Contains(e.message, "use allow or deny, not both"));

    const LoadError devices = single_error(std::string(kBase) + R"([[route]]
mstshash = "x"
backend = "host"
[route.channels.devices]
allow = []
deny = ["drive"]
)");
    EXPECT_EQ(devices.key, "route[0].channels.devices.deny");
    EXPECT_TRUE(Contains(devices.message, "in [route.channels.devices]; use allow or deny"));
}

TEST(Errors, DeviceTypesAreTheFiveOfRdpdr) {
    const auto errors = expect_errors(parse(with_base(R"([backend.channels.devices]
deny = ["usb", "Drvie", "SERIAL"]
)"),
                                            "t.toml"));
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0].key, "backend[0].channels.devices.deny");
    EXPECT_EQ(errors[0].line, 9);
    EXPECT_EQ(errors[0].message,
              "\"usb\" is not an rdpdr device type; use one of \"drive\", \"printer\", \"serial\", "
              "\"parallel\", \"smartcard\"");
    EXPECT_TRUE(Contains(errors[1].message,
                         "\"Drvie\" is not an rdpdr device type; did you mean "
                         "\"drive\"?"));
}

TEST(Errors, ChannelNamesFitCsNet) {
    const auto errors = expect_errors(parse(with_base(R"([backend.channels]
deny = ["clipboard", "rd pdr", "rdp\u0001", ""]
)"),
                                            "t.toml"));
    ASSERT_EQ(errors.size(), 4u);
    for (const LoadError& e : errors) {
        EXPECT_EQ(e.key, "backend[0].channels.deny");
        EXPECT_EQ(e.line, 9);
    }
    EXPECT_TRUE(Contains(errors[0].message, "\"clipboard\" has 9 characters"));
    EXPECT_TRUE(Contains(errors[0].message, "at most 7 (CHANNEL_DEF.name is 8 bytes"));
    EXPECT_TRUE(Contains(errors[1].message, "a space at position 3"));
    EXPECT_TRUE(Contains(errors[2].message, "control character 0x01 at position 4"));
    EXPECT_TRUE(Contains(errors[3].message, "must not be empty"));
    for (std::size_t i = 1; i < errors.size(); ++i)
        EXPECT_TRUE(Contains(errors[i].message, "1 to 7 ASCII letters, digits or punctuation"));
    EXPECT_TRUE(Contains(errors[0].message, "no client can offer it; known: \"rdpdr\""));
}

TEST(Errors, ChannelTablesHaveTheirOwnKeysAndShapes) {
    const auto errors = expect_errors(parse(with_base(R"([backend.channels]
allowed = ["rdpsnd"]
deny = "cliprdr"
devices = ["drive"]
)"),
                                            "t.toml"));
    ASSERT_EQ(errors.size(), 3u);
    const LoadError unknown = error_for(errors, "backend[0].channels.allowed");
    EXPECT_TRUE(Contains(unknown.message,
                         "unknown key \"allowed\" in [backend.channels]; did you "
                         "mean \"allow\"? allowed keys: allow, deny, devices"));
    EXPECT_TRUE(Contains(error_for(errors, "backend[0].channels.deny").message,
                         "got a string; write deny = [\"cliprdr\"]"));
    EXPECT_TRUE(Contains(error_for(errors, "backend[0].channels.devices").message,
                         "write [backend.channels.devices] and under it deny = [\"drive\"]"));
    EXPECT_TRUE(Contains(
        single_error(with_base("[backend.channels.devices]\ndney = [\"drive\"]\n")).message,
        "in [backend.channels.devices]; did you mean \"deny\"? allowed keys: allow, deny"));
}

TEST(Warnings, UnknownChannelNameNamesTheKeyAndSuggests) {
    const Config c = expect_config(parse(with_base(R"([backend.channels]
deny = ["clipbrd", "MS_T120", "mychan"]
)"),
                                         "t.toml"));
    const auto w = warnings(c);
    ASSERT_EQ(w.size(), 2u);  // ms_t120 is known: denying it is pointless but harmless
    EXPECT_TRUE(Contains(w[0],
                         "t.toml:9:8: backend[0].channels.deny: backend \"host\": "
                         "\"clipbrd\" is not a static channel rdpbridge knows, so deny "
                         "stops only a channel of exactly that name; did you mean "
                         "\"cliprdr\"? known: \"rdpdr\", \"rdpsnd\", \"cliprdr\""))
        << w[0];
    EXPECT_TRUE(Contains(w[1], "\"mychan\" is not a static channel"));
    EXPECT_FALSE(Contains(w[1], "did you mean")) << w[1];

    const Config allowed = expect_config(parse(std::string(kBase) + R"([[route]]
mstshash = "x*"
backend = "host"
[route.channels]
allow = ["rdpsnd", "rdpsdn"]
)",
                                               "t.toml"));
    const auto wa = warnings(allowed);
    ASSERT_EQ(wa.size(), 1u);
    EXPECT_TRUE(Contains(wa[0], "t.toml:12:9: route[0].channels.allow: route \"x*\": \"rdpsdn\""))
        << wa[0];
    EXPECT_TRUE(Contains(wa[0], "so allow lets through only")) << wa[0];
}

TEST(Warnings, DevicesWithoutRdpdrHaveNoEffect) {
    const Config c = expect_config(parse(with_base(R"([backend.channels]
allow = ["rdpsnd"]
[backend.channels.devices]
deny = ["drive"]
[[backend]]
name = "b2"
address = "h2"
[backend.channels]
deny = ["RDPDR"]
[backend.channels.devices]
allow = []
[[backend]]
name = "b3"
address = "h3"
[backend.channels]
deny = ["cliprdr"]
[backend.channels.devices]
deny = ["drive"]
)"),
                                         "t.toml"));
    const auto w = warnings(c);
    ASSERT_EQ(w.size(), 2u);
    EXPECT_TRUE(Contains(w[0],
                         "t.toml:10:1: backend[0].channels.devices: backend \"host\": "
                         "devices has no effect: rdpdr is not passed (allow does not list "
                         "it)"))
        << w[0];
    EXPECT_TRUE(Contains(w[1],
                         "backend \"b2\": devices has no effect: rdpdr is not passed (deny "
                         "lists it)"))
        << w[1];
    EXPECT_EQ(describe(*c.backends[0].channels), "channels only rdpsnd");
}

}  // namespace
}  // namespace rdpbridge::config
