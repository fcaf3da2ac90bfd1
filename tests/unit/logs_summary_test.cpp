#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "proxy/logs/ingest.hpp"
#include "proxy/logs/summary.hpp"
#include "rdp/diagnosis.hpp"

using namespace rdpbridge;
using namespace rdpbridge::logs;
using std::chrono::seconds;

namespace {

const TimePoint kT0 = *parse_timestamp("2026-01-01T00:00:00Z");

TimePoint at(int second) {
    return kT0 + seconds(second);
}

Filter filter(std::optional<TimePoint> since, std::optional<TimePoint> until = {},
              std::optional<std::string> backend = {}) {
    Filter f;
    f.since = since;
    f.until = until;
    f.backend = std::move(backend);
    return f;
}

Event event(const char* name, const char* conn, int second, const char* backend = "") {
    Event e;
    e.name = name;
    e.conn = conn;
    e.ts = at(second);
    e.backend = backend;
    return e;
}

Event failed(const char* conn, int second, const char* stage, const char* cause,
             const char* backend = "", const char* detail = "") {
    Event e = event("handshake_failed", conn, second, backend);
    e.stage = stage;
    e.cause = cause;
    e.detail = detail;
    e.explanation = "explained";
    e.hint = "fixed";
    return e;
}

Event established(const char* conn, int second, const char* backend, double ms) {
    Event e = event("session_established", conn, second, backend);
    e.handshake_ms = ms;
    return e;
}

// A connection that is accepted, routed and ends with `outcome` (which names its conn).
void routed(Aggregator& a, const Event& outcome, const char* backend) {
    a.add(event("connection_accepted", outcome.conn.c_str(), 0));
    a.add(event("stage", outcome.conn.c_str(), 0, backend));
    a.add(outcome);
}

const BackendStats& backend(const Summary& s, std::string_view name) {
    const auto it = std::find_if(s.backends.begin(), s.backends.end(),
                                 [&](const BackendStats& b) { return b.name == name; });
    if (it == s.backends.end()) throw std::runtime_error("no backend " + std::string(name));
    return *it;
}

std::vector<std::string> names(const Summary& s) {
    std::vector<std::string> out;
    for (const auto& b : s.backends) out.push_back(b.name);
    return out;
}

std::vector<std::string> group_keys(const Summary& s) {
    std::vector<std::string> out;
    for (const auto& g : s.failures)
        out.push_back(std::to_string(g.count) + " " + g.stage + "/" + g.cause);
    return out;
}

}  // namespace

TEST(LogsSummary, CountsPerBackendWithPreRoutingFailuresUnderNone) {
    Aggregator a;
    routed(a, established("c1", 1, "win7", 100), "win7");
    routed(a, failed("c2", 2, "backend_tls", "host_tls_version_mismatch", "win7"), "win7");
    a.add(event("connection_accepted", "c3", 3));
    a.add(failed("c3", 3, "client_x224", "client_not_rdp"));
    a.add(event("connection_accepted", "c4", 4));
    a.add(event("stage", "c4", 4, "xp"));  // routed, still in its handshake
    const Summary s = a.summary();

    EXPECT_EQ(names(s), (std::vector<std::string>{"win7", "xp", "(none)"}));
    const auto& win7 = backend(s, "win7");
    EXPECT_EQ(win7.connections, 2u);
    EXPECT_EQ(win7.established, 1u);
    EXPECT_EQ(win7.failed, 1u);
    EXPECT_EQ(win7.unfinished, 0u);
    const auto& xp = backend(s, "xp");
    EXPECT_EQ(xp.connections, 1u);
    EXPECT_EQ(xp.unfinished, 1u);
    const auto& none = backend(s, "(none)");
    EXPECT_EQ(none.connections, 1u);
    EXPECT_EQ(none.failed, 1u);
    EXPECT_EQ(s.total.connections, 4u);
    EXPECT_EQ(s.total.established, 1u);
    EXPECT_EQ(s.total.failed, 2u);
    EXPECT_EQ(s.total.unfinished, 1u);
}

