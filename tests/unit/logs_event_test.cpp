#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/logs/event.hpp"

using namespace rdpbridge::logs;

// Lines as the gateway writes them (captured from the e2e lab, trimmed of unused fields).
constexpr const char* kAccepted =
    R"({"ts":"2026-11-25T18:06:45.075Z","conn":"c7759e-000002","event":"connection_accepted",)"
    R"("listener":"front","client":"127.0.0.1:35854"})";
constexpr const char* kRouting =
    R"({"ts":"2026-11-25T18:06:28.568Z","conn":"c7759e-000001","event":"stage","stage":"routing",)"
    R"("ms":0.01,"backend":"win7"})";
constexpr const char* kEstablished =
    R"({"ts":"2026-11-25T18:06:28.789Z","conn":"c7759e-000001","event":"session_established",)"
    R"("backend":"win7","front":{"tls_version":"TLSv1.3"},"handshake_ms":221.3})";
constexpr const char* kFailed =
    R"({"ts":"2026-11-25T18:06:56.629Z","conn":"656db6-000001","event":"handshake_failed",)"
    R"("stage":"backend_negotiation","cause":"host_ssl_not_allowed","detail":"offered SSL",)"
    R"("explanation":"The host refuses TLS.","client_sees":{"mstsc":"0x904","freerdp":"X"},)"
    R"("hint":"Set [[backend]] security = \"rdp\".","backend":"target","elapsed_ms":221.11})";

TEST(LogsEvent, ParsesTheGatewaysEvents) {
    const auto accepted = parse_event(kAccepted);
    ASSERT_TRUE(accepted);
    EXPECT_EQ(accepted->name, "connection_accepted");
    EXPECT_EQ(accepted->conn, "c7759e-000002");
    EXPECT_EQ(accepted->backend, "");
    EXPECT_EQ(accepted->client, "127.0.0.1:35854");
    EXPECT_EQ(format_timestamp(accepted->ts), "2026-11-25T18:06:45.075Z");

    EXPECT_EQ(parse_event(kRouting)->backend, "win7");

    const auto established = parse_event(kEstablished);
    ASSERT_TRUE(established);
    EXPECT_EQ(established->backend, "win7");
    EXPECT_EQ(established->handshake_ms, 221.3);

    const auto failed = parse_event(kFailed);
    ASSERT_TRUE(failed);
    EXPECT_EQ(failed->stage, "backend_negotiation");
    EXPECT_EQ(failed->cause, "host_ssl_not_allowed");
    EXPECT_EQ(failed->detail, "offered SSL");
    EXPECT_EQ(failed->explanation, "The host refuses TLS.");
    EXPECT_EQ(failed->hint, "Set [[backend]] security = \"rdp\".");
    EXPECT_EQ(failed->backend, "target");
}

TEST(LogsEvent, OptionalFieldsOfTheWrongTypeAreIgnored) {
    const auto e =
        parse_event(R"({"ts":"2026-11-25T18:06:28.789Z","conn":"c1","event":"session_established",)"
                    R"("backend":7,"handshake_ms":"fast"})");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->backend, "");
    EXPECT_FALSE(e->handshake_ms);
}

TEST(LogsEvent, UnknownEventsParseSoNewerLogsStillRead) {
    const auto e = parse_event(R"({"ts":"2026-11-25T18:06:28Z","conn":"c1","event":"shiny_new"})");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->name, "shiny_new");
}

TEST(LogsEvent, RejectsLinesThatAreNotHandshakeEvents) {
    for (const char* bad : {
             "not json at all", "[1,2,3]", "\"a string\"",
             R"({"ts":"2026-11-25T18:06:28Z","conn":"c1","event":"stage")",  // cut short
             R"({"conn":"c1","event":"stage"})",
             R"({"ts":"yesterday","conn":"c1","event":"stage"})",
             R"({"ts":"2026-11-25T18:06:28Z","event":"stage"})",
             R"({"ts":"2026-11-25T18:06:28Z","conn":"","event":"stage"})",
             R"({"ts":"2026-11-25T18:06:28Z","conn":"c1"})",
             R"({"ts":"2026-11-25T18:06:28Z","conn":"c1","event":"handshake_failed","stage":"x"})",
             R"({"ts":"2026-11-25T18:06:28Z","conn":"c1","event":"handshake_failed","cause":"x"})",
             "2026-11-25 18:06:28.568 warn [c1] handshake_failed stage=client_x224",  // stderr
         })
        EXPECT_FALSE(parse_event(bad)) << bad;
}

TEST(LogsEvent, EventsAConnectionRepeatCarryWhatTellsThemApart) {
    EXPECT_EQ(parse_event(kRouting)->distinct, "routing");
    EXPECT_EQ(parse_event(R"({"ts":"2026-11-25T18:06:28Z","conn":"c1","event":"warning",)"
                          R"("warning":"weak_cipher","backend":"xp","detail":"RC4"})")
                  ->distinct,
              "weak_cipher");
    const auto bridge = parse_event(
        R"({"ts":"2026-11-25T18:06:28Z","conn":"c1","event":"bridge","rdp_level":"2"})");
    const auto reordered = parse_event(
        R"({"rdp_level": "2", "event": "bridge", "conn": "c1", "ts": "2026-11-25T18:06:28Z"})");
    EXPECT_EQ(bridge->distinct, reordered->distinct);
    EXPECT_NE(bridge->distinct,
              parse_event(R"({"ts":"2026-11-25T18:06:28Z","conn":"c1","event":"bridge",)"
                          R"("rdp_level":"3"})")
                  ->distinct);
    // Logged once per connection: the name alone tells them apart.
    EXPECT_EQ(parse_event(kFailed)->distinct, "");
    EXPECT_EQ(parse_event(kAccepted)->distinct, "");
}

