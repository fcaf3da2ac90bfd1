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