TEST(LogsSummary, EachConnectionCountsOnceAndAClosingAloneDoesNot) {
    Aggregator a;
    routed(a, established("c1", 1, "win7", 100), "win7");
    a.add(event("warning", "c1", 1, "win7"));
    a.add(event("session_closed", "c1", 9, "win7"));
    a.add(event("session_closed", "c0", 9, "win7"));         // its session began before these lines
    a.add(failed("c9", 9, "client_x224", "client_silent"));  // its accept line is elsewhere
    const Summary s = a.summary();
    EXPECT_EQ(backend(s, "win7").connections, 1u);
    EXPECT_EQ(s.total.connections, 2u);
    EXPECT_EQ(s.total.failed, 1u);
}

TEST(LogsSummary, FailureGroupsMostFrequentFirstThenInHandshakeOrder) {
    Aggregator a;
    for (const char* c : {"a1", "a2"})
        a.add(failed(c, 1, "backend_negotiation", "host_ssl_not_allowed", "xp"));
    for (const char* c : {"b1", "b2", "b3"}) a.add(failed(c, 1, "client_x224", "client_not_rdp"));
    for (const char* c : {"c1", "c2"}) a.add(failed(c, 1, "client_x224", "client_spoke_http"));
    a.add(failed("d1", 1, "backend_connect", "connection_refused", "xp"));
    EXPECT_EQ(group_keys(a.summary()), (std::vector<std::string>{
                                           "3 client_x224/client_not_rdp",
                                           "2 client_x224/client_spoke_http",
                                           "2 backend_negotiation/host_ssl_not_allowed",
                                           "1 backend_connect/connection_refused",
                                       }));
}

TEST(LogsSummary, GroupsTheSameCauseAcrossBackends) {
    Aggregator a;
    a.add(failed("a", 1, "backend_connect", "connection_refused", "b1"));
    a.add(failed("b", 2, "backend_connect", "connection_refused", "b2"));
    const Summary s = a.summary();
    ASSERT_EQ(s.failures.size(), 1u);
    EXPECT_EQ(s.failures[0].count, 2u);
}

TEST(LogsSummary, GroupKnowsFirstAndLastSeenAndTheThreeNewestExamples) {
    Aggregator a;
    a.add(failed("c3", 30, "client_x224", "client_not_rdp", "", "third"));
    a.add(failed("c1", 10, "client_x224", "client_not_rdp", "", "first"));
    a.add(failed("c5", 50, "client_x224", "client_not_rdp", "", "fifth"));
    a.add(failed("c2", 20, "client_x224", "client_not_rdp", "", "second"));
    a.add(failed("c4", 40, "client_x224", "client_not_rdp", "", "fourth"));
    const Summary s = a.summary();
    const auto& g = s.failures.at(0);
    EXPECT_EQ(g.count, 5u);
    EXPECT_EQ(g.first_seen, at(10));
    EXPECT_EQ(g.last_seen, at(50));
    ASSERT_EQ(g.examples.size(), 3u);
    EXPECT_EQ(g.examples[0].conn, "c5");
    EXPECT_EQ(g.examples[0].detail, "fifth");
    EXPECT_EQ(g.examples[1].conn, "c4");
    EXPECT_EQ(g.examples[2].conn, "c3");
}

TEST(LogsSummary, WordsComeFromTheLogElseFromTheVocabulary) {
    Aggregator a;
    Event logged = failed("c1", 1, "client_x224", "client_spoke_http");
    logged.explanation = "as logged";
    logged.hint = "logged fix";
    a.add(logged);
    Event bare = failed("c2", 1, "client_x224", "client_not_rdp");
    bare.explanation.clear();
    bare.hint.clear();
    a.add(bare);
    Event unknown = failed("c3", 1, "client_x224", "cause_from_the_future");
    unknown.explanation.clear();
    unknown.hint.clear();
    a.add(unknown);

    const Summary s = a.summary();
    ASSERT_EQ(s.failures.size(), 3u);
    for (const auto& g : s.failures) {
        if (g.cause == "client_spoke_http") {
            EXPECT_EQ(g.explanation, "as logged");
            EXPECT_EQ(g.fix, "logged fix");
        } else if (g.cause == "client_not_rdp") {
            const auto& info = rdp::describe(rdp::Cause::client_not_rdp);
            EXPECT_EQ(g.explanation, info.explanation);
            EXPECT_EQ(g.fix, info.fix);
        } else {
            EXPECT_NE(g.explanation.find("Unknown cause"), std::string::npos);
            EXPECT_FALSE(g.fix.empty());
        }
    }
}

