// The review built from handshake log lines (proxy/logs/review_builder.hpp, timeline.hpp): what
// `rdpbridge logs --html` shows, from small inline logs. Lines are JSON as the gateway writes
// them (proxy/session.cpp), fed through FileIngest like the command does.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "proxy/logs/ingest.hpp"
#include "proxy/logs/review_builder.hpp"
#include "proxy/logs/timeline.hpp"
#include "proxy/logs/vocabulary.hpp"
#include "rdp/diagnosis.hpp"

using namespace rdpbridge;
using namespace rdpbridge::logs;
using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;  // log lines keep the gateway's field order
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;

namespace {

const TimePoint kT0 = *parse_timestamp("2026-12-05T10:00:00Z");

std::string ts(minutes after) {
    return format_timestamp(kT0 + after);
}

// One log line: the three fields every line has, then `fields`.
std::string line(minutes at, const std::string& conn, const std::string& event,
                 OJson fields = OJson::object()) {
    OJson j{{"ts", ts(at)}, {"conn", conn}, {"event", event}};
    j.update(fields);
    return j.dump();
}

std::string failed(minutes at, const std::string& conn, const std::string& cause,
                   const std::string& backend = "", const std::string& stage = "backend_tls") {
    OJson f{{"stage", stage}, {"cause", cause}, {"detail", "detail of " + conn}};
    if (const auto* info = find_cause(cause)) {
        f["explanation"] = std::string(info->explanation);
        f["client_sees"] =
            OJson{{"mstsc", std::string(info->mstsc)}, {"freerdp", std::string(info->freerdp)}};
        f["hint"] = std::string(info->fix);
    }
    if (!backend.empty()) f["backend"] = backend;
    return line(at, conn, "handshake_failed", f);
}

const OJson kTlsFront{{"tls_version", "TLSv1.3"},
                      {"cipher", "TLS_AES_256_GCM_SHA384"},
                      {"requested", "SSL|HYBRID"},
                      {"selected", "SSL"}};

std::string established(minutes at, const std::string& conn, const std::string& backend,
                        OJson back) {
    return line(at, conn, "session_established",
                {{"backend", backend}, {"front", kTlsFront}, {"back", back}, {"handshake_ms", 40}});
}

void feed(EventSink& sink, const std::vector<std::string>& lines) {
    FileIngest ingest(sink, "handshake.jsonl");
    const auto on_line = ingest.lines();
    std::uint64_t n = 0;
    for (const auto& l : lines) on_line(Line{l, ++n, false, false});
    ASSERT_TRUE(ingest.finish());
}

const review::BackendRow& row(const review::Review& r, const std::string& name) {
    for (const auto& b : r.backends)
        if (b.name == name) return b;
    throw std::runtime_error("no backend row " + name);
}

std::uint64_t total(const review::Timeline& t, const std::string& cause) {
    for (const auto& s : t.by_cause)
        if (s.cause == cause) return s.total;
    return 0;
}

// win7 (TLS, learned, cert expiring in 20 days) ends failing; xp (Standard RDP Security) was
// refused as changed, then accepted; "fresh" was routed but never finished; one scanner failed
// before routing.
std::vector<std::string> sample() {
    return {
        line(minutes(0), "c1", "connection_accepted", {{"client", "192.0.2.7:50000"}}),
        line(minutes(0), "c1", "stage", {{"stage", "routing"}, {"backend", "win7"}}),
        line(minutes(0), "c1", "warning",
             {{"warning", "host_identity_learned"}, {"backend", "win7"}, {"detail", "first"}}),
        established(minutes(1), "c1", "win7",
                    {{"tls_version", "TLSv1"},
                     {"cipher", "AES128-SHA"},
                     {"selected", "SSL"},
                     {"cert_not_after", "2026-12-25T12:00:00Z"}}),
        failed(minutes(30), "c2", "host_reset", "win7", "backend_negotiation"),
        established(minutes(40), "c3", "xp",
                    {{"selected", "RDP"}, {"encryption_method", "128BIT"}}),
        failed(minutes(50), "c4", "host_identity_changed", "xp"),
        established(minutes(70), "c5", "xp", {{"selected", "RDP"}, {"encryption_method", "FIPS"}}),
        line(minutes(80), "c6", "connection_accepted", {{"client", "192.0.2.8:50001"}}),
        line(minutes(80), "c6", "stage", {{"stage", "routing"}, {"backend", "fresh"}}),
        failed(minutes(90), "c7", "client_spoke_http", "", "client_x224"),
    };
}

}  // namespace

