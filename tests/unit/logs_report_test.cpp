#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "proxy/logs/report.hpp"
#include "rdp/diagnosis.hpp"

using namespace rdpbridge;
using namespace rdpbridge::logs;
using Json = nlohmann::json;

namespace {

const TimePoint kT0 = *parse_timestamp("2026-01-01T00:00:00Z");

Event event(const char* name, const char* conn, const char* backend = "") {
    Event e;
    e.name = name;
    e.conn = conn;
    e.ts = kT0;
    e.backend = backend;
    return e;
}

Event failure(const char* conn, const char* stage, const char* cause, const char* backend = "") {
    Event e = event("handshake_failed", conn, backend);
    e.stage = stage;
    e.cause = cause;
    e.detail = "first bytes 0x4745";
    return e;
}

// One established win7 session, two pre-routing failures (one whose accept line is missing),
// two malformed lines.
Summary sample() {
    Aggregator a;
    a.add(event("connection_accepted", "c1"));
    Event est = event("session_established", "c1", "win7");
    est.handshake_ms = 221.3;
    a.add(est);
    Event accepted = event("connection_accepted", "c2");
    accepted.client = "192.0.2.10:50001";
    a.add(accepted);
    a.add(failure("c2", "client_x224", "client_spoke_http"));
    a.add(failure("c3", "client_x224", "client_spoke_http"));
    a.add_malformed({"h.jsonl", 3});
    a.add_malformed({"h.jsonl", 9});
    return a.summary();
}

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST(LogsReport, HumanReportHasTheTableTheGroupsAndTheMalformedCount) {
    const std::string r = human_report(sample(), Scope{{"h.jsonl"}, {}});
    EXPECT_TRUE(has(r, "1 file, 5 events from 2026-01-01T00:00:00.000Z")) << r;
    EXPECT_TRUE(has(r,
                    "  backend  connections  established  failed  unfinished  handshake p50  "
                    "handshake p95\n"
                    "  win7               1            1       0           0       221.3 ms  "
                    "     221.3 ms\n"
                    "  (none)             2            0       2           0              -  "
                    "            -\n"
                    "  all                3            1       2           0       221.3 ms  "
                    "     221.3 ms\n"))
        << r;
    EXPECT_TRUE(has(r, "2x  client_x224 / client_spoke_http")) << r;
    const auto& info = rdp::describe(rdp::Cause::client_spoke_http);
    EXPECT_TRUE(has(r, "What happened: " + std::string(info.explanation))) << r;
    EXPECT_TRUE(has(r, "Fix: " + std::string(info.fix))) << r;
    EXPECT_TRUE(has(r,
                    "        c2  2026-01-01T00:00:00.000Z  from 192.0.2.10:50001  first bytes "
                    "0x4745\n"
                    "        c3  2026-01-01T00:00:00.000Z  first bytes 0x4745\n"))
        << r;
    EXPECT_TRUE(has(r, "2 malformed lines skipped (first at h.jsonl:3)")) << r;
}

TEST(LogsReport, HumanReportSaysWhenNothingMatches) {
    Filter f;
    f.since = kT0 + std::chrono::hours(1);
    f.backend = "xp";
    Aggregator a(f);
    a.add(event("session_established", "c1", "xp"));  // xp exists, but before the window
    const std::string r = human_report(a.summary(), Scope{{"a", "b"}, f});
    EXPECT_TRUE(has(r, "2 files, 0 events")) << r;
    EXPECT_TRUE(has(r, "Backend: xp")) << r;
    EXPECT_TRUE(has(r, "No connections match the filter.")) << r;
    EXPECT_FALSE(has(r, "malformed")) << r;
}

TEST(LogsReport, JsonReportFollowsTheDocumentedSchema) {
    Filter f;
    f.since = kT0;
    const Json j = Json::parse(json_report(sample(), Scope{{"h.jsonl"}, f}));
    EXPECT_EQ(j["schema"], "rdpbridge.logs/1");
    EXPECT_EQ(j["files"], Json::array({"h.jsonl"}));
    EXPECT_EQ(j["filter"]["since"], "2026-01-01T00:00:00.000Z");
    EXPECT_TRUE(j["filter"]["until"].is_null());
    EXPECT_TRUE(j["filter"]["backend"].is_null());
    EXPECT_EQ(j["events"], 5);
    EXPECT_EQ(j["totals"]["connections"], 3);
    EXPECT_EQ(j["totals"]["established"], 1);
    EXPECT_EQ(j["totals"]["failed"], 2);
    ASSERT_EQ(j["backends"].size(), 2u);
    EXPECT_EQ(j["backends"][0]["name"], "win7");
    EXPECT_EQ(j["backends"][0]["handshake_ms"]["p50"], 221.3);
    EXPECT_EQ(j["backends"][0]["handshake_ms"]["samples"], 1);
    EXPECT_EQ(j["backends"][1]["name"], "(none)");
    EXPECT_TRUE(j["backends"][1]["handshake_ms"]["p95"].is_null());
    const auto& g = j["failures"].at(0);
    EXPECT_EQ(g["stage"], "client_x224");
    EXPECT_EQ(g["cause"], "client_spoke_http");
    EXPECT_EQ(g["count"], 2);
    EXPECT_EQ(g["fix"], rdp::describe(rdp::Cause::client_spoke_http).fix);
    EXPECT_EQ(g["examples"].at(0)["conn"], "c2");
    EXPECT_EQ(g["examples"].at(0)["client"], "192.0.2.10:50001");
    EXPECT_EQ(g["examples"].at(0)["detail"], "first bytes 0x4745");
    EXPECT_EQ(g["examples"].at(1)["conn"], "c3");
    EXPECT_TRUE(g["examples"].at(1)["client"].is_null());
    EXPECT_EQ(j["malformed"]["count"], 2);
    EXPECT_EQ(j["malformed"]["first"]["line"], 3);
}

TEST(LogsReport, JsonReportOnOneLineForFollow) {
    const std::string r = json_report(sample(), Scope{{"h.jsonl"}, {}}, true);
    EXPECT_EQ(r.find('\n'), r.size() - 1);
    EXPECT_TRUE(Json::accept(r));
}

TEST(LogsReport, FailureLinesForFollowCarryTheFix) {
    const Event e = failure("c7", "backend_negotiation", "host_ssl_not_allowed", "xp");
    const std::string human = human_failure_line(e, "xp");
    const auto& info = rdp::describe(rdp::Cause::host_ssl_not_allowed);
    EXPECT_TRUE(has(human, "[c7] handshake failed at backend_negotiation: host_ssl_not_allowed"))
        << human;
    EXPECT_TRUE(has(human, "(backend xp)")) << human;
    EXPECT_TRUE(has(human, "Fix: " + std::string(info.fix))) << human;
    EXPECT_EQ(human.find('\n'), std::string::npos);

    const Json j = Json::parse(json_failure_line(e, "xp"));
    EXPECT_EQ(j["conn"], "c7");
    EXPECT_EQ(j["backend"], "xp");
    EXPECT_EQ(j["cause"], "host_ssl_not_allowed");
    EXPECT_EQ(j["explanation"], info.explanation);
    EXPECT_EQ(j["fix"], info.fix);
}

TEST(LogsReport, TheTimeWindowIsEchoed) {
    Filter f;
    f.since = kT0;
    f.until = kT0 + std::chrono::hours(4);
    const std::string r = human_report(Aggregator(f).summary(), Scope{{"h.jsonl"}, f});
    EXPECT_TRUE(has(r, "Since: 2026-01-01T00:00:00.000Z\nUntil: 2026-01-01T04:00:00.000Z\n")) << r;
    EXPECT_TRUE(has(r, "No connections match the filter.")) << r;
    const Json j = Json::parse(json_report(sample(), Scope{{"h.jsonl"}, f}));
    EXPECT_EQ(j["filter"]["until"], "2026-01-01T04:00:00.000Z");
}

TEST(LogsReport, ABackendNoEventNamesIsSaidWithTheOnesThatExist) {
    Filter f;
    f.backend = "win8";
    Aggregator a(f);
    a.add(event("session_established", "c1", "win7"));
    a.add(event("session_established", "c2", "xp"));
    const Summary s = a.summary();
    const std::string r = human_report(s, Scope{{"h.jsonl"}, f});
    EXPECT_TRUE(has(r,
                    "No event in these files names backend \"win8\". Backends named in them: "
                    "win7, xp; \"(none)\" selects the failures before routing.\n"))
        << r;
    EXPECT_FALSE(has(r, "No connections match")) << r;
    const Json j = Json::parse(json_report(s, Scope{{"h.jsonl"}, f}));
    EXPECT_EQ(j["backends_in_files"], Json::array({"win7", "xp"}));

    const std::string none = human_report(Aggregator(f).summary(), Scope{{"h.jsonl"}, f});
    EXPECT_TRUE(has(none, "None names any backend;")) << none;
}

namespace {

// Three win7 sessions under a channel policy, one lab session under one that removed nothing,
// one xp session without one.
Summary policy_sample() {
    Aggregator a;
    for (
        const char* line : {
            R"({"ts":"2026-01-01T00:00:01Z","conn":"p1","event":"bridge","channels_passed":["rdpdr"],"channels_removed":["cliprdr","rdpsnd"]})",
            R"({"ts":"2026-01-01T00:00:01Z","conn":"p1","event":"session_established","backend":"win7","channel_policy":"channels deny cliprdr,rdpsnd; devices deny drive"})",
            R"({"ts":"2026-01-01T00:00:02Z","conn":"p1","event":"channel_refused","channel":"rdpdr","device_type":"drive","device_id":1,"dos_name":"share"})",
            R"({"ts":"2026-01-01T00:00:02Z","conn":"p1","event":"channel_refused","channel":"rdpdr","device_type":"drive","device_id":2,"dos_name":"home"})",
            R"({"ts":"2026-01-01T00:00:03Z","conn":"p1","event":"channel_refused","channel":"rdpdr","reason":"message withheld: compressed data cannot be inspected"})",
            R"({"ts":"2026-01-01T00:09:00Z","conn":"p1","event":"session_closed","backend":"win7","channel_pdus_dropped":40,"devices_refused":2})",
            R"({"ts":"2026-01-01T00:01:01Z","conn":"p2","event":"bridge","channels_passed":["rdpdr"],"channels_removed":["cliprdr"]})",
            R"({"ts":"2026-01-01T00:01:01Z","conn":"p2","event":"session_established","backend":"win7","channel_policy":"channels deny cliprdr,rdpsnd; devices deny drive"})",
            R"({"ts":"2026-01-01T00:02:01Z","conn":"p3","event":"bridge","channels_passed":["rdpdr"],"channels_removed":["cliprdr"]})",
            R"({"ts":"2026-01-01T00:02:01Z","conn":"p3","event":"session_established","backend":"win7","channel_policy":"channels deny cliprdr,rdpsnd; devices deny drive"})",
            R"({"ts":"2026-01-01T00:03:01Z","conn":"l1","event":"bridge","channels_passed":["rdpdr"],"channels_removed":[]})",
            R"({"ts":"2026-01-01T00:03:01Z","conn":"l1","event":"session_established","backend":"lab","channel_policy":"devices deny smartcard"})",
            R"({"ts":"2026-01-01T00:04:01Z","conn":"x1","event":"session_established","backend":"xp"})",
        })
        a.add(*parse_event(line));
    return a.summary();
}

}  // namespace

TEST(LogsReport, ChannelPolicySectionSaysWhatWasKeptFromTheHosts) {
    const std::string r = human_report(policy_sample(), Scope{{"h.jsonl"}, {}});
    EXPECT_TRUE(has(r,
                    "\nChannel policy (what the gateway kept from the hosts; not failures):\n"
                    "  win7:  3 sessions had channels removed (cliprdr 3, rdpsnd 1); 2 devices "
                    "refused (drive 2); 1 message withheld (compressed data cannot be "
                    "inspected); 40 channel PDUs dropped\n"
                    "         policy \"channels deny cliprdr,rdpsnd; devices deny drive\": 3 "
                    "sessions\n"))
        << r;
    // A policy that kept nothing, and a backend without one, have nothing to say.
    EXPECT_FALSE(has(r, "lab:")) << r;
    EXPECT_FALSE(has(r, "xp:")) << r;
    EXPECT_TRUE(has(r, "No handshake failures.")) << r;

    // No policy at work: no section at all.
    EXPECT_FALSE(has(human_report(sample(), Scope{{"h.jsonl"}, {}}), "Channel policy")) << r;
}

TEST(LogsReport, ChannelPolicyTextCountsEachKind) {
    ChannelStats c;
    EXPECT_EQ(channel_policy_text(c), "");
    c.sessions = 4;
    c.pdus_dropped = 3;  // dropped PDUs alone say nothing a reader can act on
    EXPECT_EQ(channel_policy_text(c), "");
    c.devices_refused = {{"drive", 1}};
    c.withheld = {{"message withheld: compressed data cannot be inspected", 2},
                  {"message withheld: truncated chunk", 1}};
    EXPECT_EQ(channel_policy_text(c),
              "1 device refused (drive 1); 3 messages withheld (2x compressed data cannot be "
              "inspected, 1x truncated chunk); 3 channel PDUs dropped");
    c.sessions_with_removed = 1;
    c.removed = {{"rdpsnd", 1}, {"cliprdr", 1}, {"drdynvc", 1}};
    EXPECT_TRUE(channel_policy_text(c).starts_with(
        "1 session had channels removed (cliprdr 1, drdynvc 1, rdpsnd 1); 1 device refused"));
}

TEST(LogsReport, JsonReportCarriesTheChannelPolicyPerBackend) {
    const Json j = Json::parse(json_report(policy_sample(), Scope{{"h.jsonl"}, {}}));
    ASSERT_EQ(j["backends"].size(), 3u);
    EXPECT_EQ(j["backends"][0]["name"], "lab");
    const Json& lab = j["backends"][0]["channel_policy"];
    EXPECT_EQ(lab["sessions"], 1);
    EXPECT_EQ(lab["sessions_with_channels_removed"], 0);
    EXPECT_EQ(lab["channels_removed"], Json::object());
    const Json& win7 = j["backends"][1]["channel_policy"];
    EXPECT_EQ(win7["sessions"], 3);
    EXPECT_EQ(win7["policies"], (Json{{"channels deny cliprdr,rdpsnd; devices deny drive", 3}}));
    EXPECT_EQ(win7["sessions_with_channels_removed"], 3);
    EXPECT_EQ(win7["channels_removed"], (Json{{"cliprdr", 3}, {"rdpsnd", 1}}));
    EXPECT_EQ(win7["client_sent_on_removed"], Json::object());
    EXPECT_EQ(win7["devices_refused"], (Json{{"drive", 2}}));
    EXPECT_EQ(win7["messages_withheld"],
              (Json{{"message withheld: compressed data cannot be inspected", 1}}));
    EXPECT_EQ(win7["channel_pdus_dropped"], 40);
    EXPECT_TRUE(j["backends"][2]["channel_policy"].is_null());  // xp: no policy
    EXPECT_EQ(j["totals"]["channel_policy"]["sessions"], 4);
    EXPECT_EQ(j["totals"]["failed"], 0);
    EXPECT_EQ(j["failures"], Json::array());
    // Without any policy every backend says null, and the rest of the document is unchanged.
    const Json plain = Json::parse(json_report(sample(), Scope{{"h.jsonl"}, {}}));
    EXPECT_TRUE(plain["totals"]["channel_policy"].is_null());
}