TEST(LogsSummary, NearestRankPercentiles) {
    std::vector<double> twenty;
    for (int i = 1; i <= 20; ++i) twenty.push_back(i);
    EXPECT_EQ(nearest_rank(twenty, 50), 10);
    EXPECT_EQ(nearest_rank(twenty, 95), 19);
    EXPECT_EQ(nearest_rank({7}, 50), 7);
    EXPECT_EQ(nearest_rank({7}, 95), 7);
    EXPECT_EQ(nearest_rank({1, 2, 3, 4}, 50), 2);
    EXPECT_EQ(nearest_rank({1, 2, 3, 4}, 95), 4);
}

TEST(LogsSummary, HandshakeTimePercentilesPerBackend) {
    Aggregator a;
    const char* conns[] = {"c01", "c02", "c03", "c04", "c05", "c06", "c07", "c08", "c09", "c10",
                           "c11", "c12", "c13", "c14", "c15", "c16", "c17", "c18", "c19", "c20"};
    for (int i = 19; i >= 0; --i)  // out of order on purpose
        routed(a, established(conns[i], i, "win7", 10.0 * (i + 1)), "win7");
    routed(a, established("x1", 1, "xp", 5), "xp");
    Event untimed = event("session_established", "y1", 1, "old");  // no handshake_ms
    routed(a, untimed, "old");
    const Summary s = a.summary();
    EXPECT_EQ(backend(s, "win7").timed, 20u);
    EXPECT_EQ(backend(s, "win7").p50_ms, 100.0);
    EXPECT_EQ(backend(s, "win7").p95_ms, 190.0);
    EXPECT_EQ(backend(s, "xp").p50_ms, 5.0);
    EXPECT_EQ(backend(s, "xp").p95_ms, 5.0);
    EXPECT_EQ(backend(s, "old").established, 1u);
    EXPECT_FALSE(backend(s, "old").p50_ms);
    EXPECT_EQ(s.total.timed, 21u);
    EXPECT_EQ(s.total.p50_ms, 100.0);  // 11th of 21: 5, 10, 20, ... 100
}

TEST(LogsSummary, SinceKeepsOnlyEventsInTheWindow) {
    Aggregator a(filter(at(100)));
    routed(a, failed("old", 50, "client_x224", "client_not_rdp"), "");
    a.add(event("connection_accepted", "straddles", 90));
    a.add(failed("straddles", 110, "client_x224", "client_silent"));
    a.add(event("connection_accepted", "new", 120));
    a.add(established("new", 121, "win7", 42));
    const Summary s = a.summary();
    EXPECT_EQ(s.total.connections, 2u);
    EXPECT_EQ(s.total.failed, 1u);
    EXPECT_EQ(s.total.established, 1u);
    EXPECT_EQ(group_keys(s), (std::vector<std::string>{"1 client_x224/client_silent"}));
    EXPECT_EQ(s.events, 3u);
    EXPECT_EQ(s.first_event, at(110));
    EXPECT_EQ(s.last_event, at(121));
}

TEST(LogsSummary, BackendFilterKeepsThatBackendsConnectionsAndFailures) {
    auto feed = [](Aggregator& a) {
        routed(a, established("c1", 1, "win7", 10), "win7");
        routed(a, failed("c2", 2, "backend_tls", "host_tls_failed", "win7"), "win7");
        routed(a, failed("c3", 3, "backend_connect", "connection_refused", "xp"), "xp");
        a.add(failed("c4", 4, "client_x224", "client_not_rdp"));
    };
    Aggregator win7(filter({}, {}, "win7"));
    feed(win7);
    Summary s = win7.summary();
    EXPECT_EQ(names(s), (std::vector<std::string>{"win7"}));
    EXPECT_EQ(s.total.connections, 2u);
    EXPECT_EQ(group_keys(s), (std::vector<std::string>{"1 backend_tls/host_tls_failed"}));

    Aggregator none(filter({}, {}, "(none)"));
    feed(none);
    s = none.summary();
    EXPECT_EQ(names(s), (std::vector<std::string>{"(none)"}));
    EXPECT_EQ(group_keys(s), (std::vector<std::string>{"1 client_x224/client_not_rdp"}));
}