TEST(ReviewTimeline, WindowsEndOnTheBucketBoundaryAfterTheNewestEvent) {
    const TimePoint at_1037 = *parse_timestamp("2026-12-05T10:37:12.345Z");
    EXPECT_EQ(format_timestamp(window_end(at_1037, hours(1))), "2026-12-05T11:00:00.000Z");
    EXPECT_EQ(format_timestamp(window_end(at_1037, hours(6))), "2026-12-05T12:00:00.000Z");
    // An event exactly on a boundary is inside the window that ends after it.
    EXPECT_EQ(format_timestamp(window_end(kT0 + milliseconds(1), hours(1))),
              "2026-12-05T11:00:00.000Z");
    EXPECT_EQ(window_end(kT0, hours(1)), kT0);  // --until on a boundary: the window ends there
}

TEST(ReviewTimeline, BucketsIncludeTheirStartAndExcludeTheirEnd) {
    const TimePoint end = kT0;  // 10:00
    const TimePoint start = end - hours(24);
    const std::vector<FailureTime> failures{
        {start - milliseconds(1), "too_old"},
        {start, "host_reset"},
        {start + hours(1) - milliseconds(1), "host_reset"},
        {start + hours(1), "host_reset"},
        {end - milliseconds(1), "client_spoke_http"},
        {end, "too_new"},
    };
    const auto t = make_timeline("last 24 h", end, hours(1), 24, failures);
    EXPECT_EQ(t.label, "last 24 h");
    EXPECT_EQ(t.start, "2026-12-04T10:00:00.000Z");
    EXPECT_EQ(t.bucket_seconds, 3600);
    EXPECT_EQ(t.buckets, 24u);
    ASSERT_EQ(t.by_cause.size(), 2u);  // nothing outside the window is listed
    EXPECT_EQ(t.by_cause[0].cause, "host_reset");
    EXPECT_EQ(t.by_cause[0].total, 3u);
    ASSERT_EQ(t.by_cause[0].counts.size(), 24u);
    EXPECT_EQ(t.by_cause[0].counts[0], 2u);
    EXPECT_EQ(t.by_cause[0].counts[1], 1u);
    EXPECT_EQ(t.by_cause[1].cause, "client_spoke_http");
    EXPECT_EQ(t.by_cause[1].counts[23], 1u);
}

TEST(ReviewTimeline, CausesWithEqualCountsAreOrderedById) {
    const std::vector<FailureTime> failures{{kT0 - hours(2), "zeta"},
                                            {kT0 - hours(3), "alpha"},
                                            {kT0 - hours(7), "mid"},
                                            {kT0 - hours(8), "mid"}};
    const auto t = make_timeline("last 7 days", kT0 + hours(2), hours(6), 28, failures);
    EXPECT_EQ(t.start, "2026-11-28T12:00:00.000Z");
    ASSERT_EQ(t.by_cause.size(), 3u);
    EXPECT_EQ(t.by_cause[0].cause, "mid");
    EXPECT_EQ(t.by_cause[1].cause, "alpha");
    EXPECT_EQ(t.by_cause[2].cause, "zeta");
    // 08:00 and 07:00 fall in the last bucket (06:00-12:00), 03:00 and 02:00 in the one before.
    EXPECT_EQ(t.by_cause[0].counts[26], 2u);
    EXPECT_EQ(t.by_cause[0].counts[27], 0u);
    EXPECT_EQ(t.by_cause[1].counts[27], 1u);
    EXPECT_EQ(t.by_cause[2].counts[27], 1u);
}

TEST(ReviewLegSecurity, SaysHowEachLegWasSecured) {
    EXPECT_EQ(leg_security(Json::parse(kTlsFront.dump())), "TLS 1.3 TLS_AES_256_GCM_SHA384");
    EXPECT_EQ(leg_security({{"tls_version", "TLSv1"}, {"cipher", "AES128-SHA"}}),
              "TLS 1.0 AES128-SHA");
    EXPECT_EQ(
        leg_security({{"tls_version", "TLSv1.2"}, {"cipher", "X"}, {"selected", "HYBRID_EX"}}),
        "TLS 1.2 X + NLA");
    EXPECT_EQ(leg_security({{"selected", "RDP"}, {"encryption_method", "128BIT"}}),
              "RDP 128-bit RC4");
    EXPECT_EQ(leg_security({{"selected", "RDP"}, {"encryption_method", "FIPS"}}), "RDP FIPS 3DES");
    EXPECT_EQ(leg_security({{"selected", "RDP"}}), "Standard RDP Security");
    EXPECT_EQ(leg_security(Json()), "");
    EXPECT_EQ(leg_security(Json::object()), "");
}