TEST(GatewayEvents, AreNeitherConnectionEventsNorMalformed) {
    const char* stopped =
        R"({"ts":"2026-12-04T23:36:27.824Z","event":"gateway_stopped","handshakes":0,"sessions":0})";
    EXPECT_FALSE(rdpbridge::logs::parse_event(stopped));
    EXPECT_TRUE(rdpbridge::logs::is_gateway_event(stopped));
    EXPECT_TRUE(rdpbridge::logs::is_gateway_event(
        R"({"ts":"2026-12-04T23:36:27Z","event":"refusals_summary","client":"192.0.2.1","count":3})"));
    // Unknown names, a connection's event, or no timestamp: not the gateway's.
    EXPECT_FALSE(rdpbridge::logs::is_gateway_event(R"({"ts":"2026-12-04T23:36:27Z","event":"x"})"));
    EXPECT_FALSE(rdpbridge::logs::is_gateway_event(
        R"({"ts":"2026-12-04T23:36:27Z","conn":"a","event":"gateway_stopped"})"));
    EXPECT_FALSE(rdpbridge::logs::is_gateway_event(R"({"event":"gateway_stopped"})"));
    EXPECT_FALSE(rdpbridge::logs::is_gateway_event("not json"));
}

// A session under a channel policy: its lines as proxy/session.cpp writes them.
constexpr const char* kPolicyEstablished =
    R"({"ts":"2026-12-06T09:00:01.000Z","conn":"p1","event":"session_established",)"
    R"("backend":"win7","handshake_ms":40,)"
    R"("channel_policy":"channels deny cliprdr; devices deny drive"})";
constexpr const char* kChannels =
    R"({"ts":"2026-12-06T09:00:00.900Z","conn":"p1","event":"bridge",)"
    R"("channels_passed":["rdpdr","rdpsnd","drdynvc"],"channels_removed":["cliprdr"]})";
constexpr const char* kDriveRefused =
    R"({"ts":"2026-12-06T09:00:02.000Z","conn":"p1","event":"channel_refused","channel":"rdpdr",)"
    R"("device_type":"drive","device_id":1,"dos_name":"share"})";
constexpr const char* kWithheld =
    R"({"ts":"2026-12-06T09:00:03.000Z","conn":"p1","event":"channel_refused","channel":"rdpdr",)"
    R"("reason":"message withheld: compressed data cannot be inspected"})";
constexpr const char* kDataDropped =
    R"({"ts":"2026-12-06T09:00:04.000Z","conn":"p1","event":"bridge",)"
    R"("channel_data_dropped":"cliprdr"})";
constexpr const char* kPolicyClosed =
    R"({"ts":"2026-12-06T09:10:00.000Z","conn":"p1","event":"session_closed","backend":"win7",)"
    R"("closed_by":"client","reason":"closed","channel_pdus_dropped":37,"devices_refused":1})";

TEST(LogsEvent, ParsesWhatAChannelPolicyDid) {
    EXPECT_EQ(parse_event(kPolicyEstablished)->channel_policy,
              "channels deny cliprdr; devices deny drive");
    EXPECT_EQ(parse_event(kEstablished)->channel_policy, "");

    const auto channels = parse_event(kChannels);
    ASSERT_TRUE(channels);
    EXPECT_EQ(channels->channels_removed, std::vector<std::string>{"cliprdr"});
    EXPECT_EQ(parse_event(kDataDropped)->channel_data_dropped, "cliprdr");

    const auto drive = parse_event(kDriveRefused);
    ASSERT_TRUE(drive);
    EXPECT_EQ(drive->name, "channel_refused");
    EXPECT_EQ(drive->channel, "rdpdr");
    EXPECT_EQ(drive->device_type, "drive");
    EXPECT_EQ(drive->reason, "");
    const auto withheld = parse_event(kWithheld);
    ASSERT_TRUE(withheld);
    EXPECT_EQ(withheld->device_type, "");
    EXPECT_EQ(withheld->reason, "message withheld: compressed data cannot be inspected");

    EXPECT_EQ(parse_event(kPolicyClosed)->channel_pdus_dropped, 37u);
    // A refusal is no failure: none of the failure's fields, and no stage or cause demanded.
    EXPECT_EQ(drive->stage, "");
    EXPECT_EQ(drive->cause, "");
}

TEST(LogsEvent, AConnectionMayRefuseSeveralDevicesAndEachIsItsOwnEvent) {
    EXPECT_FALSE(once_per_connection("channel_refused"));
    const std::string second =
        R"({"ts":"2026-12-06T09:00:02.000Z","conn":"p1","event":"channel_refused",)"
        R"("channel":"rdpdr","device_type":"drive","device_id":2,"dos_name":"home"})";
    // Announced in one message, so logged in the same millisecond: only the device tells them
    // apart, and de-duplication must not merge them.
    EXPECT_NE(parse_event(kDriveRefused)->distinct, parse_event(second)->distinct);
    EXPECT_NE(parse_event(kDriveRefused)->distinct, parse_event(kWithheld)->distinct);
}