TEST(LogsSummary, OrderOfLinesDoesNotMatter) {
    std::vector<Event> events{
        event("connection_accepted", "c1", 1),
        event("stage", "c1", 1, "win7"),
        established("c1", 2, "win7", 10),
        event("connection_accepted", "c2", 3),
        failed("c2", 4, "client_x224", "client_not_rdp"),
        event("session_closed", "c1", 5, "win7"),
    };
    Aggregator forward, backward;
    for (const auto& e : events) forward.add(e);
    for (auto it = events.rbegin(); it != events.rend(); ++it) backward.add(*it);
    const Summary f = forward.summary(), b = backward.summary();
    EXPECT_EQ(names(f), names(b));
    EXPECT_EQ(group_keys(f), group_keys(b));
    EXPECT_EQ(f.total.connections, b.total.connections);
    EXPECT_EQ(backend(f, "win7").established, backend(b, "win7").established);
}

TEST(LogsSummary, MalformedLinesAreCountedWithTheFirstPlace) {
    Aggregator a;
    FileIngest ingest(a, "handshake.jsonl");
    const auto feed = ingest.lines();
    const std::string accepted =
        R"({"ts":"2026-01-01T00:00:00Z","conn":"c1","event":"connection_accepted"})";
    feed(Line{"{not json", 1, false, false});
    feed(Line{accepted, 2, false, false});
    feed(Line{"", 3, false, false});  // blank: neither an event nor malformed
    feed(Line{"", 4, true, false});   // too long to be an event
    feed(Line{"  \t", 5, false, false});
    EXPECT_TRUE(ingest.finish());
    const Summary s = a.summary();
    EXPECT_EQ(s.total.connections, 1u);
    EXPECT_EQ(s.malformed, 2u);
    ASSERT_TRUE(s.first_malformed);
    EXPECT_EQ(s.first_malformed->file, "handshake.jsonl");
    EXPECT_EQ(s.first_malformed->line, 1u);
}