TEST(ReviewBuilder, BackendsShowStateSecurityCertificateAndIdentity) {
    ReviewBuilder b;
    feed(b, sample());
    const auto r = b.build({"a.jsonl", "b.jsonl"}, "2026-12-06T00:00:00.000Z");
    EXPECT_EQ(r.title, "Handshake report: a.jsonl, b.jsonl");
    EXPECT_EQ(r.generated, "2026-12-06T00:00:00.000Z");
    EXPECT_FALSE(r.live);
    EXPECT_TRUE(r.sessions.empty());
    ASSERT_EQ(r.backends.size(), 4u);
    EXPECT_EQ(r.backends.back().name, "(none)");  // failures before routing read best last

    const auto& win7 = row(r, "win7");
    EXPECT_EQ(win7.state, "failing");
    EXPECT_EQ(win7.last_success, ts(minutes(1)));
    ASSERT_TRUE(win7.last_failure);
    EXPECT_EQ(win7.last_failure->ts, ts(minutes(30)));
    EXPECT_EQ(win7.last_failure->cause, "host_reset");
    EXPECT_EQ(win7.last_failure->stage, "backend_negotiation");
    EXPECT_EQ(win7.last_failure->fix, rdp::describe(rdp::Cause::host_reset).fix);
    EXPECT_EQ(win7.last_failure->detail, "detail of c2");
    EXPECT_EQ(win7.last_failure->conn, "c2");
    EXPECT_EQ(win7.front_security, "TLS 1.3 TLS_AES_256_GCM_SHA384");
    EXPECT_EQ(win7.back_security, "TLS 1.0 AES128-SHA");
    // Counted to the newest event (11:30), not to any clock: 20 days and 30 minutes.
    EXPECT_EQ(win7.cert_days_left, 20);
    EXPECT_EQ(win7.identity, "learned");
    EXPECT_EQ(win7.established, 1u);
    EXPECT_EQ(win7.failed, 1u);
    EXPECT_EQ(win7.address, "");

    const auto& xp = row(r, "xp");
    EXPECT_EQ(xp.state, "ok");
    EXPECT_EQ(xp.back_security, "RDP FIPS 3DES");  // the newest session's
    EXPECT_FALSE(xp.cert_days_left);
    EXPECT_EQ(xp.identity, "pinned");  // refused as changed, then a session: accepted since
    EXPECT_EQ(xp.established, 2u);
    EXPECT_EQ(xp.failed, 1u);

    EXPECT_EQ(row(r, "fresh").state, "never reached");
    EXPECT_FALSE(row(r, "fresh").last_failure);
    EXPECT_EQ(row(r, "fresh").identity, "");
    EXPECT_EQ(row(r, "(none)").state, "never reached");
    EXPECT_EQ(row(r, "(none)").failed, 1u);
}

TEST(ReviewBuilder, ARefusalNotFollowedByASessionIsTheIdentityState) {
    ReviewBuilder b;
    feed(b, {established(minutes(0), "c1", "xp", {{"selected", "RDP"}}),
             failed(minutes(5), "c2", "host_security_downgrade", "xp", "backend_negotiation")});
    EXPECT_EQ(row(b.build({"h"}, ""), "xp").identity, "downgrade, refused");
}