TEST(LogsSummary, AHalfWrittenLastLineIsNotMalformed) {
    Aggregator a;
    {
        FileIngest ingest(a, "handshake.jsonl");
        ingest.lines()(
            Line{R"({"ts":"2026-01-01T00:00:00Z","conn":"c1","event":"conn)", 1, false, true});
        EXPECT_TRUE(ingest.finish());  // nothing in it yet, like an empty file
    }
    EXPECT_EQ(a.summary().malformed, 0u);
    // A complete event without its newline still counts.
    FileIngest ingest(a, "handshake.jsonl");
    ingest.lines()(
        Line{R"({"ts":"2026-01-01T00:00:00Z","conn":"c2","event":"connection_accepted"})", 1, false,
             true});
    EXPECT_TRUE(ingest.finish());
    EXPECT_EQ(a.summary().total.connections, 1u);
}

namespace {

// Reads `lines` as the file `name`; returns whether it was a handshake log.
bool ingest_file(Aggregator& a, const std::string& name, const std::vector<std::string>& lines) {
    FileIngest ingest(a, name);
    const auto feed = ingest.lines();
    std::uint64_t number = 0;
    for (const auto& l : lines) feed(Line{l, ++number, false, false});
    return ingest.finish();
}

}  // namespace

TEST(LogsSummary, AFileWithoutASingleEventIsNotAHandshakeLog) {
    Aggregator a;
    EXPECT_FALSE(ingest_file(a, "/etc/services",
                             {"# Network services, Internet style", "",
                              "tcpmux\t\t1/tcp\t\t\t\t# TCP port service multiplexer"}));
    EXPECT_FALSE(ingest_file(a, "package.json",
                             {R"({"name":"x","version":"1.0"})", R"({"event":"deploy"})",
                              R"({"ts":"2026-01-01T00:00:00Z","event":"stage"})"}));
    // Its lines are not this log's malformed lines.
    EXPECT_EQ(a.summary().malformed, 0u);
    EXPECT_FALSE(a.summary().first_malformed);

    // Empty, or blank: a handshake log with nothing in it yet.
    EXPECT_TRUE(ingest_file(a, "empty.jsonl", {}));
    EXPECT_TRUE(ingest_file(a, "blank.jsonl", {"", "  "}));
    // One event among garbage is enough: a damaged log, whose damage is reported.
    EXPECT_TRUE(ingest_file(
        a, "damaged.jsonl",
        {"garbage", R"({"ts":"2026-01-01T00:00:00Z","conn":"c1","event":"connection_accepted"})"}));
    EXPECT_EQ(a.summary().malformed, 1u);
    EXPECT_EQ(a.summary().first_malformed->file, "damaged.jsonl");
}

TEST(LogsSummary, AFileWhoseEventsAreFilteredOrRepeatedIsStillALog) {
    Aggregator a(filter(at(100)));
    const std::string old =
        R"({"ts":"2026-01-01T00:00:10Z","conn":"c1","event":"connection_accepted"})";
    EXPECT_TRUE(ingest_file(a, "handshake.2.jsonl", {old, "garbage"}));  // before --since
    const std::string recent =
        R"({"ts":"2026-01-01T00:10:00Z","conn":"c2","event":"connection_accepted"})";
    EXPECT_TRUE(ingest_file(a, "handshake.1.jsonl", {recent}));
    EXPECT_TRUE(ingest_file(a, "copy.jsonl", {recent, "garbage"}));  // read already
    EXPECT_EQ(a.summary().malformed, 2u);
    EXPECT_EQ(a.summary().total.connections, 1u);
}

namespace {

// One connection's lines as the gateway writes them, and a failed one's.
const std::vector<std::string> kSessionLines{
    R"({"ts":"2026-01-01T00:00:01.000Z","conn":"s1","event":"connection_accepted","client":"10.0.0.7:50000"})",
    R"({"ts":"2026-01-01T00:00:01.010Z","conn":"s1","event":"stage","stage":"client_x224","ms":0.2})",
    R"({"ts":"2026-01-01T00:00:01.020Z","conn":"s1","event":"stage","stage":"routing","ms":0.01,"backend":"win7"})",
    R"({"ts":"2026-01-01T00:00:01.300Z","conn":"s1","event":"bridge","rdp_key_sha256":"ab12"})",
    R"({"ts":"2026-01-01T00:00:01.300Z","conn":"s1","event":"bridge","rdp_encryption":"128"})",
    R"({"ts":"2026-01-01T00:00:01.400Z","conn":"s1","event":"session_established","backend":"win7","handshake_ms":400})",
};
const std::vector<std::string> kFailureLines{
    R"({"ts":"2026-01-01T00:00:02.000Z","conn":"f1","event":"connection_accepted","client":"10.0.0.8:50001"})",
    R"({"ts":"2026-01-01T00:00:02.100Z","conn":"f1","event":"handshake_failed","stage":"client_x224","cause":"client_not_rdp","detail":"0xa7"})",
};

void feed_lines(Aggregator& a, const std::string& file, const std::vector<std::string>& lines) {
    ASSERT_TRUE(ingest_file(a, file, lines));
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

}  // namespace

TEST(LogsSummary, OverlappingFilesCountEachEventOnce) {
    Aggregator once;
    feed_lines(once, "handshake.jsonl", concat(kSessionLines, kFailureLines));
    const Summary want = once.summary();
    ASSERT_EQ(want.events, 8u);

    // A rotated file and the live one sharing lines, then the same file given twice.
    Aggregator overlapping;
    feed_lines(overlapping, "handshake.1.jsonl", concat(kSessionLines, {kFailureLines[0]}));
    feed_lines(overlapping, "handshake.jsonl", concat({kSessionLines.back()}, kFailureLines));
    feed_lines(overlapping, "handshake.jsonl", concat({kSessionLines.back()}, kFailureLines));
    const Summary got = overlapping.summary();
    EXPECT_EQ(got.events, want.events);
    EXPECT_EQ(got.total.connections, 2u);
    EXPECT_EQ(got.total.established, 1u);
    EXPECT_EQ(got.total.failed, 1u);
    EXPECT_EQ(got.total.timed, 1u);
    EXPECT_EQ(group_keys(got), (std::vector<std::string>{"1 client_x224/client_not_rdp"}));
    ASSERT_EQ(got.failures[0].examples.size(), 1u);
    EXPECT_EQ(got.failures[0].examples[0].conn, "f1");
}

TEST(LogsSummary, ACopyWhoseKeysWereReorderedIsStillTheSameEvent) {
    Aggregator a;
    feed_lines(a, "handshake.jsonl", kSessionLines);
    feed_lines(
        a, "shipped.jsonl",
        {R"({"event": "bridge", "rdp_encryption": "128", "conn": "s1", "ts": "2026-01-01T00:00:01.300Z"})",
         R"({"conn": "s1", "stage": "routing", "ts": "2026-01-01T00:00:01.020Z", "event": "stage", "backend": "win7", "ms": 0.01})"});
    EXPECT_EQ(a.summary().events, kSessionLines.size());
}

TEST(LogsSummary, EventsAConnectionRepeatAreKeptWhenTheyDiffer) {
    Aggregator a;
    a.add(event("connection_accepted", "c1", 0));
    Event tls = event("stage", "c1", 1);
    tls.distinct = "client_tls";
    Event routing = event("stage", "c1", 1);  // same ts, another stage
    routing.distinct = "routing";
    Event warned = event("warning", "c1", 2);
    warned.distinct = "tls_renegotiation";
    Event warned_again = warned;  // the same warning, later
    warned_again.ts = at(3);
    for (const Event& e : {tls, routing, warned, warned_again, warned}) a.add(e);
    EXPECT_EQ(a.summary().events, 5u);
}

TEST(LogsSummary, AConnectionFailsOnceEvenIfTwoFailuresAreLogged) {
    Aggregator a;
    a.add(failed("c1", 1, "client_x224", "client_not_rdp", "", "first"));
    a.add(failed("c1", 2, "client_x224", "client_not_rdp", "", "second"));
    const Summary s = a.summary();
    EXPECT_EQ(s.total.failed, 1u);
    EXPECT_EQ(group_keys(s), (std::vector<std::string>{"1 client_x224/client_not_rdp"}));
    EXPECT_EQ(s.failures[0].examples.size(), 1u);
}

TEST(LogsSummary, UntilKeepsOnlyEventsBeforeIt) {
    Aggregator a(filter(at(100), at(200)));
    a.add(failed("before", 99, "client_x224", "client_not_rdp"));
    a.add(failed("first", 100, "client_x224", "client_silent"));
    a.add(failed("last", 199, "client_x224", "client_silent"));
    a.add(failed("at_until", 200, "client_x224", "client_spoke_http"));
    const Summary s = a.summary();
    EXPECT_EQ(group_keys(s), (std::vector<std::string>{"2 client_x224/client_silent"}));
    EXPECT_EQ(s.first_event, at(100));
    EXPECT_EQ(s.last_event, at(199));
}

TEST(LogsSummary, ABackendNoEventNamesIsToldApartFromOneWithoutMatches) {
    auto feed = [](Aggregator& a) {
        routed(a, established("c1", 10, "xp", 10), "xp");  // before the window
        routed(a, established("c2", 200, "win7", 10), "win7");
        a.add(failed("c3", 200, "client_x224", "client_not_rdp"));
    };
    Aggregator typo(filter(at(100), {}, "win8"));
    feed(typo);
    Summary s = typo.summary();
    EXPECT_TRUE(s.backend_unknown);
    EXPECT_EQ(s.backends_in_files, (std::vector<std::string>{"win7", "xp"}));
    EXPECT_EQ(s.total.connections, 0u);

    for (const char* known : {"xp", "(none)"}) {  // xp: named, but not in the window
        Aggregator a(filter(at(100), {}, known));
        feed(a);
        EXPECT_FALSE(a.summary().backend_unknown) << known;
    }
    Aggregator all;
    feed(all);
    EXPECT_FALSE(all.summary().backend_unknown);
}

TEST(LogsSummary, ExamplesCarryTheClientAddressOfTheirConnection) {
    Aggregator a(filter(at(100)));
    Event accepted = event("connection_accepted", "early", 99);  // just before the window
    accepted.client = "203.0.113.9:35854";
    a.add(failed("early", 100, "client_x224", "client_not_rdp"));
    a.add(accepted);  // read after the failure: files come in any order
    a.add(failed("orphan", 101, "client_x224", "client_not_rdp"));  // accept line not given
    Event later = event("connection_accepted", "late", 102);
    later.client = "[2001:db8::7]:50000";
    a.add(later);
    a.add(failed("late", 103, "client_x224", "client_not_rdp"));
    const Summary s = a.summary();
    ASSERT_EQ(s.failures.size(), 1u);
    const auto& ex = s.failures[0].examples;
    ASSERT_EQ(ex.size(), 3u);
    EXPECT_EQ(ex[0].conn, "late");
    EXPECT_EQ(ex[0].client, "[2001:db8::7]:50000");
    EXPECT_EQ(ex[1].conn, "orphan");
    EXPECT_EQ(ex[1].client, "");
    EXPECT_EQ(ex[2].conn, "early");
    EXPECT_EQ(ex[2].client, "203.0.113.9:35854");
}

namespace {

// Two win7 sessions under a channel policy (one of them with two drives, a printer-less client
// and a withheld message), an xp session without one, and one failure before routing.
const std::vector<std::string> kPolicyLines{
    R"({"ts":"2026-01-01T00:00:01.000Z","conn":"p1","event":"connection_accepted","client":"10.0.0.7:50000"})",
    R"({"ts":"2026-01-01T00:00:01.020Z","conn":"p1","event":"stage","stage":"routing","ms":0.01,"backend":"win7"})",
    R"({"ts":"2026-01-01T00:00:01.300Z","conn":"p1","event":"bridge","channels_passed":["rdpdr","rdpsnd","drdynvc"],"channels_removed":["cliprdr"]})",
    R"({"ts":"2026-01-01T00:00:01.400Z","conn":"p1","event":"session_established","backend":"win7","handshake_ms":400,"channel_policy":"channels deny cliprdr; devices deny drive"})",
    R"({"ts":"2026-01-01T00:00:02.000Z","conn":"p1","event":"channel_refused","channel":"rdpdr","device_type":"drive","device_id":1,"dos_name":"share"})",
    R"({"ts":"2026-01-01T00:00:02.000Z","conn":"p1","event":"channel_refused","channel":"rdpdr","device_type":"drive","device_id":2,"dos_name":"home"})",
    R"({"ts":"2026-01-01T00:00:03.000Z","conn":"p1","event":"channel_refused","channel":"rdpdr","reason":"message withheld: compressed data cannot be inspected"})",
    R"({"ts":"2026-01-01T00:00:04.000Z","conn":"p1","event":"bridge","channel_data_dropped":"cliprdr"})",
    R"({"ts":"2026-01-01T00:09:00.000Z","conn":"p1","event":"session_closed","backend":"win7","closed_by":"client","reason":"closed","channel_pdus_dropped":37,"devices_refused":2})",
    R"({"ts":"2026-01-01T00:01:00.000Z","conn":"p2","event":"connection_accepted","client":"10.0.0.9:50000"})",
    R"({"ts":"2026-01-01T00:01:00.300Z","conn":"p2","event":"bridge","channels_passed":["rdpdr"],"channels_removed":["cliprdr","rdpsnd"]})",
    R"({"ts":"2026-01-01T00:01:00.400Z","conn":"p2","event":"session_established","backend":"win7","handshake_ms":300,"channel_policy":"channels allow rdpdr"})",
    R"({"ts":"2026-01-01T00:01:02.000Z","conn":"p2","event":"channel_refused","channel":"rdpdr","device_type":"printer","device_id":3,"dos_name":"PRN1"})",
    R"({"ts":"2026-01-01T00:02:00.400Z","conn":"x1","event":"session_established","backend":"xp","handshake_ms":900})",
    R"({"ts":"2026-01-01T00:02:00.000Z","conn":"f1","event":"handshake_failed","stage":"client_x224","cause":"client_not_rdp","detail":"0xa7"})",
};

}  // namespace

TEST(LogsSummary, ChannelPolicyIsCountedPerBackendAndIsNoFailure) {
    Aggregator a;
    feed_lines(a, "handshake.jsonl", kPolicyLines);
    const Summary s = a.summary();
    const auto& win7 = backend(s, "win7");
    EXPECT_EQ(win7.connections, 2u);
    EXPECT_EQ(win7.established, 2u);
    EXPECT_EQ(win7.failed, 0u);  // refusals, withheld messages and dropped data fail nothing
    EXPECT_EQ(win7.unfinished, 0u);
    EXPECT_EQ(s.total.failed, 1u);
    EXPECT_EQ(group_keys(s), (std::vector<std::string>{"1 client_x224/client_not_rdp"}));

    const ChannelStats& c = win7.channels;
    EXPECT_EQ(c.sessions, 2u);
    EXPECT_EQ(c.policies,
              (std::map<std::string, std::uint64_t>{
                  {"channels allow rdpdr", 1}, {"channels deny cliprdr; devices deny drive", 1}}));
    EXPECT_EQ(c.sessions_with_removed, 2u);
    EXPECT_EQ(c.removed, (std::map<std::string, std::uint64_t>{{"cliprdr", 2}, {"rdpsnd", 1}}));
    EXPECT_EQ(c.sent_on_removed, (std::map<std::string, std::uint64_t>{{"cliprdr", 1}}));
    EXPECT_EQ(c.devices_refused,
              (std::map<std::string, std::uint64_t>{{"drive", 2}, {"printer", 1}}));
    EXPECT_EQ(c.devices_refused_total(), 3u);
    EXPECT_EQ(c.withheld, (std::map<std::string, std::uint64_t>{
                              {"message withheld: compressed data cannot be inspected", 1}}));
    EXPECT_EQ(c.pdus_dropped, 37u);
    EXPECT_TRUE(c.acted());
    EXPECT_EQ(s.total.channels.removed, c.removed);

    EXPECT_FALSE(backend(s, "xp").channels.any());
    EXPECT_FALSE(backend(s, kNoBackend).channels.any());
}

TEST(LogsSummary, ChannelPolicyEventsReadTwiceCountOnce) {
    Aggregator once, twice;
    feed_lines(once, "handshake.jsonl", kPolicyLines);
    feed_lines(twice, "handshake.1.jsonl", kPolicyLines);
    feed_lines(twice, "copy.jsonl", kPolicyLines);
    const Summary want_summary = once.summary(), got_summary = twice.summary();
    const auto& want = backend(want_summary, "win7").channels;
    const auto& got = backend(got_summary, "win7").channels;
    EXPECT_EQ(got.sessions, want.sessions);
    EXPECT_EQ(got.removed, want.removed);
    EXPECT_EQ(got.devices_refused, want.devices_refused);
    EXPECT_EQ(got.withheld, want.withheld);
    EXPECT_EQ(got.pdus_dropped, want.pdus_dropped);
}

TEST(LogsSummary, ChannelPolicyFollowsTheWindowAndTheBackendFilter) {
    // p1 and its refusals are before the window; p2 is inside it.
    Aggregator windowed(filter(*parse_timestamp("2026-01-01T00:00:30Z")));
    feed_lines(windowed, "handshake.jsonl", kPolicyLines);
    const Summary s = windowed.summary();
    const auto& c = backend(s, "win7").channels;
    EXPECT_EQ(c.sessions, 1u);
    EXPECT_EQ(c.devices_refused, (std::map<std::string, std::uint64_t>{{"printer", 1}}));
    EXPECT_TRUE(c.withheld.empty());
    EXPECT_EQ(c.pdus_dropped, 0u);

    Aggregator xp(filter({}, {}, "xp"));
    feed_lines(xp, "handshake.jsonl", kPolicyLines);
    EXPECT_FALSE(xp.summary().total.channels.any());

    // A refusal alone makes no connection: it is counted with the session it belongs to.
    Aggregator alone;
    feed_lines(alone, "handshake.jsonl", {kPolicyLines[4]});
    EXPECT_EQ(alone.summary().total.connections, 0u);
    EXPECT_FALSE(alone.summary().total.channels.any());
}

// --follow prints failures only: a refused device or a withheld message is not one.
TEST(LogsFailureFeed, ChannelRefusalsAreNotFailures) {
    std::vector<std::string> failures;
    std::uint64_t malformed = 0;
    FailureFeed feed(
        std::nullopt,
        [&](const Event& e, const std::string& backend) {
            failures.push_back(e.conn + " " + backend);
        },
        [&](const LineRef&) { ++malformed; });
    const auto on_line = feed.lines_of("handshake.jsonl");
    std::uint64_t n = 0;
    for (const auto& l : kPolicyLines) on_line(Line{l, ++n, false, false});
    EXPECT_EQ(failures, std::vector<std::string>{"f1 (none)"});
    EXPECT_EQ(malformed, 0u);
}