TEST(ReviewBuilder, FailuresOverTimeCausesAndRecentFailures) {
    ReviewBuilder b;
    feed(b, sample());
    const auto r = b.build({"h"}, "");
    EXPECT_EQ(r.failures_in_window, 3u);
    ASSERT_EQ(r.timelines.size(), 2u);
    const auto& day = r.timelines[0];
    EXPECT_EQ(day.label, "last 24 h");
    EXPECT_EQ(day.buckets, 24u);
    EXPECT_EQ(day.bucket_seconds, 3600);
    EXPECT_EQ(day.start, "2026-12-04T12:00:00.000Z");  // ends at 12:00, after the 11:30 event
    EXPECT_EQ(total(day, "host_reset"), 1u);
    EXPECT_EQ(total(day, "client_spoke_http"), 1u);
    const auto& week = r.timelines[1];
    EXPECT_EQ(week.label, "last 7 days");
    EXPECT_EQ(week.buckets, 28u);
    EXPECT_EQ(week.bucket_seconds, 6 * 3600);
    EXPECT_EQ(week.start, "2026-11-28T12:00:00.000Z");
    EXPECT_EQ(total(week, "host_identity_changed"), 1u);

    ASSERT_EQ(r.causes.size(), 3u);
    for (const auto& c : r.causes) {
        const auto* info = find_cause(c.cause);
        ASSERT_NE(info, nullptr) << c.cause;
        EXPECT_EQ(c.explanation, info->explanation);
        EXPECT_EQ(c.mstsc, info->mstsc);
        EXPECT_EQ(c.freerdp, info->freerdp);
        EXPECT_EQ(c.fix, info->fix);
    }

    ASSERT_EQ(r.recent_failures.size(), 3u);
    EXPECT_EQ(r.recent_failures[0]["conn"], "c7");  // newest first
    EXPECT_EQ(r.recent_failures[2]["conn"], "c2");
    // Whole, in the order the gateway wrote its fields.
    EXPECT_EQ(r.recent_failures[2]["client_sees"]["mstsc"],
              rdp::describe(rdp::Cause::host_reset).mstsc);
    EXPECT_EQ(r.recent_failures[2].begin().key(), "ts");
}

TEST(ReviewBuilder, TheBackendFilterAndTheWindowApplyToEverySection) {
    Filter f;
    f.backend = "xp";
    ReviewBuilder b(f);
    feed(b, sample());
    const auto r = b.build({"h"}, "");
    EXPECT_EQ(r.title, "Handshake report: h (backend xp)");
    ASSERT_EQ(r.backends.size(), 1u);
    EXPECT_EQ(r.backends[0].name, "xp");
    EXPECT_EQ(r.failures_in_window, 1u);
    ASSERT_EQ(r.recent_failures.size(), 1u);
    EXPECT_EQ(r.recent_failures[0]["cause"], "host_identity_changed");
    ASSERT_EQ(r.causes.size(), 1u);
    EXPECT_EQ(total(r.timelines[1], "host_reset"), 0u);

    Filter until;
    until.until = kT0 + minutes(45);  // before xp's refusal
    ReviewBuilder early(until);
    feed(early, sample());
    const auto e = early.build({"h"}, "");
    EXPECT_EQ(e.title, "Handshake report: h (until 2026-12-05T10:45:00.000Z)");
    EXPECT_EQ(e.timelines[0].start, "2026-12-04T11:00:00.000Z");  // ends at 11:00, from --until
    EXPECT_EQ(e.failures_in_window, 1u);
    EXPECT_EQ(row(e, "xp").state, "ok");
    EXPECT_EQ(row(e, "xp").identity, "");
}

TEST(ReviewBuilder, EventsReadTwiceCountOnce) {
    ReviewBuilder b;
    feed(b, sample());
    feed(b, sample());  // a rotated file and its copy
    const auto r = b.build({"h"}, "");
    EXPECT_EQ(r.failures_in_window, 3u);
    EXPECT_EQ(r.recent_failures.size(), 3u);
    EXPECT_EQ(total(r.timelines[0], "host_reset"), 1u);
}

TEST(ReviewBuilder, KeepsTheNewest200FailuresWhole) {
    std::vector<std::string> lines;
    for (int i = 0; i < 450; ++i) {
        std::string conn = "c";  // not "c" + ...: g++ 12 warns falsely (-Wrestrict) on that
        conn += std::to_string(i);
        lines.push_back(failed(minutes(i), conn, "host_reset", "win7"));
    }
    ReviewBuilder b;
    feed(b, lines);
    const auto r = b.build({"h"}, "");
    EXPECT_EQ(r.failures_in_window, 450u);
    ASSERT_EQ(r.recent_failures.size(), kRecentFailures);
    EXPECT_EQ(r.recent_failures.front()["conn"], "c449");
    EXPECT_EQ(r.recent_failures.back()["conn"], "c250");
    EXPECT_EQ(row(r, "win7").last_failure->conn, "c449");
}

TEST(ReviewBuilder, ACauseThisBuildDoesNotKnowIsExplainedInTheLinesWords) {
    OJson f{{"stage", "backend_tls"},
            {"cause", "host_from_the_future"},
            {"explanation", "Said by a newer gateway."},
            {"client_sees", {{"mstsc", "0x1234"}, {"freerdp", "ERRCONNECT_X"}}},
            {"hint", "Upgrade rdpbridge."},
            {"backend", "win7"}};
    ReviewBuilder b;
    feed(b, {line(minutes(0), "c1", "handshake_failed", f)});
    const auto r = b.build({"h"}, "");
    ASSERT_EQ(r.causes.size(), 1u);
    EXPECT_EQ(r.causes[0].cause, "host_from_the_future");
    EXPECT_EQ(r.causes[0].explanation, "Said by a newer gateway.");
    EXPECT_EQ(r.causes[0].mstsc, "0x1234");
    EXPECT_EQ(r.causes[0].freerdp, "ERRCONNECT_X");
    EXPECT_EQ(r.causes[0].fix, "Upgrade rdpbridge.");
}

TEST(ReviewBuilder, NoEventsNoTimelines) {
    ReviewBuilder b;
    const auto r = b.build({"empty.jsonl"}, "");
    EXPECT_TRUE(r.backends.empty());
    EXPECT_TRUE(r.timelines.empty());
    EXPECT_TRUE(r.recent_failures.empty());
}

TEST(ReviewCauses, ComeFromTheVocabularyForTheLiveSide) {
    const auto causes = causes_for({"host_reset", "no_such_cause"});
    ASSERT_EQ(causes.size(), 2u);
    EXPECT_EQ(causes[0].cause, "host_reset");
    EXPECT_EQ(causes[0].mstsc, rdp::describe(rdp::Cause::host_reset).mstsc);
    EXPECT_EQ(causes[1].cause, "no_such_cause");
    EXPECT_EQ(causes[1].explanation, failure_words("no_such_cause", "", "").explanation);
}

TEST(ReviewBuilder, BackendsSayWhatTheirChannelPolicyKeptFromTheHost) {
    ReviewBuilder b;
    auto lines = sample();
    for (const auto& l : std::vector<std::string>{
             line(minutes(2), "c8", "bridge",
                  {{"channels_passed", OJson::array({"rdpdr", "rdpsnd", "drdynvc"})},
                   {"channels_removed", OJson::array({"cliprdr"})}}),
             line(minutes(2), "c8", "session_established",
                  {{"backend", "xp"},
                   {"back", {{"selected", "RDP"}}},
                   {"channel_policy", "channels deny cliprdr; devices deny drive"}}),
             line(minutes(3), "c8", "channel_refused",
                  {{"channel", "rdpdr"},
                   {"device_type", "drive"},
                   {"device_id", 1},
                   {"dos_name", "share"}}),
             line(minutes(4), "c8", "channel_refused",
                  {{"channel", "rdpdr"},
                   {"reason", "message withheld: compressed data cannot be inspected"}}),
         })
        lines.push_back(l);
    feed(b, lines);
    const auto r = b.build({"h"}, "");
    const auto& xp = row(r, "xp");
    EXPECT_EQ(xp.channel_policies,
              std::vector<std::string>{"channels deny cliprdr; devices deny drive"});
    EXPECT_EQ(xp.channels_kept,
              "1 session had channels removed (cliprdr 1); 1 device refused (drive 1); 1 message "
              "withheld (compressed data cannot be inspected)");
    EXPECT_EQ(xp.state, "ok");  // a refusal is no failure
    EXPECT_EQ(xp.established, 3u);
    EXPECT_EQ(xp.failed, 1u);
    EXPECT_TRUE(row(r, "win7").channel_policies.empty());
    EXPECT_EQ(row(r, "win7").channels_kept, "");

    // Nor does it reach the failures over time, the causes or the recent failures.
    ReviewBuilder plain;
    feed(plain, sample());
    const auto without = plain.build({"h"}, "");
    EXPECT_EQ(r.failures_in_window, without.failures_in_window);
    EXPECT_EQ(r.recent_failures.size(), without.recent_failures.size());
    EXPECT_EQ(r.causes.size(), without.causes.size());
    ASSERT_EQ(r.timelines.size(), without.timelines.size());
    for (std::size_t i = 0; i < r.timelines.size(); ++i)
        EXPECT_EQ(r.timelines[i].by_cause.size(), without.timelines[i].by_cause.size());
}
